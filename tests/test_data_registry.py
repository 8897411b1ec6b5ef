"""Registry API, argument checks, provenance, cache locations and the five built-in datasets."""
from __future__ import annotations

import ast
import dataclasses
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chapters_src import data
from chapters_src.data import catalog, imdb

PACKAGE_DIR = Path(data.__file__).parent
KERAS_DATASETS = Path(sys.prefix) / "lib" / "python3.11" / "site-packages" / "keras" / "src" / "datasets"


@pytest.fixture(autouse=True)
def private_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAPTERS_DATA_DIR", str(tmp_path / "chapters"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    data.reset_network_cache()


# --- API and argument checks ------------------------------------------------------------------------------

def test_the_five_first_datasets_are_registered():
    # chapter helpers register more datasets in catalog.register_builtin(): the first five must stay
    assert {"char_corpus", "daily_prices", "imdb", "mnist", "sample_photos"} <= set(data.available())


def test_unknown_names_preferences_and_arguments_are_named_in_the_error():
    registered = ", ".join(sorted(data.available()))
    with pytest.raises(ValueError, match=re.escape(f"unknown dataset name 'cifar'; registered: {registered}")):
        data.load("cifar")
    with pytest.raises(ValueError, match="prefer must be one of auto, real, substitute; got 'fast'"):
        data.load("mnist", prefer="fast")
    with pytest.raises(ValueError, match=r"unknown argument\(s\) colour for dataset 'mnist'; accepted: split_seed"):
        data.load("mnist", colour=True)
    with pytest.raises(ValueError, match="has no substitute"):
        data.load("sample_photos", prefer="substitute")


def test_register_refuses_duplicates_and_bad_specs():
    spec = data.get_spec("mnist")
    with pytest.raises(ValueError, match="already registered"):
        data.register(spec)
    with pytest.raises(ValueError, match="name must match"):
        dataclasses.replace(spec, name="My Data")
    with pytest.raises(ValueError, match="needs a source, a substitute"):
        dataclasses.replace(spec, name="nothing", source=None, substitute=None)
    with pytest.raises(ValueError, match="checksum must be 32"):
        data.RemoteFile("https://example.org/x", "x", "abc")
    with pytest.raises(ValueError, match="location must be one of keras, chapters"):
        data.RemoteFile("https://example.org/x", "x", None, "home")


def test_a_chapter_can_register_a_generated_dataset():
    spec = data.DatasetSpec("ramp", "a ramp", "int64 (n,)", None,
                            data.Substitute(lambda length=5: np.arange(length), "np.arange(length)"))
    data.register(spec)
    try:
        loaded = data.load("ramp", length=3)
        assert loaded.data.tolist() == [0, 1, 2]
        assert loaded.provenance.as_dict() == {
            "name": "ramp", "kind": "substitute", "source": "none registered", "description": "np.arange(length)",
            "path": None, "n_bytes": None, "sha256": None, "reason": "no real source registered", "files": []}
        with pytest.raises(ValueError, match="prefer='real' is not possible"):
            data.load("ramp", prefer="real")
    finally:
        data.unregister("ramp")
    assert "ramp" not in data.available()


def test_provenance_is_one_truthful_line_and_a_dict():
    provenance = data.load("mnist").provenance
    line = str(provenance)
    assert "\n" not in line
    assert line.startswith("mnist: substitute — scikit-learn digits (1,797 8×8) upsampled to 28×28")
    assert "real source https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz" in line
    assert line.endswith("(offline: CHAPTERS_OFFLINE=1)")
    record = provenance.as_dict()
    assert set(record) >= {"name", "kind", "source", "description", "path", "n_bytes", "sha256", "reason"}
    digits_file = Path(record["path"])
    assert digits_file.name == "digits.csv.gz" and record["n_bytes"] == digits_file.stat().st_size
    assert record["sha256"] == hashlib.sha256(digits_file.read_bytes()).hexdigest()


# --- cache locations ---------------------------------------------------------------------------------------

