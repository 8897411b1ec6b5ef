"""Sentiment classification of movie reviews: text CNNs and (bi)directional LSTMs.

Models, each with the source's exact parameter count:

- :func:`build_imdb_cnn` (*Deep Learning with TensorFlow and Keras* ch. 20 §7.1): ``Embedding(10000, 256)`` →
  ``Dropout(0.3)`` → ``Conv1D(256, 3)`` → ``GlobalMaxPooling1D`` → ``Dense(128)`` → ``Dropout(0.5)`` →
  ``Dense(1, sigmoid)``: 2,789,889 parameters; Adam, 20 epochs, batch 500; test accuracy 0.8821.
- :func:`build_text_cnn` (*TensorFlow 1.x Deep Learning Cookbook* ch. 5 §1, TFLearn): ``Embedding(10000, 128)``,
  three ``Conv1D(128, k)`` branches k = 3, 4, 5 with L2 weight decay, concatenated **along time**, one global max
  pool, ``Dropout(0.5)``, ``Dense(2, softmax)``: 1,477,250 parameters; reported 0.7944. ``per_branch_pooling=True``
  is Kim (2014)'s version (max-pool each branch, concatenate 3 × 128 features): 1,477,762.
- :func:`build_lstm_classifier` (*Hands-On Deep Learning Architectures* ch. 6 §6.11): ``Embedding(5000, 128)`` →
  ``Bidirectional(LSTM(128, dropout=0.2, recurrent_dropout=0.2))`` → ``Dense(1, sigmoid)``: 903,425; RMSprop(0.001);
  reported 0.896 (epoch 8's validation accuracy, measured on the test set).

:func:`load_reviews` loads IMDB with Keras' conventions (real data when cached or online, the registry's synthetic
reviews otherwise), pads with Keras' default ``'pre'`` padding and truncation, and keeps a validation split apart
from the test set; :func:`train_classifier` restores the best epoch and reports test accuracy once.
:func:`future_context_task` is a tagging task that needs the words *after* a position.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SOURCE_PARAMETERS = {"imdb_cnn": 2_789_889, "text_cnn": 1_477_250, "text_cnn_kim": 1_477_762, "bilstm": 903_425}
SOURCE_ACCURACIES = {
    "imdb_cnn": (0.8821, "Deep Learning with TF and Keras, ch. 20 §7.1: test accuracy after 20 epochs (the test set "
                         "was also the validation set)"),
    "text_cnn": (0.7944, "TF 1.x Cookbook ch. 5 §1: val_acc after 5 epochs on TFLearn's 10 % validation split "
                         "(called 'test'; the real test set was never used)"),
    "bilstm": (0.896, "Hands-On DL Architectures §6.11: val_acc of epoch 8 on the test set; the final weights "
                      "(epoch 18) were not restored"),
}


@dataclass
class SentimentData:
    """Padded int32 reviews ``(n, maxlen)`` and int64 labels for train / validation / test, the word index and the
    registry provenance (real IMDB or the substitute)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    word_index: dict
    provenance: object
    num_words: int


def load_reviews(*, num_words: int = 10_000, maxlen: int = 200, skip_top: int = 0, seed: int = 113,
                 validation_fraction: float = 0.2, num_reviews: int | None = None, after_context: float = 0.0,
                 prefer: str = "auto") -> SentimentData:
    """``data.load("imdb", ...)`` with Keras' conventions (0 pad, 1 start, 2 out-of-vocabulary, ``index_from=3``),
    then ``keras.utils.pad_sequences(maxlen=maxlen)`` (pads and truncates at the *front*: the end of a review is
    kept). The last ``validation_fraction`` of the training reviews become the validation set.

    ``num_reviews`` (reviews per split) and ``after_context`` only apply to the offline substitute."""
    import keras

    from chapters_src import data

    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in (0, 1); got {validation_fraction!r}")
    loaded = data.load("imdb", prefer=prefer, num_words=num_words, skip_top=skip_top, seed=seed,
                       num_reviews=num_reviews, after_context=after_context)
    (x_train, y_train), (x_test, y_test), word_index = loaded.data
    x_train = keras.utils.pad_sequences(list(x_train), maxlen=maxlen).astype("int32")
    x_test = keras.utils.pad_sequences(list(x_test), maxlen=maxlen).astype("int32")
    n_fit = len(x_train) - max(int(round(validation_fraction * len(x_train))), 1)
    return SentimentData(x_train[:n_fit], y_train[:n_fit], x_train[n_fit:], y_train[n_fit:], x_test, y_test,
                         word_index, loaded.provenance, num_words)


