"""``adapters.linq.loopback``: what counts as this machine."""

from __future__ import annotations

import pytest

from adapters.linq.loopback import is_loopback_host, is_loopback_url


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost"])
def test_loopback_hosts_are_recognised(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host", ["10.0.0.5", "192.168.1.2", "0.0.0.0", "example.org", "localhost.example.org", "", None]
)
def test_other_hosts_are_not_loopback(host: str | None) -> None:
    assert not is_loopback_host(host)


def test_a_loopback_url_needs_an_allowed_scheme() -> None:
    assert is_loopback_url("http://127.0.0.1:8788/hooks")
    assert not is_loopback_url("ftp://127.0.0.1/x")
    assert not is_loopback_url("https://127.0.0.1/x", schemes=("http",))
    assert not is_loopback_url("http://[::1")  # malformed: refused, not raised
