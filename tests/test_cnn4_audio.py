"""WaveNet chapter: μ-law, dilated causal convolution, receptive field, WaveNet shapes/causality/parameters,
the fast generator against the full model, the NSynth encoder shapes, and a short "learns" run."""
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from chapters_src.cnn import audio, cnn4_settings  # noqa: E402
from chapters_src.cnn.conv_arithmetic import receptive_field_size  # noqa: E402
from chapters_src.data import media  # noqa: E402


def test_mu_law_round_trip_within_half_a_step_and_monotonic():
    x = np.linspace(-1, 1, 20_001)
    codes = audio.mu_law_encode(x)
    assert codes.dtype == np.int64 and codes.min() == 0 and codes.max() == 255
    assert np.all(np.diff(codes) >= 0)                      # encoding is monotonic
    decoded = audio.mu_law_decode(np.arange(256))
    assert np.all(np.diff(decoded) > 0)                     # decoding is strictly monotonic
    error = np.abs(audio.mu_law_decode(codes) - x)
    assert np.all(error <= audio.mu_law_step(x))              # at most one quantisation cell (half, up to curvature)
    assert error.max() < 0.03                                # 8-bit μ-law tolerance near full scale
    assert np.abs(audio.mu_law_decode(audio.mu_law_encode(0.001)) - 0.001) < 2e-4   # fine steps near zero
    assert audio.mu_law_encode(0.0) == 128 and audio.mu_law_encode(2.0) == 255     # clipped


def test_mu_law_decode_rejects_out_of_range_codes():
    with pytest.raises(ValueError, match="codes"):
        audio.mu_law_decode([0, 256])


def test_dilated_causal_reference_matches_keras_and_the_book_example():
    rng = np.random.default_rng(0)
    x = rng.normal(size=40).astype("float32")
    for dilation, kernel_size in [(1, 2), (2, 3), (4, 2)]:
        layer = keras.layers.Conv1D(1, kernel_size, dilation_rate=dilation, padding="causal", use_bias=False)
        layer.build((1, 40, 1))
        kernel = rng.normal(size=(kernel_size, 1, 1)).astype("float32")
        layer.set_weights([kernel])
        keras_y = keras.ops.convert_to_numpy(layer(x.reshape(1, 40, 1)))[0, :, 0]
        reference = audio.dilated_causal_conv_reference(x, kernel[::-1, 0, 0], dilation)
        np.testing.assert_allclose(keras_y, reference, atol=1e-5)
    # the book's "size 3 with dilation 1" = w0·x0 + w1·x2 + w2·x4 (read backwards from t = 4): Keras dilation_rate=2
    y = audio.dilated_causal_conv_reference(np.arange(8.0), [1.0, 10.0, 100.0], dilation=2)
    assert y[4] == 1 * 4 + 10 * 2 + 100 * 0


def test_receptive_field():
    assert audio.receptive_field(2, [2 ** i for i in range(10)]) == 1024
    assert audio.receptive_field(2, [2 ** i for i in range(10)]) == receptive_field_size(
        [2] * 10, dilations=[2 ** i for i in range(10)])
    assert audio.receptive_field(3, [1, 2, 4]) == 15
    assert audio.wavenet_receptive_field([1, 2, 4, 8]) == 17
    with pytest.raises(ValueError, match="dilation"):
        audio.receptive_field(2, [1, 0])


@pytest.fixture(scope="module")
def small_wavenet():
    keras.utils.set_random_seed(1)
    return audio.build_wavenet((1, 2, 4, 8), residual_channels=8, skip_channels=16)


def test_wavenet_shapes_and_parameter_formula(small_wavenet):
    codes = np.random.default_rng(0).integers(0, 256, (2, 50)).astype("int32")
    assert small_wavenet(codes).shape == (2, 50, 256)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(small_wavenet(codes)).sum(-1), 1, atol=1e-5)
    assert small_wavenet.count_params() == audio.wavenet_parameter_count(
        (1, 2, 4, 8), residual_channels=8, skip_channels=16)
    conditioned = audio.build_wavenet((1, 2), residual_channels=4, skip_channels=4, conditioning_channels=3)
    assert conditioned.count_params() == audio.wavenet_parameter_count(
        (1, 2), residual_channels=4, skip_channels=4, conditioning_channels=3)
    # the NSynth decoder of the source: 30 layers, 512 wide, 256 skip channels
    assert audio.wavenet_parameter_count([2 ** (i % 10) for i in range(30)], residual_channels=512,
                                         skip_channels=256) > 40_000_000


def test_wavenet_is_causal(small_wavenet):
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 256, (1, 64)).astype("int32")
    t = 30
    changed = codes.copy()
    changed[0, t + 1:] = rng.integers(0, 256, 64 - t - 1)
    before = keras.ops.convert_to_numpy(small_wavenet(codes))
    after = keras.ops.convert_to_numpy(small_wavenet(changed))
    np.testing.assert_allclose(before[:, : t + 1], after[:, : t + 1], atol=1e-6)
    assert not np.allclose(before[:, t + 1:], after[:, t + 1:])


