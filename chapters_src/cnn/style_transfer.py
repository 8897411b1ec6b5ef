"""Neural style transfer (Gatys et al. 2015) as in the source's VGG-19 program (002 §3, after Anish Athalye's
``neural-style``), re-implemented in Keras 3 / TensorFlow 2.

- Network: VGG-19's 16 convolutions (no pool5, no dense layers), stride 1, ``same`` padding, 2×2 max pooling
  (``pooling="avg"``: Gatys' choice). Input: RGB minus the mean pixel [123.68, 116.779, 103.939] (the source's
  space). Weights: the MatConvNet file if present (:mod:`chapters_src.cnn.matconvnet`), else Keras' VGG19 through
  :mod:`chapters_src.cnn.pretrained` (ImageNet when available, random offline: texture transfer still works,
  weaker). Keras' BGR order is absorbed by flipping the first kernel's input channels.
- Layers: the source's ``reluX_Y`` names map to Keras ``blockX_convY`` (Keras convolutions include the ReLU).
  Content ``relu4_2``; style ``relu1_1``, ``relu2_1``, ``relu3_1``, ``relu4_1``, ``relu5_1``.
- Losses exactly as the source's TF1 code, with ``l2_loss(x) = Σx²/2``; Adam with TF1's ε = 1e-8.

Command line (the source's ``neural_style.py``)::

    python -m chapters_src.cnn.style_transfer --content photo.jpg --styles style.jpg --output out.jpg \\
        --iterations 1000 --checkpoint-iterations 100 --checkpoint-output "out%s.jpg" --width 256
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time
from typing import Iterator, Sequence

import numpy as np

CONTENT_LAYER = "relu4_2"
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
# neural_style.py's defaults
CONTENT_WEIGHT = 5e0
STYLE_WEIGHT = 1e2
TV_WEIGHT = 1e2
LEARNING_RATE = 1e1
STYLE_SCALE = 1.0
ITERATIONS = 100
ADAM_EPSILON = 1e-8          # TF1's AdamOptimizer default (Keras' is 1e-7)
INITIAL_NOISE_SCALE = 0.256  # tf.random_normal(shape) * 0.256, in mean-subtracted space
MEAN_PIXEL = np.array([123.68, 116.779, 103.939], dtype="float32")   # RGB
VGG19_CHANNELS = (64, 128, 256, 512, 512)
VGG19_BLOCK_CONVS = (2, 2, 4, 4, 4)
POOLINGS = ("max", "avg")


def keras_layer_name(source_name: str) -> str:
    """The source's ``reluX_Y`` → Keras ``blockX_convY`` (whose output is already after the ReLU).

    ``convX_Y`` (before the ReLU) has no Keras counterpart and raises ``ValueError``."""
    if not (source_name.startswith("relu") and len(source_name) == 7 and source_name[5] == "_"
            and source_name[4].isdigit() and source_name[6].isdigit()):
        raise ValueError(f"source_name must look like 'relu4_2' (a ReLU output of VGG-19); got {source_name!r}")
    return f"block{source_name[4]}_conv{source_name[6]}"


# ------------------------------------------------------------------------------------------------ network
def build_vgg19_features(pooling: str = "max", channels: Sequence[int] = VGG19_CHANNELS, seed: int = 0,
                         initializer: str = "glorot_uniform"):
    """VGG-19 without pool5 and the dense layers, in Keras' layer names (``block1_conv1`` … ``block5_conv4``,
    ``block1_pool`` … ``block4_pool``); any input size. With the standard channels: 20,024,384 parameters."""
    import keras

    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}; got {pooling!r}")
    keras.utils.set_random_seed(seed)
    pool = keras.layers.MaxPooling2D if pooling == "max" else keras.layers.AveragePooling2D
    inputs = keras.Input((None, None, 3), name="image")
    x = inputs
    for block, (width, convs) in enumerate(zip(channels, VGG19_BLOCK_CONVS), start=1):
        for number in range(1, convs + 1):
            x = keras.layers.Conv2D(width, 3, padding="same", activation="relu", kernel_initializer=initializer,
                                    name=f"block{block}_conv{number}")(x)
        if block < 5:
            x = pool(2, padding="same", name=f"block{block}_pool")(x)
    return keras.Model(inputs, x, name=f"vgg19_features_{pooling}")


@dataclasses.dataclass(frozen=True)
class StyleNetwork:
    """``model``: mean-subtracted RGB ``(1, h, w, 3)`` → dict source layer name → activations; ``mean_pixel``
    (RGB); ``provenance``: where the weights came from."""

    model: object
    mean_pixel: np.ndarray
    provenance: str
    pooling: str

    def preprocess(self, image) -> np.ndarray:
        """RGB 0–255 → the network's input (``image − mean_pixel``), float32."""
        return np.asarray(image, dtype="float32") - self.mean_pixel

    def unprocess(self, x) -> np.ndarray:
        """The inverse of :meth:`preprocess` (no clipping)."""
        return np.asarray(x, dtype="float32") + self.mean_pixel


