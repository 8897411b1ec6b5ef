"""Pretrained ImageNet models: one registry entry per network, with its own input size and preprocessing.

Usage::

    from chapters_src.cnn import pretrained
    pretrained.names()                          # ['densenet121', 'inception_v3', 'mobilenet_v2', ...]
    spec = pretrained.get("inception_v3")       # PretrainedSpec: constructor, input_size, preprocess mode, ...
    x = pretrained.preprocess("inception_v3", images)   # that model's own preprocess_input ([-1, 1] here)
    loaded = pretrained.build("vgg16")          # Pretrained(model, weights, provenance); cached per arguments
    print(loaded.provenance)                    # "imagenet weights from the Keras cache (...)" or why not
    x = pretrained.load_and_convert("parrot.jpg", "inception_v3")   # path, PIL image or array → (1, 299, 299, 3)
    pretrained.print_model("vgg19")             # the source's print_model: summary(), returns the count

Where the weights come from (``weights="auto"``, the default):

- the Keras cache (``$KERAS_HOME/models/<file>``, where ``keras.applications`` keeps them) when the file is there;
- a download by Keras when the network is reachable and ``CHAPTERS_OFFLINE`` is not set;
- otherwise the same architecture with random weights (``weights=None``), and ``loaded.weights`` says so.
  Nothing ever waits for a network that is not there: the decision takes under ``network_timeout`` seconds.

``weights="imagenet"`` insists on real weights (:class:`WeightsUnavailableError` offline); ``weights=None`` never
touches the cache or the network.

The source's bug (001 §5, checklist C3): it preprocessed every model with ``imagenet_utils.preprocess_input``
(caffe mode), so InceptionV3, which expects [-1, 1], saw the wrong inputs ("stopwatch 100 %" for a macaw).
:func:`preprocess` always uses the model's own function; :func:`preprocess_generic` reproduces the source.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..data import keras_home, network_available, offline_forced

WEIGHTS_HOST = "https://storage.googleapis.com/tensorflow/keras-applications/"
CLASS_INDEX_FILE = "imagenet_class_index.json"
PREPROCESS_MODES = ("caffe", "tf", "torch")


class WeightsUnavailableError(RuntimeError):
    """Real ImageNet weights were required (``weights="imagenet"``) but are neither cached nor downloadable."""


@dataclasses.dataclass(frozen=True)
class PretrainedSpec:
    """One ImageNet network of ``keras.applications``.

    ``constructor``/``module``: attribute names in ``keras.applications`` (e.g. ``"VGG16"``, ``"vgg16"``);
    ``input_size``: the (height, width) the network was trained at; ``preprocess_mode``: ``"caffe"`` (BGR, mean
    pixel subtracted, no scaling), ``"tf"`` (scaled to [-1, 1]) or ``"torch"`` ([0, 1], then ImageNet mean/std);
    ``weights_file``/``weights_file_notop``: file names in ``$KERAS_HOME/models``; ``parameters``: published
    parameter count with the ImageNet head; ``last_conv_layer``: the layer Grad-CAM and feature extraction use.
    """

    name: str
    constructor: str
    module: str
    input_size: tuple[int, int]
    preprocess_mode: str
    weights_file: str
    weights_file_notop: str
    parameters: int
    last_conv_layer: str

    @property
    def weights_url(self) -> str:
        """The address Keras downloads the full (with-top) weights from."""
        return WEIGHTS_HOST + self.weights_file


_SPECS = (
    PretrainedSpec("vgg16", "VGG16", "vgg16", (224, 224), "caffe",
                   "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
                   "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", 138_357_544, "block5_conv3"),
    PretrainedSpec("vgg19", "VGG19", "vgg19", (224, 224), "caffe",
                   "vgg19_weights_tf_dim_ordering_tf_kernels.h5",
                   "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", 143_667_240, "block5_conv4"),
    PretrainedSpec("resnet50", "ResNet50", "resnet50", (224, 224), "caffe",
                   "resnet50_weights_tf_dim_ordering_tf_kernels.h5",
                   "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", 25_636_712, "conv5_block3_out"),
    PretrainedSpec("inception_v3", "InceptionV3", "inception_v3", (299, 299), "tf",
                   "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
                   "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5", 23_851_784, "mixed10"),
    PretrainedSpec("xception", "Xception", "xception", (299, 299), "tf",
                   "xception_weights_tf_dim_ordering_tf_kernels.h5",
                   "xception_weights_tf_dim_ordering_tf_kernels_notop.h5", 22_910_480, "block14_sepconv2_act"),
    PretrainedSpec("mobilenet_v2", "MobileNetV2", "mobilenet_v2", (224, 224), "tf",
                   "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
                   "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5", 3_538_984, "out_relu"),
    PretrainedSpec("densenet121", "DenseNet121", "densenet", (224, 224), "torch",
                   "densenet121_weights_tf_dim_ordering_tf_kernels.h5",
                   "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5", 8_062_504, "relu"),
)
REGISTRY: dict[str, PretrainedSpec] = {spec.name: spec for spec in _SPECS}


@dataclasses.dataclass(frozen=True)
class Pretrained:
    """A built network: ``model``, ``weights`` (``"imagenet"`` or ``None``) and a one-line ``provenance``."""

    name: str
    model: Any
    weights: str | None
    provenance: str

    @property
    def has_imagenet_weights(self) -> bool:
        return self.weights == "imagenet"


def names() -> list[str]:
    """The registered network names, sorted."""
    return sorted(REGISTRY)


def get(name: str) -> PretrainedSpec:
    """The :class:`PretrainedSpec` of ``name``; ``ValueError`` listing the valid names otherwise."""
    if name not in REGISTRY:
        raise ValueError(f"name must be one of {names()}; got {name!r}")
    return REGISTRY[name]


def _applications_module(spec: PretrainedSpec):
    import keras

    return getattr(keras.applications, spec.module)


def _as_float_batch(images: Any, argument: str = "images") -> np.ndarray:
    array = np.array(images, dtype="float32", copy=True)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] != 3:
        raise ValueError(f"{argument} must have shape (height, width, 3) or (batch, height, width, 3) with RGB "
                         f"values in [0, 255]; got shape {array.shape}")
    return array


def preprocess(name: str, images: Any) -> np.ndarray:
    """``images`` (RGB, 0–255, ``(h, w, 3)`` or ``(n, h, w, 3)``) preprocessed the way network ``name`` expects.

    Returns a new float32 ``(n, h, w, 3)`` array (the input is never modified). Resizing is the caller's job:
    see :func:`resize_for`.
    """
    spec = get(name)
    return np.asarray(_applications_module(spec).preprocess_input(_as_float_batch(images)), dtype="float32")


def read_image(image: Any) -> np.ndarray:
    """One RGB image as a uint8/float ``(h, w, 3)`` array from a file path, a PIL image or an array.

    Grey-level images (``(h, w)`` or ``(h, w, 1)``) are repeated over three channels and an alpha channel is
    dropped; files and PIL images are converted with ``.convert("RGB")``.
    """
    if isinstance(image, (str, os.PathLike)):
        from PIL import Image

        with Image.open(image) as opened:
            return np.asarray(opened.convert("RGB"))
    if hasattr(image, "convert") and hasattr(image, "getbands"):          # a PIL image
        return np.asarray(image.convert("RGB"))
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4):
        raise ValueError(f"image must be a path, a PIL image or an array of shape (h, w), (h, w, 1), (h, w, 3) "
                         f"or (h, w, 4); got shape {array.shape}")
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return array[..., :3]


def load_and_convert(image: Any, name: str, preprocessing: str | None = "own") -> np.ndarray:
    """The source's ``image_load_and_convert``, fixed: ``image`` (a path, a PIL image or an array, RGB 0–255) →
    float32 ``(1, H, W, 3)`` at network ``name``'s input size, preprocessed by that network's own function
    (``preprocessing="own"``), by the source's caffe mode for every network (``"generic"``, the bug) or not at
    all (``None``: resized RGB values in [0, 255])."""
    if preprocessing not in ("own", "generic", None):
        raise ValueError(f"preprocessing must be 'own', 'generic' or None; got {preprocessing!r}")
    batch = resize_for(name, read_image(image))
    if preprocessing == "own":
        return preprocess(name, batch)
    if preprocessing == "generic":
        return preprocess_generic(batch)
    return np.asarray(batch, dtype="float32")


def preprocess_generic(images: Any) -> np.ndarray:
    """The source's preprocessing for every model: ``imagenet_utils.preprocess_input`` = caffe mode (the bug)."""
    import keras

    return np.asarray(keras.applications.imagenet_utils.preprocess_input(_as_float_batch(images)), dtype="float32")


