"""rnn.text_generation: the character dataset, the source's two models, fast sampling, callbacks and resume."""
import numpy as np
import pytest

from chapters_src import data, training
from chapters_src.rnn import settings, text_generation as tg


def test_the_sources_deep_learning_architectures_example():
    x, y, vocabulary = tg.make_char_dataset(tg.SOURCE_EXAMPLE, 5)
    assert [vocabulary.decode(row) for row in x] == ["deep ", "learn", "ing a", "rchit", "ectur"]
    assert [vocabulary.decode(row) for row in y] == ["eep l", "earni", "ng ar", "chite", "cture"]   # "es" dropped
    assert x.dtype == np.int32 and x.shape == (5, 5)


def test_vocabulary_is_sorted_and_handles_bom_and_accents():
    text = "\ufeff\"well, prince\"\nà ä é ê z"
    vocabulary = tg.build_vocabulary(text)
    assert list(vocabulary.chars) == sorted(set(text))
    assert vocabulary.chars[0] == "\n" and vocabulary.chars[-1] == "\ufeff"
    assert vocabulary.decode(vocabulary.encode(text)) == text
    with pytest.raises(ValueError, match="not in the vocabulary"):
        vocabulary.encode("Q")


def test_no_crash_when_the_sequence_length_divides_the_text():
    x, y, _ = tg.make_char_dataset("abcdefghij", 5)          # the source's loop raises IndexError here
    assert x.shape == y.shape == (1, 5)
    assert tg.sequence_count(10, 5) == 1 and tg.sequence_count(11, 5) == 2
    with pytest.raises(ValueError, match="too short"):
        tg.make_char_dataset("abc", 5)


def test_war_and_peace_shapes_of_the_source():
    assert tg.dataset_shape(tg.SOURCE_TOTAL_CHARACTERS, 100, 57) == (31962, 100, 57)
    assert tg.dataset_shape(tg.SOURCE_TOTAL_CHARACTERS, 160, 57) == (19976, 160, 57)
    text = ("abcdefghijklmnopqrstuvwxyz0123456789.,;:!?'\"()-/=*\n àäéê\ufeff" * 56_075)[:tg.SOURCE_TOTAL_CHARACTERS]
    x, y, vocabulary = tg.make_char_dataset(text, 100)
    assert (*x.shape, vocabulary.size) == (31962, 100, 57)
    assert x.nbytes + y.nbytes < 30e6                          # int32, not 2 × 1.46 GB of float64 one-hot


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm"])
def test_full_profile_models_have_the_sources_parameter_counts(cell):
    full = settings.TEXT_GENERATION.get("full")
    model = tg.build_char_model(57, cell=cell, hidden_units=full.hidden_units, layers=full.layers)
    assert model.count_params() == tg.SOURCE_PARAMETERS[cell]
    counts = [layer.count_params() for layer in model.layers if layer.count_params()]
    assert tuple(counts) == tg.SOURCE_LAYER_PARAMETERS[cell]
    optimizer = model.optimizer
    assert float(optimizer.learning_rate) == pytest.approx(0.001) and optimizer.rho == 0.9
    assert optimizer.epsilon == pytest.approx(1e-8)
    assert [full.seq_length, full.lstm_seq_length, full.epochs, full.batch_size] == [100, 160, 300, 100]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    import keras

    keras.utils.set_random_seed(0)
    text = data.load("char_corpus", lower=True, max_chars=12_000).data
    run_dir = tmp_path_factory.mktemp("char")
    run = tg.train_char_model(text, cell="lstm", seq_length=40, hidden_units=48, layers=1, epochs=3,
                              batch_size=32, run_dir=run_dir, patience=None, sample_every=2, sample_length=30,
                              learning_rate=0.01, verbose=0)
    return run, run_dir, text


def test_small_model_learns_and_the_callbacks_write_what_they_promise(small_run):
    run, run_dir, _ = small_run
    losses = run.result.history["loss"]
    assert losses[-1] < losses[0] - 0.3 and losses[-1] < np.log(run.vocabulary.size) - 0.5
    assert [epoch for epoch, _, _ in run.samples] == [1, 3]       # 0-based epochs 0 and 2, as the source's checker
    assert all(len(texts[None]) == 31 for _, _, texts in run.samples)
    names = sorted(path.name for path in (run_dir / "weights").iterdir())
    assert names and all(name.startswith("weights_epoch_") and name.endswith(".keras") for name in names)
    assert "_loss_" in names[0]


def test_sampler_matches_the_keras_model_and_decodes(small_run):
    run, _, text = small_run
    sampler = tg.CharSampler(run.model, run.vocabulary)
    indices = run.vocabulary.encode(text[:60]).reshape(2, 30)
    import keras

    expected = keras.ops.convert_to_numpy(run.model(indices, training=False))
    np.testing.assert_allclose(sampler.probabilities(indices), expected, atol=2e-5)
    greedy, hot = sampler.generate(50, temperatures=[None, 1.0], seed=3)
    assert len(greedy) == len(hot) == 51 and greedy[0] == hot[0]
    assert sampler.generate(50, temperatures=[None], seed=3)[0] == greedy           # greedy is deterministic
    assert sampler.generate(20, seed_text="the ", temperatures=[0.5])[0].startswith("the ")
    assert sampler.characters_per_second(100) > 200
    with pytest.raises(ValueError, match="temperatures"):
        sampler.generate(5, temperatures=[0.0])


