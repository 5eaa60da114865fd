"""The names and shapes that the configuration, the data and the model agree on.

One place for each, so that the configuration can validate a field without
importing the model (and so without starting a backend). Imports nothing.
"""

#: Classes of every data set the package knows.
N_CLASSES = 10
#: Image shape as stored, ``(rows, columns)``; the network takes ``(*IMAGE_SHAPE, 1)``.
IMAGE_SHAPE = (28, 28)
#: Names of the data sets that :func:`bal_utils.data.load_mnist` knows.
DATASETS = ("mnist", "mnist-subset")
#: How an epoch is cut into mini-batches (see ``bal_utils.model.BatchSchedule``).
BATCHINGS = ("balanced", "keras")
#: Weight initialisations (see ``bal_utils.model.init_limits``).
INITS = ("keras3", "keras0")
#: Network shapes: the seed code's 3x3 conv / 5x5 pool, the paper text's 4x4 / 2x2.
ARCHITECTURES = ("seed", "paper_text")
#: Dropout masks when scoring: one per pass shared by all images, or one per image and pass.
MC_MASKS = ("shared", "per_image")
#: How the pool is scored: T MC-dropout passes, or one pass with dropout off (T = 1).
SCORINGS = ("mc_dropout", "deterministic")
#: What stands for the posterior over weights: T MC-dropout passes of one network, or an ensemble of M networks.
POSTERIORS = ("mc_dropout", "ensemble")
