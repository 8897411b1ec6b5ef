"""rnn.sentiment: IMDB loading with Keras' conventions, the sources' models, learning, future context."""
import numpy as np
import pytest

from chapters_src import data
from chapters_src.rnn import sentiment as st, settings


def test_full_profile_models_have_the_sources_parameter_counts():
    assert st.build_imdb_cnn(10_000, 200).count_params() == 2_789_889
    assert st.build_text_cnn(10_000, 100).count_params() == 1_477_250
    assert st.build_text_cnn(10_000, 100, per_branch_pooling=True).count_params() == 1_477_762
    bilstm = st.build_lstm_classifier(5_000, 200)
    assert bilstm.count_params() == 903_425
    assert [layer.count_params() for layer in bilstm.layers[1:]] == [640_000, 263_168, 257]
    assert st.SOURCE_PARAMETERS["bilstm"] == 903_425
    full = settings.SENTIMENT.get("full")
    assert full.width is None and full.patience == 10


def test_text_cnn_shapes_follow_the_cookbook():
    model = st.build_text_cnn(100, 100, embedding_dim=8, filters=4)
    shapes = {layer.name: tuple(layer.output.shape[1:]) for layer in model.layers}
    assert shapes["conv_3"] == (98, 4) and shapes["conv_5"] == (96, 4)
    assert shapes["concatenate_time"] == (291, 4) and shapes["max_over_time"] == (4,)
    kim = st.build_text_cnn(100, 100, embedding_dim=8, filters=4, per_branch_pooling=True)
    assert tuple(kim.get_layer("features").output.shape[1:]) == (12,)


def test_load_reviews_keeps_keras_conventions_and_a_separate_validation_split():
    reviews = st.load_reviews(num_words=100, maxlen=50, skip_top=5, num_reviews=100)
    assert reviews.provenance.kind == "substitute"
    assert reviews.x_train.shape == (80, 50) and reviews.x_val.shape == (20, 50) and reviews.x_test.shape == (100, 50)
    tokens = np.concatenate([reviews.x_train.ravel(), reviews.x_test.ravel()])
    assert tokens.max() < 100 and 2 in tokens and not set(np.unique(tokens)) & {1, 3, 4}   # skip_top=5 → oov
    raw = data.load("imdb", num_reviews=100, num_words=10_000).data.train[0]
    padded = st.load_reviews(num_words=10_000, maxlen=200, num_reviews=100).x_train
    short = next(i for i, review in enumerate(raw[:80]) if len(review) < 200)
    long = next(i for i, review in enumerate(raw[:80]) if len(review) > 200)
    assert padded[short][0] == 0 and list(padded[short][-len(raw[short]):]) == list(raw[short])   # 'pre' padding
    assert list(padded[long]) == list(raw[long][-200:])              # 'pre' truncation keeps the end


def test_after_context_reviews_are_negated_by_a_later_word():
    default = data.load("imdb", num_reviews=40).data
    same = data.load("imdb", num_reviews=40, after_context=0.0).data
    assert [list(r) for r in default.train[0]] == [list(r) for r in same.train[0]]
    turned = data.load("imdb", num_reviews=200, after_context=1.0).data
    texts = [data.decode_review(r, turned.word_index) for r in turned.train[0]]
    assert all("but it was not" in text for text in texts)
    from chapters_src.data import imdb

    for text, label in zip(texts, turned.train[1]):
        words = text.split()
        end = max(i for i in range(len(words)) if words[i:i + 4] == ["but", "it", "was", "not"])
        adjective = next(w for w in reversed(words[:end]) if w in imdb.POSITIVE or w in imdb.NEGATIVE)
        assert int(adjective in imdb.NEGATIVE) == label                 # "good ... but it was not" is negative
    with pytest.raises(ValueError, match="after_context"):
        data.load("imdb", num_reviews=10, after_context=2)


@pytest.mark.parametrize("builder", ["imdb_cnn", "text_cnn", "bilstm"])
def test_every_classifier_learns_in_smoke(builder, tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    reviews = st.load_reviews(num_words=200, maxlen=16, num_reviews=600)    # 200 reviews: test accuracy ≈ chance
    models = {
        "imdb_cnn": lambda: st.build_imdb_cnn(200, 16, 32, 32, 32, learning_rate=0.01),
        "text_cnn": lambda: st.build_text_cnn(200, 16, 32, 32, learning_rate=0.01),
        "bilstm": lambda: st.build_lstm_classifier(200, 16, 32, 32, recurrent_dropout=0.0, learning_rate=0.01),
    }
    model = models[builder]()
    result, test_accuracy = st.train_classifier(model, reviews, epochs=8, batch_size=32, run_dir=tmp_path,
                                                patience=None, verbose=0)
    assert result.history["loss"][-1] < result.history["loss"][0] - 0.1
    assert result.history["accuracy"][-1] > 0.7                      # fits its training reviews (chance 0.5)
    # generalises to the 600 unseen test reviews (balanced: chance 0.5); measured 0.76-0.86 (seeds 0, 1)
    assert test_accuracy > 0.65


def test_bidirectional_beats_forward_on_the_future_context_task():
    import keras

    x, y = st.future_context_task(samples=480, length=8, vocabulary=6, lag=1)
    assert np.array_equal(y[:, :-1], x[:, 1:]) and np.all(y[:, -1] == 0)
    accuracies = {}
    for bidirectional in (False, True):
        keras.utils.set_random_seed(0)
        model = st.build_sequence_tagger(6, 16, bidirectional=bidirectional)
        history = model.fit(x[:400], y[:400], validation_data=(x[400:], y[400:]), epochs=5, batch_size=32,
                            verbose=0).history
        accuracies[bidirectional] = history["val_accuracy"][-1]
    assert accuracies[False] < 0.4 < 0.6 < accuracies[True]