def resize_for(name: str, images: Any) -> np.ndarray:
    """``images`` resized (bilinear, antialiased) to network ``name``'s input size; float32 in the input's range."""
    import tensorflow as tf

    batch = _as_float_batch(images)
    height, width = get(name).input_size
    return tf.image.resize(batch, (height, width), antialias=True).numpy()


def weights_path(name: str, include_top: bool = True) -> Path:
    """Where ``keras.applications`` caches the ImageNet weights of ``name``: ``$KERAS_HOME/models/<file>``."""
    spec = get(name)
    return keras_home() / "models" / (spec.weights_file if include_top else spec.weights_file_notop)


def weights_cached(name: str, include_top: bool = True) -> bool:
    """True when the weights file is already in the Keras cache (no network needed)."""
    return weights_path(name, include_top).is_file()


def weights_available(name: str, include_top: bool = True, network_timeout: float = 3.0) -> bool:
    """True when ImageNet weights can be had now: cached, or downloadable (online and not ``CHAPTERS_OFFLINE``)."""
    if weights_cached(name, include_top):
        return True
    return (not offline_forced()) and network_available(timeout=network_timeout, url=get(name).weights_url)


def _decide_weights(name: str, weights: str | None, include_top: bool, network_timeout: float
                    ) -> tuple[str | None, str]:
    if weights not in ("auto", "imagenet", None):
        raise ValueError(f"weights must be 'auto', 'imagenet' or None; got {weights!r}")
    if weights is None:
        return None, "random weights (weights=None was asked for)"
    path = weights_path(name, include_top)
    if path.is_file():
        return "imagenet", f"ImageNet weights from the Keras cache ({path})"
    if weights_available(name, include_top, network_timeout):
        return "imagenet", f"ImageNet weights downloaded by Keras into {path}"
    reason = ("CHAPTERS_OFFLINE=1" if offline_forced() else "the network is unreachable")
    if weights == "imagenet":
        raise WeightsUnavailableError(
            f"ImageNet weights for {name} are not in {path} and cannot be downloaded ({reason}). Copy the file "
            f"there (from {get(name).weights_url}) or use weights='auto' for random weights.")
    return None, f"random weights: no ImageNet weights offline ({path} missing; {reason})"


