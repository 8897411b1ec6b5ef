"""IMDB-style sentiment data: Keras' index conventions, the real file reader and a synthetic stand-in.

Keras conventions (``keras.datasets.imdb.load_data``): a review is a list of word ranks (1 = most frequent
word in ``word_index``) shifted by ``index_from=3``; index 0 is padding, 1 marks the start of a review
(``start_char``), 2 replaces words outside ``[skip_top, num_words)`` (``oov_char``). ``maxlen`` drops
reviews of ``maxlen`` tokens or more (start token included); ``seed`` shuffles each split.

The synthetic reviews need context to be classified: the label is the polarity of one *verdict* sentence
("overall the film is not good" is negative), placed at the end (75 %) or the start of the review, while
2–6 other opinion sentences agree with the label only 60 % of the time and negations flip any adjective.
A bag-of-words model therefore stays well below 100 %; a model that reads the verdict in context does not.
"""
from __future__ import annotations

import functools
import math
import random
import string
from collections import Counter
from typing import Any, NamedTuple, Sequence

import numpy as np

POSITIVE = ("good", "great", "excellent", "wonderful", "brilliant", "superb", "enjoyable", "moving", "beautiful",
            "funny", "charming", "gripping", "memorable", "delightful", "outstanding", "fantastic", "touching",
            "clever", "engaging", "masterful")
NEGATIVE = ("bad", "awful", "terrible", "boring", "dull", "poor", "weak", "horrible", "pointless", "tedious",
            "clumsy", "forgettable", "lame", "dreadful", "annoying", "mediocre", "predictable", "messy", "shallow",
            "painful")
NEGATIONS = ("not", "never", "hardly")
INTENSIFIERS = ("very", "really", "quite", "truly", "so", "rather", "extremely")
ASPECTS = ("acting", "plot", "script", "story", "cast", "ending", "music", "direction", "dialogue", "pacing",
           "soundtrack", "characters", "villain", "lead", "photography", "effects", "score", "editing", "humour")
VERDICT_CUES = ("overall", "all in all", "in the end", "to sum up", "my verdict")
_SLOTS = {
    "film": ("film", "movie", "picture"),
    "person": ("friends", "family", "sister", "brother", "partner", "parents", "kids"),
    "day": ("monday", "friday", "saturday", "sunday"),
    "time": ("evening", "afternoon", "night", "morning"),
    "place": ("london", "paris", "new york", "a small town", "the desert", "space", "the countryside", "a village"),
    "period": ("war", "winter", "summer", "sixties", "eighties", "depression", "thirties"),
    "role": ("detective", "mother", "soldier", "teacher", "captain", "doctor", "stranger", "father", "nurse"),
    "role2": ("boy", "girl", "widow", "priest", "lawyer", "sheriff", "neighbour"),
    "spot": ("station", "beach", "hospital", "restaurant", "library", "farm", "church", "harbour"),
}
_FILLER = (
    "i watched this {film} with my {person} on a {day} {time}",
    "the story is set in {place} during the {period}",
    "the {role} is played by an actor i had seen before in another {film}",
    "there is a long scene at the {spot} where the {role} talks to the {role2}",
    "it runs for about two hours and most of it takes place in {place}",
    "the {role2} and the {role} meet at the {spot} after the {period}",
    "my {person} had told me about this {film} some time ago",
    "it is based on a book that i have not read",
    "the {film} was made in the {period} and it shows",
    "later the {role} goes back to {place} to find the {role2}",
)
_OPINION = ("the {aspect} was {intensifier} {negation} {adjective}",
            "i thought the {aspect} was {negation} {adjective}",
            "as for the {aspect} it is {negation} {intensifier} {adjective}")
_VERDICT = ("{cue} the {film} is {negation} {intensifier} {adjective}",
            "{cue} i found it {negation} {adjective}",
            "{cue} this is {negation} a {adjective} {film}")
# Verdicts whose adjective is turned around by words that come *after* it ("i thought it was good but it was
# not" is negative): used only when make_synthetic(after_context=...) > 0. Every word is already in the vocabulary.
_AFTER_VERDICT = ("{cue} i thought it was {intensifier} {adjective} but it was not",
                  "{cue} i thought the {film} was {adjective} but it was not")
_COMMON = ("the", "and", "a", "of", "to", "is", "in", "it", "i", "this", "that", "was", "as", "for", "with", "but")


class ImdbData(NamedTuple):
    """``(x_train, y_train), (x_test, y_test), word_index = data``; x: object arrays of int lists, y: int64 0/1."""

    train: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    word_index: dict[str, int]


