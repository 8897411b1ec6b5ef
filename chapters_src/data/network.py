"""Decide quickly (and once per process) whether the network can be used.

``CHAPTERS_OFFLINE=1`` (also ``true``/``yes``/``on``) forbids every network access: :func:`network_available`
then answers ``False`` without opening a socket. Otherwise one ``HEAD`` request to the source's host decides;
it runs in a daemon thread joined with a deadline, so the answer comes within ``timeout`` seconds even when DNS
hangs or a server accepts the connection but never answers. Any HTTP status (even 404) counts as "reachable".
"""
from __future__ import annotations

import os
import threading
import urllib.error
import urllib.parse
import urllib.request

OFFLINE_ENV_VAR = "CHAPTERS_OFFLINE"
DEFAULT_PROBE_URL = "https://storage.googleapis.com/"
DEFAULT_TIMEOUT_S = 3.0
MAX_TIMEOUT_S = 60.0
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

_answers: dict[tuple[str, str, int], bool] = {}
_answers_lock = threading.Lock()


def offline_forced() -> bool:
    """True when ``$CHAPTERS_OFFLINE`` is set to 1/true/yes/on (read at call time)."""
    return os.environ.get(OFFLINE_ENV_VAR, "").strip().lower() in {"1", "true", "yes", "on"}


def _host_key(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of ``url``; ``ValueError`` for anything but an http(s) URL with a host."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"url must be an http:// or https:// URL with a host; got {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname, port


def opener_for(url: str) -> urllib.request.OpenerDirector:
    """A urllib opener: environment proxies for public hosts, no proxy at all for loopback hosts."""
    if urllib.parse.urlsplit(url).hostname in _LOOPBACK_HOSTS:
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def _probe(url: str, timeout: float) -> bool:
    """One HEAD request; True if any HTTP answer came back, False on any error or timeout."""
    request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "chapters_src"})
    try:
        with opener_for(url).open(request, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True  # the server answered, only not with 2xx: the network works
    except Exception:  # URLError, timeout, refused, blocked by a test guard, ...
        return False


def _probe_with_deadline(url: str, timeout: float) -> bool:
    """Run :func:`_probe` in a daemon thread and give up after ``timeout`` seconds (DNS included)."""
    result: list[bool] = []
    worker = threading.Thread(target=lambda: result.append(_probe(url, timeout)), daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(result and result[0])


def network_available(timeout: float = DEFAULT_TIMEOUT_S, url: str | None = None) -> bool:
    """Whether ``url``'s host (default: Google Cloud Storage, Keras' dataset host) answers within ``timeout`` s.

    The answer is cached per process and per ``(scheme, host, port)``; :func:`reset_network_cache` forgets it.
    Always ``False`` when ``CHAPTERS_OFFLINE`` is set, and then no socket is opened.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT_S:
        raise ValueError(f"timeout must be a number of seconds in (0, {MAX_TIMEOUT_S:g}]; got {timeout!r}")
    url = url or DEFAULT_PROBE_URL
    key = _host_key(url)
    if offline_forced():
        return False
    with _answers_lock:
        if key in _answers:
            return _answers[key]
    answer = _probe_with_deadline(url, float(timeout))
    with _answers_lock:
        _answers[key] = answer
    return answer


def reset_network_cache() -> None:
    """Forget every cached reachability answer (for tests, or after the connection came back)."""
    with _answers_lock:
        _answers.clear()


def network_reason(url: str) -> str:
    """Why the network is not used for ``url``, in words, for provenance lines and error messages."""
    if offline_forced():
        return f"offline: {OFFLINE_ENV_VAR}=1"
    scheme, host, port = _host_key(url)
    return f"network unreachable: {host}:{port} did not answer a HEAD request in time"
