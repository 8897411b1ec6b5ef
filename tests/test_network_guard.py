"""The network guard in conftest.py really blocks other hosts and still allows loopback."""
import socket

import pytest
from helpers.network_guard import NetworkBlockedError


def test_connecting_to_a_public_address_is_refused():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(NetworkBlockedError, match="must not use the network"):
            sock.connect(("93.184.216.34", 80))


def test_resolving_a_public_name_is_refused():
    with pytest.raises(NetworkBlockedError, match="must not use the network"):
        socket.getaddrinfo("example.org", 443)


def test_loopback_still_works():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
            client.connect(server.getsockname())
