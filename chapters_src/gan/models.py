"""Generators and discriminators of the four GANs, with the source's layer sizes (ch. 7, code E7.1–E7.4).

Every builder returns a functional ``keras.Model``; discriminators output **logits** (no sigmoid: the losses use
``from_logits=True``, as the source's ``sigmoid_cross_entropy_with_logits``). All kernels start from
``RandomNormal(0, 0.02)`` and every leaky ReLU has ``negative_slope=0.2`` (Keras' default is 0.3).

Parameter counts with the default arguments (tested): vanilla G 1,486,352 / D 1,460,225; DCGAN G 1,440,257 /
D 1,031,681; CGAN G 1,488,912 / D 1,470,465; InfoGAN G 1,485,313 / D 5,359,756 (counts include the batch-norm
moving statistics, as ``count_params()`` does). ``base_filters`` (default 64) shrinks the convolutional models for
a laptop CPU: D has ``base, 2·base, 4·base`` filters, G mirrors them.
"""
from __future__ import annotations

NOISE_SIZE = 100
IMAGE_PIXELS = 784
CLASSES = 10
CONTINUOUS_CODES = 1
LEAKY_SLOPE = 0.2
INIT_STDDEV = 0.02
BN_MOMENTUM, BN_EPSILON = 0.9, 1e-5
KINDS = ("vanilla", "dcgan", "cgan", "infogan")


def _init(initializer=None):
    """The source's ``RandomNormal(0, 0.02)``, or ``initializer`` (a Keras initializer or its name)."""
    import keras

    if initializer is None:
        return keras.initializers.RandomNormal(mean=0.0, stddev=INIT_STDDEV)
    return keras.initializers.get(initializer)


def _dense(units, name, activation=None, initializer=None):
    import keras

    return keras.layers.Dense(units, activation=activation, kernel_initializer=_init(initializer), name=name)


def _leaky(name):
    import keras

    return keras.layers.LeakyReLU(negative_slope=LEAKY_SLOPE, name=name)


def _batch_norm(name):
    import keras

    return keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name)


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}")


# --------------------------------------------------------------------------------------------- dense (7.6, 7.8)
GENERATOR_UNITS = (256, 512, 1024)     # the source; the discriminator mirrors them (1024, 512, 256)


def _check_units(hidden_units):
    units = tuple(hidden_units)
    if not units or any(isinstance(u, bool) or not isinstance(u, int) or u < 1 for u in units):
        raise ValueError(f"hidden_units must be a non-empty sequence of integers >= 1; got {hidden_units!r}")
    return units


def _dense_generator(inputs, flat_input, output_pixels, hidden_units, initializer=None):
    x = flat_input
    for index, units in enumerate(_check_units(hidden_units), start=1):
        x = _leaky(f"leaky_{index}")(_dense(units, f"dense_{index}", initializer=initializer)(x))
    outputs = _dense(output_pixels, "dense_out", activation="tanh", initializer=initializer)(x)
    return inputs, outputs


def build_vanilla_generator(noise_size: int = NOISE_SIZE, output_pixels: int = IMAGE_PIXELS,
                            hidden_units=GENERATOR_UNITS, kernel_initializer=None):
    """z ``(batch, 100)`` → Dense 256 → 512 → 1024 (leaky ReLU 0.2) → Dense 784, tanh: images ``(batch, 784)``.
    ``kernel_initializer``: None is the source's ``RandomNormal(0, 0.02)`` (the dense models' builders all take it)."""
    import keras

    _check_positive("noise_size", noise_size)
    z = keras.Input((noise_size,), name="noise")
    inputs, outputs = _dense_generator(z, z, output_pixels, hidden_units, kernel_initializer)
    return keras.Model(inputs, outputs, name="vanilla_generator")


def _dense_discriminator(flat_input, hidden_units, initializer=None):
    x = flat_input
    for index, units in enumerate(_check_units(hidden_units)[::-1], start=1):
        x = _leaky(f"leaky_{index}")(_dense(units, f"dense_{index}", initializer=initializer)(x))
    return _dense(1, "logit", initializer=initializer)(x)