def _check_positive(**values) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")


def build_imdb_cnn(num_words: int = 10_000, maxlen: int = 200, embedding_dim: int = 256, filters: int = 256,
                   dense_units: int = 128, learning_rate: float = 0.001):
    """The 1-D CNN of ch. 20 §7.1 (2,789,889 parameters at the defaults), Adam + binary cross-entropy.

    ``GlobalMaxPooling1D`` takes, for each of the ``filters`` feature maps, the maximum over the time steps (the
    source's prose calls it averaging)."""
    import keras
    from keras import layers

    _check_positive(num_words=num_words, maxlen=maxlen, embedding_dim=embedding_dim, filters=filters,
                    dense_units=dense_units)
    inputs = keras.Input((maxlen,), dtype="int32", name="words")
    h = layers.Embedding(num_words, embedding_dim, name="embedding")(inputs)
    h = layers.Dropout(0.3)(h)
    h = layers.Conv1D(filters, 3, padding="valid", activation="relu", name="conv")(h)
    h = layers.GlobalMaxPooling1D(name="max_over_time")(h)
    h = layers.Dense(dense_units, activation="relu")(h)
    h = layers.Dropout(0.5)(h)
    outputs = layers.Dense(1, activation="sigmoid", name="positive")(h)
    model = keras.Model(inputs, outputs, name="imdb_cnn")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def build_text_cnn(num_words: int = 10_000, maxlen: int = 100, embedding_dim: int = 128, filters: int = 128,
                   kernel_sizes=(3, 4, 5), *, per_branch_pooling: bool = False, l2: float = 5e-4,
                   learning_rate: float = 0.001):
    """The cookbook's three-branch text CNN (1,477,250 parameters at the defaults), Adam + sparse categorical
    cross-entropy on two softmax outputs (the source one-hot encodes the labels; same loss).

    TFLearn's ``regularizer="L2"`` adds ``0.001 · ΣW²/2`` per kernel, which is Keras' ``L2(5e-4)``. The source
    concatenates the branches along the time axis and max-pools once: 128 features, each the maximum of one
    channel over all three branches. ``per_branch_pooling=True`` pools each branch and concatenates 3 × 128
    features, as in Kim (2014)."""
    import keras
    from keras import layers

    _check_positive(num_words=num_words, maxlen=maxlen, embedding_dim=embedding_dim, filters=filters)
    inputs = keras.Input((maxlen,), dtype="int32", name="words")
    embedded = layers.Embedding(num_words, embedding_dim, name="embedding")(inputs)
    branches = [layers.Conv1D(filters, k, padding="valid", activation="relu",
                              kernel_regularizer=keras.regularizers.L2(l2), name=f"conv_{k}")(embedded)
                for k in kernel_sizes]
    if per_branch_pooling:
        pooled = [layers.GlobalMaxPooling1D(name=f"max_{k}")(b) for k, b in zip(kernel_sizes, branches)]
        h = layers.Concatenate(name="features")(pooled)
    else:
        h = layers.Concatenate(axis=1, name="concatenate_time")(branches)
        h = layers.GlobalMaxPooling1D(name="max_over_time")(h)
    h = layers.Dropout(0.5)(h)
    outputs = layers.Dense(2, activation="softmax", name="classes")(h)
    model = keras.Model(inputs, outputs, name="text_cnn_kim" if per_branch_pooling else "text_cnn")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def build_lstm_classifier(num_words: int = 5_000, maxlen: int = 200, embedding_dim: int = 128, units: int = 128, *,
                          bidirectional: bool = True, dropout: float = 0.2, recurrent_dropout: float = 0.2,
                          learning_rate: float = 0.001):
    """§6.11's classifier: ``Embedding`` → ``[Bidirectional](LSTM(units, dropout, recurrent_dropout))`` →
    ``Dense(1, sigmoid)``, RMSprop + binary cross-entropy (903,425 parameters at the defaults; 771,713 one-way).

    ``recurrent_dropout > 0`` rules out the fused cuDNN kernel on a GPU (the source's 1,400 s per epoch)."""
    import keras
    from keras import layers

    _check_positive(num_words=num_words, maxlen=maxlen, embedding_dim=embedding_dim, units=units)
    inputs = keras.Input((maxlen,), dtype="int32", name="words")
    h = layers.Embedding(num_words, embedding_dim, name="embedding")(inputs)
    lstm = layers.LSTM(units, dropout=dropout, recurrent_dropout=recurrent_dropout, name="lstm")
    h = layers.Bidirectional(lstm, name="bidirectional")(h) if bidirectional else lstm(h)
    outputs = layers.Dense(1, activation="sigmoid", name="positive")(h)
    model = keras.Model(inputs, outputs, name="bilstm" if bidirectional else "lstm")
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def train_classifier(model, reviews: SentimentData, *, epochs: int, batch_size: int, run_dir,
                     patience: int | None = 10, verbose="auto"):
    """Fit on the training split with early stopping on the **validation** split (best weights restored, resume
    through :func:`chapters_src.training.fit`), then evaluate once on the test split.

    Returns ``(result, test_accuracy)``."""
    from chapters_src import training

    result = training.fit(model, reviews.x_train, reviews.y_train, validation_data=(reviews.x_val, reviews.y_val),
                          epochs=epochs, batch_size=batch_size, run_dir=run_dir, early_stopping_patience=patience,
                          verbose=verbose)
    _, test_accuracy = model.evaluate(reviews.x_test, reviews.y_test, batch_size=batch_size, verbose=0)
    return result, float(test_accuracy)


