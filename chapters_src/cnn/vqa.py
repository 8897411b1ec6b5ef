"""Visual question answering: the two source models as exact builders, and a small trainable VQA.

- :func:`build_keras3e_vqa`: *Deep Learning with TensorFlow and Keras* 3rd ed., ch. 20 §3 (``visual_qa.py``):
  a VGG-like CNN (1,735,488 parameters, 160,000 flattened features) + Embedding(10,000, 256) + LSTM(256),
  concatenated, Dense(1,000) softmax: 165,077,800 parameters. Build only.
- :func:`build_cookbook_vqa`: *TensorFlow 1.x Deep Learning Cookbook* ch. 5 §7 (after iamaaditya/VQA_Demo):
  4,096 VGG16 ``fc2`` features + three stacked LSTM(512) over 30×300 word vectors, three Dense(1,024) + Dropout,
  Dense(1,000) softmax: 13,707,240 parameters. The book's declared but unused ``tanh`` is applied, and the
  concatenation order is selectable (the original VQA_Demo put language first).
- :func:`question_features`: words → ``(1, 30, 300)`` vectors, truncated (the book's loop raised ``IndexError``).
- :func:`build_sort_of_clevr_vqa`: image encoder (a small CNN, or any ``image_encoder`` you pass, e.g. a
  pretrained network) + question encoder (LSTM or bag of words) + fusion (the sources' concatenation, or the
  default FiLM + coordinates + sum over cells) + MLP over the answer vocabulary.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from ..data.media import tokenize
from ..training import predict_in_batches

PAD, UNKNOWN = "<pad>", "<unk>"


def _check_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


# ------------------------------------------------------------------------------------------------------------
# The source models, exactly
# ------------------------------------------------------------------------------------------------------------

def build_keras3e_image_cnn(input_shape=(224, 224, 3)):
    """The image branch of ``visual_qa.py``: 7 Conv2D (3×3, ReLU; 'same' then 'valid' in each block) and 3
    MaxPooling2D, then Flatten. For 224×224×3: 25·25·256 = 160,000 features, 1,735,488 parameters."""
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input(tuple(input_shape)),
        layers.Conv2D(64, 3, activation="relu", padding="same"), layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2, 2),
        layers.Conv2D(128, 3, activation="relu", padding="same"), layers.Conv2D(128, 3, activation="relu"),
        layers.MaxPooling2D(2, 2),
        layers.Conv2D(256, 3, activation="relu", padding="same"), layers.Conv2D(256, 3, activation="relu"),
        layers.Conv2D(256, 3, activation="relu"),
        layers.MaxPooling2D(2, 2),
        layers.Flatten(),
    ], name="cnn_model")


def build_keras3e_vqa(*, image_shape=(224, 224, 3), vocabulary_size: int = 10_000, question_length: int = 100,
                      embedding_dim: int = 256, lstm_units: int = 256, n_answers: int = 1_000,
                      output_initializer: str = "glorot_uniform"):
    """``visual_qa.py`` in Keras 3: inputs ``image`` ``(224, 224, 3)`` and ``question`` int ``(100,)``, output
    ``(batch, 1000)``. 165,077,800 parameters, 160,257,000 of them in the last Dense (≈ 641 MB of float32):
    build it, count it, do not train it. ``output_initializer="zeros"`` builds the big layer faster.
    (Keras 3 drops ``input_length`` and prefers ``keras.Input`` to ``input_shape=``.)"""
    import keras
    from keras import layers

    cnn_model = build_keras3e_image_cnn(image_shape)
    image_input = keras.Input(tuple(image_shape), name="image")
    visual_model = cnn_model(image_input)
    question_input = keras.Input((question_length,), dtype="int32", name="question")
    embedding = layers.Embedding(vocabulary_size, embedding_dim, name="embedding")(question_input)
    encoded_question = layers.LSTM(lstm_units, name="lstm")(embedding)
    merged = layers.concatenate([encoded_question, visual_model])
    output = layers.Dense(n_answers, activation="softmax", kernel_initializer=output_initializer, name="answer")(merged)
    return keras.Model(inputs=[image_input, question_input], outputs=output, name="vqa_model")


def build_cookbook_vqa(*, n_lstm: int = 3, lstm_units: int = 512, n_dense: int = 3, dense_units: int = 1024,
                       activation: str | None = "tanh", dropout: float = 0.5, n_answers: int = 1000,
                       image_features: int = 4096, max_length: int = 30, word_dim: int = 300,
                       concat_order=("image", "language")):
    """The cookbook's ``build_combined_model`` in Keras 3 (13,707,240 parameters with the defaults).

    Inputs ``input_image`` ``(4096,)`` (VGG16 ``fc2`` features) and ``input_language`` ``(30, 300)`` word vectors;
    output ``(batch, 1000)``. Fixes: each hidden Dense really uses ``activation`` (the book declared ``tanh`` and
    never passed it, leaving the MLP linear; ``activation=None`` reproduces that), and ``concat_order`` chooses
    ``("image", "language")`` (the book) or ``("language", "image")`` (iamaaditya/VQA_Demo, whose weights the
    book loads: with the book's order their first Dense rows are misaligned).
    """
    import keras
    from keras import layers

    if sorted(concat_order) != ["image", "language"]:
        raise ValueError(f"concat_order must be ('image', 'language') or ('language', 'image'); got {concat_order!r}")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1); got {dropout!r}")
    _check_int("n_lstm", n_lstm)
    input_image = keras.Input((image_features,), name="input_image")
    model_image = layers.Reshape((image_features,), name="reshape_image")(input_image)
    input_language = keras.Input((max_length, word_dim), name="input_language")
    x = input_language
    for index in range(n_lstm):
        x = layers.LSTM(lstm_units, return_sequences=index < n_lstm - 1, name=f"lstm_{index + 1}")(x)
    branches = {"image": model_image, "language": x}
    x = layers.concatenate([branches[name] for name in concat_order], name="concatenate")
    for index in range(n_dense):
        x = layers.Dense(dense_units, kernel_initializer="uniform", activation=activation,
                         name=f"dense_{index + 1}")(x)
        x = layers.Dropout(dropout, name=f"dropout_{index + 1}")(x)
    output = layers.Dense(n_answers, activation="softmax", name="answer")(x)
    return keras.Model(inputs=[input_image, input_language], outputs=output, name="combined_model")


def hashed_word_vector(word: str, dim: int = 300) -> np.ndarray:
    """A deterministic stand-in for a GloVe vector: unit-norm Gaussian seeded by the word's SHA-256
    (the spaCy 1.x ``en_glove_cc_300_1m_vectors`` package the book loads no longer exists)."""
    seed = int.from_bytes(hashlib.sha256(word.encode("utf-8")).digest()[:8], "little")
    vector = np.random.default_rng(seed).standard_normal(_check_int("dim", dim))
    return (vector / np.linalg.norm(vector)).astype("float32")


def question_features(question: str, embed=hashed_word_vector, *, max_length: int = 30, dim: int = 300) -> np.ndarray:
    """The book's ``get_question_features``: ``(1, max_length, dim)``, one row per token (right-padded with zeros).
    Questions longer than ``max_length`` tokens are **truncated** (the book clipped the count but looped over
    all tokens, raising ``IndexError``). ``embed(word, dim)`` gives a word vector; pass a real embedder if you have one."""
    max_length, dim = _check_int("max_length", max_length), _check_int("dim", dim)
    tensor = np.zeros((1, max_length, dim), dtype="float32")
    for position, word in enumerate(tokenize(question)[:max_length]):
        tensor[0, position] = embed(word, dim)
    return tensor


def top_answers(probabilities, answer_names, k: int = 5) -> list[tuple[str, float]]:
    """The ``k`` most likely answers of one prediction ``(classes,)`` or ``(1, classes)``: ``[(answer, percent)]``
    (the book's printout, with ``inverse_transform`` replaced by a plain lookup)."""
    p = np.asarray(probabilities, dtype="float64").reshape(-1)
    if len(answer_names) != len(p):
        raise ValueError(f"answer_names has {len(answer_names)} entries for {len(p)} probabilities")
    order = np.argsort(-p, kind="stable")[: _check_int("k", k)]
    return [(answer_names[i], round(float(p[i]) * 100, 2)) for i in order]


# ------------------------------------------------------------------------------------------------------------
# A trainable VQA on Sort-of-CLEVR
# ------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Vocabulary:
    """Word and answer indices. Word 0 is padding, 1 unknown; answers are sorted."""

    words: tuple[str, ...]
    answers: tuple[str, ...]
    max_length: int

    @classmethod
    def build(cls, questions, answers, max_length: int | None = None) -> "Vocabulary":
        tokens = [tokenize(question) for question in questions]
        words = (PAD, UNKNOWN) + tuple(sorted({word for sentence in tokens for word in sentence}))
        length = max_length or max(len(sentence) for sentence in tokens)
        return cls(words, tuple(sorted(set(answers))), _check_int("max_length", length))

    def encode_questions(self, questions) -> np.ndarray:
        """Questions → int32 ``(n, max_length)`` word ids, right-padded with 0, truncated, unknown words → 1."""
        index = {word: i for i, word in enumerate(self.words)}
        out = np.zeros((len(questions), self.max_length), dtype="int32")
        for row, question in enumerate(questions):
            ids = [index.get(word, 1) for word in tokenize(question)][: self.max_length]
            out[row, : len(ids)] = ids
        return out

    def encode_answers(self, answers) -> np.ndarray:
        """Answers → int32 ``(n,)`` class ids (``ValueError`` for an answer outside the vocabulary)."""
        index = {answer: i for i, answer in enumerate(self.answers)}
        unknown = sorted({answer for answer in answers if answer not in index})
        if unknown:
            raise ValueError(f"answers not in the vocabulary: {unknown[:5]}")
        return np.array([index[answer] for answer in answers], dtype="int32")


def build_image_encoder(image_shape=(32, 32, 3), width: int = 16):
    """A small CNN of two strided convolutions: image (0–255) ``(h, w, 3)`` → feature map ``(h/8, w/8, 2·width)``,
    one feature vector per 8×8 cell (for Sort-of-CLEVR at 32×32: one per grid cell, i.e. per object). Strides
    instead of pooling keep it cheap; positions are kept for "left or right". Stand-in for the sources' pretrained
    VGG: pass your own ``image_encoder`` to :func:`build_sort_of_clevr_vqa`."""
    from keras import layers

    height, width_pixels = int(image_shape[0]), int(image_shape[1])
    if height % 8 or width_pixels % 8:
        raise ValueError(f"image_shape must have a height and width divisible by 8; got {tuple(image_shape)}")
    image = keras.Input(tuple(image_shape))
    x = layers.Rescaling(1 / 255)(image)
    x = layers.Conv2D(_check_int("width", width), 4, strides=4, activation="relu", name="cells_4x4")(x)
    x = layers.Conv2D(2 * width, 2, strides=2, activation="relu", name="cells_8x8")(x)
    return keras.Model(image, x, name="image_encoder")


@keras.saving.register_keras_serializable(package="chapters_src.cnn")
class AddCoordinates(keras.layers.Layer):
    """Append two channels to a feature map ``(batch, h, w, c)`` → ``(batch, h, w, c + 2)``: the row and the column
    of every location, scaled to [-1, 1] (CoordConv, Liu et al., 2018). A 1×1 convolution sees one location only;
    with these channels it also knows *where* that location is ("left or right")."""

    def call(self, inputs):
        height, width = inputs.shape[1], inputs.shape[2]
        rows = ops.repeat(ops.reshape(ops.linspace(-1.0, 1.0, height), (height, 1, 1)), width, axis=1)
        cols = ops.repeat(ops.reshape(ops.linspace(-1.0, 1.0, width), (1, width, 1)), height, axis=0)
        grid = ops.cast(ops.concatenate([rows, cols], axis=-1), inputs.dtype)
        grid = ops.broadcast_to(grid[None], (ops.shape(inputs)[0], height, width, 2))
        return ops.concatenate([inputs, grid], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 2)


@keras.saving.register_keras_serializable(package="chapters_src.cnn")
class FiLM(keras.layers.Layer):
    """Feature-wise linear modulation (Perez et al., 2018): ``[x (batch, h, w, c), gamma (batch, c), beta (batch, c)]``
    → ``x · gamma + beta`` at every location. The question scales and shifts each image channel: it decides
    which features (a colour, a shape) count for this question."""

    def call(self, inputs):
        x, gamma, beta = inputs
        return x * gamma[:, None, None, :] + beta[:, None, None, :]

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]


FUSIONS = ("spatial", "concat", "multiply")


def build_sort_of_clevr_vqa(vocabulary: Vocabulary, image_shape=(32, 32, 3), *, image_encoder=None,
                            embedding_dim: int = 16, question_units: int = 32, hidden_units: int = 64,
                            image_width: int = 16, fusion: str = "spatial", question_encoder: str = "lstm",
                            dropout: float = 0.0):
    """Image encoder + question encoder + fusion + a ReLU layer + softmax over ``vocabulary.answers``.

    Inputs ``image`` ``(h, w, 3)`` (0–255) and ``question`` int ``(max_length,)``; output ``(batch, answers)``.
    ``fusion``:

    - ``"concat"`` (the sources): flattened image features ⧺ question vector, then the MLP;
    - ``"multiply"`` (Agrawal et al.'s VQA): both projected to ``hidden_units`` with tanh, multiplied element-wise;
    - ``"spatial"`` (default, in the spirit of relation networks): every location of the image feature map gets its
      row and column (:class:`AddCoordinates`), a 1×1 convolution, a question-dependent scale and shift per channel
      (:class:`FiLM`, ``gamma`` initialised to 1), ReLU and a second 1×1 convolution ("what does this cell contribute
      to the answer of *this* question?"); the contributions are **summed** over locations. Summing suits "how
      many" and lets every other question be answered by the one cell that matters.

    ``image_encoder``: any Keras model from the image to a feature map ``(h', w', c)`` or a vector (e.g. a
    pretrained CNN from the registry; a vector output needs ``fusion`` "concat" or "multiply");
    default :func:`build_image_encoder`. ``question_encoder``: ``"lstm"`` (the sources) or ``"bag"`` (mean of the
    word embeddings and a tanh layer: enough for template questions).
    """
    from keras import layers

    if fusion not in FUSIONS:
        raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}; got {fusion!r}")
    image = keras.Input(tuple(image_shape), name="image")
    question = keras.Input((vocabulary.max_length,), dtype="int32", name="question")
    encoder = image_encoder if image_encoder is not None else build_image_encoder(image_shape, image_width)
    feature_map = encoder(image)
    words = layers.Embedding(len(vocabulary.words), embedding_dim, mask_zero=True, name="embedding")(question)
    if question_encoder == "lstm":
        language = layers.LSTM(question_units, name="question_lstm")(words)
    elif question_encoder == "bag":       # order-free bag of words: enough for template questions, and fast
        language = layers.Dense(question_units, activation="tanh", name="question_bag")(
            layers.GlobalAveragePooling1D(name="mean_words")(words))
    else:
        raise ValueError(f"question_encoder must be 'lstm' or 'bag'; got {question_encoder!r}")
    if fusion == "spatial":
        if len(feature_map.shape) != 4:
            raise ValueError("fusion='spatial' needs an image encoder that outputs a feature map (h, w, c)")
        height, width = int(feature_map.shape[1]), int(feature_map.shape[2])
        x = layers.Conv2D(hidden_units, 1, name="mix_1")(AddCoordinates(name="coordinates")(feature_map))
        gamma = layers.Dense(hidden_units, bias_initializer="ones", name="film_gamma")(language)
        beta = layers.Dense(hidden_units, name="film_beta")(language)
        x = layers.ReLU(name="fusion_relu")(FiLM(name="fusion")([x, gamma, beta]))
        x = layers.Conv2D(hidden_units, 1, activation="relu", name="mix_2")(x)
        x = layers.GlobalAveragePooling2D(name="mean_over_cells")(x)
        x = layers.Rescaling(float(height * width), name="sum_over_cells")(x)
    else:
        visual = layers.Flatten(name="image_features")(feature_map)
        if fusion == "concat":
            x = layers.concatenate([visual, language], name="fusion")
        else:
            x = layers.Multiply(name="fusion")([layers.Dense(hidden_units, activation="tanh", name="image_projection")(visual),
                                                layers.Dense(hidden_units, activation="tanh", name="question_projection")(language)])
    x = layers.Dense(hidden_units, activation="relu", name="dense_1")(x)
    x = layers.Dropout(dropout)(x) if dropout else x
    output = layers.Dense(len(vocabulary.answers), activation="softmax", name="answer")(x)
    return keras.Model([image, question], output, name="sort_of_clevr_vqa")