def test_fast_generator_matches_the_full_model(small_wavenet):
    codes = np.random.default_rng(5).integers(0, 256, (2, 40)).astype("int32")
    full = np.asarray(small_wavenet.predict_on_batch(codes))
    generator = audio.FastGenerator(small_wavenet, batch_size=2)
    incremental = np.stack([generator.step(codes[:, t]) for t in range(40)], axis=1)
    np.testing.assert_allclose(incremental, full, rtol=1e-4, atol=1e-6)
    seed = codes[:, :audio.wavenet_receptive_field((1, 2, 4, 8))]
    naive = audio.generate_naive(small_wavenet, seed, 12, temperature=0)
    fast = audio.FastGenerator(small_wavenet, batch_size=2).generate(12, seed_codes=seed, temperature=0)
    np.testing.assert_array_equal(naive, fast)
    sampled = audio.FastGenerator(small_wavenet).generate(30, seed=1)
    assert sampled.shape == (1, 30) and sampled.min() >= 0 and sampled.max() <= 255
    decoded = audio.mu_law_decode(sampled)
    assert decoded.min() >= -1 and decoded.max() <= 1


def test_fast_generator_with_conditioning():
    keras.utils.set_random_seed(2)
    model = audio.build_wavenet((1, 2), residual_channels=4, skip_channels=8, conditioning_channels=3)
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 256, (1, 20)).astype("int32")
    conditioning = rng.normal(size=(1, 20, 3)).astype("float32")
    full = np.asarray(model.predict_on_batch([codes, conditioning]))
    generator = audio.FastGenerator(model)
    incremental = np.stack([generator.step(codes[:, t], conditioning[:, t]) for t in range(20)], axis=1)
    np.testing.assert_allclose(incremental, full, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="conditioned"):
        generator.step(codes[:, 0])


def test_nsynth_encoder_shapes_match_the_book_and_magenta():
    encoder = audio.build_nsynth_encoder((1, 2), width=4)
    assert encoder(np.zeros((1, 40_000, 1), "float32")).shape == (1, 78, 16)     # 2.5 s, not "4 s"
    assert encoder(np.zeros((1, 64_000, 1), "float32")).shape == (1, 125, 16)    # 4 s
    assert 40_000 / media.SAMPLE_RATE == 2.5


def test_nsynth_autoencoder_and_reconstruct_shapes():
    encoder = audio.build_nsynth_encoder((1, 2), width=4, hop=64)
    decoder = audio.build_wavenet((1, 2), residual_channels=4, skip_channels=4, conditioning_channels=16)
    autoencoder = audio.build_nsynth_autoencoder(encoder, decoder, hop=64)
    inputs, targets = audio.autoencoder_windows(media.breakbeat(0.1), 256, 3)
    assert autoencoder(inputs).shape == (3, 256, 256) and targets.shape == (3, 256)
    encoding, reconstruction = audio.reconstruct(encoder, decoder, media.breakbeat(0.05), hop=64, n_samples=50)
    assert encoding.shape == (1, 12, 16) and reconstruction.shape == (50,)


def test_next_sample_windows_are_shifted_by_one():
    clip = media.tone(440.0, 0.05)
    x, y = audio.next_sample_windows([clip], 100, 5, seed=0)
    assert x.shape == y.shape == (5, 100)
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    with pytest.raises(ValueError, match="longer"):
        audio.next_sample_windows([clip[:50]], 100, 1)


def test_wavenet_learns_next_sample_prediction(tmp_path):
    settings = cnn4_settings.WAVENET.get("smoke")
    clips = [media.tone(440.0, 0.25), media.chord(("C4", "E4", "G4"), 0.25)]
    model, result = audio.train_wavenet(settings, clips, run_dir=tmp_path / "wavenet", verbose=0)
    losses = result.history["loss"]
    assert losses[-1] < losses[0] - 0.5, losses          # starts near ln 256 ≈ 5.5
    assert result.history["val_accuracy"][-1] > 0.05     # chance is 1/256 ≈ 0.004


def test_reconstruction_bits_baseline_is_the_code_histogram():
    encoder = audio.build_nsynth_encoder((1,), width=4, hop=64)
    decoder = audio.build_wavenet((1, 2), residual_channels=4, skip_channels=4, conditioning_channels=16)
    clip = media.breakbeat(0.05)
    scores = audio.reconstruction_bits(encoder, decoder, clip, hop=64)
    codes = audio.mu_law_encode(clip)
    histogram = np.bincount(codes, minlength=256) / len(codes)
    n = (len(clip) - 1) // 64 * 64
    assert scores["code histogram"] == pytest.approx(-np.log2(histogram[codes[1:n + 1]]).mean())
    assert 6 < scores["decoder"] < 10                          # untrained: about log2(256) = 8 bits
    with pytest.raises(ValueError, match="hop"):
        audio.reconstruction_bits(encoder, decoder, clip[:64], hop=64)


def test_trained_nsynth_decoder_beats_the_code_histogram(tmp_path):
    """Smoke settings, as in notebook 10: teacher-forced, the trained decoder needs clearly fewer bits per sample
    than the trivial model that always predicts the clip's code histogram."""
    settings = cnn4_settings.WAVENET.get("smoke")
    clip = media.make_breakbeat()
    _, encoder, decoder, _ = audio.train_nsynth(settings, clip, run_dir=tmp_path / "nsynth", verbose=0)
    scores = audio.reconstruction_bits(encoder, decoder, clip, settings.hop)
    assert scores["decoder"] < scores["code histogram"] - 0.5, scores
