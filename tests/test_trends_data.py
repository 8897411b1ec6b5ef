"""The new-trends datasets: notMNIST-like letters and the ORL-layout faces (offline generators, real readers)."""
from __future__ import annotations

import io
import tarfile
import zipfile

import numpy as np
import pytest
from PIL import Image

from chapters_src import data
from chapters_src.data import faces, letters


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAPTERS_DATA_DIR", str(tmp_path / "chapters"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path / "chapters"


def test_letters_are_registered_and_substituted_offline(cache):
    loaded = data.load("notmnist", per_class=3)
    assert loaded.provenance.kind == "substitute"
    assert "notMNIST_small.tar.gz" in loaded.provenance.source
    x, y = loaded.data
    assert x.shape == (30, 28, 28) and x.dtype == np.uint8 and y.dtype == np.uint8
    assert list(np.bincount(y)) == [3] * 10
    assert x.max() > 200 and (x.reshape(30, -1) > 0).mean(axis=1).min() > 0.05  # every image has ink


def test_letters_are_deterministic_and_seed_dependent():
    first, second = letters.notmnist_like(per_class=2, seed=3), letters.notmnist_like(per_class=2, seed=3)
    other = letters.notmnist_like(per_class=2, seed=4)
    assert np.array_equal(first[0], second[0])
    assert not np.array_equal(first[0], other[0])


def test_rendered_letters_differ_between_classes():
    x, y = letters.notmnist_like(per_class=10, seed=0)
    means = np.stack([x[y == label].mean(axis=0) for label in range(10)]).reshape(10, -1)
    distances = np.linalg.norm(means[:, None] - means[None], axis=-1)
    assert distances[~np.eye(10, dtype=bool)].min() > 100  # class means are far apart in pixel space


def test_render_letter_checks_its_arguments():
    font = letters.font_files()[0]
    with pytest.raises(ValueError, match="letter"):
        letters.render_letter("K", font)
    with pytest.raises(ValueError, match="height"):
        letters.render_letter("A", font, height=40)
    with pytest.raises(ValueError, match="per_class"):
        letters.notmnist_like(per_class=0)


def test_all_fonts_ship_with_matplotlib():
    assert all(path.is_file() for path in letters.font_files())


def _png(pixels):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_real_notmnist_reader_uses_pil_and_skips_broken_files(tmp_path):
    archive = tmp_path / "notMNIST_small.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for index, letter in enumerate(letters.LETTERS):
            for name, payload in ((f"notMNIST_small/{letter}/ok.png", _png(np.full((28, 28), index, "uint8"))),
                                  (f"notMNIST_small/{letter}/broken.png", b"not a png")):
                info = tarfile.TarInfo(name)
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
    letters.verify_notmnist_archive(archive)
    x, y = letters.read_notmnist((archive,))
    assert x.shape == (10, 28, 28) and list(y) == list(range(10))
    assert [int(image[0, 0]) for image in x] == list(range(10))


def test_verify_notmnist_refuses_other_files(tmp_path):
    bad = tmp_path / "x.tar.gz"
    bad.write_bytes(b"nonsense")
    with pytest.raises(ValueError):
        letters.verify_notmnist_archive(bad)


def test_faces_substitute_writes_the_orl_layout(cache):
    loaded = data.load("orl_faces", n_subjects=3, images_per_subject=4)
    assert loaded.provenance.kind == "substitute"
    root = loaded.data
    assert root.parent == cache
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.pgm"))
    assert files == sorted(f"s{i}/{j}.pgm" for i in (1, 2, 3) for j in (1, 2, 3, 4))
    with Image.open(root / "s1" / "1.pgm") as image:
        assert image.size == (92, 112) and image.mode == "L"   # PIL: (width, height), as the source printed
    again = faces.synthetic_faces(n_subjects=3, images_per_subject=4)
    assert again == root


def test_synthetic_faces_identity_beats_pose():
    images = faces.synthetic_face_arrays(n_subjects=6, images_per_subject=5, seed=1).astype("float64")
    flat = images.reshape(6, 5, -1)
    within = np.mean([np.linalg.norm(flat[s, i] - flat[s, j]) for s in range(6) for i in range(5) for j in range(i)])
    between = np.mean([np.linalg.norm(flat[a, 0] - flat[b, 0]) for a in range(6) for b in range(a)])
    assert between > 1.2 * within
    assert np.array_equal(faces.synthetic_face_arrays(n_subjects=2, images_per_subject=2, seed=1),
                          faces.synthetic_face_arrays(n_subjects=2, images_per_subject=2, seed=1))


def test_real_orl_zip_is_verified_and_extracted(tmp_path):
    archive = tmp_path / "att_faces.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for i in range(1, 41):
            for j in range(1, 11):
                buffer = io.BytesIO()
                Image.fromarray(np.full((112, 92), i, "uint8")).save(buffer, format="PPM")
                zipped.writestr(f"att_faces/s{i}/{j}.pgm", buffer.getvalue())
    faces.verify_orl_zip(archive)
    root = faces.read_orl((archive,))
    assert (root / "s40" / "10.pgm").is_file()
    with Image.open(root / "s7" / "3.pgm") as image:
        assert np.asarray(image)[0, 0] == 7
    incomplete = tmp_path / "short.zip"
    with zipfile.ZipFile(incomplete, "w") as zipped:
        zipped.writestr("s1/1.pgm", b"P5")
    with pytest.raises(ValueError, match="lacks"):
        faces.verify_orl_zip(incomplete)


def test_glyphs_substitute_is_few_shot_shaped_and_deterministic(cache):
    from chapters_src.data import glyphs

    loaded = data.load("omniglot", n_alphabets=2, characters_per_alphabet=3, examples_per_character=4)
    assert loaded.provenance.kind == "substitute" and loaded.provenance.source == "tfds:omniglot"
    images, labels, alphabets = loaded.data
    assert images.shape == (24, 28, 28) and images.dtype == np.uint8
    assert list(np.bincount(labels)) == [4] * 6 and list(np.bincount(alphabets)) == [12, 12]
    assert (images.reshape(24, -1) > 0).any(axis=1).all()
    again = glyphs.synthetic_glyphs(n_alphabets=2, characters_per_alphabet=3, examples_per_character=4)
    assert np.array_equal(again.images, images)
    # drawings of one character are closer to each other than to other characters (the few-shot signal)
    x = glyphs.synthetic_glyphs(n_alphabets=2, characters_per_alphabet=6, examples_per_character=6).images
    flat = x.reshape(12, 6, -1).astype("float64")
    within = np.mean([np.linalg.norm(flat[c, i] - flat[c, j]) for c in range(12) for i in range(6) for j in range(i)])
    between = np.mean([np.linalg.norm(flat[a, 0] - flat[b, 0]) for a in range(12) for b in range(a)])
    assert between > 1.3 * within
    with pytest.raises(ValueError, match="n_alphabets"):
        glyphs.synthetic_glyphs(n_alphabets=0)


def test_tfds_omniglot_reader_converts_to_white_on_black_28():
    from chapters_src.data import glyphs

    class FakeDataset:
        def as_numpy_iterator(self):
            image = np.full((105, 105, 3), 255, "uint8")
            image[40:60, 40:60] = 0                                    # a black stroke on white paper
            yield {"image": image, "label": 7, "alphabet": 2, "alphabet_char_id": 1}

    result = glyphs.read_tfds_omniglot(FakeDataset())
    assert result.images.shape == (1, 28, 28) and result.labels.tolist() == [7] and result.alphabets.tolist() == [2]
    assert result.images[0, 13, 13] == 255 and result.images[0, 0, 0] == 0