def test_cache_roots_follow_the_environment_at_call_time(monkeypatch, tmp_path):
    assert data.cache_dir() == tmp_path / "chapters"
    monkeypatch.delenv("CHAPTERS_DATA_DIR")
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.delenv("TFDS_DATA_DIR", raising=False)
    assert data.cache_dir() == Path.home() / ".cache" / "chapters_src"
    assert data.keras_home() == Path.home() / ".keras"
    assert data.tfds_data_dir() == Path.home() / "tensorflow_datasets"
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "elsewhere"))
    assert data.get_spec("mnist").source.files[0].local_path() == tmp_path / "elsewhere" / "datasets" / "mnist.npz"
    assert data.get_spec("char_corpus").source.files[0].local_path() == Path.home() / ".cache" / "chapters_src" / \
        "warpeace_input.txt"


def test_a_corrupt_keras_file_under_keras_home_is_never_used(tmp_path):
    corrupt = tmp_path / "keras" / "datasets" / "mnist.npz"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(b"half a download")
    with pytest.raises(data.CorruptCacheError, match=re.escape(str(corrupt))):
        data.load("mnist")
    assert data.load("mnist", prefer="substitute").provenance.kind == "substitute"


def test_registered_keras_urls_and_hashes_are_those_of_the_installed_keras():
    mnist_source = (KERAS_DATASETS / "mnist.py").read_text()
    imdb_source = (KERAS_DATASETS / "imdb.py").read_text()
    files = data.get_spec("mnist").source.files + data.get_spec("imdb").source.files
    for remote, source in zip(files, (mnist_source, imdb_source, imdb_source)):
        assert remote.checksum in source
        assert remote.url.rsplit("/", 1)[1] in source and "tf-keras-datasets/" in source
        assert remote.url.startswith("https://storage.googleapis.com/tensorflow/tf-keras-datasets/")


# --- mnist -------------------------------------------------------------------------------------------------

def test_the_real_mnist_reader_reads_a_verified_cached_file(tmp_path):
    cached = tmp_path / "keras" / "datasets" / "mnist.npz"
    cached.parent.mkdir(parents=True)
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), "y_train": np.arange(6, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8), "y_test": np.arange(2, dtype=np.uint8)}
    np.savez(cached, **arrays)
    spec = data.get_spec("mnist")
    remote = dataclasses.replace(spec.source.files[0], checksum=hashlib.sha256(cached.read_bytes()).hexdigest())
    data.register(dataclasses.replace(spec, name="mnist_tiny", source=dataclasses.replace(spec.source, files=(remote,))))
    try:
        loaded = data.load("mnist_tiny", prefer="real")
    finally:
        data.unregister("mnist_tiny")
    (x_train, y_train), (x_test, y_test) = loaded.data
    assert loaded.provenance.kind == "cached" and loaded.provenance.path == cached.resolve()
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    assert x_test.shape == (2, 28, 28) and y_test.dtype == np.uint8