def _feature_model(vgg, layers: Sequence[str]):
    import keras

    outputs = {name: vgg.get_layer(keras_layer_name(name)).output for name in layers}
    return keras.Model(vgg.inputs[0], outputs, name="style_features")


def style_network(weights: str | None = "auto", pooling: str = "max", mat_path: str | os.PathLike | None = None,
                  layers: Sequence[str] = (CONTENT_LAYER, *STYLE_LAYERS)) -> StyleNetwork:
    """The feature network. ``mat_path`` (or a real file found by :func:`matconvnet.real_mat_path` when
    ``weights="auto"``): the source's MatConvNet weights; otherwise Keras' VGG19 from the registry (``weights``:
    ``"auto"`` = ImageNet when cached/downloadable, random otherwise; ``None`` = random)."""
    from . import matconvnet, pretrained

    if mat_path is None and weights == "auto":
        mat_path = matconvnet.real_mat_path()
    if mat_path is not None:
        loaded = matconvnet.load_vgg19_mat(mat_path)
        widths = tuple(loaded.kernels[f"conv{b}_1"][0].shape[-1] for b in range(1, 6))
        vgg = build_vgg19_features(pooling, channels=widths, initializer="zeros")
        for name, (kernel, bias) in loaded.kernels.items():
            vgg.get_layer(f"block{name[4]}_conv{name[6]}").set_weights([kernel, bias])
        return StyleNetwork(_feature_model(vgg, layers), loaded.mean_pixel, f"vgg19: MatConvNet weights from "
                            f"{loaded.path}", pooling)
    source = pretrained.build("vgg19", weights=weights, include_top=False)
    vgg = build_vgg19_features(pooling, initializer="zeros")
    for block, convs in enumerate(VGG19_BLOCK_CONVS, start=1):
        for number in range(1, convs + 1):
            name = f"block{block}_conv{number}"
            kernel, bias = source.model.get_layer(name).get_weights()
            if name == "block1_conv1":
                kernel = kernel[:, :, ::-1, :]       # Keras' weights expect BGR: read RGB instead
            if source.weights is None:
                kernel = he_rescale(kernel)
            vgg.get_layer(name).set_weights([kernel, bias])
    provenance = source.provenance + ("; kernels rescaled to He variance (std √(2/fan_in))"
                                      if source.weights is None else "")
    return StyleNetwork(_feature_model(vgg, layers), MEAN_PIXEL.copy(), provenance, pooling)


def he_rescale(kernel: np.ndarray) -> np.ndarray:
    """A random kernel ``(h, w, in, out)`` rescaled to standard deviation √(2 / (h·w·in)) (He et al. 2015).

    Keras' default Glorot init has variance 2/(fan_in + fan_out): with ReLUs the signal shrinks through VGG-19's
    16 layers, so random-weight features near the top are tiny and the total-variation term swamps content and
    style. He scaling keeps activations at the size ImageNet VGG's have, so the source's loss weights still
    balance (texture transfer with random features: Ustyuzhaninov et al. 2016; He et al. 2016)."""
    fan_in = float(np.prod(kernel.shape[:3]))
    return (kernel * (np.sqrt(2.0 / fan_in) / max(float(kernel.std()), 1e-12))).astype("float32")


# ------------------------------------------------------------------------------------------------ losses
def l2_loss(x):
    """TF1's ``tf.nn.l2_loss``: ``Σ x² / 2``."""
    from keras import ops

    return ops.sum(ops.square(x)) / 2.0


def _size(x) -> int:
    return int(np.prod(x.shape))


def content_loss(features, target, content_weight: float = CONTENT_WEIGHT):
    """``content_weight · 2·l2_loss(F − P) / P.size`` = ``content_weight · mean((F − P)²)``."""
    return content_weight * (2 * l2_loss(features - target) / _size(target))


