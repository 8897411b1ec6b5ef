"""Writing our own *War and Peace* (source ch. 6 §6.5 and §6.7): a character-level language model.

- :func:`build_vocabulary` / :func:`make_char_dataset`: sorted characters, index maps, input sequences and the
  same sequences shifted by one character. Targets stay **integers** (sparse cross-entropy): the source's float64
  one-hot ``X`` and ``Y`` for War and Peace take 1.46 GB each.
- :func:`build_char_model`: the vanilla model (2 × ``SimpleRNN(800, relu)`` + ``Dropout(0.3)``, 2,012,857
  parameters for 57 characters) and the LSTM model (2 × ``LSTM(800)`` + ``Dropout(0.4)``, 7,914,457). The one-hot
  encoding happens inside the model (:class:`OneHot`, no parameters), so the counts equal the source's.
- :class:`CharSampler`: fast generation. The trained weights are copied into the NumPy cells of :mod:`.cells`,
  which carry the recurrent state from one character to the next: one small matrix product per layer and
  character instead of a ``model.predict`` call on a growing window. Greedy decoding (the source's) or sampling
  at a temperature.
- :class:`SampleEveryN` (a Keras 3 callback that never assigns ``self.model``) and :func:`checkpoint_callback`
  (``weights_epoch_003_loss_1.2345.keras``); :func:`train_char_model` adds resume-after-interruption through
  :func:`chapters_src.training.fit`.
"""
from __future__ import annotations

import functools
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import cells

SOURCE_EXAMPLE = "deep learning architectures"
SOURCE_VOCABULARY_SIZE = 57
SOURCE_TOTAL_CHARACTERS = 3_196_213
SOURCE_PARAMETERS = {"simple_rnn": 2_012_857, "lstm": 7_914_457}
SOURCE_LAYER_PARAMETERS = {"simple_rnn": (686_400, 1_280_800, 45_657), "lstm": (2_745_600, 5_123_200, 45_657)}
# The source's logged losses and greedy samples (text: §6.5 vanilla RNN, §6.7 LSTM), epoch → (loss, sample).
SOURCE_SAMPLES = {
    "simple_rnn": {
        1: (2.1955, "5 the count of the stord and the stord and the stord and the stord and the stord and the stord "
                    "and the stord and the stord ..."),
        11: (1.2493, "?\" said the countess was a strange the same time the countess was already been and said that "
                     "he was so strange to the countess ..."),
        51: (1.1562, "à to see him and the same thing is the same thing to him and the same thing the same thing is "
                     "the same thing ..."),
        101: (1.1736, "= the same thing is to be a soldier in the same way to the soldiers and the same thing is the "
                      "same to me ..."),
    },
    "lstm": {
        151: (0.7300, "ing to the countess. \"i have nothing to do with him and i have nothing to do with the "
                      "general,\" said prince andrew. ..."),
        201: (0.6794, "was all the same to him. he received a story proved that the count had not yet seen the "
                      "countess and the other ..."),
        251: (0.6369, "nd the countess was sitting in a single look on her face. \"why should you be ashamed?\" \"why "
                      "do you say that?\" said princess mary. ..."),
    },
}


# ------------------------------------------------------------------------------------------------ data
@dataclass(frozen=True)
class CharVocabulary:
    """Sorted distinct characters with both index maps (``char_to_index['e']`` → int, ``index_to_char[30]``)."""

    chars: tuple[str, ...]
    char_to_index: dict = field(repr=False)
    index_to_char: dict = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """Indices of ``text`` as int32 ``(len(text),)``; ``ValueError`` naming an unknown character."""
        try:
            return np.fromiter((self.char_to_index[ch] for ch in text), dtype="int32", count=len(text))
        except KeyError as error:
            raise ValueError(f"text holds the character {error.args[0]!r}, which is not in the vocabulary") from None

    def decode(self, indices) -> str:
        """The characters of ``indices``."""
        return "".join(self.index_to_char[int(i)] for i in np.asarray(indices).ravel())


def build_vocabulary(text: str) -> CharVocabulary:
    """``chars = sorted(set(text))`` and the two index maps, as the source builds them (after ``.lower()``)."""
    if not isinstance(text, str) or not text:
        raise ValueError("text must be a non-empty string")
    chars = tuple(sorted(set(text)))
    return CharVocabulary(chars, {ch: i for i, ch in enumerate(chars)}, dict(enumerate(chars)))


