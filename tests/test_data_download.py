"""The real download code against a local HTTP server on 127.0.0.1, the 5-second network decision, the
no-socket guarantee of CHAPTERS_OFFLINE=1, and the tfds path (with a stand-in tfds module)."""
from __future__ import annotations

import hashlib
import http.server
import json
import socket
import threading
import time
import urllib.request

import pytest

from chapters_src import data
from chapters_src.data import download, network, sources

PAYLOAD = b"chapters_src test payload\n" * 40  # 1,040 bytes
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files`` (path → bytes) and counts GET and HEAD requests."""

    def _send(self, with_body: bool) -> None:
        self.server.counts[self.command] = self.server.counts.get(self.command, 0) + 1
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self._send(True)

    def do_HEAD(self):  # noqa: N802
        self._send(False)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """A real HTTP server in a thread on 127.0.0.1 serving /small.bin and /other.bin."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files = {"/small.bin": PAYLOAD, "/other.bin": b"something else entirely"}
    httpd.counts = {}
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def fresh_network_cache(tmp_path, monkeypatch):
    """Each test: its own cache folders and a forgotten reachability answer."""
    monkeypatch.setenv("CHAPTERS_DATA_DIR", str(tmp_path / "chapters"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    data.reset_network_cache()
    yield
    data.reset_network_cache()


@pytest.fixture
def online(monkeypatch):
    """Allow the network in this test despite conftest's CHAPTERS_OFFLINE=1 (only loopback is reachable)."""
    monkeypatch.delenv("CHAPTERS_OFFLINE", raising=False)


def _spec(url: str, checksum: str | None = PAYLOAD_SHA256, name: str = "local_file", verify=None):
    """A dataset served by the local server: data = the file's bytes; substitute = b"substitute"."""
    remote = data.RemoteFile(url, "small.bin", checksum, "chapters", verify=verify)
    return data.DatasetSpec(name, "a small test file", "bytes",
                            data.UrlSource((remote,), lambda paths: paths[0].read_bytes(), "a small test file"),
                            data.Substitute(lambda: b"substitute", "the bytes b'substitute'"))


@pytest.fixture
def registered():
    """Register specs for one test and remove them afterwards."""
    names = []

    def _register(spec):
        data.register(spec, replace=True)
        names.append(spec.name)
        return spec

    yield _register
    for name in names:
        data.unregister(name)


def test_fresh_download_then_cached_reuse(server, online, registered, tmp_path):
    registered(_spec(server.url + "/small.bin"))
    first = data.load("local_file")
    assert first.data == PAYLOAD
    assert first.provenance.kind == "downloaded"
    assert first.provenance.path == (tmp_path / "chapters" / "small.bin").resolve()
    assert (first.provenance.n_bytes, first.provenance.sha256) == (len(PAYLOAD), PAYLOAD_SHA256)
    assert server.counts["GET"] == 1 and server.counts["HEAD"] == 1
    assert [p.name for p in (tmp_path / "chapters").iterdir()] == ["small.bin"]  # no temporary file left
    second = data.load("local_file")
    assert second.provenance.kind == "cached" and second.data == PAYLOAD
    assert server.counts["GET"] == 1  # reused, not fetched again
    assert "cached" in str(second.provenance) and str(second.provenance.path) in str(second.provenance)


def test_corrupt_cache_is_downloaded_again_when_online(server, online, registered, tmp_path):
    registered(_spec(server.url + "/small.bin"))
    cached = tmp_path / "chapters" / "small.bin"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(PAYLOAD[:100])  # a partial download
    loaded = data.load("local_file")
    assert loaded.provenance.kind == "downloaded"
    assert cached.read_bytes() == PAYLOAD and server.counts["GET"] == 1


def test_corrupt_cache_offline_raises_a_clear_error(registered, tmp_path):
    registered(_spec("http://127.0.0.1:9/small.bin"))
    cached = tmp_path / "chapters" / "small.bin"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"corrupt")
    with pytest.raises(data.CorruptCacheError) as caught:
        data.load("local_file")
    message = str(caught.value)
    assert isinstance(caught.value, RuntimeError)
    assert str(cached) in message and "Delete it and re-run online" in message and "prefer='substitute'" in message
    assert cached.read_bytes() == b"corrupt"  # never touched, never used
    with pytest.raises(data.CorruptCacheError):
        data.load("local_file", prefer="real")
    assert data.load("local_file", prefer="substitute").data == b"substitute"


def test_checksum_mismatch_from_the_server_is_refused(server, online, registered, tmp_path):
    registered(_spec(server.url + "/other.bin"))  # the server sends other bytes than the checksum says
    with pytest.raises(data.ChecksumMismatchError, match="refused"):
        data.load("local_file", prefer="real")
    assert not (tmp_path / "chapters").exists() or list((tmp_path / "chapters").iterdir()) == []
    with pytest.warns(RuntimeWarning, match="download failed"):
        loaded = data.load("local_file")
    assert loaded.provenance.kind == "substitute" and "expected " + PAYLOAD_SHA256 in loaded.provenance.reason


def test_md5_checksums_as_keras_publishes_them_are_accepted(server, online, registered):
    registered(_spec(server.url + "/small.bin", checksum=hashlib.md5(PAYLOAD).hexdigest()))
    loaded = data.load("local_file", prefer="real")
    assert loaded.data == PAYLOAD and loaded.provenance.sha256 == PAYLOAD_SHA256  # provenance is always sha256


def test_a_failed_verification_keeps_the_previous_file(server, online, tmp_path):
    destination = tmp_path / "kept.bin"
    destination.write_bytes(b"previous good file")

    def refuse(path):
        raise ValueError("not what we expected")

    with pytest.raises(data.DownloadError, match="not what we expected"):
        download.download_verified([server.url + "/small.bin"], destination, verify=refuse)
    assert destination.read_bytes() == b"previous good file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.bin"]


