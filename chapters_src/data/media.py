"""Audio, video and image+question data for the "CNNs beyond still images" chapters, generated offline.

Everything here is a deterministic NumPy generator (same arguments → same arrays), so the chapters and tests
run without a network. The real sources named by the source chapters are registered as well and used only when
they are already on disk (``prefer="auto"`` falls back to the generator otherwise):

- ``breakbeat``: the cookbook's Freesound clip ``395058__mustardplug__breakbeat-hiphop-a4-4bar-96bpm.wav``
  (Freesound needs a login, so it is a manual file); offline: a synthesised 96-bpm breakbeat at 16 kHz.
- ``audio_tones``: tones, chords and the breakbeat as a small training set for a WaveNet (generated only).
- ``moving_shapes``: videos of a shape moving across the frame, with an appearance label (which shape) and a
  motion label (which direction). The source's ActivityNet (200 classes, ~600 GB of YouTube videos, login) is
  documented in the chapter and not downloadable here.
- ``sort_of_clevr``: coloured shapes with template questions on shape, colour, count and position. The real
  CLEVR (``tfds:clevr``, ~18 GB) is used only when tfds has already prepared it.
"""
from __future__ import annotations

import dataclasses
import re
import wave
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000
BREAKBEAT_BPM = 96
BREAKBEAT_FILENAME = "395058__mustardplug__breakbeat-hiphop-a4-4bar-96bpm.wav"
BREAKBEAT_URL = "https://freesound.org/people/MustardPlug/sounds/395058/"

# ------------------------------------------------------------------------------------------------------------
# Audio
# ------------------------------------------------------------------------------------------------------------

NOTE_FREQUENCIES = {"C4": 261.63, "D4": 293.66, "E4": 329.63, "F4": 349.23, "G4": 392.00, "A4": 440.00,
                    "B4": 493.88, "C5": 523.25}
CHORDS = {"C major": ("C4", "E4", "G4"), "F major": ("F4", "A4", "C5"), "G major": ("G4", "B4", "D4"),
          "A minor": ("A4", "C5", "E4")}


def _check_positive(name: str, value, kind=(int, float)) -> None:
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        raise ValueError(f"{name} must be a positive number; got {value!r}")


def _n_samples(seconds: float, sample_rate: int) -> int:
    _check_positive("seconds", seconds)
    _check_positive("sample_rate", sample_rate, int)
    return int(round(seconds * sample_rate))


