"""The network guard in conftest.py really blocks other hosts and still allows loopback."""
import socket

import pytest

# tests/conftest.py defines the error; it is matched by name because "conftest" is not a unique module name
# (notebooks/conftest.py exists too), so importing it here could pick the wrong file.


def _is_guard_error(error: pytest.ExceptionInfo) -> bool:
    return type(error.value).__name__ == "NetworkBlockedError"


def test_connecting_to_a_public_address_is_refused():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(RuntimeError, match="must not use the network") as error:
            sock.connect(("93.184.216.34", 80))
    assert _is_guard_error(error)


def test_resolving_a_public_name_is_refused():
    with pytest.raises(RuntimeError, match="must not use the network") as error:
        socket.getaddrinfo("example.org", 443)
    assert _is_guard_error(error)


def test_loopback_still_works():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
            client.connect(server.getsockname())