@functools.lru_cache(maxsize=8)
def _build_cached(name: str, weights: str | None, include_top: bool, input_shape: tuple[int, ...] | None,
                  pooling: str | None):
    import keras

    spec = get(name)
    constructor: Callable[..., Any] = getattr(keras.applications, spec.constructor)
    kwargs: dict[str, Any] = dict(weights=weights, include_top=include_top)
    if input_shape is not None:
        kwargs["input_shape"] = input_shape
    if pooling is not None:
        kwargs["pooling"] = pooling
    return constructor(**kwargs)


def build(name: str, weights: str | None = "auto", include_top: bool = True,
          input_shape: Sequence[int] | None = None, pooling: str | None = None,
          network_timeout: float = 3.0) -> Pretrained:
    """Network ``name`` with ImageNet weights when they can be had (see the module docstring), else random.

    The model is built once per distinct argument set and cached: calling again is free (the source rebuilt the
    network on every ``classify_image`` call). ``input_shape``/``pooling`` are passed to ``keras.applications``
    (``input_shape`` only with ``include_top=False``).
    """
    decided, provenance = _decide_weights(name, weights, include_top, network_timeout)
    shape = tuple(int(s) for s in input_shape) if input_shape is not None else None
    model = _build_cached(name, decided, bool(include_top), shape, pooling)
    return Pretrained(name=name, model=model, weights=decided, provenance=f"{name}: {provenance}")