def sequence_count(n_chars: int, seq_length: int) -> int:
    """Number of (input, target) pairs: ``(n_chars - 1) // seq_length`` (the target needs one more character).

    Equals the source's ``int(n_chars / seq_length)`` except when ``seq_length`` divides ``n_chars``, where the
    source's last target is one character short and its loop raises ``IndexError``."""
    if isinstance(seq_length, bool) or not isinstance(seq_length, int) or seq_length < 1:
        raise ValueError(f"seq_length must be a positive integer; got {seq_length!r}")
    return max((n_chars - 1) // seq_length, 0)


def make_char_dataset(text: str, seq_length: int, vocabulary: CharVocabulary | None = None
                      ) -> tuple[np.ndarray, np.ndarray, CharVocabulary]:
    """Non-overlapping windows: ``X[i] = text[i·L : (i+1)·L]``, ``Y[i] = text[i·L+1 : (i+1)·L+1]``.

    Returns ``(X, Y, vocabulary)`` with X and Y int32 ``(n_seq, seq_length)``; the leftover characters are dropped
    (the source's "es" of "deep learning architectures" with L = 5). :func:`one_hot` gives the source's
    ``(n_seq, L, V)`` layout when it is really wanted."""
    vocabulary = vocabulary or build_vocabulary(text)
    n_seq = sequence_count(len(text), seq_length)
    if n_seq == 0:
        raise ValueError(f"text has {len(text)} characters: too short for one sequence of seq_length={seq_length}")
    encoded = vocabulary.encode(text[:n_seq * seq_length + 1])
    x = encoded[:-1].reshape(n_seq, seq_length)
    y = encoded[1:].reshape(n_seq, seq_length)
    return x, y, vocabulary


def one_hot(indices, depth: int, dtype="float32") -> np.ndarray:
    """One-hot ``(..., depth)`` array of integer ``indices`` (the source's float64 layout costs 8 bytes a cell)."""
    return np.eye(depth, dtype=dtype)[np.asarray(indices)]


def dataset_shape(n_chars: int, seq_length: int, vocabulary_size: int) -> tuple[int, int, int]:
    """The source's one-hot ``X.shape``: ``(sequence_count, seq_length, vocabulary_size)``;
    War and Peace (3,196,213 characters, 57 distinct): (31962, 100, 57) and (19976, 160, 57)."""
    return sequence_count(n_chars, seq_length), seq_length, vocabulary_size


# ------------------------------------------------------------------------------------------------ model
@functools.cache
def _one_hot_layer_class():
    import keras

    @keras.saving.register_keras_serializable(package="chapters_src.rnn")
    class OneHot(keras.layers.Layer):
        """Integer indices ``(batch, time)`` → float one-hot ``(batch, time, depth)``; no weights."""

        def __init__(self, depth: int, **kwargs):
            super().__init__(**kwargs)
            self.depth = int(depth)

        def call(self, inputs):
            return keras.ops.one_hot(keras.ops.cast(inputs, "int32"), self.depth)

        def compute_output_shape(self, input_shape):
            return (*input_shape, self.depth)

        def get_config(self):
            return {**super().get_config(), "depth": self.depth}

    return OneHot


def OneHot(depth: int, **kwargs):  # noqa: N802 - used like a layer class
    """The :class:`OneHot` Keras layer (built on first use so that importing this module does not import Keras)."""
    return _one_hot_layer_class()(depth, **kwargs)


def build_char_model(vocabulary_size: int = SOURCE_VOCABULARY_SIZE, *, cell: str = "simple_rnn",
                     hidden_units: int = 800, layers: int = 2, dropout: float | None = None,
                     learning_rate: float = 0.001, activation: str = "relu"):
    """The source's text generator: ``layers`` × (recurrent layer, ``Dropout``) → ``TimeDistributed(Dense(V))`` →
    softmax, compiled with ``RMSprop(learning_rate, rho=0.9, epsilon=1e-8)`` and sparse categorical cross-entropy.

    ``cell="simple_rnn"``: ``SimpleRNN(activation="relu")`` (the source's; ``activation="tanh"`` is Keras'
    default, which the small ``standard`` models use because ReLU diverges there), dropout 0.3 by default (§6.5);
    ``cell="lstm"``: ``LSTM`` (tanh; ``activation`` is ignored), dropout 0.4 by default (§6.7). Input: int indices
    ``(batch, time)``, any length; output: probabilities ``(batch, time, V)``."""
    import keras
    from keras import layers as kl

    if cell not in ("simple_rnn", "lstm"):
        raise ValueError(f"cell must be 'simple_rnn' or 'lstm'; got {cell!r}")
    for name, value in (("vocabulary_size", vocabulary_size), ("hidden_units", hidden_units), ("layers", layers)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    dropout = (0.3 if cell == "simple_rnn" else 0.4) if dropout is None else dropout
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1); got {dropout!r}")
    if activation not in ("relu", "tanh"):
        raise ValueError(f"activation must be 'relu' (the source's) or 'tanh'; got {activation!r}")
    inputs = keras.Input((None,), dtype="int32", name="characters")
    h = OneHot(vocabulary_size, name="one_hot")(inputs)
    for index in range(layers):
        if cell == "simple_rnn":
            h = kl.SimpleRNN(hidden_units, activation=activation, return_sequences=True,
                             name=f"simple_rnn_{index + 1}")(h)
        else:
            h = kl.LSTM(hidden_units, return_sequences=True, name=f"lstm_{index + 1}")(h)
        h = kl.Dropout(dropout, name=f"dropout_{index + 1}")(h)
    h = kl.TimeDistributed(kl.Dense(vocabulary_size), name="time_distributed")(h)
    outputs = kl.Activation("softmax", dtype="float32", name="softmax")(h)
    model = keras.Model(inputs, outputs, name=f"char_{cell}")
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate, rho=0.9, epsilon=1e-8),
                  loss="sparse_categorical_crossentropy")
    return model