def gram_matrix(features):
    """``(1, h, w, c)`` → ``FᵀF / (h·w·c)`` with ``F`` the ``(h·w, c)`` reshaped activations: ``(c, c)``."""
    from keras import ops

    channels = features.shape[-1]
    flat = ops.reshape(features, (-1, channels))
    return ops.matmul(ops.transpose(flat), flat) / _size(features)


def style_layer_loss(features, target_gram):
    """One layer's term: ``2·l2_loss(G − A) / A.size`` = ``Σ(G − A)² / c²``."""
    return 2 * l2_loss(gram_matrix(features) - target_gram) / _size(target_gram)


def style_loss(features_by_layer, style_grams: Sequence[dict], style_weight: float = STYLE_WEIGHT,
               style_blend_weights: Sequence[float] | None = None, style_layers: Sequence[str] = STYLE_LAYERS):
    """``Σ_i style_weight · blend_i · Σ_layers style_layer_loss`` over the style images ``i`` (equal layer
    weights, as the source's ``reduce(tf.add, style_losses)``)."""
    blend = _blend_weights(style_blend_weights, len(style_grams))
    total = 0.0
    for grams, weight in zip(style_grams, blend):
        total += style_weight * weight * sum(style_layer_loss(features_by_layer[layer], grams[layer])
                                             for layer in style_layers)
    return total


def tv_loss(image, tv_weight: float = TV_WEIGHT):
    """``tv_weight · 2 · (l2_loss(Δy)/size_y + l2_loss(Δx)/size_x)`` on ``(1, h, w, 3)``; the sizes are those of
    ``image[:, 1:]`` and ``image[:, :, 1:]`` (total-variation denoising)."""
    dy = image[:, 1:, :, :] - image[:, :-1, :, :]
    dx = image[:, :, 1:, :] - image[:, :, :-1, :]
    return tv_weight * 2 * (l2_loss(dy) / _size(dy) + l2_loss(dx) / _size(dx))


def _blend_weights(weights, count: int) -> list[float]:
    """The source's rule: equal (1/n) by default; otherwise normalised to sum to 1."""
    if count < 1:
        raise ValueError("styles must hold at least one style image")
    if weights is None:
        return [1.0 / count] * count
    weights = [float(w) for w in weights]
    if len(weights) != count or min(weights) < 0 or sum(weights) <= 0:
        raise ValueError(f"style_blend_weights must be {count} non-negative numbers with a positive sum; got {weights}")
    return [w / sum(weights) for w in weights]


# ------------------------------------------------------------------------------------------------ stylize
def format_losses(content: float, style: float, tv: float, total: float) -> str:
    """The source's four lines (``%g``), right-aligned labels as upstream's ``print_progress``."""
    return ("  content loss: %g\n    style loss: %g\n       tv loss: %g\n    total loss: %g\n"
            % (content, style, tv, total))