def tone(frequency: float, seconds: float = 1.0, sample_rate: int = SAMPLE_RATE, amplitude: float = 0.5,
         harmonics: tuple[float, ...] = (1.0, 0.5, 0.25)) -> np.ndarray:
    """A sustained note: ``(samples,)`` float32 in [-amplitude, amplitude]; harmonics weight the overtones
    (1×, 2×, 3× ``frequency`` in Hz), with a 10 ms fade in and out so the clip starts and ends silently."""
    _check_positive("frequency", frequency)
    n = _n_samples(seconds, sample_rate)
    t = np.arange(n) / sample_rate
    signal = sum(weight * np.sin(2 * np.pi * frequency * (index + 1) * t) for index, weight in enumerate(harmonics))
    signal = signal / max(np.abs(signal).max(), 1e-9)
    fade = min(n // 2, int(0.01 * sample_rate))
    envelope = np.ones(n)
    if fade:
        envelope[:fade] = np.linspace(0, 1, fade)
        envelope[-fade:] = np.linspace(1, 0, fade)
    return (amplitude * signal * envelope).astype("float32")


def chord(notes, seconds: float = 1.0, sample_rate: int = SAMPLE_RATE, amplitude: float = 0.5) -> np.ndarray:
    """Several notes (names in ``NOTE_FREQUENCIES`` or Hz) played together: ``(samples,)`` float32."""
    frequencies = [NOTE_FREQUENCIES[note] if isinstance(note, str) else float(note) for note in notes]
    if not frequencies:
        raise ValueError("notes must name at least one note")
    mix = sum(tone(frequency, seconds, sample_rate, 1.0) for frequency in frequencies)
    return (amplitude * mix / max(np.abs(mix).max(), 1e-9)).astype("float32")


def breakbeat(seconds: float = 2.5, sample_rate: int = SAMPLE_RATE, bpm: float = BREAKBEAT_BPM,
              seed: int = 0) -> np.ndarray:
    """A synthesised hip-hop breakbeat: ``(samples,)`` float32 in [-1, 1].

    Kick (a decaying 150→50 Hz sine sweep) on beats 1 and 3 and the "and" of 3, snare (a noise burst with a
    180 Hz body) on 2 and 4, closed hi-hat (high-passed noise, 30 ms) on every eighth note. 96 bpm → one beat
    every 0.625 s; 40,000 samples at 16 kHz are 2.5 s = 4 beats, the cookbook's clip length.
    """
    _check_positive("bpm", bpm)
    n = _n_samples(seconds, sample_rate)
    rng = np.random.default_rng(seed)
    out = np.zeros(n)
    beat = 60.0 / bpm

    def add(start_seconds: float, sound: np.ndarray) -> None:
        start = int(round(start_seconds * sample_rate))
        if start < n:
            stop = min(n, start + len(sound))
            out[start:stop] += sound[: stop - start]

    t_kick = np.arange(int(0.25 * sample_rate)) / sample_rate
    sweep = 50 + 100 * np.exp(-t_kick * 30)
    kick = np.sin(2 * np.pi * np.cumsum(sweep) / sample_rate) * np.exp(-t_kick * 12)
    t_snare = np.arange(int(0.18 * sample_rate)) / sample_rate
    snare = (0.6 * rng.standard_normal(len(t_snare)) + 0.5 * np.sin(2 * np.pi * 180 * t_snare)) * np.exp(-t_snare * 25)
    hat_noise = rng.standard_normal(int(0.03 * sample_rate))
    hat = np.diff(hat_noise, prepend=0.0) * np.exp(-np.arange(len(hat_noise)) / sample_rate * 120) * 0.25
    for bar_start in np.arange(0, seconds, 4 * beat):
        for offset in (0.0, 2.0, 2.5):
            add(bar_start + offset * beat, kick)
        for offset in (1.0, 3.0):
            add(bar_start + offset * beat, snare)
        for eighth in range(8):
            add(bar_start + eighth * beat / 2, hat)
    return (out / max(np.abs(out).max(), 1e-9) * 0.95).astype("float32")


def beat_onsets(seconds: float, bpm: float = BREAKBEAT_BPM) -> np.ndarray:
    """Times in seconds of every beat (quarter note) in a clip of ``seconds``, for plotting under the audio."""
    return np.arange(0, seconds, 60.0 / bpm)


def audio_tones(*, seconds: float = 1.0, sample_rate: int = SAMPLE_RATE, seed: int = 0) -> dict[str, np.ndarray]:
    """The WaveNet training set: name → ``(samples,)`` float32 clip of ``seconds``.

    Eight notes (C4…C5), four triads and the breakbeat: 13 clips, all at ``sample_rate``.
    """
    clips = {f"tone {name}": tone(frequency, seconds, sample_rate) for name, frequency in NOTE_FREQUENCIES.items()}
    clips.update({f"chord {name}": chord(notes, seconds, sample_rate) for name, notes in CHORDS.items()})
    clips["breakbeat"] = breakbeat(seconds, sample_rate, seed=seed)
    return clips


def read_wav(path, sample_rate: int = SAMPLE_RATE, sample_length: int | None = None) -> np.ndarray:
    """A PCM WAV file (8/16/32-bit, any channels) → mono float32 in [-1, 1] at ``sample_rate``
    (linear-interpolation resampling), cut to ``sample_length`` samples as Magenta's ``utils.load_audio`` does."""
    with wave.open(str(path), "rb") as handle:
        width, channels, rate = handle.getsampwidth(), handle.getnchannels(), handle.getframerate()
        raw = handle.readframes(handle.getnframes())
    if width == 1:
        samples = (np.frombuffer(raw, dtype="uint8").astype("float64") - 128) / 128
    elif width in (2, 4):
        samples = np.frombuffer(raw, dtype=f"<i{width}").astype("float64") / float(2 ** (8 * width - 1))
    else:
        raise ValueError(f"{Path(path).name}: {8 * width}-bit WAV is not supported (8, 16 or 32-bit PCM)")
    samples = samples.reshape(-1, channels).mean(axis=1)
    if rate != sample_rate:
        times = np.arange(int(len(samples) * sample_rate / rate)) * rate / sample_rate
        samples = np.interp(times, np.arange(len(samples)), samples)
    if sample_length is not None:
        samples = samples[:sample_length]
    return samples.astype("float32")


def write_wav(path, audio, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write float audio in [-1, 1] as 16-bit mono PCM (clipped); returns the path."""
    pcm = (np.clip(np.asarray(audio, dtype="float64"), -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(pcm.tobytes())
    return Path(path)


def read_breakbeat(paths, *, seconds: float = 2.5, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The Freesound breakbeat, mono float32 at ``sample_rate``, first ``seconds`` (2.5 s = 40,000 samples)."""
    return read_wav(paths[0], sample_rate, _n_samples(seconds, sample_rate))


def make_breakbeat(*, seconds: float = 2.5, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Substitute for the Freesound clip: :func:`breakbeat` at 96 bpm."""
    return breakbeat(seconds, sample_rate)


# ------------------------------------------------------------------------------------------------------------
# Video
# ------------------------------------------------------------------------------------------------------------

SHAPES = ("square", "circle", "triangle", "cross")
DIRECTIONS = ("right", "left", "down", "up")
_STEPS = {"right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0)}


def shape_mask(shape: str, size: int) -> np.ndarray:
    """A ``(size, size)`` boolean mask of one of :data:`SHAPES` (plus ``"diamond"``)."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 3:
        raise ValueError(f"size must be an integer >= 3; got {size!r}")
    rows, cols = np.mgrid[0:size, 0:size] + 0.5
    centre = size / 2
    if shape == "square":
        margin = size * 0.1
        return (rows > margin) & (rows < size - margin) & (cols > margin) & (cols < size - margin)
    if shape == "circle":
        return (rows - centre) ** 2 + (cols - centre) ** 2 <= (size * 0.45) ** 2
    if shape == "triangle":
        return (rows >= size * 0.1) & (np.abs(cols - centre) <= (rows - size * 0.05) * 0.5)
    if shape == "cross":
        arm = size * 0.18
        return (np.abs(rows - centre) <= arm) | (np.abs(cols - centre) <= arm)
    if shape == "diamond":
        return np.abs(rows - centre) + np.abs(cols - centre) <= size * 0.48
    raise ValueError(f"shape must be one of {', '.join(SHAPES + ('diamond',))}; got {shape!r}")


@dataclasses.dataclass(frozen=True)
class VideoSet:
    """Generated videos. ``videos``: float32 ``(n, frames, height, width, 1)`` in [0, 1]; ``shape_labels`` and
    ``motion_labels``: int64 ``(n,)`` indices into ``shape_names`` / ``direction_names``."""

    videos: np.ndarray
    shape_labels: np.ndarray
    motion_labels: np.ndarray
    shape_names: tuple[str, ...] = SHAPES
    direction_names: tuple[str, ...] = DIRECTIONS

    def labels(self, kind: str) -> np.ndarray:
        """``"appearance"`` → shape labels, ``"motion"`` → direction labels."""
        if kind not in ("appearance", "motion"):
            raise ValueError(f"kind must be 'appearance' or 'motion'; got {kind!r}")
        return self.shape_labels if kind == "appearance" else self.motion_labels

    def class_names(self, kind: str) -> tuple[str, ...]:
        self.labels(kind)
        return self.shape_names if kind == "appearance" else self.direction_names


def moving_shapes(*, n_videos: int = 400, frames: int = 16, size: int = 16, shape_size: int = 6,
                  speed: int = 1, noise: float = 0.05, seed: int = 0) -> VideoSet:
    """Videos of one shape sliding across a dark frame, wrapping around the edges (a torus).

    Each video: a random shape from :data:`SHAPES`, a random start position and a random direction from
    :data:`DIRECTIONS`, moving ``speed`` pixels per frame, plus Gaussian pixel noise. Because the motion wraps and
    the start is uniform, *every single frame* has the same distribution whatever the direction: a classifier that
    looks at frames one at a time cannot beat chance on motion, while appearance is visible in every frame.
    """
    for name, value in (("n_videos", n_videos), ("frames", frames), ("size", size), ("shape_size", shape_size),
                        ("speed", speed)):
        _check_positive(name, value, int)
    if shape_size > size or shape_size < 3:
        raise ValueError(f"shape_size must be in [3, size={size}]; got {shape_size}")
    if frames < 2:
        raise ValueError(f"frames must be at least 2 (motion needs time); got {frames}")
    rng = np.random.default_rng(seed)
    masks = [np.pad(shape_mask(shape, shape_size), ((0, size - shape_size),) * 2).astype("float32")
             for shape in SHAPES]
    shape_labels = rng.integers(0, len(SHAPES), n_videos)
    motion_labels = rng.integers(0, len(DIRECTIONS), n_videos)
    starts = rng.integers(0, size, (n_videos, 2))
    videos = np.empty((n_videos, frames, size, size, 1), dtype="float32")
    for index in range(n_videos):
        step = np.array(_STEPS[DIRECTIONS[motion_labels[index]]]) * speed
        for frame in range(frames):
            shift = starts[index] + step * frame
            videos[index, frame, :, :, 0] = np.roll(masks[shape_labels[index]], tuple(shift), axis=(0, 1))
    videos += noise * rng.standard_normal(videos.shape).astype("float32")
    return VideoSet(np.clip(videos, 0, 1), shape_labels.astype("int64"), motion_labels.astype("int64"))


# ------------------------------------------------------------------------------------------------------------
# Sort-of-CLEVR: images, questions, answers
# ------------------------------------------------------------------------------------------------------------

CLEVR_COLOURS = {"red": (220, 40, 40), "green": (40, 180, 60), "blue": (50, 90, 230), "yellow": (230, 210, 40),
                 "purple": (150, 60, 190)}
CLEVR_SHAPES = ("circle", "square", "triangle")
BACKGROUND = 16   # a dark background: the objects carry all the signal (a bright one drowns it)
QUESTION_TYPES = ("shape", "colour", "count", "position")
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five")


@dataclasses.dataclass(frozen=True)
class QuestionSet:
    """Images with questions. ``images``: uint8 ``(n_images, size, size, 3)``; per question: ``image_index`` int64
    ``(n_questions,)``, ``questions`` / ``answers`` / ``question_types`` tuples of str. ``scenes``: per image, a
    tuple of objects ``(colour, shape, row, col)`` (cell coordinates) for generated data, ``()`` for real data."""

    images: np.ndarray
    image_index: np.ndarray
    questions: tuple[str, ...]
    answers: tuple[str, ...]
    question_types: tuple[str, ...]
    scenes: tuple = ()

    def __len__(self) -> int:
        return len(self.questions)

    def subset(self, indices) -> "QuestionSet":
        """The questions at ``indices`` (images are shared, not copied)."""
        indices = np.asarray(indices, dtype="int64")
        pick = lambda values: tuple(values[i] for i in indices)  # noqa: E731
        return QuestionSet(self.images, self.image_index[indices], pick(self.questions), pick(self.answers),
                           pick(self.question_types), self.scenes)


def _draw_object(image: np.ndarray, shape: str, colour, top: int, left: int, size: int) -> None:
    mask = shape_mask(shape, size)
    image[top:top + size, left:left + size][mask] = colour


def _scene_questions(scene, rng, grid: int) -> list[tuple[str, str, str]]:
    """All template questions ``(type, question, answer)`` that have one well-defined answer for ``scene``."""
    by_colour = {colour: (shape, row, col) for colour, shape, row, col in scene}
    shape_counts = {shape: sum(1 for _, s, _, _ in scene if s == shape) for shape in CLEVR_SHAPES}
    questions = []
    for colour, (shape, row, col) in by_colour.items():
        questions.append(("shape", f"what shape is the {colour} object", shape))
        side = "left" if col < grid / 2 else "right"
        questions.append(("position", f"is the {colour} object on the left or the right", side))
    for shape, count in shape_counts.items():
        questions.append(("count", f"how many {shape}s are there", NUMBER_WORDS[count]))
        if count == 1:
            colour = next(c for c, s, _, _ in scene if s == shape)
            questions.append(("colour", f"what colour is the {shape}", colour))
    return questions


def sort_of_clevr(*, n_images: int = 300, questions_per_image: int = 4, size: int = 32, grid: int = 4,
                  min_objects: int = 2, max_objects: int = 4, seed: int = 0) -> QuestionSet:
    """A "Sort-of-CLEVR" set (Santoro et al., 2017, simplified): ``n_images`` images of ``size``×``size`` pixels on a
    ``grid``×``grid`` layout, each with 2–4 objects of distinct colours (from :data:`CLEVR_COLOURS`) and random
    shapes (from :data:`CLEVR_SHAPES`), and ``questions_per_image`` template questions with one-word answers:

    - shape: "what shape is the red object" → circle / square / triangle;
    - colour: "what colour is the square" (asked only when exactly one square is present) → a colour;
    - count: "how many circles are there" → zero … four;
    - position: "is the red object on the left or the right" → left / right.

    Question types are drawn in turn (shape, colour, count, position, …) so each is about a quarter of the set.
    """
    for name, value in (("n_images", n_images), ("questions_per_image", questions_per_image), ("size", size),
                        ("grid", grid)):
        _check_positive(name, value, int)
    if not 1 <= min_objects <= max_objects <= min(len(CLEVR_COLOURS), grid * grid):
        raise ValueError(f"need 1 <= min_objects <= max_objects <= {min(len(CLEVR_COLOURS), grid * grid)}; "
                         f"got {min_objects}, {max_objects}")
    cell = size // grid
    object_size = max(3, int(cell * 0.8))
    rng = np.random.default_rng(seed)
    images = np.full((n_images, size, size, 3), BACKGROUND, dtype="uint8")
    scenes, image_index, questions, answers, types = [], [], [], [], []
    turn = 0
    colour_names = tuple(CLEVR_COLOURS)
    for index in range(n_images):
        count = int(rng.integers(min_objects, max_objects + 1))
        colours = rng.choice(len(colour_names), count, replace=False)
        cells = rng.choice(grid * grid, count, replace=False)
        scene = []
        for colour_index, cell_index in zip(colours, cells):
            row, col = divmod(int(cell_index), grid)
            shape = CLEVR_SHAPES[int(rng.integers(len(CLEVR_SHAPES)))]
            colour = colour_names[int(colour_index)]
            offset = (cell - object_size) // 2
            _draw_object(images[index], shape, CLEVR_COLOURS[colour], row * cell + offset, col * cell + offset,
                         object_size)
            scene.append((colour, shape, row, col))
        scenes.append(tuple(scene))
        candidates = _scene_questions(scene, rng, grid)
        for _ in range(questions_per_image):
            wanted = QUESTION_TYPES[turn % len(QUESTION_TYPES)]
            turn += 1
            pool = [q for q in candidates if q[0] == wanted] or candidates
            kind, question, answer = pool[int(rng.integers(len(pool)))]
            image_index.append(index)
            questions.append(question)
            answers.append(answer)
            types.append(kind)
    return QuestionSet(images, np.array(image_index, dtype="int64"), tuple(questions), tuple(answers), tuple(types),
                       tuple(scenes))


def tokenize(question: str) -> list[str]:
    """Lower-case word tokens of a question (letters, digits and apostrophes); punctuation is dropped."""
    if not isinstance(question, str):
        raise ValueError(f"question must be a string; got {type(question).__name__}")
    return re.findall(r"[a-z0-9']+", question.lower())


def clevr_question_type(question: str) -> str:
    """A coarse type for a real CLEVR question (for per-type accuracy): count / colour / shape / position / other."""
    words = set(tokenize(question))
    if {"how", "many"} <= words or "number" in words:
        return "count"
    if words & {"color", "colour"}:
        return "colour"
    if "shape" in words:
        return "shape"
    if words & {"left", "right", "front", "behind"}:
        return "position"
    return "other"


def read_clevr(tfds_output, *, max_questions: int = 20_000, size: int = 64) -> QuestionSet:
    """Convert prepared ``tfds:clevr`` (``split="validation"``: images with ``question_answer`` lists) into a
    :class:`QuestionSet` with images resized to ``size``×``size`` (nearest neighbour) and at most
    ``max_questions`` questions. Only the first one-word-answer questions are kept."""
    images, image_index, questions, answers, types = [], [], [], [], []
    for example in tfds_output:
        image = np.asarray(example["image"])
        rows = (np.arange(size) * image.shape[0] / size).astype(int)
        cols = (np.arange(size) * image.shape[1] / size).astype(int)
        images.append(image[rows][:, cols, :3].astype("uint8"))
        qa = example["question_answer"]
        for question, answer in zip(np.asarray(qa["question"]).ravel(), np.asarray(qa["answer"]).ravel()):
            question = question.decode() if isinstance(question, bytes) else str(question)
            answer = answer.decode() if isinstance(answer, bytes) else str(answer)
            image_index.append(len(images) - 1)
            questions.append(question)
            answers.append(answer)
            types.append(clevr_question_type(question))
        if len(questions) >= max_questions:
            break
    if not images:
        raise ValueError("the CLEVR split holds no examples")
    keep = slice(0, max_questions)
    return QuestionSet(np.stack(images), np.array(image_index[keep], dtype="int64"), tuple(questions[keep]),
                       tuple(answers[keep]), tuple(types[keep]))


def _clevr_substitute(*, n_images: int = 300, questions_per_image: int = 4, size: int = 32, seed: int = 0):
    return sort_of_clevr(n_images=n_images, questions_per_image=questions_per_image, size=size, seed=seed)


def _moving_shapes_substitute(*, n_videos: int = 400, frames: int = 16, size: int = 16, seed: int = 0):
    return moving_shapes(n_videos=n_videos, frames=frames, size=size, seed=seed)


def _audio_tones_substitute(*, seconds: float = 1.0, sample_rate: int = SAMPLE_RATE):
    return audio_tones(seconds=seconds, sample_rate=sample_rate)


def specs():
    """The four dataset specs of this module (see the module docstring)."""
    from .registry import DatasetSpec
    from .sources import ManualFileSource, Substitute, TfdsSource

    breakbeat_spec = DatasetSpec(
        name="breakbeat", description="Freesound 395058, MustardPlug's hip-hop breakbeat, 4 bars at 96 bpm",
        structure="float32 (samples,) mono in [-1, 1] at 16 kHz (kwargs seconds=2.5, sample_rate=16000)",
        source=ManualFileSource((BREAKBEAT_FILENAME, "breakbeat.wav"), read_breakbeat,
                                "Freesound 395058 breakbeat-hiphop-a4-4bar-96bpm.wav (the cookbook's NSynth clip)",
                                f"download it from {BREAKBEAT_URL} (Freesound login needed)"),
        substitute=Substitute(make_breakbeat, "a synthesised 96-bpm breakbeat (kick, snare, hi-hat) at 16 kHz"))
    tones_spec = DatasetSpec(
        name="audio_tones", description="generated tones, chords and a breakbeat for WaveNet training",
        structure="dict name → float32 (samples,) in [-1, 1] (kwargs seconds=1.0, sample_rate=16000)",
        source=None,
        substitute=Substitute(_audio_tones_substitute, "8 harmonic tones C4–C5, 4 triads and a 96-bpm breakbeat "
                              "at 16 kHz (NumPy synthesis)"))
    video_spec = DatasetSpec(
        name="moving_shapes", description="generated videos of moving shapes (appearance and motion labels)",
        structure="VideoSet(videos float32 (n, frames, size, size, 1), shape_labels, motion_labels) "
                  "(kwargs n_videos, frames, size, seed)",
        source=None,
        substitute=Substitute(_moving_shapes_substitute, "a square, circle, triangle or cross moving right, left, "
                              "down or up across a wrap-around frame, with pixel noise (NumPy)"))
    clevr_spec = DatasetSpec(
        name="sort_of_clevr", description="CLEVR v1.0 validation images with questions and answers (tfds:clevr)",
        structure="QuestionSet(images uint8 (n_images, size, size, 3), image_index, questions, answers, "
                  "question_types, scenes) (kwargs n_images, questions_per_image, size, seed; max_questions "
                  "for CLEVR)",
        source=TfdsSource("clevr", read_clevr, "CLEVR v1.0 (Johnson et al., 2017), validation split, via tfds",
                          {"split": "validation"}),
        substitute=Substitute(_clevr_substitute, "Sort-of-CLEVR: 2–4 coloured circles, squares and triangles on a "
                              "4×4 grid with template questions on shape, colour, count and position (NumPy)"))
    return [breakbeat_spec, tones_spec, video_spec, clevr_spec]


def register() -> None:
    """Register ``breakbeat``, ``audio_tones``, ``moving_shapes`` and ``sort_of_clevr``."""
    from .registry import register as register_spec

    for spec in specs():
        register_spec(spec, replace=True)
