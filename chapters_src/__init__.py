"""chapters_src: the tested package behind the companion notebooks.

Importing the package only sets quiet, reproducible defaults for TensorFlow *before* it is imported
(C++ log level, oneDNN off, Keras on the TensorFlow backend unless ``KERAS_BACKEND`` says otherwise).
Everything else lives in the modules:

- ``profiles``  hyperparameters per profile (smoke / standard / full)
- ``device``    one setup call per notebook, GPU / mixed precision / XLA / seeds, ``strategy()``
- ``data``      offline-first data registry with provenance and checksums
- ``training``  fit with progress, checkpoints each epoch and resume after interruption
- ``plots``     image grids, learning curves, side-by-side comparisons
- ``widgets``   live demos (JupyterLab) and static-site demos (no kernel needed)
- ``exercises`` exercise checks and the solution → stub generator
- ``cnn``, ...  topic packages (model builders, arithmetic, ...)
"""
import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
_os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"