def model_inputs(question_set, vocabulary: Vocabulary) -> dict:
    """``{"image": uint8→float32 (n, h, w, 3), "question": int32 (n, max_length)}`` for each question."""
    return {"image": question_set.images[question_set.image_index].astype("float32"),
            "question": vocabulary.encode_questions(question_set.questions)}


def split_by_image(question_set, test_fraction: float = 0.2, seed: int = 0):
    """``(train, test)`` question subsets with no image shared between them."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1); got {test_fraction!r}")
    n_images = len(question_set.images)
    test_images = set(np.random.default_rng(seed).permutation(n_images)[: max(1, int(n_images * test_fraction))])
    is_test = np.array([index in test_images for index in question_set.image_index])
    return question_set.subset(np.flatnonzero(~is_test)), question_set.subset(np.flatnonzero(is_test))


def accuracy_by_type(predicted_answers, question_set) -> dict:
    """``{question type: accuracy}`` plus ``"all"``."""
    predicted = np.asarray(predicted_answers)
    truth = np.asarray(question_set.answers)
    types = np.asarray(question_set.question_types)
    scores = {kind: float((predicted[types == kind] == truth[types == kind]).mean()) for kind in sorted(set(types))}
    scores["all"] = float((predicted == truth).mean())
    return scores


def majority_baseline(train_set, test_set) -> dict:
    """Accuracy per question type of always answering that type's most frequent *training* answer."""
    answers_by_type: dict[str, list[str]] = {}
    for kind, answer in zip(train_set.question_types, train_set.answers):
        answers_by_type.setdefault(kind, []).append(answer)
    overall = max(set(train_set.answers), key=train_set.answers.count)
    common = {kind: max(set(values), key=values.count) for kind, values in answers_by_type.items()}
    predicted = [common.get(kind, overall) for kind in test_set.question_types]
    return accuracy_by_type(predicted, test_set)


