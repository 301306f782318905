"""The callbackUrl check: every address form that is not public is refused, whether written
in the URL or given by DNS (a fake resolver), and the retry schedule."""

from __future__ import annotations

import pytest

from cloudqueue.callbacks import (
    CallbackPolicy,
    check_callback_url,
    retry_delay,
    retryable,
)
from cloudqueue.errors import CallbackRefused

DEPLOYED = CallbackPolicy(https_only=True, allow_loopback=False)
LOCAL = CallbackPolicy(https_only=True, allow_loopback=True)
PUBLIC = "93.184.215.14"


def resolver(*addresses: str):  # type: ignore[no-untyped-def]
    """A fake DNS: every name resolves to ``addresses``."""
    return lambda host, port: list(addresses)


REFUSED_ADDRESSES = [
    "127.0.0.1",  # loopback
    "127.1.2.3",
    "::1",
    "10.0.0.1",  # private
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",  # shared address space
    "169.254.169.254",  # the metadata endpoint (link-local)
    "fe80::1",  # link-local IPv6
    "fd00::1",  # unique-local
    "fc00::1",
    "0.0.0.0",  # unspecified
    "::",
    "::ffff:127.0.0.1",  # IPv4-mapped forms
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "224.0.0.1",  # multicast
]


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_a_name_that_resolves_to_an_address_that_is_not_public_is_refused(address: str) -> None:
    with pytest.raises(CallbackRefused):
        check_callback_url("https://hooks.example.com/x", resolver(address), DEPLOYED)


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_an_address_written_in_the_url_is_refused_without_a_lookup(address: str) -> None:
    host = f"[{address}]" if ":" in address else address

    def no_lookup(host: str, port: int) -> list[str]:
        raise AssertionError("a literal address is not looked up")

    with pytest.raises(CallbackRefused):
        check_callback_url(f"https://{host}/x", no_lookup, DEPLOYED)


def test_one_bad_address_among_the_answers_refuses_the_url() -> None:
    with pytest.raises(CallbackRefused, match=r"169\.254\.169\.254"):
        check_callback_url("https://hooks.example.com/", resolver(PUBLIC, "169.254.169.254"), DEPLOYED)


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "gopher://x/", "example.com/x"])
def test_a_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(CallbackRefused, match="http"):
        check_callback_url(url, resolver(PUBLIC), LOCAL)


def test_deployed_refuses_http_even_to_a_public_address() -> None:
    with pytest.raises(CallbackRefused, match="https"):
        check_callback_url("http://hooks.example.com/", resolver(PUBLIC), DEPLOYED)


def test_a_public_https_url_passes_with_its_checked_addresses() -> None:
    target = check_callback_url("https://hooks.example.com:8443/in", resolver(PUBLIC), DEPLOYED)
    assert (target.host, target.port, target.addresses) == ("hooks.example.com", 8443, (PUBLIC,))


def test_a_name_that_does_not_resolve_is_refused() -> None:
    def nowhere(host: str, port: int) -> list[str]:
        raise OSError("no such name")

    with pytest.raises(CallbackRefused, match="resolve"):
        check_callback_url("https://nowhere.invalid/", nowhere, DEPLOYED)


def test_locally_http_to_127_0_0_1_is_allowed_and_the_rest_stays_refused() -> None:
    assert check_callback_url("http://127.0.0.1:8000/hook", resolver(), LOCAL).addresses == ("127.0.0.1",)
    for refused in ("http://127.0.0.2/", "http://[::1]/", "http://10.0.0.1/", "http://169.254.169.254/"):
        with pytest.raises(CallbackRefused):
            check_callback_url(refused, resolver(), LOCAL)
    with pytest.raises(CallbackRefused, match="https"):
        check_callback_url("http://hooks.example.com/", resolver(PUBLIC), LOCAL)
    with pytest.raises(CallbackRefused):
        check_callback_url("http://127.0.0.1:8000/hook", resolver(), DEPLOYED)


def test_credentials_in_the_url_are_refused() -> None:
    with pytest.raises(CallbackRefused, match="credentials"):
        check_callback_url("https://user:pw@hooks.example.com/", resolver(PUBLIC), DEPLOYED)


@pytest.mark.parametrize(
    ("status", "again"),
    [
        (500, True),
        (503, True),
        (408, True),
        (429, True),
        (None, True),
        (400, False),
        (404, False),
        (301, False),
        (200, False),
    ],
)
def test_only_server_errors_timeouts_and_throttles_are_retried(status: int | None, again: bool) -> None:
    assert retryable(status) is again


def test_the_first_retry_comes_within_ten_seconds_and_none_waits_past_fifteen_minutes() -> None:
    delays = [retry_delay(attempt) for attempt in range(1, 200)]
    assert delays[0] <= 10
    assert delays == sorted(delays)
    assert max(delays) == 900
    # about 24 hours of retries is about a hundred attempts, not thousands
    assert 80 < sum(1 for total in _running(delays) if total <= 24 * 3600) < 120


def _running(values: list[int]) -> list[int]:
    totals, total = [], 0
    for value in values:
        total += value
        totals.append(total)
    return totals