def test_the_mnist_substitute_looks_like_mnist_and_is_deterministic():
    (x_train, y_train), (x_test, y_test) = data.load("mnist").data
    assert x_train.shape == (1500, 28, 28) and x_test.shape == (297, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert x_train.max() == 255 and x_train.min() == 0
    assert x_train[:, :3, :].max() == 0 and x_train[:, :, -3:].max() == 0  # MNIST-like empty border
    assert set(np.unique(y_test)) == set(range(10))
    (x_again, _), _ = data.load("mnist").data
    np.testing.assert_array_equal(x_train, x_again)
    (x_other, _), _ = data.load("mnist", split_seed=1).data
    assert not np.array_equal(x_train, x_other)


# --- imdb --------------------------------------------------------------------------------------------------

def test_the_imdb_substitute_follows_keras_conventions():
    (x_train, y_train), (x_test, y_test), word_index = data.load("imdb", num_reviews=60).data
    assert len(x_train) == len(y_train) == len(x_test) == 60 and x_train.dtype == object
    assert all(review[0] == 1 for review in x_train)  # start token
    assert all(50 <= len(review) - 1 <= 400 for review in x_train)
    assert sorted(set(y_train.tolist())) == [0, 1] and y_train.sum() == 30
    assert min(word_index.values()) == 1 and word_index["the"] == 1
    text = data.decode_review(x_train[0], word_index)
    assert text.startswith("[START] ") and all(word in word_index for word in text.split()[1:])
    (capped, _), _, _ = data.load("imdb", num_reviews=60, num_words=50).data
    tokens = np.concatenate([np.asarray(review) for review in capped])
    assert tokens.max() < 50 and (tokens == 2).any()  # out-of-vocabulary words became 2
    (skipped, _), _, _ = data.load("imdb", num_reviews=60, skip_top=10).data
    tokens = np.concatenate([np.asarray(review) for review in skipped])
    assert not np.isin(tokens, np.arange(3, 10)).any() and (tokens == 2).any()
    (short, _), _, _ = data.load("imdb", num_reviews=60, maxlen=120).data
    assert 0 < len(short) < 60 and all(len(review) < 120 for review in short)


def test_the_imdb_substitute_is_deterministic():
    first = data.load("imdb", num_reviews=30).data
    again = data.load("imdb", num_reviews=30).data
    other = data.load("imdb", num_reviews=30, generation_seed=1).data
    assert [list(r) for r in first.train[0]] == [list(r) for r in again.train[0]]
    assert first.train[1].tolist() == again.train[1].tolist()
    assert [list(r) for r in first.train[0]] != [list(r) for r in other.train[0]]


def test_imdb_labels_need_context_bag_of_words_stays_below_a_reader_of_the_verdict():
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    (x_train, y_train), (x_test, y_test), word_index = data.load("imdb", num_reviews=600).data
    train = [data.decode_review(review, word_index) for review in x_train]
    test = [data.decode_review(review, word_index) for review in x_test]
    vectorizer = CountVectorizer()
    model = LogisticRegression(max_iter=2000).fit(vectorizer.fit_transform(train), y_train)
    bag_of_words = model.score(vectorizer.transform(test), y_test)
    assert 0.5 < bag_of_words < 0.85

    def verdict(text: str) -> int:  # read the verdict sentence in context: cue ... [negation] adjective
        words = text.split()
        cue_at = max(i for i in range(len(words)) if " ".join(words[i:i + 3]).startswith(imdb.VERDICT_CUES))
        window = words[cue_at:cue_at + 10]
        adjective = next(w for w in window if w in imdb.POSITIVE or w in imdb.NEGATIVE)
        negated = any(w in imdb.NEGATIONS for w in window[:window.index(adjective)])
        return int((adjective in imdb.POSITIVE) != negated)

    assert np.mean([verdict(text) == label for text, label in zip(test, y_test)]) == 1.0


def test_imdb_conventions_match_keras_own_loader(tmp_path, monkeypatch):
    import keras.src.datasets.imdb as keras_imdb

    raw = [[5, 1, 9, 2], [3, 3, 7], [1, 8, 8, 8, 2, 4], [6, 2]]
    archive = tmp_path / "imdb.npz"
    ragged = lambda rows: np.array([list(r) for r in rows] + [[]], dtype=object)[:-1]  # noqa: E731
    np.savez(archive, x_train=ragged(raw[:2]), y_train=np.array([0, 1]), x_test=ragged(raw[2:]),
             y_test=np.array([1, 0]))
    monkeypatch.setattr(keras_imdb, "get_file", lambda *args, **kwargs: str(archive))
    for kwargs in ({}, {"num_words": 9, "skip_top": 4}, {"maxlen": 6, "seed": 3}, {"oov_char": None, "num_words": 8}):
        expected = keras_imdb.load_data(**kwargs)
        ours = imdb.apply_keras_conventions(*(np.load(archive, allow_pickle=True)[key]
                                              for key in ("x_train", "y_train", "x_test", "y_test")), **kwargs)
        for (x_ours, y_ours), (x_keras, y_keras) in zip(ours, expected):
            assert [list(r) for r in x_ours] == [list(r) for r in x_keras], kwargs
            assert y_ours.tolist() == list(y_keras)


def test_imdb_arguments_are_checked():
    with pytest.raises(ValueError, match="num_words must be an integer >= 1 or None"):
        data.load("imdb", num_reviews=10, num_words=0)
    with pytest.raises(ValueError, match="num_reviews must be"):
        data.load("imdb", num_reviews=1)


# --- char_corpus, daily_prices, sample_photos --------------------------------------------------------------

def test_the_char_corpus_substitute_is_python_prose():
    loaded = data.load("char_corpus")
    assert isinstance(loaded.data, str) and 400_000 < len(loaded.data) < 600_000
    assert loaded.provenance.path.name == "topics.py"
    assert data.load("char_corpus", lower=True, max_chars=1000).data == loaded.data[:1000].lower()


def test_war_and_peace_is_read_cleaned_and_checked(tmp_path):
    gutenberg = ("\ufeffThe Project Gutenberg eBook of War and Peace\r\n*** START OF THE PROJECT GUTENBERG EBOOK "
                 "WAR AND PEACE ***\r\nContents\r\nBOOK ONE\r\n\r\n\u201c" + catalog.WAR_AND_PEACE_OPENING +
                 "\r\nof the Buonapartes.\r\n*** END OF THE PROJECT GUTENBERG EBOOK ***\r\nLicence text\r\n")
    path = tmp_path / "warpeace_input.txt"
    path.write_text(gutenberg, encoding="utf-8", newline="")
    text = catalog.read_war_and_peace((path,), lower=True)
    assert text == "\u201c" + catalog.WAR_AND_PEACE_OPENING.lower() + "\nof the buonapartes.\n"
    with pytest.raises(ValueError, match="bytes, expected 3,000,000"):
        catalog.verify_war_and_peace(path)
    path.write_text(("\ufeff\"" + catalog.WAR_AND_PEACE_OPENING + "\n") + "x" * 3_100_000, encoding="utf-8")
    catalog.verify_war_and_peace(path)  # size, opening line and character set all plausible
    assert catalog.read_war_and_peace((path,), max_chars=7) == "\ufeff\"Well,"


def test_a_manual_yahoo_csv_is_used_when_present(tmp_path):
    csv_file = tmp_path / "chapters" / "^DJI.csv"
    csv_file.parent.mkdir(parents=True)
    csv_file.write_text("Date,Open,High,Low,Close,Adj Close,Volume\n"
                        "2001-01-03,10637.419922,11019.049805,10581.089844,10945.750000,10945.750000,420720000\n"
                        "2001-01-02,10790.919922,10797.019531,10585.360352,10646.150391,10646.150391,253300000\n"
                        "2001-01-04,null,null,null,null,null,null\n")
    loaded = data.load("daily_prices", prefer="real")
    assert loaded.provenance.kind == "cached" and loaded.provenance.path == csv_file.resolve()
    assert loaded.data.dates.tolist() == np.array(["2001-01-02", "2001-01-03"], dtype="datetime64[D]").tolist()
    np.testing.assert_allclose(loaded.data.close, [10646.150391, 10945.75])
    assert loaded.data.close.dtype == np.float64 and loaded.data.symbol == "DJI"


def test_the_price_substitute_is_matplotlib_goog():
    loaded = data.load("daily_prices")
    prices = loaded.data
    assert loaded.provenance.kind == "substitute" and "no manual file DJI.csv" in loaded.provenance.reason
    assert prices.dates.dtype == np.dtype("datetime64[D]") and prices.close.dtype == np.float64
    assert len(prices.dates) == 1047 and str(prices.dates[0]) == "2004-08-19" and prices.symbol == "GOOG"
    assert np.all(np.diff(prices.dates.astype("int64")) > 0)
    with pytest.raises(data.RealDataUnavailableError, match="DJI.csv"):
        data.load("daily_prices", prefer="real")


def test_sample_photos_are_packaged_real_photos():
    loaded = data.load("sample_photos")
    assert list(loaded.data) == ["astronaut", "chelsea", "rocket", "coffee", "china", "flower"]
    assert all(image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 for image in loaded.data.values())
    assert loaded.data["china"].shape == (427, 640, 3)
    assert loaded.provenance.kind == "packaged" and len(loaded.provenance.files) == 6
    assert "packaged" in str(loaded.provenance) and "substitute" not in str(loaded.provenance)
    assert list(data.load("sample_photos", names=["coffee"]).data) == ["coffee"]
    with pytest.raises(ValueError, match="names must be a non-empty subset"):
        data.load("sample_photos", names=["lena"])


# --- import hygiene ----------------------------------------------------------------------------------------

def test_importing_the_registry_imports_no_heavy_package():
    code = ("import sys, chapters_src.data; heavy = [m for m in ('tensorflow', 'tensorflow_datasets', 'keras', "
            "'sklearn', 'skimage', 'matplotlib') if m in sys.modules]; print(heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "[]"


def test_the_data_package_imports_no_topic_package():
    for module in PACKAGE_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert not re.match(r"chapters_src\.(cnn|rnn|gan|trends)", name), (module.name, name)