def train_sort_of_clevr(settings, question_set, *, run_dir, image_encoder=None, fusion: str = "spatial",
                        verbose="auto", seed: int = 0, jit_compile: bool = False):
    """Split by image, build the vocabulary, build and fit :func:`build_sort_of_clevr_vqa` (``fusion`` and the
    settings' ``question_encoder``). Returns ``(model, vocabulary, train_set, test_set, TrainingResult)``."""
    import keras

    from .. import training

    keras.utils.set_random_seed(seed)
    train_set, test_set = split_by_image(question_set, seed=seed)
    vocabulary = Vocabulary.build(question_set.questions, question_set.answers)
    model = build_sort_of_clevr_vqa(vocabulary, question_set.images.shape[1:], image_encoder=image_encoder,
                                    embedding_dim=settings.embedding_dim, question_units=settings.question_units,
                                    hidden_units=settings.hidden_units, image_width=settings.image_width,
                                    fusion=fusion, question_encoder=settings.question_encoder)
    model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=jit_compile)
    result = training.fit(model, model_inputs(train_set, vocabulary), vocabulary.encode_answers(train_set.answers),
                          validation_data=(model_inputs(test_set, vocabulary),
                                           vocabulary.encode_answers(test_set.answers)),
                          epochs=settings.epochs, batch_size=settings.batch_size, run_dir=run_dir, verbose=verbose)
    return model, vocabulary, train_set, test_set, result


def predict_answers(model, vocabulary: Vocabulary, question_set) -> list[str]:
    """The model's answer (a word) for every question of ``question_set``."""
    probabilities = predict_in_batches(model, model_inputs(question_set, vocabulary), batch_size=512)
    return [vocabulary.answers[i] for i in probabilities.argmax(axis=-1)]