def test_without_a_checksum_the_first_hash_is_recorded_and_enforced(server, online, registered, tmp_path,
                                                                   monkeypatch):
    registered(_spec(server.url + "/small.bin", checksum=None, verify=lambda path: None))
    assert data.load("local_file").provenance.kind == "downloaded"
    sidecar = json.loads((tmp_path / "chapters" / "small.bin.sha256.json").read_text())
    assert sidecar["sha256"] == PAYLOAD_SHA256 and sidecar["source"].endswith("/small.bin")
    (tmp_path / "chapters" / "small.bin").write_bytes(b"changed behind our back")
    monkeypatch.setenv("CHAPTERS_OFFLINE", "1")
    with pytest.raises(data.CorruptCacheError, match="recorded on first use"):
        data.load("local_file")


def test_a_server_that_never_answers_is_decided_within_five_seconds(online, registered):
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel accepts connections; nobody ever reads or answers
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/small.bin"
    try:
        registered(_spec(url))
        start = time.monotonic()
        loaded = data.load("local_file")
        elapsed = time.monotonic() - start
    finally:
        silent.close()
    assert elapsed < 5.0
    assert loaded.provenance.kind == "substitute" and "did not answer" in loaded.provenance.reason
    start = time.monotonic()
    assert data.network_available(url=url) is False  # cached answer: immediate
    assert time.monotonic() - start < 0.1


def test_an_unreachable_port_is_decided_quickly(online, registered):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there any more: connection refused
    registered(_spec(f"http://127.0.0.1:{port}/small.bin"))
    start = time.monotonic()
    assert data.network_available(timeout=2.0, url=f"http://127.0.0.1:{port}/") is False
    assert data.load("local_file").provenance.kind == "substitute"
    assert time.monotonic() - start < 5.0
    with pytest.raises(data.RealDataUnavailableError, match="prefer='real'"):
        data.load("local_file", prefer="real")


def test_the_network_answer_is_cached_per_process(server, online):
    assert data.network_available(url=server.url + "/small.bin") is True
    assert data.network_available(url=server.url + "/other.bin") is True  # same host and port
    assert server.counts == {"HEAD": 1}
    data.reset_network_cache()
    assert data.network_available(url=server.url + "/") is True  # 404 still means "reachable"
    assert server.counts["HEAD"] == 2


def test_network_available_validates_its_arguments():
    with pytest.raises(ValueError, match="timeout"):
        data.network_available(timeout=0)
    with pytest.raises(ValueError, match="url"):
        data.network_available(url="ftp://example.org/file")