# ------------------------------------------------------------------------------------------------ generation
class CharSampler:
    """Generate text from a trained :func:`build_char_model` with the NumPy cells of :mod:`.cells`.

    The weights are read once; each character then costs one step per layer, with the recurrent state carried
    forward (no window re-read, no ``model.predict``). ``probabilities(indices)`` gives the model's output for a
    whole sequence (equal to ``model(indices)`` up to float rounding: the tests check it)."""

    def __init__(self, model, vocabulary: CharVocabulary):
        self.vocabulary = vocabulary
        self.layers = []
        for layer in model.layers:
            name = type(layer).__name__
            if name in ("SimpleRNN", "LSTM"):
                kind = "simple_rnn" if name == "SimpleRNN" else "lstm"
                weights = [w.astype("float64") for w in layer.get_weights()]
                activation = layer.get_config().get("activation", "tanh")
                self.layers.append((kind, weights, activation))
            elif name == "TimeDistributed":
                self.dense_kernel, self.dense_bias = (w.astype("float64") for w in layer.get_weights())
        if not self.layers or self.dense_kernel.shape[1] != vocabulary.size:
            raise ValueError("model must come from build_char_model with this vocabulary's size")

    def initial_state(self, batch: int) -> list:
        return [(np.zeros((batch, w[1].shape[0])), np.zeros((batch, w[1].shape[0]))) for _, w, _ in self.layers]

    def step(self, indices: np.ndarray, state: list) -> tuple[np.ndarray, list]:
        """One character per batch row: ``indices`` ``(batch,)`` → probabilities ``(batch, V)`` and the new state."""
        h_in = np.eye(self.vocabulary.size)[indices]
        new_state = []
        for (kind, (kernel, recurrent, bias), activation), (h, c) in zip(self.layers, state):
            if kind == "simple_rnn":
                h = cells.simple_rnn_step(h_in, h, kernel, recurrent, bias, activation)
            else:
                h, c = cells.lstm_step(h_in, h, c, kernel, recurrent, bias)
            new_state.append((h, c))
            h_in = h
        logits = h_in @ self.dense_kernel + self.dense_bias
        logits -= logits.max(axis=-1, keepdims=True)
        probabilities = np.exp(logits)
        return probabilities / probabilities.sum(axis=-1, keepdims=True), new_state

    def probabilities(self, indices) -> np.ndarray:
        """Output probabilities ``(batch, time, V)`` for int ``indices`` ``(batch, time)``."""
        indices = np.asarray(indices)
        state = self.initial_state(indices.shape[0])
        outputs = []
        for t in range(indices.shape[1]):
            p, state = self.step(indices[:, t], state)
            outputs.append(p)
        return np.stack(outputs, axis=1)

    def generate(self, length: int, *, seed_text: str | None = None, temperatures=(None,), seed: int = 0
                 ) -> list[str]:
        """One text per entry of ``temperatures`` (``None`` = greedy argmax, the source's decoding; a float = sample
        from ``p^(1/T)``), each ``length`` new characters after ``seed_text`` (default: one random character, as
        the source starts). The texts are generated together as one batch."""
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise ValueError(f"length must be a positive integer; got {length!r}")
        temperatures = list(temperatures)
        for temperature in temperatures:
            if temperature is not None and not temperature > 0:
                raise ValueError(f"temperatures must be None (greedy) or > 0; got {temperature!r}")
        rng = np.random.default_rng(seed)
        start = seed_text if seed_text else self.vocabulary.index_to_char[int(rng.integers(self.vocabulary.size))]
        batch = len(temperatures)
        state = self.initial_state(batch)
        prompt = self.vocabulary.encode(start)
        for index in prompt:
            probabilities, state = self.step(np.full(batch, index), state)
        generated = []
        for _ in range(length):
            chosen = np.empty(batch, dtype="int64")
            for row, temperature in enumerate(temperatures):
                if temperature is None:
                    chosen[row] = int(np.argmax(probabilities[row]))
                else:
                    logp = np.log(np.maximum(probabilities[row], 1e-12)) / temperature
                    p = np.exp(logp - logp.max())
                    chosen[row] = rng.choice(len(p), p=p / p.sum())
            generated.append(chosen)
            probabilities, state = self.step(chosen, state)
        codes = np.stack(generated, axis=1)
        return [start + self.vocabulary.decode(row) for row in codes]

    def characters_per_second(self, length: int = 400) -> float:
        """Measured generation speed (one greedy text of ``length`` characters)."""
        begin = time.perf_counter()
        self.generate(length)
        return length / (time.perf_counter() - begin)


