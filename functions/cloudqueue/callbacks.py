"""Where CloudQueue may POST a job's end: the ``callbackUrl`` check (server-side request
forgery) and the retry schedule of a webhook delivery. Pure: the resolver is passed in.

A URL is refused (``CallbackRefused``, 422 at submit) when it is not http(s) (https only when
``https_only``), has no host, or when its host is, or resolves to, any address that is not
public: loopback, private (RFC 1918, 100.64/10), link-local (169.254/16, the metadata endpoint
169.254.169.254 among them; fe80::/10), unique-local (fc00::/7), unspecified (0.0.0.0, ::),
multicast or reserved, in IPv4, IPv6 or IPv4-mapped IPv6 form (``::ffff:127.0.0.1`` is
127.0.0.1). Every address DNS gives is checked: one bad address refuses the URL. The delivery
checks again after its own resolution and connects to an address it checked (no second
lookup), so a name that changes its answer between the two cannot reach a refused address.
``allow_loopback`` (the local stack only) lets 127.0.0.1 through, over http too, so that a
developer can receive callbacks; everything else stays refused.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from cloudqueue.errors import CallbackRefused

Resolver = Callable[[str, int], list[str]]
"""host, port -> the addresses it resolves to (``getaddrinfo``); raises OSError if none."""

LOCAL_DEVELOPER_ADDRESS = ipaddress.IPv4Address("127.0.0.1")

# A delivery is retried on these answers (and on a timeout or a connection error), no other.
RETRYABLE_STATUSES = frozenset({408, 429})
RETRY_FOR_SECONDS = 24 * 3600
# The waits before retries 1, 2, 3...: the first within 10 s, then longer, at most SQS's
# longest DelaySeconds (15 minutes), which every later retry waits.
RETRY_DELAYS_SECONDS = (5, 30, 120, 300, 600, 900)


@dataclass(frozen=True)
class CallbackPolicy:
    """What a deployment allows: https only (deployed), and 127.0.0.1 over http too (the local
    stack only)."""

    https_only: bool = True
    allow_loopback: bool = False


@dataclass(frozen=True)
class CallbackTarget:
    """A checked URL: where to connect (each address checked) and what to ask for."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def refused_address(address: str, policy: CallbackPolicy) -> str | None:
    """Why CloudQueue will not connect to ``address``; None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # a zone id (fe80::1%eth0) is no excuse
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # judged as the IPv4 address it is
    if policy.allow_loopback and ip == LOCAL_DEVELOPER_ADDRESS:
        return None
    for reason, hit in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
    ):
        if hit:
            return f"{reason} address {ip}"
    if not ip.is_global:
        return f"non-public address {ip}"
    return None


def check_callback_url(url: str, resolve: Resolver, policy: CallbackPolicy) -> CallbackTarget:
    """The URL's target if CloudQueue may call it; ``CallbackRefused`` naming why not."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise CallbackRefused(f"callbackUrl must be http(s), not {parts.scheme or 'none'!r}")
    if parts.username is not None or parts.password is not None:
        raise CallbackRefused("callbackUrl must not carry credentials")
    host = parts.hostname
    if not host:
        raise CallbackRefused("callbackUrl has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise CallbackRefused("callbackUrl has an invalid port") from None
    try:
        addresses = [str(ipaddress.ip_address(host))]  # a literal address: no lookup
    except ValueError:
        try:
            addresses = sorted(set(resolve(host, port)))
        except OSError:
            raise CallbackRefused(f"callbackUrl's host {host!r} does not resolve") from None
    if not addresses:
        raise CallbackRefused(f"callbackUrl's host {host!r} does not resolve")
    for address in addresses:
        reason = refused_address(address, policy)
        if reason is not None:
            raise CallbackRefused(f"callbackUrl's host {host!r} is a {reason}")
    local = policy.allow_loopback and all(
        ipaddress.ip_address(address) == LOCAL_DEVELOPER_ADDRESS for address in addresses
    )
    if parts.scheme == "http" and policy.https_only and not local:
        raise CallbackRefused("callbackUrl must be https")
    return CallbackTarget(url=url, scheme=parts.scheme, host=host, port=port, addresses=tuple(addresses))


def retryable(status_code: int | None) -> bool:
    """Whether a delivery that got this answer (None: a timeout or no connection) is retried."""
    return status_code is None or status_code >= 500 or status_code in RETRYABLE_STATUSES


def retry_delay(attempt: int) -> int:
    """Seconds to wait after failed attempt ``attempt`` (1, 2, ...) before the next."""
    return RETRY_DELAYS_SECONDS[min(attempt, len(RETRY_DELAYS_SECONDS)) - 1]


def whsec_form(secret_string: str) -> str:
    """The ``whsec_...`` form of the generated secret string: ``whsec_`` + the base64 of its bytes,
    which are the signing key (the template's GenerateSecretString cannot write this form)."""
    return "whsec_" + base64.b64encode(secret_string.encode()).decode()
