"""The error the test suite's socket guard (tests/conftest.py) raises; its own module so tests can import it
("conftest" is not a unique module name: notebooks/conftest.py exists too)."""


class NetworkBlockedError(RuntimeError):
    """Raised when a test tries to reach a host other than loopback."""
