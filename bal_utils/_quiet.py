"""Capture file descriptor 2 (C++ libraries log there directly); imports nothing heavy."""

import contextlib
import os
import re
import sys
import tempfile

#: Start-up lines of TensorFlow on a machine without a GPU: noise there, dropped.
_NOISE = re.compile(
    r"oneDNN custom operations|cuda drivers|cuInit|CUDA_ERROR_NO_DEVICE|TensorRT|cuDNN factory|cuFFT factory|"
    r"cuBLAS factory|computation placer|This TensorFlow binary is optimized|rebuild TensorFlow|"
    r"absl::InitializeLog|WARNING: All log messages before|E0000 00:00|W0000 00:00|I0000 00:00|^\s*$"
)


def _has_gpu_device() -> bool:
    return os.path.exists("/dev/nvidia0") or os.path.exists("/dev/dxg") or os.path.exists("/dev/kfd")


@contextlib.contextmanager
def quiet_fd2(replay: bool = True):
    """Capture file descriptor 2 during the block, then restore it.

    With ``replay``, what was captured is written back to stderr afterwards,
    except TensorFlow's known start-up noise on a machine without a GPU; on a
    machine with a GPU device (or with ``BAL_BACKEND_LOG=1``) every line is
    written back, so CUDA and driver errors stay visible.
    """
    try:
        saved = os.dup(2)
        capture = tempfile.TemporaryFile()
    except OSError:  # no usable fd 2
        yield
        return
    try:
        os.dup2(capture.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        capture.seek(0)
        text = capture.read().decode(errors="replace")
        capture.close()
        if replay and text:
            show_all = _has_gpu_device() or os.environ.get("BAL_BACKEND_LOG", "") not in ("", "0")
            kept = [line for line in text.splitlines() if show_all or not _NOISE.search(line)]
            if kept:
                print("\n".join(kept), file=sys.stderr)