def _check_int(name: str, value: Any, minimum: int, allow_none: bool = False) -> None:
    """``ValueError`` naming ``name`` unless ``value`` is an int ≥ ``minimum`` (or None when allowed)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        allowed = f"an integer >= {minimum}" + (" or None" if allow_none else "")
        raise ValueError(f"{name} must be {allowed}; got {value!r}")


def apply_keras_conventions(x_train: Sequence[Sequence[int]], y_train, x_test: Sequence[Sequence[int]], y_test, *,
                            num_words: int | None = None, skip_top: int = 0, maxlen: int | None = None,
                            seed: int = 113, start_char: int | None = 1, oov_char: int | None = 2,
                            index_from: int = 3) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Turn raw word ranks (1 = most frequent) into Keras' ``imdb.load_data`` output, step for step as Keras does."""
    _check_int("num_words", num_words, 1, allow_none=True)
    _check_int("skip_top", skip_top, 0)
    _check_int("maxlen", maxlen, 1, allow_none=True)
    _check_int("index_from", index_from, 0)
    rng = np.random.RandomState(seed)
    splits = []
    for xs, ys in ((x_train, y_train), (x_test, y_test)):
        order = np.arange(len(xs))
        rng.shuffle(order)
        head = [] if start_char is None else [start_char]
        sequences = [head + [int(w) + index_from for w in xs[i]] for i in order]
        labels = np.asarray(ys, dtype="int64")[order]
        if maxlen:
            keep = [i for i, s in enumerate(sequences) if len(s) < maxlen]
            sequences, labels = [sequences[i] for i in keep], labels[keep]
        splits.append((sequences, labels))
    if maxlen and (not splits[0][0] or not splits[1][0]):
        raise ValueError(f"maxlen={maxlen} removes every review of a split; increase maxlen")
    limit = num_words or max(max(s) for s, _ in splits for s in s)
    out = []
    for sequences, labels in splits:
        if oov_char is not None:
            capped = [[w if skip_top <= w < limit else oov_char for w in s] for s in sequences]
        else:
            capped = [[w for w in s if skip_top <= w < limit] for s in sequences]
        array = np.empty(len(capped), dtype=object)
        array[:] = capped
        out.append((array, labels))
    return out[0], out[1]


def decode_review(sequence: Sequence[int], word_index: dict[str, int], index_from: int = 3,
                  start_char: int = 1, oov_char: int = 2) -> str:
    """Words of an encoded review; padding (0) is dropped, start/oov show as ``[START]``/``[OOV]``."""
    _check_int("index_from", index_from, 0)
    inverse = {rank + index_from: word for word, rank in word_index.items()}
    inverse[start_char], inverse[oov_char] = "[START]", "[OOV]"
    return " ".join(inverse.get(int(token), "[?]") for token in sequence if int(token) != 0)


def read_real(paths: tuple, *, num_words: int | None = None, skip_top: int = 0, maxlen: int | None = None,
              seed: int = 113, start_char: int | None = 1, oov_char: int | None = 2, index_from: int = 3) -> ImdbData:
    """Read Keras' ``imdb.npz`` + ``imdb_word_index.json`` (both checksum-verified before this runs)."""
    import json

    # The arrays are ragged object arrays (pickled). The file's sha256 was checked against Keras' published
    # hash just before, so allow_pickle only ever reads the exact file Keras ships.
    with np.load(paths[0], allow_pickle=True) as archive:
        raw = [archive[key] for key in ("x_train", "y_train", "x_test", "y_test")]
    train, test = apply_keras_conventions(*raw, num_words=num_words, skip_top=skip_top, maxlen=maxlen, seed=seed,
                                          start_char=start_char, oov_char=oov_char, index_from=index_from)
    with open(paths[1], encoding="utf-8") as handle:
        word_index = json.load(handle)
    return ImdbData(train, test, word_index)


def _slots(template: str) -> tuple[str, ...]:
    """The ``{slot}`` names of a template, cached."""
    return _SLOT_CACHE.setdefault(template, tuple(f for _, f, _, _ in string.Formatter().parse(template) if f))


_SLOT_CACHE: dict[str, tuple[str, ...]] = {}


def _fill(template: str, rng: random.Random, **fixed: str) -> list[str]:
    """Fill a template's ``{slot}`` fields (fixed values first, else a random slot word) and split into words."""
    values = {slot: fixed[slot] if slot in fixed else rng.choice(_SLOTS[slot]) for slot in _slots(template)}
    return template.format(**values).split()


def _opinion(template: str, polarity: int, rng: random.Random, **fixed: str) -> list[str]:
    """A sentence whose meaning has ``polarity`` (+1/-1); with probability 0.35 via a negated opposite adjective."""
    negated = rng.random() < 0.35
    adjectives = POSITIVE if (polarity > 0) != negated else NEGATIVE
    return _fill(template, rng, adjective=rng.choice(adjectives), negation=rng.choice(NEGATIONS) if negated else "",
                 intensifier=rng.choice(INTENSIFIERS) if rng.random() < 0.4 else "", **fixed)


def _after_verdict(polarity: int, rng: random.Random) -> list[str]:
    """A verdict with ``polarity`` whose adjective has the opposite polarity and is negated by a later "not"."""
    adjective = rng.choice(NEGATIVE if polarity > 0 else POSITIVE)
    return _fill(rng.choice(_AFTER_VERDICT), rng, cue=rng.choice(VERDICT_CUES), adjective=adjective,
                 intensifier=rng.choice(INTENSIFIERS) if rng.random() < 0.4 else "")