def stylize(network: StyleNetwork, initial, content, styles: Sequence, iterations: int = ITERATIONS,
            content_weight: float = CONTENT_WEIGHT, style_weight: float = STYLE_WEIGHT,
            style_blend_weights: Sequence[float] | None = None, tv_weight: float = TV_WEIGHT,
            learning_rate: float = LEARNING_RATE, print_iterations: int | None = None,
            checkpoint_iterations: int | None = None, seed: int = 0, history: list | None = None,
            stream=None) -> Iterator[tuple[int | None, np.ndarray]]:
    """The source's generator: optimise an image with Adam and yield ``(iteration, image)`` at every checkpoint
    (``i % checkpoint_iterations == 0``) and ``(None, image)`` after the last iteration; the image yielded is the
    **best** (lowest total loss) seen at a checkpoint so far, in RGB 0–255 floats (unclipped).

    ``content`` ``(h, w, 3)`` and each of ``styles`` (any size) are RGB 0–255; ``initial``: ``None`` for
    ``N(0, 1)·0.256`` noise in mean-subtracted space (from ``seed``), or an RGB image of the content's size.
    Progress goes to ``stream`` (default stderr): ``Iteration i/n`` each step, the four losses (before the step)
    on the last step and every ``print_iterations``. ``history``: if a list, gets one dict per step with the
    ``content``, ``style``, ``tv`` and ``total`` losses.
    """
    import keras
    import tensorflow as tf

    if iterations < 1:
        raise ValueError(f"iterations must be ≥ 1; got {iterations}")
    content = np.asarray(content, dtype="float32")
    if content.ndim != 3 or content.shape[-1] != 3:
        raise ValueError(f"content must be an RGB image (h, w, 3); got shape {content.shape}")
    stream = sys.stderr if stream is None else stream
    blend = _blend_weights(style_blend_weights, len(styles))
    shape = (1, *content.shape)
    content_target = network.model(network.preprocess(content)[None])[CONTENT_LAYER]
    style_grams = []
    for style in styles:
        features = network.model(network.preprocess(style)[None])
        style_grams.append({layer: gram_matrix(features[layer]) for layer in STYLE_LAYERS})
    if initial is None:
        start = np.random.default_rng(seed).standard_normal(shape) * INITIAL_NOISE_SCALE
    else:
        start = network.preprocess(initial)[None]
        if start.shape != shape:
            raise ValueError(f"initial must have the content's shape {content.shape}; got {start.shape[1:]}")
    image = keras.Variable(start.astype("float32"), name="image")
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.9, beta_2=0.999, epsilon=ADAM_EPSILON)
    optimizer.build([image])

    def losses(x):
        features = network.model(x)
        c = content_loss(features[CONTENT_LAYER], content_target, content_weight)
        s = style_loss(features, style_grams, style_weight, blend)
        t = tv_loss(x, tv_weight)
        return c, s, t, c + s + t

    @tf.function
    def train_step():
        with tf.GradientTape() as tape:
            c, s, t, total = losses(image)
        optimizer.apply_gradients([(tape.gradient(total, image), image)])
        return c, s, t, total

    evaluate = tf.function(losses)
    best_loss, best = float("inf"), None
    for i in range(iterations):
        last_step = i == iterations - 1
        values = [float(v) for v in train_step()]
        stream.write("Iteration %d/%d\n" % (i + 1, iterations))
        if last_step or (print_iterations and i % print_iterations == 0):
            stream.write(format_losses(*values))
        if history is not None:
            history.append(dict(iteration=i + 1, content=values[0], style=values[1], tv=values[2], total=values[3]))
        if (checkpoint_iterations and i % checkpoint_iterations == 0) or last_step:
            this_loss = float(evaluate(image)[3])
            if this_loss < best_loss:
                best_loss, best = this_loss, np.array(image.numpy())
            yield (None if last_step else i), network.unprocess(best.reshape(shape[1:]))


def iterations_per_second(network: StyleNetwork, width: int = 256, iterations: int = 5, seed: int = 0) -> float:
    """Measured speed of :func:`stylize` on a ``width``×``width`` content with one style: iterations per second,
    timed after the first (tracing) iteration."""
    rng = np.random.default_rng(seed)
    content = rng.uniform(0, 255, size=(width, width, 3)).astype("float32")
    with open(os.devnull, "w") as quiet:
        steps = stylize(network, None, content, [content[::-1]], iterations=iterations + 1, checkpoint_iterations=1,
                        stream=quiet)
        next(steps)                      # iteration 0: traces the graphs
        start = time.perf_counter()
        for _ in steps:
            pass
        return iterations / (time.perf_counter() - start)