def build_vanilla_discriminator(input_pixels: int = IMAGE_PIXELS, hidden_units=GENERATOR_UNITS,
                                kernel_initializer=None):
    """images ``(batch, 784)`` → Dense 1024 → 512 → 256 (leaky ReLU 0.2) → Dense 1: logits ``(batch, 1)``.
    ``hidden_units`` is given in the generator's order and used reversed."""
    import keras

    x = keras.Input((input_pixels,), name="image")
    return keras.Model(x, _dense_discriminator(x, hidden_units, kernel_initializer), name="vanilla_discriminator")


def build_cgan_generator(noise_size: int = NOISE_SIZE, classes: int = CLASSES, output_pixels: int = IMAGE_PIXELS,
                         hidden_units=GENERATOR_UNITS, kernel_initializer=None):
    """[z ``(batch, 100)``, one-hot y ``(batch, 10)``] → concat (110) → the vanilla generator: ``(batch, 784)``."""
    import keras

    _check_positive("classes", classes)
    z = keras.Input((noise_size,), name="noise")
    y = keras.Input((classes,), name="label")
    joined = keras.layers.Concatenate(name="noise_and_label")([z, y])
    inputs, outputs = _dense_generator([z, y], joined, output_pixels, hidden_units, kernel_initializer)
    return keras.Model(inputs, outputs, name="cgan_generator")


def build_cgan_discriminator(classes: int = CLASSES, input_pixels: int = IMAGE_PIXELS, hidden_units=GENERATOR_UNITS,
                             kernel_initializer=None):
    """[images ``(batch, 784)``, one-hot y ``(batch, 10)``] → concat (794) → the vanilla discriminator: logits."""
    import keras

    x = keras.Input((input_pixels,), name="image")
    y = keras.Input((classes,), name="label")
    joined = keras.layers.Concatenate(name="image_and_label")([x, y])
    return keras.Model([x, y], _dense_discriminator(joined, hidden_units, kernel_initializer),
                       name="cgan_discriminator")


# --------------------------------------------------------------------------------------------- conv (7.7, 7.9)
def _conv(filters, name):
    import keras

    return keras.layers.Conv2D(filters, 5, strides=2, padding="same", kernel_initializer=_init(), name=name)


def _conv_transpose(filters, name, activation=None):
    import keras

    return keras.layers.Conv2DTranspose(filters, 5, strides=2, padding="same", kernel_initializer=_init(),
                                        activation=activation, name=name)


def _conv_generator_body(flat_input, base_filters, channels):
    """Dense 16·4·base (ReLU) → (4, 4, 4·base) → convT 2·base, BN, ReLU → convT base, BN, ReLU → convT channels,
    tanh: 4×4 → 8×8 → 16×16 → 32×32."""
    import keras

    x = _dense(4 * 4 * 4 * base_filters, "project", activation="relu")(flat_input)
    x = keras.layers.Reshape((4, 4, 4 * base_filters), name="to_4x4")(x)
    for index, filters in enumerate((2 * base_filters, base_filters), start=1):
        x = _conv_transpose(filters, f"deconv_{index}")(x)
        x = _batch_norm(f"bn_{index}")(x)
        x = keras.layers.ReLU(name=f"relu_{index}")(x)
    return _conv_transpose(channels, "deconv_out", activation="tanh")(x)


def build_dcgan_generator(noise_size: int = NOISE_SIZE, channels: int = 1, base_filters: int = 64):
    """z ``(batch, 100)`` → Dense 4096 ReLU → (4, 4, 256) → ConvT 128 → ConvT 64 → ConvT 1 (5×5, stride 2, BN and
    ReLU between, tanh last): images ``(batch, 32, 32, 1)``."""
    import keras

    _check_positive("base_filters", base_filters)
    z = keras.Input((noise_size,), name="noise")
    return keras.Model(z, _conv_generator_body(z, base_filters, channels), name="dcgan_generator")


def _conv_trunk(image, base_filters):
    """Conv 64 → lrelu; conv 128 → BN → lrelu; conv 256 → BN → lrelu (5×5, stride 2): 32 → 16 → 8 → 4; flatten."""
    import keras

    x = _leaky("leaky_1")(_conv(base_filters, "conv_1")(image))
    for index, filters in ((2, 2 * base_filters), (3, 4 * base_filters)):
        x = _leaky(f"leaky_{index}")(_batch_norm(f"bn_{index}")(_conv(filters, f"conv_{index}")(x)))
    return keras.layers.Flatten(name="flatten")(x)


