"""Silence file descriptor 2 (C++ libraries log there directly); imports nothing heavy."""

import contextlib
import os


@contextlib.contextmanager
def quiet_fd2():
    """Point file descriptor 2 at ``os.devnull`` for the block (a no-op where that fails)."""
    try:
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:  # no usable fd 2
        yield
        return
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
