"""Hyperparameters of the four recurrent-network notebooks, one :class:`~chapters_src.profiles.ProfileSet` each.

``full`` holds the source chapter's values (ch. 6 §6.5, §6.7, §6.9, §6.11; ch. 20 §7.1; cookbook ch. 5 §1);
``standard`` builds in minutes on a laptop CPU and still learns; ``smoke`` runs in seconds for CI.
"""
from __future__ import annotations

from dataclasses import dataclass

from chapters_src.profiles import ProfileSet


@dataclass(frozen=True)
class CellSettings:
    """Notebook 13: toy tasks of the four input/output architectures and the gradient-vs-lag experiment."""

    io_samples: int
    io_epochs: int
    gradient_time_steps: int


CELLS = ProfileSet(
    smoke=CellSettings(io_samples=128, io_epochs=2, gradient_time_steps=40),
    standard=CellSettings(io_samples=1024, io_epochs=25, gradient_time_steps=80),
    full=CellSettings(io_samples=4096, io_epochs=60, gradient_time_steps=100),
)


@dataclass(frozen=True)
class TextGenerationSettings:
    """Notebook 14. ``full`` = §6.5 (vanilla) and §6.7 (LSTM); ``corpus_chars=None`` reads the whole text."""

    corpus_chars: int | None
    seq_length: int            # vanilla model (source: 100)
    lstm_seq_length: int       # LSTM model (source: 160)
    hidden_units: int          # source: 800
    layers: int                # source: 2
    epochs: int                # source: 300
    batch_size: int            # source: 100
    learning_rate: float       # source: RMSprop 0.001 (the LSTM's; and the vanilla model's unless set below)
    patience: int | None       # early stopping on the training loss (source: 50)
    sample_every: int          # source: 10
    sample_length: int         # vanilla 200, LSTM 500 in the source
    lstm_sample_length: int
    vanilla_activation: str = "relu"            # source: relu; standard: tanh (ReLU diverges at 128 units)
    vanilla_learning_rate: float | None = None  # None: learning_rate
    min_known_fraction: float | None = None     # asserted share of corpus words in a T = 0.5 sample; None: not checked


TEXT_GENERATION = ProfileSet(
    smoke=TextGenerationSettings(corpus_chars=20_000, seq_length=50, lstm_seq_length=50, hidden_units=32, layers=1,
                                 epochs=2, batch_size=32, learning_rate=0.01, patience=None, sample_every=1,
                                 sample_length=80, lstm_sample_length=80),
    standard=TextGenerationSettings(corpus_chars=300_000, seq_length=100, lstm_seq_length=100, hidden_units=128,
                                    layers=1, epochs=10, batch_size=32, learning_rate=0.005, patience=3,
                                    sample_every=2, sample_length=200, lstm_sample_length=200,
                                    vanilla_activation="tanh", vanilla_learning_rate=0.003, min_known_fraction=0.4),
    full=TextGenerationSettings(corpus_chars=None, seq_length=100, lstm_seq_length=160, hidden_units=800, layers=2,
                                epochs=300, batch_size=100, learning_rate=0.001, patience=50, sample_every=10,
                                sample_length=200, lstm_sample_length=500, min_known_fraction=0.6),
)


@dataclass(frozen=True)
class ForecastSettings:
    """Notebook 15. ``full`` = §6.9: window 10, GRU(256), RMSprop 0.0006, 300 epochs, batch 100, patience 100."""

    window_size: int
    units: int
    epochs: int
    short_epochs: int          # the source's "poor" 10-epoch model
    batch_size: int
    learning_rate: float
    patience: int | None
    sunspot_window: int
    sunspot_epochs: int
    sunspot_learning_rate: float   # the GRU must beat persistence on sunspots (asserted in notebook 15)


FORECAST = ProfileSet(
    smoke=ForecastSettings(window_size=10, units=16, epochs=3, short_epochs=1, batch_size=100, learning_rate=0.003,
                           patience=None, sunspot_window=12, sunspot_epochs=10,
                           sunspot_learning_rate=0.01),
    standard=ForecastSettings(window_size=10, units=64, epochs=40, short_epochs=10, batch_size=100,
                              learning_rate=0.002, patience=10, sunspot_window=12, sunspot_epochs=80,
                              sunspot_learning_rate=0.003),
    full=ForecastSettings(window_size=10, units=256, epochs=300, short_epochs=10, batch_size=100,
                          learning_rate=0.0006, patience=100, sunspot_window=12, sunspot_epochs=300,
                          sunspot_learning_rate=0.003),
)


@dataclass(frozen=True)
class SentimentSettings:
    """Notebook 16. ``full`` = the sources: the 1-D CNN (10,000 words, length 200, 256-d embeddings, 20 epochs,
    batch 500), the three-branch text CNN (10,000 words, length 100, 5 epochs, batch 32) and the BiLSTM (5,000
    words, length 200, 128 units, batch 32, ≤ 100 epochs, patience 10). Smaller profiles shrink every model by the
    same ``width`` (embedding size = filters = units) and read the last ``maxlen`` words."""

    num_reviews: int | None    # substitute reviews per split (None: the profile default, 25,000 in full)
    maxlen: int | None         # None: each source's own length
    width: int | None          # None: each source's own sizes
    epochs: int | None         # None: each source's own epochs
    batch_size: int | None
    learning_rate: float | None
    patience: int
    tagger_samples: int
    tagger_epochs: int


SENTIMENT = ProfileSet(
    smoke=SentimentSettings(num_reviews=300, maxlen=16, width=16, epochs=2, batch_size=64, learning_rate=0.01,
                            patience=2, tagger_samples=256, tagger_epochs=2),
    standard=SentimentSettings(num_reviews=3000, maxlen=40, width=32, epochs=6, batch_size=64, learning_rate=0.005,
                               patience=2, tagger_samples=2048, tagger_epochs=8),
    full=SentimentSettings(num_reviews=None, maxlen=None, width=None, epochs=None, batch_size=None,
                           learning_rate=None, patience=10, tagger_samples=8192, tagger_epochs=20),
)