def build_dcgan_discriminator(image_shape=(32, 32, 1), base_filters: int = 64):
    """images ``(batch, 32, 32, 1)`` → conv 64 / 128+BN / 256+BN (5×5, stride 2, leaky ReLU) → Dense 1: logits."""
    import keras

    _check_positive("base_filters", base_filters)
    image = keras.Input(tuple(image_shape), name="image")
    return keras.Model(image, _dense(1, "logit")(_conv_trunk(image, base_filters)), name="dcgan_discriminator")


def build_infogan_generator(noise_size: int = NOISE_SIZE, classes: int = CLASSES,
                            continuous_codes: int = CONTINUOUS_CODES, channels: int = 1, base_filters: int = 64):
    """[z ``(batch, 100)``, c ``(batch, 11)``] → concat (111) → the DCGAN generator: ``(batch, 32, 32, 1)``.

    ``c`` = [continuous code(s) ~ N(0, 1), one-hot category]: column 0 continuous, columns 1–10 the category.
    """
    import keras

    z = keras.Input((noise_size,), name="noise")
    c = keras.Input((continuous_codes + classes,), name="code")
    joined = keras.layers.Concatenate(name="noise_and_code")([z, c])
    return keras.Model([z, c], _conv_generator_body(joined, base_filters, channels), name="infogan_generator")


def build_infogan_discriminator(image_shape=(32, 32, 1), classes: int = CLASSES,
                                continuous_codes: int = CONTINUOUS_CODES, base_filters: int = 64):
    """images → the DCGAN trunk → Dense 1024, BN, leaky ReLU → Dense 128 (linear) → three heads:
    ``[logit (batch, 1), continuous (batch, 1), category logits (batch, 10)]`` (D and the recognition net Q)."""
    import keras

    image = keras.Input(tuple(image_shape), name="image")
    x = _conv_trunk(image, base_filters)
    x = _leaky("leaky_4")(_batch_norm("bn_4")(_dense(1024, "dense_1024")(x)))
    x = _dense(128, "dense_128")(x)
    outputs = [_dense(1, "logit")(x), _dense(continuous_codes, "continuous")(x), _dense(classes, "category")(x)]
    return keras.Model(image, outputs, name="infogan_discriminator")


def build_pair(kind: str, base_filters: int = 64, width_divisor: int = 1, dense_initializer=None):
    """``(generator, discriminator)`` of ``kind`` ∈ ``("vanilla", "dcgan", "cgan", "infogan")``.

    ``width_divisor`` divides the dense models' hidden units (2: 128/256/512) for a quicker laptop run;
    ``base_filters`` sets the convolutional models' width; ``dense_initializer`` replaces the source's
    ``RandomNormal(0, 0.02)`` in the dense models (vanilla, CGAN), e.g. ``"glorot_uniform"``. The defaults are the
    source's models."""
    _check_positive("width_divisor", width_divisor)
    units = tuple(max(units // width_divisor, 1) for units in GENERATOR_UNITS)
    if dense_initializer is not None and kind not in ("vanilla", "cgan"):
        raise ValueError("dense_initializer applies to the dense models (vanilla, cgan) only")
    if kind == "vanilla":
        return (build_vanilla_generator(hidden_units=units, kernel_initializer=dense_initializer),
                build_vanilla_discriminator(hidden_units=units, kernel_initializer=dense_initializer))
    if kind == "cgan":
        return (build_cgan_generator(hidden_units=units, kernel_initializer=dense_initializer),
                build_cgan_discriminator(hidden_units=units, kernel_initializer=dense_initializer))
    if kind == "dcgan":
        return build_dcgan_generator(base_filters=base_filters), build_dcgan_discriminator(base_filters=base_filters)
    if kind == "infogan":
        return (build_infogan_generator(base_filters=base_filters),
                build_infogan_discriminator(base_filters=base_filters))
    raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