def generation_benchmark(vocabulary: CharVocabulary, *, cell: str = "lstm", hidden_units: int, layers: int,
                         length: int = 400, repeats: int = 3) -> float:
    """Characters per second of :class:`CharSampler` (one greedy text of ``length`` characters, best of
    ``repeats``) for an **untrained** :func:`build_char_model` of this size: the cost of a step does not depend on
    the weights, so no training is needed to measure the speed of a profile's model."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer; got {repeats!r}")
    model = build_char_model(vocabulary.size, cell=cell, hidden_units=hidden_units, layers=layers)
    sampler = CharSampler(model, vocabulary)
    sampler.generate(5)                                       # warm-up (NumPy/BLAS first calls)
    return max(sampler.characters_per_second(length) for _ in range(repeats))


# ------------------------------------------------------------------------------------------------ judging samples
_WORD = re.compile(r"[a-z]+")


def corpus_words(text: str) -> frozenset:
    """The distinct words of ``text``: maximal runs of the letters a–z after ``.lower()``."""
    return frozenset(_WORD.findall(text.lower()))


@dataclass(frozen=True)
class WordCheck:
    """How much of a generated text is made of real words (see :func:`known_words`)."""

    tokens: int             # letter runs of two or more letters
    known: int              # of those, words of the corpus
    distinct_known: int     # distinct known words of three or more letters

    @property
    def fraction(self) -> float:
        return self.known / self.tokens if self.tokens else 0.0


def known_words(text: str, words) -> WordCheck:
    """Count the letter runs of ``text`` (two letters or more) that are words of the corpus (``words``, e.g.
    :func:`corpus_words` of the training text). "recognisable words" made measurable: a text of random characters
    scores low (see :func:`character_noise`), and a model that repeats "the the the" scores high on ``fraction`` but
    low on ``distinct_known``."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a string; got {type(text).__name__}")
    tokens = [token for token in _WORD.findall(text.lower()) if len(token) >= 2]
    known = [token for token in tokens if token in words]
    return WordCheck(len(tokens), len(known), len({token for token in known if len(token) >= 3}))


def character_noise(text: str, length: int, seed: int = 0) -> str:
    """A baseline "writer": ``length`` characters drawn independently with the character frequencies of ``text``
    (what a model that learned only the unigram distribution writes at temperature 1)."""
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(f"length must be a positive integer; got {length!r}")
    chars, counts = np.unique(np.frombuffer(text.encode("utf-32-le"), dtype="<u4"), return_counts=True)
    drawn = np.random.default_rng(seed).choice(chars, size=length, p=counts / counts.sum())
    return drawn.astype("<u4").tobytes().decode("utf-32-le")