def _review(label: int, rng: random.Random, after_context: float = 0.0) -> list[str]:
    """One synthetic review (50–400 words) whose verdict sentence carries ``label`` (1 positive, 0 negative).

    With probability ``after_context`` the verdict is negated by words after its adjective (the random stream
    is unchanged when ``after_context`` is 0, so the default data are the same as before the option existed)."""
    polarity = 1 if label else -1
    target = int(min(max(rng.lognormvariate(math.log(170), 0.5), 50), 385))
    if after_context > 0 and rng.random() < after_context:
        verdict = _after_verdict(polarity, rng)
    else:
        verdict = _opinion(rng.choice(_VERDICT), polarity, rng, cue=rng.choice(VERDICT_CUES))
    sentences = [_opinion(rng.choice(_OPINION), polarity if rng.random() < 0.6 else -polarity, rng,
                          aspect=rng.choice(ASPECTS)) for _ in range(rng.randint(2, 6))]
    length = len(verdict) + sum(map(len, sentences))
    while length < target:
        sentences.append(_fill(rng.choice(_FILLER), rng))
        length += len(sentences[-1])
    rng.shuffle(sentences)
    body = [word for sentence in sentences for word in sentence]
    return body + verdict if rng.random() < 0.75 else verdict + body


def _reviews(count: int, seed: int, after_context: float = 0.0) -> tuple[list[list[str]], np.ndarray]:
    """``count`` reviews with balanced, shuffled labels, from ``random.Random(seed)`` (stable across platforms)."""
    rng = random.Random(seed)
    labels = [index % 2 for index in range(count)]
    rng.shuffle(labels)
    return [_review(label, rng, after_context) for label in labels], np.asarray(labels, dtype="int64")


@functools.lru_cache(maxsize=1)
def synthetic_word_index() -> dict[str, int]:
    """Word → rank (1 = most frequent), counted on a fixed reference sample, ties alphabetical, like Keras'."""
    reviews, _ = _reviews(400, seed=12345)
    counts = Counter(word for review in reviews for word in review)
    vocabulary = {w for t in (*_FILLER, *_OPINION, *_VERDICT, *VERDICT_CUES) for w in t.split() if "{" not in w}
    vocabulary |= {w for group in (POSITIVE, NEGATIVE, NEGATIONS, INTENSIFIERS, ASPECTS, _COMMON) for w in group}
    vocabulary |= {w for options in _SLOTS.values() for option in options for w in option.split()}
    ordered = sorted(vocabulary | set(counts), key=lambda word: (-counts[word], word))
    return {word: rank for rank, word in enumerate(ordered, start=1)}


def _default_num_reviews() -> int:
    """Reviews per split by profile: smoke 1,000, standard 10,000, full 25,000 (Keras' IMDB size)."""
    from chapters_src.profiles import current_profile

    return {"smoke": 1_000, "standard": 10_000, "full": 25_000}[current_profile()]


def make_synthetic(*, num_words: int | None = None, skip_top: int = 0, maxlen: int | None = None, seed: int = 113,
                   start_char: int | None = 1, oov_char: int | None = 2, index_from: int = 3,
                   num_reviews: int | None = None, generation_seed: int = 0,
                   after_context: float = 0.0) -> ImdbData:
    """Synthetic IMDB: ``num_reviews`` per split (default by profile), same structure and conventions as Keras.

    ``generation_seed`` fixes the text (train and test come from two streams of it); ``seed`` is Keras' shuffle
    seed. ``num_words=None`` keeps every word of the 195-word vocabulary. ``after_context`` (default 0): the share
    of reviews whose verdict is negated by words *after* its adjective ("i thought it was good but it was not").
    """
    _check_int("num_reviews", num_reviews, 2, allow_none=True)
    if isinstance(after_context, bool) or not isinstance(after_context, (int, float)) or not 0 <= after_context <= 1:
        raise ValueError(f"after_context must be a number in [0, 1]; got {after_context!r}")
    _check_int("generation_seed", generation_seed, 0)
    count = num_reviews or _default_num_reviews()
    word_index = synthetic_word_index()
    if num_words is None:  # keep every word (Keras' own default turns the single highest index into oov)
        num_words = len(word_index) + index_from + 1
    encoded = []
    for offset in (0, 1):
        reviews, labels = _reviews(count, generation_seed * 2 + offset, after_context)
        encoded.append(([[word_index[word] for word in review] for review in reviews], labels))
    train, test = apply_keras_conventions(*encoded[0], *encoded[1], num_words=num_words, skip_top=skip_top,
                                          maxlen=maxlen, seed=seed, start_char=start_char, oov_char=oov_char,
                                          index_from=index_from)
    return ImdbData(train, test, dict(word_index))
