"""chapters_src.gan.data: [-1, 1] digits, flattening, 32×32 padding, one-hot labels, batches, the 4×10 grid."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from chapters_src.gan import data as gd


def test_scaling_maps_0_and_255_to_the_ends_of_minus_one_to_one():
    images = np.array([[[0, 255], [51, 204]]], dtype="uint8")
    scaled = gd.to_signed_unit(images)
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled, [[[-1.0, 1.0], [-0.6, 0.6]]], atol=1e-6)
    with pytest.raises(ValueError, match="0..255"):
        gd.to_signed_unit(np.array([1.5]))


def test_offline_digits_are_train_plus_test_of_the_registry_substitute():
    digits = gd.load_digits(prefer="substitute")
    assert digits.images.shape == (1_797, 28, 28) and digits.labels.shape == (1_797,)   # 1,500 + 297, as the source
    assert digits.images.min() == -1.0 and digits.images.max() == 1.0
    assert set(np.unique(digits.labels)) == set(range(10))
    assert "substitute" in str(digits.provenance)
    # The substitute digit is 20×20 inside a 4-pixel background frame, like MNIST's centred digits.
    assert np.all(digits.images[:, :4, :] == -1.0) and np.all(digits.images[:, :, -4:] == -1.0)
    subset = gd.load_digits(prefer="substitute", max_images=100)
    assert subset.images.shape == (100, 28, 28)
    with pytest.raises(ValueError, match="max_images"):
        gd.load_digits(prefer="substitute", max_images=3)


def test_flatten_and_pad_shapes_and_padding_value():
    images = np.full((3, 28, 28), 0.5, dtype="float32")
    assert gd.flatten(images).shape == (3, 784)
    padded = gd.pad_to_32(images)
    assert padded.shape == (3, 32, 32, 1)
    assert np.all(padded[:, :2] == -1.0) and np.all(padded[:, :, -2:] == -1.0)     # background frame
    assert np.all(padded[:, 2:30, 2:30, 0] == 0.5)
    book = gd.pad_to_32(images, value=0.0)
    assert np.all(book[:, 0] == 0.0)                                                 # the source's mid-grey frame
    with pytest.raises(ValueError, match="28, 28"):
        gd.pad_to_32(np.zeros((2, 32, 32)))
    with pytest.raises(ValueError, match="value"):
        gd.pad_to_32(images, value=3.0)


def test_one_hot_matches_to_categorical():
    import keras

    labels = np.array([2, 0, 9, 2])
    np.testing.assert_array_equal(gd.one_hot(labels), keras.utils.to_categorical(labels, 10))
    assert gd.one_hot(labels)[0].tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]         # the source's example: digit 2
    with pytest.raises(ValueError):
        gd.one_hot(np.array([10]))


def test_batches_of_the_source_keep_or_drop_the_partial_last_batch():
    keep = gd.batch_indices(70_000, 128)
    drop = gd.batch_indices(70_000, 128, drop_remainder=True)
    assert len(keep) == 547 and len(keep[-1]) == 112                                  # gen_batches
    assert len(drop) == 546 and all(len(batch) == 128 for batch in drop)             # gen_batches_label
    shuffled = gd.batch_indices(10, 4, np.random.default_rng(0))
    assert sorted(np.concatenate(shuffled).tolist()) == list(range(10))
    assert np.concatenate(shuffled).tolist() != list(range(10))
    with pytest.raises(ValueError, match="batch_size"):
        gd.batch_indices(10, 0)


def test_grid_labels_read_0_to_9_on_every_row():
    labels = gd.grid_labels()
    assert labels.shape == (40,)
    assert labels.reshape(4, 10).tolist() == [list(range(10))] * 4


def test_sample_grid_is_4_by_10_and_accepts_every_layout():
    for images in (np.zeros((40, 784)), np.zeros((40, 32, 32, 1)), np.zeros((45, 28, 28))):
        figure = gd.sample_grid(images, title="t")
        assert len(figure.axes) == 40
        plt.close(figure)
    with pytest.raises(ValueError, match="at least"):
        gd.sample_grid(np.zeros((10, 784)))