def draw_concept():
    """The method as a diagram (the source's lost figure "main concept of style transfer"): content, style and the
    generated image through one VGG-19, the three losses, and Adam updating the pixels."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(9, 3.6))
    axis.set_xlim(0, 10)
    axis.set_ylim(0, 4)
    axis.axis("off")
    boxes = {
        "content": (0.2, 3.0, "content image"), "generated": (0.2, 1.7, "generated image\n(the variable)"),
        "style": (0.2, 0.4, "style image(s)"), "vgg": (3.0, 1.4, "VGG-19\n(frozen)"),
        "c": (5.6, 3.0, "content loss\nrelu4_2, MSE × 5"),
        "s": (5.6, 1.7, "style loss: Gram matrices\nof relu1_1…relu5_1, × 100"),
        "tv": (5.6, 0.4, "total variation × 100"), "total": (8.4, 1.7, "total loss"),
    }
    for key, (x, y, text) in boxes.items():
        width = 2.3 if key in ("c", "s", "tv") else (1.7 if key not in ("vgg", "total") else 1.4)
        height = 1.2 if key == "vgg" else 0.8
        axis.add_patch(plt.Rectangle((x, y), width, height, facecolor="#E8F1FA" if key != "vgg" else "#FCE9D9",
                                     edgecolor="#0072B2" if key != "vgg" else "#D55E00", linewidth=1.5))
        axis.text(x + width / 2, y + height / 2, text, ha="center", va="center", fontsize=8.5)

    def arrow(start, end, **style):
        axis.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", color="0.3", **style))

    for y in (3.4, 2.1, 0.8):
        arrow((1.9, y), (3.0, 2.0))
    arrow((4.4, 2.2), (5.6, 3.4))
    arrow((4.4, 2.0), (5.6, 2.1))
    arrow((1.9, 1.9), (5.6, 0.8))
    for y in (3.4, 2.1, 0.8):
        arrow((7.9, y), (8.4, 2.1))
    axis.annotate("Adam (lr 10, ε 1e-8) updates the pixels", xy=(0.95, 1.65), xytext=(6.0, 0.05), fontsize=8.5,
                  color="#D55E00", arrowprops=dict(arrowstyle="->", color="#D55E00", connectionstyle="arc3,rad=-0.3"))
    axis.set_title("neural style transfer (Gatys et al.): optimise the image, not the network", fontsize=11)
    return figure


# ------------------------------------------------------------------------------------------------ images
def procedural_style(size: int = 256, seed: int = 0) -> np.ndarray:
    """A deterministic colourful swirl texture (uint8 ``(size, size, 3)``): a style image with no licence."""
    from matplotlib import colormaps

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size - 0.5
    radius, angle = np.hypot(x, y), np.arctan2(y, x)
    field = np.sin(18 * radius + 3 * angle + rng.uniform(0, 6)) + 0.6 * np.sin(40 * x + 9 * np.sin(12 * y))
    field = (field - field.min()) / (field.max() - field.min())
    return (colormaps["twilight_shifted"](field)[..., :3] * 255).astype("uint8")


def imread(path: str | os.PathLike) -> np.ndarray:
    """An image file as RGB float32 0–255 (grey and RGBA converted; the source's ``scipy.misc.imread`` is gone)."""
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype="float32")


def imsave(path: str | os.PathLike, image) -> str:
    """Clip to [0, 255], cast to uint8 and save. A path without an extension gets ``.jpg`` (the source's
    ``--output=outfinal`` could not be saved: PIL needs a format). Returns the path written."""
    from PIL import Image

    path = str(path)
    if not os.path.splitext(path)[1]:
        path += ".jpg"
    Image.fromarray(np.clip(np.asarray(image), 0, 255).astype("uint8")).save(path)
    return path


def resize(image, shape: tuple[int, int]) -> np.ndarray:
    """Resize an RGB float image to ``(height, width)`` (bilinear, antialiased); float32 0–255."""
    from PIL import Image

    height, width = shape
    picture = Image.fromarray(np.clip(np.asarray(image), 0, 255).astype("uint8"))
    return np.asarray(picture.resize((int(width), int(height)), Image.BILINEAR), dtype="float32")


def content_shape_for_width(shape: tuple[int, ...], width: int) -> tuple[int, int]:
    """The source's ``--width`` rule: ``(floor(h / w · width), width)``."""
    return int(math.floor(float(shape[0]) / shape[1] * width)), int(width)


def style_shape_for(style_shape: tuple[int, ...], content_width: int, style_scale: float = STYLE_SCALE
                    ) -> tuple[int, int]:
    """The source's style resizing: scale factor ``style_scale · content_width / style_width`` on both sides."""
    factor = style_scale * content_width / style_shape[1]
    return max(1, int(round(style_shape[0] * factor))), max(1, int(round(style_shape[1] * factor)))