def print_model(name: str, weights: str | None = None, print_fn: Callable[..., Any] | None = None) -> int:
    """The source's ``print_model``: build network ``name`` (``weights=None`` by default: no download, same
    architecture), print its ``summary()`` and return its parameter count (cached like :func:`build`)."""
    model = build(name, weights=weights).model
    model.summary(print_fn=print_fn)
    return int(model.count_params())


def clear_cache() -> None:
    """Forget every cached model (frees memory)."""
    _build_cached.cache_clear()


def class_index_path() -> Path:
    """Where Keras caches ImageNet's class index: ``$KERAS_HOME/models/imagenet_class_index.json``."""
    return keras_home() / "models" / CLASS_INDEX_FILE


def imagenet_class_index() -> dict[str, tuple[str, str]] | None:
    """ImageNet's ``{"0": ("n01440764", "tench"), ...}`` from the Keras cache, or ``None`` when not cached.

    Never downloads (``keras.applications.imagenet_utils.decode_predictions`` would).
    """
    path = class_index_path()
    if not path.is_file():
        return None
    return {key: tuple(value) for key, value in json.loads(path.read_text()).items()}


def decode_predictions(probabilities: Any, class_index: dict[str, Sequence[str]], top: int = 5
                       ) -> list[list[tuple[str, str, float]]]:
    """Top-``top`` ``(wordnet_id, label, probability)`` per row of ``probabilities`` ``(n, classes)``.

    ``class_index`` maps ``str(class)`` → ``(wordnet_id, label)`` (ImageNet's, or a tiny one in tests). Ties keep
    the lower class first.
    """
    probs = np.asarray(probabilities, dtype="float64")
    if probs.ndim != 2:
        raise ValueError(f"probabilities must have shape (n, classes); got {probs.shape}")
    if not 1 <= top <= probs.shape[1]:
        raise ValueError(f"top must be in [1, {probs.shape[1]}]; got {top}")
    if len(class_index) != probs.shape[1]:
        raise ValueError(f"class_index has {len(class_index)} classes but probabilities have {probs.shape[1]}")
    results = []
    for row in probs:
        order = np.argsort(-row, kind="stable")[:top]
        results.append([(class_index[str(i)][0], class_index[str(i)][1], float(row[i])) for i in order])
    return results


def format_predictions(decoded: Sequence[tuple[str, str, float]]) -> list[str]:
    """The source's lines ``"{rank}. {label}: {prob:.2f}%"`` for one image's decoded predictions."""
    return [f"{rank}. {label}: {probability * 100:.2f}%" for rank, (_, label, probability) in
            enumerate(decoded, start=1)]


# ----------------------------------------------------------------------------------------------------------------
# classify_image: the source's recipe (001 §3) with cached models and each model's own preprocessing
# ----------------------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class LocalClassifier:
    """A classifier trained by the project (or a test), usable by :func:`classify_image` like a registry entry:
    ``model`` (outputs class probabilities), ``input_size`` (height, width), ``preprocess`` (RGB 0–255 batch →
    model input) and its ``class_index`` (``{"0": (id, label), ...}``)."""

    model: Any
    input_size: tuple[int, int]
    preprocess: Callable[[np.ndarray], np.ndarray]
    class_index: dict[str, Sequence[str]]


