"""Generated media data: deterministic, right shapes and labels, registered, offline; the WAV reader."""
import numpy as np
import pytest

from chapters_src import data
from chapters_src.data import media


def test_audio_generators_are_deterministic_and_in_range():
    beat = media.breakbeat(2.5)
    assert beat.shape == (40_000,) and beat.dtype == np.float32
    assert np.abs(beat).max() <= 1.0
    np.testing.assert_array_equal(beat, media.breakbeat(2.5))
    clips = media.audio_tones(seconds=0.1)
    assert len(clips) == 13 and all(clip.shape == (1600,) for clip in clips.values())


def test_tone_has_its_frequency():
    clip = media.tone(440.0, 1.0, harmonics=(1.0,))
    spectrum = np.abs(np.fft.rfft(clip))
    assert abs(np.argmax(spectrum) - 440) <= 1          # 1 s at 16 kHz: bins are 1 Hz apart


def test_breakbeat_has_energy_on_the_96_bpm_beats():
    beat = media.breakbeat(2.5)
    onsets = (media.beat_onsets(2.5) * media.SAMPLE_RATE).astype(int)
    window = 400
    on_beat = np.mean([np.abs(beat[s:s + window]).mean() for s in onsets])
    off_beat = np.mean([np.abs(beat[s + 3000:s + 3000 + window]).mean() for s in onsets[:-1]])
    assert len(onsets) == 4 and on_beat > 3 * off_beat


def test_wav_round_trip(tmp_path):
    clip = media.tone(330.0, 0.1)
    path = media.write_wav(tmp_path / "clip.wav", clip)
    np.testing.assert_allclose(media.read_wav(path), clip, atol=1e-4)   # 16-bit PCM
    assert media.read_wav(path, sample_rate=8000).shape == (800,)


def test_breakbeat_manual_file_is_used_when_present(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAPTERS_DATA_DIR", str(tmp_path))
    assert data.load("breakbeat").provenance.kind == "substitute"
    media.write_wav(tmp_path / media.BREAKBEAT_FILENAME, media.tone(100.0, 3.0))
    loaded = data.load("breakbeat")
    assert loaded.provenance.kind == "cached" and loaded.data.shape == (40_000,)


def test_moving_shapes_labels_and_frame_statistics():
    videos = media.moving_shapes(n_videos=40, frames=16, size=16, seed=0)
    assert videos.videos.shape == (40, 16, 16, 16, 1) and videos.videos.dtype == np.float32
    assert set(videos.shape_labels) <= set(range(4)) and set(videos.motion_labels) <= set(range(4))
    clean = media.moving_shapes(n_videos=8, frames=4, size=16, noise=0.0, seed=1)
    for index in range(8):
        direction = media.DIRECTIONS[clean.motion_labels[index]]
        step = {"right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0)}[direction]
        np.testing.assert_array_equal(np.roll(clean.videos[index, 0], step, axis=(0, 1)), clean.videos[index, 1])
    with pytest.raises(ValueError, match="frames"):
        media.moving_shapes(frames=1)


def test_sort_of_clevr_answers_follow_the_scenes():
    questions = media.sort_of_clevr(n_images=30, questions_per_image=4, seed=0)
    assert questions.images.shape == (30, 32, 32, 3) and questions.images.dtype == np.uint8
    assert len(questions) == 120 and set(questions.question_types) == set(media.QUESTION_TYPES)
    for index, question, answer in zip(questions.image_index, questions.questions, questions.answers):
        scene = questions.scenes[index]
        words = media.tokenize(question)
        if words[:2] == ["how", "many"]:
            shape = words[2][:-1]
            assert answer == media.NUMBER_WORDS[sum(1 for _, s, _, _ in scene if s == shape)]
        elif words[:3] == ["what", "shape", "is"]:
            assert answer == next(s for c, s, _, _ in scene if c == words[4])
        elif words[:3] == ["what", "colour", "is"]:
            assert answer == next(c for c, s, _, _ in scene if s == words[4])
        else:
            col = next(col for c, _, _, col in scene if c == words[2])
            assert answer == ("left" if col < 2 else "right")


def test_media_datasets_are_registered_and_offline():
    for name in ("breakbeat", "audio_tones", "moving_shapes", "sort_of_clevr"):
        assert name in data.available()
    loaded = data.load("sort_of_clevr", n_images=5)          # tfds:clevr not prepared → substitute, no socket
    assert loaded.provenance.kind == "substitute" and len(loaded.data) == 20
    with pytest.raises(data.RealDataUnavailableError):
        data.load("breakbeat", prefer="real")


def test_read_clevr_converts_tfds_examples():
    examples = [{"image": np.zeros((320, 480, 3), "uint8"),
                 "question_answer": {"question": np.array([b"How many cubes are there?", b"What color is it?"]),
                                     "answer": np.array([b"3", b"red"])}}]
    converted = media.read_clevr(examples, size=16)
    assert converted.images.shape == (1, 16, 16, 3)
    assert converted.answers == ("3", "red") and converted.question_types == ("count", "colour")