# ------------------------------------------------------------------------------------------------ CLI
def build_parser() -> argparse.ArgumentParser:
    """``neural_style.py``'s options (plus ``--pooling`` and ``--weights``)."""
    parser = argparse.ArgumentParser(prog="python -m chapters_src.cnn.style_transfer",
                                     description="Neural style transfer (Gatys et al.) with VGG-19.")
    parser.add_argument("--content", dest="content", help="content image", metavar="CONTENT", required=True)
    parser.add_argument("--styles", dest="styles", nargs="+", help="one or more style images", metavar="STYLE",
                        required=True)
    parser.add_argument("--output", dest="output", help="output path (no extension: .jpg is added)",
                        metavar="OUTPUT", required=True)
    parser.add_argument("--checkpoint-output", dest="checkpoint_output",
                        help="checkpoint output format, e.g. output%%s.jpg", metavar="OUTPUT")
    parser.add_argument("--iterations", type=int, dest="iterations", help="iterations (default %(default)s)",
                        metavar="ITERATIONS", default=ITERATIONS)
    parser.add_argument("--width", type=int, dest="width", help="output width", metavar="WIDTH")
    parser.add_argument("--style-scales", type=float, dest="style_scales", nargs="+", help="one or more style scales",
                        metavar="STYLE_SCALE")
    parser.add_argument("--network", dest="network", metavar="VGG_PATH",
                        help="path to imagenet-vgg-verydeep-19.mat (default: $VGG19_MAT or the cache if present, "
                             "else Keras' VGG19)")
    parser.add_argument("--content-weight", type=float, dest="content_weight", default=CONTENT_WEIGHT,
                        metavar="CONTENT_WEIGHT", help="content weight (default %(default)s)")
    parser.add_argument("--style-weight", type=float, dest="style_weight", default=STYLE_WEIGHT,
                        metavar="STYLE_WEIGHT", help="style weight (default %(default)s)")
    parser.add_argument("--style-blend-weights", type=float, dest="style_blend_weights", nargs="+",
                        metavar="STYLE_BLEND_WEIGHT", help="style blending weights")
    parser.add_argument("--tv-weight", type=float, dest="tv_weight", default=TV_WEIGHT, metavar="TV_WEIGHT",
                        help="total variation regularization weight (default %(default)s)")
    parser.add_argument("--learning-rate", type=float, dest="learning_rate", default=LEARNING_RATE,
                        metavar="LEARNING_RATE", help="learning rate (default %(default)s)")
    parser.add_argument("--initial", dest="initial", metavar="INITIAL", help="initial image")
    parser.add_argument("--print-iterations", type=int, dest="print_iterations", metavar="PRINT_ITERATIONS",
                        help="statistics printing frequency")
    parser.add_argument("--checkpoint-iterations", type=int, dest="checkpoint_iterations",
                        metavar="CHECKPOINT_ITERATIONS", help="checkpoint frequency")
    parser.add_argument("--pooling", choices=POOLINGS, default="max", help="VGG pooling (default %(default)s)")
    parser.add_argument("--weights", choices=("auto", "imagenet", "random"), default="auto",
                        help="Keras VGG19 weights when no .mat file is used (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial noise")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the program; returns the exit status (``parser.error`` exits with 2 on bad options)."""
    parser = build_parser()
    options = parser.parse_args(argv)
    if options.network is not None and not os.path.isfile(options.network):
        parser.error("Network %s does not exist. (Did you forget to download it?)" % options.network)
    if options.checkpoint_output and "%s" not in options.checkpoint_output:
        parser.error("To save intermediate images, the checkpoint output parameter must contain `%s` "
                     "(e.g. `foo%s.jpg`)")
    content_image = imread(options.content)
    style_images = [imread(style) for style in options.styles]
    if options.width is not None:
        content_image = resize(content_image, content_shape_for_width(content_image.shape, options.width))
    scales = options.style_scales or [STYLE_SCALE] * len(style_images)
    if len(scales) != len(style_images):
        parser.error(f"--style-scales needs one value per style image ({len(style_images)})")
    style_images = [resize(style, style_shape_for(style.shape, content_image.shape[1], scale))
                    for style, scale in zip(style_images, scales)]
    blend = options.style_blend_weights
    if blend is not None and len(blend) != len(style_images):
        parser.error(f"--style-blend-weights needs one value per style image ({len(style_images)})")
    initial = options.initial
    if initial is not None:
        initial = resize(imread(initial), content_image.shape[:2])
    weights = {"auto": "auto", "imagenet": "imagenet", "random": None}[options.weights]
    network = style_network(weights=weights, pooling=options.pooling, mat_path=options.network)
    sys.stderr.write(network.provenance + "\n")
    output = options.output
    if not os.path.splitext(output)[1]:
        output += ".jpg"
        sys.stderr.write(f"--output has no extension: writing {output}\n")
    for iteration, image in stylize(network, initial, content_image, style_images, options.iterations,
                                    options.content_weight, options.style_weight, blend, options.tv_weight,
                                    options.learning_rate, options.print_iterations,
                                    options.checkpoint_iterations, seed=options.seed):
        if iteration is not None:
            if options.checkpoint_output:
                imsave(options.checkpoint_output % iteration, image)
        else:
            imsave(output, image)
    return 0


if __name__ == "__main__":
    sys.exit(main())