_LOCAL: dict[str, LocalClassifier] = {}


def register_classifier(name: str, model: Any, input_size: Sequence[int], preprocess: Callable[[np.ndarray], Any],
                        class_index: dict[str, Sequence[str]]) -> None:
    """Make ``name`` usable by :func:`classify_image` (for a model trained offline in a notebook)."""
    if name in REGISTRY:
        raise ValueError(f"name must not shadow a keras.applications network ({names()}); got {name!r}")
    size = tuple(int(s) for s in input_size)
    if len(size) != 2:
        raise ValueError(f"input_size must be (height, width); got {input_size}")
    _LOCAL[name] = LocalClassifier(model, size, preprocess, dict(class_index))


def unregister_classifier(name: str) -> None:
    _LOCAL.pop(name, None)


def placeholder_class_index(classes: int = 1000) -> dict[str, tuple[str, str]]:
    """``{"0": ("class_0", "class 0"), ...}``: labels for when ImageNet's class index is not cached."""
    return {str(i): (f"class_{i}", f"class {i}") for i in range(classes)}


def _resize(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import tensorflow as tf

    if images.shape[1:3] == size:
        return images
    return tf.image.resize(images, size, antialias=True).numpy()


def classify_image(image: Any, model_name: str, top: int = 5, *, preprocessing: str = "own",
                   class_index: dict[str, Sequence[str]] | None = None, verbose: bool = True
                   ) -> list[tuple[int, str, float]]:
    """Top-``top`` ``(rank, label, probability)`` for one RGB ``image`` (``(h, w, 3)``, 0–255, any size; or a
    file path or PIL image, read by :func:`read_image`).

    ``model_name``: a registry network (built once by :func:`build` and cached: the source rebuilt it on every
    call) or a name given to :func:`register_classifier`. ``preprocessing="own"`` uses the model's own
    ``preprocess_input``; ``"generic"`` reproduces the source's bug (caffe mode for every network). Prints the
    source's lines ``"{rank}. {label}: {prob:.2f}%"`` when ``verbose``. ``class_index`` defaults to ImageNet's from
    the Keras cache, else :func:`placeholder_class_index` (never downloads).
    """
    if preprocessing not in ("own", "generic"):
        raise ValueError(f"preprocessing must be 'own' or 'generic'; got {preprocessing!r}")
    if isinstance(image, (str, os.PathLike)) or hasattr(image, "getbands"):
        image = read_image(image)
    batch = _as_float_batch(image, "image")
    if len(batch) != 1:
        raise ValueError(f"image must be one image (h, w, 3); got a batch of {len(batch)}")
    if model_name in _LOCAL:
        local = _LOCAL[model_name]
        model, size = local.model, local.input_size
        own = local.preprocess
        index = class_index or local.class_index
    else:
        spec = get(model_name)
        model, size = build(model_name).model, spec.input_size
        own = functools.partial(preprocess, model_name)
        index = class_index or imagenet_class_index() or placeholder_class_index(int(model.output.shape[-1]))
    resized = _resize(batch, size)
    inputs = own(resized) if preprocessing == "own" else preprocess_generic(resized)
    import keras

    probabilities = keras.ops.convert_to_numpy(model(np.asarray(inputs, dtype="float32"), training=False))
    decoded = decode_predictions(probabilities, index, top=top)[0]
    if verbose:
        print("\n".join(format_predictions(decoded)))
    return [(rank, label, probability) for rank, (_, label, probability) in enumerate(decoded, start=1)]


def plot_predictions(images: Sequence[Any], predictions: Sequence[Sequence[tuple[int, str, float]]],
                     titles: Sequence[str] | None = None):
    """Each input image beside its top-k list: one row per image, the image on the left and a horizontal bar
    chart of ``classify_image``'s ``(rank, label, probability)`` on the right. Returns the figure."""
    import matplotlib.pyplot as plt

    if len(images) != len(predictions) or not images:
        raise ValueError(f"images and predictions must be non-empty and of equal length; got {len(images)} and "
                         f"{len(predictions)}")
    figure, axes = plt.subplots(len(images), 2, figsize=(8, 2.1 * len(images)), squeeze=False,
                                gridspec_kw=dict(width_ratios=(1, 2)))
    for row, (image, predicted) in enumerate(zip(images, predictions)):
        picture = read_image(image)
        axes[row, 0].imshow(picture.astype("uint8") if picture.dtype != np.uint8 else picture)
        axes[row, 0].set_axis_off()
        if titles is not None:
            axes[row, 0].set_title(titles[row], fontsize=9)
        labels = [f"{rank}. {label}" for rank, label, _ in predicted]
        probabilities = [100 * probability for _, _, probability in predicted]
        bars = axes[row, 1].barh(range(len(labels)), probabilities, color="tab:blue")
        axes[row, 1].set_yticks(range(len(labels)), labels, fontsize=8)
        axes[row, 1].invert_yaxis()
        axes[row, 1].set_xlim(0, 100)
        for bar, value in zip(bars, probabilities):
            axes[row, 1].annotate(f"{value:.2f}%", (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                                  xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    axes[-1, 1].set_xlabel("probability (%)")
    figure.tight_layout()
    return figure


#: The source's twelve ``classify_image`` calls and their printed top-5 (001 §3; ImageNet labels in English,
#: ``?`` where the translation is ambiguous). Its Inception and Xception rows are the preprocessing bug.
SOURCE_RESULTS = (
    ("parrot.jpg", "vgg16", "macaw 99.92%; jaguar 0.03%; lorikeet 0.02%; bee_eater 0.02%; toucan 0.00%"),
    ("parrot.jpg", "vgg19", "macaw 99.77%; parrot? 0.07%; toucan 0.06%; hornbill 0.05%; jacamar 0.01%"),
    ("parrot.jpg", "resnet", "macaw 97.93%; peacock 0.86%; parrot? 0.23%; jacamar? 0.12%; jay 0.12%"),
    ("parrot_cropped1.jpg", "resnet", "macaw 99.98%; parrot? 0.00%; peacock 0.00%; sulphur-crested_cockatoo "
                                      "0.00%; toucan 0.00%"),
    ("incredible-hulk-180.jpg", "resnet", "comic_book 99.76%; book_jacket 0.19%; jigsaw_puzzle 0.05%; menu "
                                          "0.00%; packet 0.00%"),
    ("cropped_panda.jpg", "resnet", "giant_panda 99.04%; indri 0.59%; lesser_panda 0.17%; gibbon 0.07%; titi "
                                    "0.05%"),
    ("space-shuttle1.jpg", "resnet", "space_shuttle 92.38%; triceratops 7.15%; warplane 0.11%; cowboy_hat 0.10%; "
                                     "sombrero? 0.04%"),
    ("space-shuttle2.jpg", "resnet", "space_shuttle 99.96%; missile 0.03%; projectile 0.00%; steam_locomotive "
                                     "0.00%; warplane 0.00%"),
    ("space-shuttle3.jpg", "resnet", "space_shuttle 93.21%; missile 5.53%; projectile 1.26%; mosque 0.00%; "
                                     "beacon 0.00%"),
    ("space-shuttle4.jpg", "resnet", "space_shuttle 49.61%; castle 8.17%; crane 6.46%; missile 4.62%; "
                                     "aircraft_carrier 4.24%"),
    ("parrot.jpg", "inception", "stopwatch 100.00%; mink 0.00%; hammer 0.00%; black_grouse 0.00%; web_site 0.00%"),
    ("parrot.jpg", "xception", "backpack 56.69%; military_uniform 29.79%; bib 8.02%; purse 2.14%; ping-pong_ball "
                               "1.52%"),
)
