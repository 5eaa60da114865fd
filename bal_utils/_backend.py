"""Import Keras once, with the backend's C++ start-up log lines silenced.

TensorFlow writes its start-up lines ("oneDNN custom operations are on",
"Could not find cuda drivers", "failed call to cuInit") from C++ straight to
file descriptor 2, before ``TF_CPP_MIN_LOG_LEVEL`` is honoured, and a Jupyter
kernel copies them into the cell's output. While the backend starts, fd 2 is
captured; afterwards it is restored and the captured lines are written back,
except the known start-up noise of a machine without a GPU (on a GPU machine
every line is shown, so CUDA and driver errors stay visible; see
:func:`bal_utils._quiet.quiet_fd2`).
"""

import os

from ._quiet import quiet_fd2

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _import_quietly():
    with quiet_fd2():
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.get_logger().setLevel("ERROR")
            tf.config.list_physical_devices()
        keras.ops.convert_to_numpy(keras.ops.zeros((1,)))  # first op: the runtime starts here
    return keras


keras = _import_quietly()