def test_the_callback_leaves_model_to_keras():
    """The source's ResultChecker took the model in ``__init__`` and assigned ``self.model``; Keras 3's
    ``Callback.model`` is a read-only property backed by ``_model`` that ``fit`` fills through ``set_model``."""
    import inspect
    import re

    import keras

    assert "model" not in inspect.signature(tg.SampleEveryN).parameters         # it is never handed a model
    callback = tg.SampleEveryN(tg.build_vocabulary("abc"), every=1, length=5, verbose=False)
    cls = type(callback)
    assert cls.model is keras.callbacks.Callback.model                            # Keras' property, not shadowed
    assert callback._model is None and callback.model is None                    # holds no model before fit
    source = inspect.getsource(tg._sample_callback_class)
    assert not re.search(r"self\._?model\s*=(?!=)", source)                      # and never assigns one
    with pytest.raises(AttributeError):
        callback.model = object()                                                 # what the source's code did
    keras.utils.set_random_seed(1)
    x, _, vocabulary = tg.make_char_dataset("abcab" * 30, 10)
    model = tg.build_char_model(vocabulary.size, cell="simple_rnn", hidden_units=8, layers=1)
    callback = tg.SampleEveryN(vocabulary, every=1, length=5, verbose=False)
    model.fit(x, np.roll(x, -1, axis=1), epochs=2, batch_size=8, verbose=0, callbacks=[callback])
    assert callback.model is model                                                # Keras set it; samples came from it
    assert [epoch for epoch, _, _ in callback.samples] == [1, 2]
    assert all(len(texts[None]) == 6 for _, _, texts in callback.samples)


def test_training_resumes_and_keeps_the_samples(tmp_path):
    import keras

    keras.utils.set_random_seed(1)
    text = "the cat sat on the mat. " * 40
    first = tg.train_char_model(text, cell="simple_rnn", seq_length=20, hidden_units=16, layers=1, epochs=1,
                                batch_size=16, run_dir=tmp_path, patience=None, sample_every=1, verbose=0)
    assert first.result.epochs_completed == 1
    again = tg.train_char_model(text, cell="simple_rnn", seq_length=20, hidden_units=16, layers=1, epochs=2,
                                batch_size=16, run_dir=tmp_path, patience=None, sample_every=1, verbose=0)
    assert again.result.resumed_from == 1 and again.result.epochs_run == 1
    assert training.read_state(tmp_path)["epochs_completed"] == 2
    finished = tg.train_char_model(text, cell="simple_rnn", seq_length=20, hidden_units=16, layers=1, epochs=2,
                                   batch_size=16, run_dir=tmp_path, patience=None, sample_every=1, verbose=0)
    assert finished.result.epochs_run == 0                        # nothing trained, but the samples are kept
    assert [epoch for epoch, _, _ in finished.samples] == [1, 2]
    assert tg.read_samples(tmp_path / "samples.json") == finished.samples


@pytest.mark.parametrize("profile", ["smoke", "standard"])
def test_generation_benchmark_for_the_profiles_lstm_sizes(profile):
    chosen = settings.TEXT_GENERATION.get(profile)
    vocabulary = tg.build_vocabulary(data.load("char_corpus", lower=True, max_chars=20_000).data)
    speed = tg.generation_benchmark(vocabulary, cell="lstm", hidden_units=chosen.hidden_units, layers=chosen.layers,
                                    length=200, repeats=2)
    assert speed > 100                        # a model.predict per character manages a few dozen at most
    with pytest.raises(ValueError, match="repeats"):
        tg.generation_benchmark(vocabulary, hidden_units=4, layers=1, repeats=0)


def test_builder_checks_arguments():
    with pytest.raises(ValueError, match="cell"):
        tg.build_char_model(10, cell="gru")
    with pytest.raises(ValueError, match="dropout"):
        tg.build_char_model(10, dropout=1.5)


def test_known_words_counts_corpus_words_and_ignores_single_letters():
    words = tg.corpus_words("The method returns a Sequence; the sequence is sorted.")
    assert words == {"the", "method", "returns", "a", "sequence", "is", "sorted"}
    check = tg.known_words("the methid returns x the sequence thet", words)
    assert (check.tokens, check.known, check.distinct_known) == (6, 4, 3)     # "x" is too short to count
    assert check.fraction == pytest.approx(4 / 6)
    assert tg.known_words("!!! 42", words).fraction == 0.0
    with pytest.raises(ValueError):
        tg.known_words(None, words)


def test_character_noise_has_the_text_frequencies_and_few_words():
    text = data.load("char_corpus", lower=True, max_chars=60_000).data
    noise = tg.character_noise(text, 20_000, seed=1)
    assert len(noise) == 20_000 and set(noise) <= set(text)
    assert noise.count(" ") / len(noise) == pytest.approx(text.count(" ") / len(text), abs=0.01)
    assert tg.known_words(noise, tg.corpus_words(text)).fraction < 0.2     # the baseline a model must beat
    assert tg.known_words(text[:20_000], tg.corpus_words(text)).fraction == 1.0
    with pytest.raises(ValueError):
        tg.character_noise(text, 0)
