"""VQA chapter: the two source models' exact parameter counts, inputs and outputs; the cookbook bug fixes;
question features; answers; the Sort-of-CLEVR model."""
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from chapters_src.cnn import vqa  # noqa: E402
from chapters_src.data import media  # noqa: E402


def test_keras3e_image_cnn_counts():
    cnn = vqa.build_keras3e_image_cnn()
    assert cnn.count_params() == 1_735_488
    assert tuple(cnn.outputs[0].shape) == (None, 160_000)


def test_keras3e_vqa_total_and_io():
    model = vqa.build_keras3e_vqa(output_initializer="zeros")
    assert model.count_params() == 165_077_800
    assert [i.name for i in model.inputs] == ["image", "question"]
    assert tuple(model.outputs[0].shape) == (None, 1000)
    assert model.get_layer("answer").count_params() == 160_257_000


def test_cookbook_vqa_counts_names_and_fixes():
    model = vqa.build_cookbook_vqa()
    assert model.count_params() == 13_707_240
    assert [i.name for i in model.inputs] == ["input_image", "input_language"]
    assert tuple(model.outputs[0].shape) == (None, 1000)
    assert [model.get_layer(f"lstm_{i}").count_params() for i in (1, 2, 3)] == [1_665_024, 2_099_200, 2_099_200]
    assert all(model.get_layer(f"dense_{i}").activation.__name__ == "tanh" for i in (1, 2, 3))
    assert vqa.build_cookbook_vqa(activation=None, n_lstm=1, lstm_units=8, dense_units=8, n_answers=5) \
        .get_layer("dense_1").activation.__name__ == "linear"           # the book's (buggy) linear MLP


def test_concat_order_is_honoured():
    kwargs = dict(n_lstm=1, lstm_units=4, n_dense=1, dense_units=3, image_features=6, max_length=2, word_dim=5,
                  n_answers=2, dropout=0.0)
    for order, first in ((("image", "language"), "reshape_image"), (("language", "image"), "lstm_1")):
        model = vqa.build_cookbook_vqa(concat_order=order, **kwargs)
        parents = [node.operation.name for node in model.get_layer("concatenate")._inbound_nodes[0].parent_nodes]
        assert parents[0] == first
    with pytest.raises(ValueError, match="concat_order"):
        vqa.build_cookbook_vqa(concat_order=("image", "image"), **kwargs)


def test_question_features_truncate_and_pad():
    short = vqa.question_features("Who is in this picture?")
    assert short.shape == (1, 30, 300)
    assert np.all(short[0, 5:] == 0) and np.all(np.abs(short[0, :5]).sum(axis=1) > 0)
    long = vqa.question_features("word " * 45)                       # the book raised IndexError here
    assert long.shape == (1, 30, 300) and np.all(np.abs(long[0]).sum(axis=1) > 0)
    np.testing.assert_array_equal(vqa.hashed_word_vector("red"), vqa.hashed_word_vector("red"))


def test_top_answers():
    p = np.array([0.1, 0.5, 0.05, 0.35])
    assert vqa.top_answers(p, ["a", "b", "c", "d"], k=2) == [("b", 50.0), ("d", 35.0)]
    with pytest.raises(ValueError):
        vqa.top_answers(p, ["a"], k=1)


def test_vocabulary_encoding():
    vocabulary = vqa.Vocabulary.build(["how many circles are there"], ["one", "two"], max_length=4)
    encoded = vocabulary.encode_questions(["How many circles?", "how many zebras are there"])
    index = {w: i for i, w in enumerate(vocabulary.words)}
    assert encoded.tolist()[0] == [index["how"], index["many"], index["circles"], 0]
    assert encoded.tolist()[1][2] == 1                                  # unknown word
    assert vocabulary.encode_answers(["two"]).tolist() == [1]
    with pytest.raises(ValueError, match="vocabulary"):
        vocabulary.encode_answers(["three"])


def test_sort_of_clevr_model_shapes_and_image_encoder_argument():
    questions = media.sort_of_clevr(n_images=6, questions_per_image=2)
    vocabulary = vqa.Vocabulary.build(questions.questions, questions.answers)
    inputs = vqa.model_inputs(questions, vocabulary)
    for fusion in vqa.FUSIONS:
        model = vqa.build_sort_of_clevr_vqa(vocabulary, fusion=fusion)
        assert model.predict(inputs, verbose=0).shape == (12, len(vocabulary.answers))
    custom = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3, strides=4)], name="my_encoder")
    model = vqa.build_sort_of_clevr_vqa(vocabulary, image_encoder=custom)
    assert "my_encoder" in [layer.name for layer in model.layers]
    train, test = vqa.split_by_image(questions, test_fraction=0.5)
    assert not set(train.image_index) & set(test.image_index)
    baseline = vqa.majority_baseline(train, test)
    assert 0 <= baseline["all"] <= 1 and set(baseline) >= {"all"}


def test_coordinates_and_film_layers():
    x = np.zeros((2, 3, 4, 5), dtype="float32")
    out = keras.ops.convert_to_numpy(vqa.AddCoordinates()(x))
    assert out.shape == (2, 3, 4, 7)
    np.testing.assert_allclose(out[0, :, 0, 5], [-1, 0, 1])              # row channel
    np.testing.assert_allclose(out[1, 0, :, 6], [-1, -1 / 3, 1 / 3, 1], atol=1e-6)   # column channel
    features = np.ones((1, 2, 2, 3), dtype="float32")
    gamma, beta = np.array([[1.0, 2.0, 0.0]], "float32"), np.array([[0.0, 1.0, 5.0]], "float32")
    film = keras.ops.convert_to_numpy(vqa.FiLM()([features, gamma, beta]))
    np.testing.assert_allclose(film[0, 1, 1], [1.0, 3.0, 5.0])


def test_sort_of_clevr_training_beats_the_majority_baseline(tmp_path):
    """Smoke settings, as in notebook 12: above the per-type majority answer overall by a wide margin and on every
    question type; the spatial (FiLM + coordinates + sum) fusion beats concatenation after the same training."""
    from chapters_src.cnn import cnn4_settings

    settings = cnn4_settings.VQA.get("smoke")
    questions = media.sort_of_clevr(n_images=settings.n_images, questions_per_image=settings.questions_per_image,
                                    size=settings.image_size)
    model, vocabulary, train, test, result = vqa.train_sort_of_clevr(
        settings, questions, run_dir=tmp_path / "vqa", verbose=0)
    assert result.history["loss"][-1] < result.history["loss"][0] - 0.3
    scores = vqa.accuracy_by_type(vqa.predict_answers(model, vocabulary, test), test)
    baseline = vqa.majority_baseline(train, test)
    assert scores["all"] > baseline["all"] + 0.2, (scores, baseline)
    for kind in media.QUESTION_TYPES:
        assert scores[kind] > baseline[kind] + 0.05, (kind, scores, baseline)
    concat, *_ = vqa.train_sort_of_clevr(settings, questions, run_dir=tmp_path / "concat", fusion="concat", verbose=0)
    concat_scores = vqa.accuracy_by_type(vqa.predict_answers(concat, vocabulary, test), test)
    assert scores["all"] > concat_scores["all"] + 0.1, (scores, concat_scores)