def _forbid_sockets(monkeypatch) -> list:
    """Make every way of touching the network fail loudly and record it (even where an error is swallowed)."""
    attempts = []

    def boom(*args, **kwargs):
        attempts.append(args)
        raise AssertionError("the network was touched although CHAPTERS_OFFLINE=1")

    for owner, attribute in ((socket.socket, "connect"), (socket.socket, "connect_ex"), (socket, "create_connection"),
                             (socket, "getaddrinfo"), (urllib.request, "urlopen"),
                             (urllib.request.OpenerDirector, "open"), (network, "_probe_with_deadline")):
        monkeypatch.setattr(owner, attribute, boom)
    return attempts


def test_offline_mode_opens_no_socket(monkeypatch):
    monkeypatch.setenv("CHAPTERS_OFFLINE", "1")
    attempts = _forbid_sockets(monkeypatch)
    assert data.network_available() is False
    for name in ("mnist", "char_corpus", "daily_prices", "sample_photos"):
        loaded = data.load(name)
        assert loaded.provenance.kind in ("substitute", "packaged"), name
    imdb = data.load("imdb", num_reviews=20)
    assert imdb.provenance.kind == "substitute" and imdb.provenance.reason == "offline: CHAPTERS_OFFLINE=1"
    with pytest.raises(data.RealDataUnavailableError, match="CHAPTERS_OFFLINE=1"):
        data.load("mnist", prefer="real")
    assert attempts == []


def test_the_offline_guard_of_this_file_would_notice_a_network_attempt(monkeypatch):
    monkeypatch.delenv("CHAPTERS_OFFLINE", raising=False)
    attempts = _forbid_sockets(monkeypatch)
    with pytest.raises(AssertionError, match="network was touched"):
        data.load("mnist", prefer="real")
    assert len(attempts) == 1


class _FakeTfds:
    """Stands in for tensorflow_datasets: records every load call, never touches the network."""

    def __init__(self, tfds_dir):
        self.calls = []
        self.tfds_dir = tfds_dir

    def load(self, name, data_dir, download, **kwargs):
        self.calls.append({"name": name, "data_dir": data_dir, "download": download, **kwargs})
        if download:  # what a real download would leave behind
            prepared = self.tfds_dir / name / "3.0.1"
            prepared.mkdir(parents=True)
            (prepared / "dataset_info.json").write_text("{}")
        return {"train": [1, 2, 3]}


def _tfds_spec():
    return data.DatasetSpec("tfds_numbers", "numbers prepared by tfds", "list",
                            data.TfdsSource("tfds_numbers", lambda output: output["train"], "numbers",
                                            {"split": None}, probe_url="http://127.0.0.1:9/"),
                            data.Substitute(lambda: [0], "a single zero"))


def test_tfds_prepared_data_is_loaded_with_download_false(monkeypatch, registered, tmp_path):
    fake = _FakeTfds(tmp_path / "tfds")
    monkeypatch.setattr(sources, "_import_tfds", lambda: fake)
    registered(_tfds_spec())
    assert data.load("tfds_numbers").provenance.kind == "substitute"  # offline and not prepared
    assert fake.calls == []  # tfds (and its 200-second retry loop) never entered
    (tmp_path / "tfds" / "tfds_numbers" / "3.0.1").mkdir(parents=True)
    (tmp_path / "tfds" / "tfds_numbers" / "3.0.1" / "dataset_info.json").write_text("{}")
    loaded = data.load("tfds_numbers")
    assert loaded.data == [1, 2, 3] and loaded.provenance.kind == "cached"
    assert fake.calls == [{"name": "tfds_numbers", "data_dir": str(tmp_path / "tfds"), "download": False,
                           "split": None}]
    assert loaded.provenance.path.name == "3.0.1" and loaded.provenance.n_bytes == 2


def test_tfds_downloads_only_after_the_network_check_passed(monkeypatch, registered, tmp_path, online, server):
    fake = _FakeTfds(tmp_path / "tfds")
    monkeypatch.setattr(sources, "_import_tfds", lambda: fake)
    spec = _tfds_spec()
    registered(data.DatasetSpec(spec.name, spec.description, spec.structure,
                                data.TfdsSource("tfds_numbers", spec.source.read, "numbers", {},
                                                probe_url=server.url + "/"), spec.substitute))
    loaded = data.load("tfds_numbers")
    assert loaded.provenance.kind == "downloaded" and fake.calls[0]["download"] is True
    assert server.counts == {"HEAD": 1}
