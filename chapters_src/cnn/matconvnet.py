"""The MatConvNet VGG-19 weight file of the source's style transfer (002 §3.2–§3.9, ``vgg.py``).

``imagenet-vgg-verydeep-19.mat`` (beta16 layout, ~510 MB, MD5 ``8ee3263992981a1d26e73b3ca028a123``) from
``http://www.vlfeat.org/matconvnet/models/beta16/``. This companion never downloads it; it is used only when present
(``$VGG19_MAT`` or ``<data cache>/imagenet-vgg-verydeep-19.mat``). The loader reads it the way ``vgg.py`` did:

- ``data['layers'][0][i][0][0][0][0]`` → ``(kernels, bias)`` of conv layer ``i``, kernels stored ``[width, height,
  in, out]`` and transposed ``(1, 0, 2, 3)`` to TensorFlow's ``[height, width, in, out]``; bias flattened;
- ``mean_pixel = mean(data['normalization'][0][0][0], axis=(0, 1))``: the average image's per-channel mean, in
  **RGB** order (≈ [123.68, 116.779, 103.939]; Keras' caffe mode uses the same numbers in BGR order).

:func:`write_synthetic_mat` writes a tiny file in the same nested layout, for the tests and the notebook.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import numpy as np

MAT_FILE = "imagenet-vgg-verydeep-19.mat"
MAT_MD5 = "8ee3263992981a1d26e73b3ca028a123"
MAT_URL = "http://www.vlfeat.org/matconvnet/models/beta16/imagenet-vgg-verydeep-19.mat"
ENV_VAR = "VGG19_MAT"

# The 36 layer names of vgg.py, in the file's order (no pool5, no fully connected layers).
VGG19_LAYERS = (
    "conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1",
    "conv2_1", "relu2_1", "conv2_2", "relu2_2", "pool2",
    "conv3_1", "relu3_1", "conv3_2", "relu3_2", "conv3_3", "relu3_3", "conv3_4", "relu3_4", "pool3",
    "conv4_1", "relu4_1", "conv4_2", "relu4_2", "conv4_3", "relu4_3", "conv4_4", "relu4_4", "pool4",
    "conv5_1", "relu5_1", "conv5_2", "relu5_2", "conv5_3", "relu5_3", "conv5_4", "relu5_4",
)
CONV_LAYERS = tuple(name for name in VGG19_LAYERS if name.startswith("conv"))


@dataclasses.dataclass(frozen=True)
class MatConvNetWeights:
    """``kernels``: conv name → ``(kernel (h, w, in, out), bias (out,))`` in TensorFlow layout; ``mean_pixel``
    ``(3,)`` RGB; ``path``: where they came from."""

    kernels: dict[str, tuple[np.ndarray, np.ndarray]]
    mean_pixel: np.ndarray
    path: str


def load_vgg19_mat(path: str | os.PathLike) -> MatConvNetWeights:
    """Read a MatConvNet VGG-19 ``.mat`` file (beta16 layout) as the source's ``vgg.net`` did."""
    import scipy.io

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Network {path} does not exist. (Did you forget to download it?) "
                                f"It is {MAT_URL}")
    data = scipy.io.loadmat(str(path))
    if "layers" not in data or "normalization" not in data:
        raise ValueError(f"{path} is not a beta16 MatConvNet file: it needs 'layers' and 'normalization' "
                         f"(newer files keep them under 'meta'); found "
                         f"{sorted(k for k in data if not k.startswith('__'))}")
    mean = data["normalization"][0][0][0]
    mean_pixel = np.mean(mean, axis=(0, 1))
    weights = data["layers"][0]
    kernels = {}
    for i, name in enumerate(VGG19_LAYERS):
        if name.startswith("conv"):
            kernel, bias = weights[i][0][0][0][0]
            # matconvnet: weights are [width, height, in_channels, out_channels]; tensorflow: [height, width, ...]
            kernels[name] = (np.transpose(kernel, (1, 0, 2, 3)).astype("float32"),
                             np.asarray(bias, dtype="float32").reshape(-1))
    return MatConvNetWeights(kernels, mean_pixel.astype("float32"), str(path))


def write_synthetic_mat(path: str | os.PathLike, channels=(2, 3, 4, 4, 4), image_size: int = 6, seed: int = 0
                        ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Write a tiny VGG-19-shaped ``.mat`` in the beta16 layout (3×3 kernels; ``channels`` per block instead of
    64, 128, 256, 512, 512) and return its conv weights **as stored** (MatConvNet ``[w, h, in, out]``, bias
    ``(1, out)``), drawn from N(0, 2/fan_in). The average image is ``image_size``² pixels with a known
    per-channel mean (10, 20, 30) RGB."""
    import scipy.io

    rng = np.random.default_rng(seed)
    stored = {}
    layers = np.empty((1, len(VGG19_LAYERS)), dtype=object)
    conv_fields = [("weights", "O"), ("pad", "O"), ("type", "O"), ("name", "O"), ("stride", "O")]
    in_channels = 3
    for i, name in enumerate(VGG19_LAYERS):
        if name.startswith("conv"):
            out_channels = channels[int(name[4]) - 1]
            scale = np.sqrt(2.0 / (9 * in_channels))      # He scale: activations keep their size through 16 layers
            kernel = (scale * rng.normal(size=(3, 3, in_channels, out_channels))).astype("float32")
            bias = (0.1 * rng.normal(size=(1, out_channels))).astype("float32")
            stored[name] = (kernel, bias)
            cell = np.empty((1, 2), dtype=object)
            cell[0, 0], cell[0, 1] = kernel, bias
            record = np.zeros((1, 1), dtype=conv_fields)
            record[0, 0] = (cell, np.ones((1, 4)), "conv", name, np.ones((1, 2)))
            in_channels = out_channels
        else:
            kind = "relu" if name.startswith("relu") else "pool"
            record = np.zeros((1, 1), dtype=[("type", "O"), ("name", "O")])
            record[0, 0] = (kind, name)
        layers[0, i] = record
    average = np.empty((image_size, image_size, 3), dtype="float32")
    average[...] = np.array([10.0, 20.0, 30.0]) + rng.normal(size=(image_size, image_size, 3))
    average -= average.mean(axis=(0, 1)) - np.array([10.0, 20.0, 30.0])
    normalization = np.zeros((1, 1), dtype=[("averageImage", "O"), ("keepAspect", "O"), ("imageSize", "O")])
    normalization[0, 0] = (average, np.ones((1, 1)), np.array([[224, 224, 3]], dtype="float64"))
    scipy.io.savemat(str(path), {"layers": layers, "normalization": normalization, "classes": np.zeros((1, 1))})
    return stored


def md5sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex MD5 of a file (the source's README gives one for the real weights: :data:`MAT_MD5`)."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def real_mat_path() -> Path | None:
    """The real weight file if it is here (``$VGG19_MAT``, else the data cache), never downloaded; else None."""
    from ..data import cache_dir

    candidates = [Path(os.environ[ENV_VAR])] if os.environ.get(ENV_VAR) else []
    candidates.append(Path(cache_dir()) / MAT_FILE)
    return next((path for path in candidates if path.is_file()), None)