# ------------------------------------------------------------------------------------------------ future context
def future_context_task(samples: int = 1024, length: int = 12, vocabulary: int = 8, lag: int = 2, seed: int = 0
                        ) -> tuple[np.ndarray, np.ndarray]:
    """A tagging task that needs the future: tag position t with the token at t + ``lag`` (0 past the end).

    Tokens are ``1..vocabulary-1`` (0 is padding), ``x`` and ``y`` int32 ``(samples, length)``. A left-to-right
    network has not yet read the answer when it must tag t (chance: 1 / (vocabulary - 1)); a bidirectional one has
    (its backward layer read t + lag already): the source's "Machine __ combines computer science and statistics"."""
    _check_positive(samples=samples, length=length, lag=lag)
    if isinstance(vocabulary, bool) or not isinstance(vocabulary, int) or vocabulary < 3:
        raise ValueError(f"vocabulary must be an integer >= 3; got {vocabulary!r}")
    if lag >= length:
        raise ValueError(f"lag must be smaller than length={length}; got {lag}")
    rng = np.random.default_rng(seed)
    x = rng.integers(1, vocabulary, size=(samples, length)).astype("int32")
    y = np.zeros_like(x)
    y[:, :-lag] = x[:, lag:]
    return x, y


def build_sequence_tagger(vocabulary: int = 8, units: int = 32, *, bidirectional: bool, learning_rate: float = 0.01):
    """``Embedding`` → ``[Bidirectional](LSTM(return_sequences=True))`` → per-step softmax over the tokens
    (a synced many-to-many model), Adam + sparse categorical cross-entropy."""
    import keras
    from keras import layers

    inputs = keras.Input((None,), dtype="int32", name="tokens")
    h = layers.Embedding(vocabulary, 16)(inputs)
    lstm = layers.LSTM(units, return_sequences=True)
    h = layers.Bidirectional(lstm)(h) if bidirectional else lstm(h)
    outputs = layers.Dense(vocabulary, activation="softmax")(h)
    model = keras.Model(inputs, outputs, name="bidirectional_tagger" if bidirectional else "forward_tagger")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model
