"""Importing the backend hides TensorFlow's start-up noise but not real errors."""

import os

from bal_utils import _quiet


def test_noise_is_dropped_and_other_lines_come_back(capfd, monkeypatch):
    monkeypatch.setattr(_quiet, "_has_gpu_device", lambda: False)
    monkeypatch.delenv("BAL_BACKEND_LOG", raising=False)
    with _quiet.quiet_fd2():
        os.write(2, b"I0000 00:00:1.0 cudart_stub.cc:31] Could not find cuda drivers on your machine\n")
        os.write(2, b"something went really wrong\n")
    err = capfd.readouterr().err
    assert "something went really wrong" in err and "cuda drivers" not in err


def test_on_a_gpu_machine_every_line_comes_back(capfd, monkeypatch):
    monkeypatch.setattr(_quiet, "_has_gpu_device", lambda: True)
    with _quiet.quiet_fd2():
        os.write(2, b"E0000 failed call to cuInit: CUDA_ERROR_UNKNOWN\n")
    assert "cuInit" in capfd.readouterr().err


def test_replay_off_hides_everything(capfd):
    with _quiet.quiet_fd2(replay=False):
        os.write(2, b"hidden\n")
    assert "hidden" not in capfd.readouterr().err
