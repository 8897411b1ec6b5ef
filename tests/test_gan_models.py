"""chapters_src.gan.models: the source's exact parameter counts, layer settings and shapes."""
import functools

import numpy as np
import pytest

from chapters_src.gan import models


@functools.cache
def pair(kind):
    """Each full-size pair is built once for this module (building the 5.4M-parameter discriminator takes time)."""
    return models.build_pair(kind)


@pytest.mark.parametrize("kind, generator_params, discriminator_params", [
    ("vanilla", 1_486_352, 1_460_225),
    ("dcgan", 1_440_257, 1_031_681),
    ("cgan", 1_488_912, 1_470_465),
    ("infogan", 1_485_313, 5_359_756),
])
def test_parameter_counts_match_the_source(kind, generator_params, discriminator_params):
    generator, discriminator = pair(kind)
    assert generator.count_params() == generator_params
    assert discriminator.count_params() == discriminator_params


def test_batch_norm_statistics_are_the_non_trainable_parameters():
    import keras

    def non_trainable(model):
        return sum(int(np.prod(v.shape)) for v in model.non_trainable_weights)

    generator, discriminator = pair("dcgan")
    assert non_trainable(generator) == 384 and non_trainable(discriminator) == 768
    assert non_trainable(pair("infogan")[1]) == 2_816
    for layer in generator.layers + discriminator.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            assert layer.momentum == 0.9 and layer.epsilon == 1e-5


def test_layers_use_the_source_slope_and_initialiser():
    import keras

    generator, discriminator = pair("vanilla")
    slopes = {layer.negative_slope for layer in generator.layers + discriminator.layers
              if isinstance(layer, keras.layers.LeakyReLU)}
    assert slopes == {0.2}
    for layer in generator.layers:
        if isinstance(layer, keras.layers.Dense):
            initializer = layer.kernel_initializer
            assert isinstance(initializer, keras.initializers.RandomNormal)
            assert initializer.mean == 0.0 and initializer.stddev == 0.02
    assert generator.layers[-1].activation.__name__ == "tanh"
    assert discriminator.layers[-1].activation.__name__ == "linear"                  # logits


def test_dcgan_generator_grows_4_8_16_32():
    import keras

    generator = pair("dcgan")[0]
    sizes = [generator.get_layer(name).output.shape[1:3] for name in ("to_4x4", "deconv_1", "deconv_2", "deconv_out")]
    assert [tuple(size) for size in sizes] == [(4, 4), (8, 8), (16, 16), (32, 32)]
    output = generator(keras.random.uniform((2, 100), -1, 1, seed=0), training=False)
    assert tuple(output.shape) == (2, 32, 32, 1)
    out = keras.ops.convert_to_numpy(output)
    assert out.min() >= -1 and out.max() <= 1
    discriminator = pair("dcgan")[1]
    assert [tuple(discriminator.get_layer(f"conv_{i}").output.shape[1:]) for i in (1, 2, 3)] == [
        (16, 16, 64), (8, 8, 128), (4, 4, 256)]


def test_conditional_inputs_and_infogan_heads():
    generator, discriminator = pair("cgan")
    assert [tuple(t.shape[1:]) for t in generator.inputs] == [(100,), (10,)]
    assert generator.get_layer("noise_and_label").output.shape[-1] == 110
    assert discriminator.get_layer("image_and_label").output.shape[-1] == 794
    generator, discriminator = pair("infogan")
    assert generator.get_layer("noise_and_code").output.shape[-1] == 111
    assert [tuple(t.shape[1:]) for t in discriminator.outputs] == [(1,), (1,), (10,)]
    assert discriminator.get_layer("dense_128").activation.__name__ == "linear"


def test_narrow_models_and_argument_checks():
    generator, discriminator = models.build_pair("dcgan", base_filters=16)
    assert discriminator.get_layer("conv_3").output.shape[-1] == 64
    assert generator.get_layer("project").output.shape[-1] == 4 * 4 * 64
    generator, discriminator = models.build_pair("cgan", width_divisor=2)
    assert [generator.get_layer(f"dense_{i}").units for i in (1, 2, 3)] == [128, 256, 512]
    assert [discriminator.get_layer(f"dense_{i}").units for i in (1, 2, 3)] == [512, 256, 128]
    with pytest.raises(ValueError, match="width_divisor"):
        models.build_pair("vanilla", width_divisor=0)
    with pytest.raises(ValueError, match="kind"):
        models.build_pair("wgan")
    with pytest.raises(ValueError, match="base_filters"):
        models.build_dcgan_generator(base_filters=0)


def test_the_source_initialiser_starves_the_dense_discriminator_and_glorot_does_not():
    """RandomNormal(0, 0.02) in a four-layer perceptron without batch norm: the logits of real digits have a
    standard deviation of a few thousandths (why the ``standard`` profile uses Glorot-uniform kernels for the dense
    models); with Glorot they are of order 0.1–1. The convolutional models keep the source's initialiser."""
    import keras

    from chapters_src.gan import data as gd
    from chapters_src.gan import training as gt

    images = gt.prepare_images("vanilla", gd.load_digits(prefer="substitute", max_images=256).images)
    spread = {}
    for initializer in (None, "glorot_uniform"):
        keras.utils.set_random_seed(0)
        generator, discriminator = models.build_pair("vanilla", width_divisor=2, dense_initializer=initializer)
        spread[initializer] = float(np.std(keras.ops.convert_to_numpy(discriminator(images))))
        kernel = discriminator.get_layer("dense_1").kernel_initializer
        assert isinstance(kernel, keras.initializers.RandomNormal if initializer is None
                          else keras.initializers.GlorotUniform)
    assert spread[None] < 0.01 and spread["glorot_uniform"] > 0.05, spread
    generator, _ = models.build_pair("cgan", width_divisor=4, dense_initializer="glorot_uniform")
    assert isinstance(generator.get_layer("dense_out").kernel_initializer, keras.initializers.GlorotUniform)
    with pytest.raises(ValueError, match="dense_initializer"):
        models.build_pair("dcgan", base_filters=4, dense_initializer="glorot_uniform")