# ------------------------------------------------------------------------------------------------ callbacks
@functools.cache
def _sample_callback_class():
    import keras

    class SampleEveryN(keras.callbacks.Callback):
        """Print and keep generated samples at epochs 1, 1+N, 1+2N, … (0-based ``epoch % N == 0``, as the source's
        ``ResultChecker``). Keras 3 sets ``self.model``; the source assigned it in ``__init__``, which Keras 3
        refuses (the property is read-only). ``samples`` holds ``(epoch, loss, {temperature: text})``."""

        def __init__(self, vocabulary: CharVocabulary, every: int = 10, length: int = 200,
                     temperatures=(None,), seed: int = 0, verbose: bool = True, path=None):
            super().__init__()
            if isinstance(every, bool) or not isinstance(every, int) or every < 1:
                raise ValueError(f"every must be a positive integer; got {every!r}")
            self.vocabulary, self.every, self.length = vocabulary, every, length
            self.temperatures, self.seed, self.verbose = tuple(temperatures), seed, verbose
            self.path = None if path is None else Path(path)
            self.samples: list[tuple[int, float, dict]] = read_samples(self.path) if self.path else []

        def _save(self):
            if self.path is not None:
                rows = [[epoch, loss, [[t, text] for t, text in texts.items()]] for epoch, loss, texts in self.samples]
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.path.write_text(json.dumps(rows), encoding="utf-8")

        def on_epoch_end(self, epoch, logs=None):
            if epoch % self.every:
                return
            texts = CharSampler(self.model, self.vocabulary).generate(
                self.length, temperatures=self.temperatures, seed=self.seed)
            loss = float((logs or {}).get("loss", float("nan")))
            self.samples = [row for row in self.samples if row[0] < epoch + 1]   # an epoch redone after a resume
            self.samples.append((epoch + 1, loss, dict(zip(self.temperatures, texts))))
            self._save()
            if self.verbose:
                print(f"\nMy War and Peace (epoch {epoch + 1}, loss {loss:.4f}):\n{texts[0]}")

    return SampleEveryN


def SampleEveryN(vocabulary: CharVocabulary, every: int = 10, length: int = 200, temperatures=(None,),  # noqa: N802
                 seed: int = 0, verbose: bool = True, path=None):
    """The :class:`SampleEveryN` callback (class built on first use, so this module imports without Keras).
    With ``path`` (a JSON file) the samples are saved after each one and read back on creation, so a resumed or
    finished run still has the samples of its earlier epochs."""
    return _sample_callback_class()(vocabulary, every, length, temperatures, seed, verbose, path)


def read_samples(path) -> list:
    """Samples saved by :class:`SampleEveryN` (``[]`` when the file does not exist)."""
    path = Path(path)
    if not path.is_file():
        return []
    return [(epoch, loss, {t: text for t, text in texts}) for epoch, loss, texts in json.loads(path.read_text("utf-8"))]


def checkpoint_callback(folder, monitor: str = "loss"):
    """``ModelCheckpoint`` saving ``weights_epoch_{epoch:03d}_loss_{loss:.4f}.keras`` whenever ``monitor`` improves
    (the source's ``.hdf5`` name is refused by Keras 3: the file must end in ``.keras``)."""
    import keras

    Path(folder).mkdir(parents=True, exist_ok=True)
    return keras.callbacks.ModelCheckpoint(
        str(Path(folder) / "weights_epoch_{epoch:03d}_loss_{loss:.4f}.keras"), monitor=monitor,
        save_best_only=True, mode="min", verbose=0)


@dataclass
class CharTrainingRun:
    """What :func:`train_char_model` returns: the model, the ``TrainingResult``, the samples and vocabulary."""

    model: object
    result: object
    samples: list
    vocabulary: CharVocabulary
    x_shape: tuple


def train_char_model(text: str, *, cell: str, seq_length: int, hidden_units: int, layers: int, epochs: int,
                     batch_size: int, run_dir, patience: int | None = 50, sample_every: int = 10,
                     sample_length: int = 200, temperatures=(None,), learning_rate: float = 0.001,
                     activation: str = "relu", verbose="auto") -> CharTrainingRun:
    """Build the dataset and model, then train with :func:`chapters_src.training.fit` in ``run_dir`` (checkpoint
    every epoch, resume after interruption, early stopping on the training loss with ``patience`` as the source),
    plus :func:`checkpoint_callback` files in ``run_dir/weights`` and a :func:`SampleEveryN` callback."""
    from chapters_src import training

    x, y, vocabulary = make_char_dataset(text, seq_length)
    model = build_char_model(vocabulary.size, cell=cell, hidden_units=hidden_units, layers=layers,
                             learning_rate=learning_rate, activation=activation)
    sampler = SampleEveryN(vocabulary, every=sample_every, length=sample_length, temperatures=temperatures,
                           path=Path(run_dir) / "samples.json")
    result = training.fit(model, x, y, epochs=epochs, batch_size=batch_size, run_dir=run_dir, monitor="loss",
                          early_stopping_patience=patience, verbose=verbose,
                          callbacks=[sampler, checkpoint_callback(Path(run_dir) / "weights")])
    return CharTrainingRun(model, result, sampler.samples, vocabulary, x.shape)
