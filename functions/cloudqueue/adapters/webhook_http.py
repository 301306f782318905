"""Webhook POSTs over httpx, signed with ``standardwebhooks``, to an address checked first.

The URL is checked again here (``cloudqueue.callbacks``: DNS now may answer otherwise than at
submit), and the request connects to the first checked address itself, not to the name: the
URL's host is replaced by the address, the ``Host`` header and TLS's server name (SNI, and so
the certificate's check) keep the name. No second lookup, so no answer can change between the
check and the connection. Redirects are not followed.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import httpx
from standardwebhooks.webhooks import Webhook

from cloudqueue.callbacks import CallbackPolicy, Resolver, check_callback_url
from cloudqueue.errors import CallbackRefused
from cloudqueue.webhooks import SendResult


def pinned_url(url: str, address: str) -> str:
    """``url`` with its host replaced by ``address`` (bracketed when IPv6), its port kept."""
    parts = urlsplit(url)
    host = f"[{address}]" if isinstance(ipaddress.ip_address(address), ipaddress.IPv6Address) else address
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


class HttpWebhookSender:
    """``cloudqueue.webhooks.WebhookSender`` over httpx."""

    def __init__(
        self,
        secret: str,
        *,
        policy: CallbackPolicy,
        resolve: Resolver,
        timeout_seconds: float = 10.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.signer = Webhook(secret)
        self.policy = policy
        self.resolve = resolve
        self.client = client or httpx.Client(timeout=timeout_seconds, follow_redirects=False)

    def send(self, url: str, webhook_id: str, body: str, now: datetime) -> SendResult:
        """POST ``body`` to ``url``'s checked address; the answer's status, or why there is none."""
        try:
            target = check_callback_url(url, self.resolve, self.policy)
        except CallbackRefused as refused:
            return SendResult(None, refused.message, refused=True)
        headers = {
            "content-type": "application/json",
            "user-agent": "CloudQueue-Webhooks/1",
            "host": urlsplit(url).netloc,
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self.signer.sign(webhook_id, now, body),
        }
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        try:
            response = self.client.post(
                pinned_url(url, target.addresses[0]),
                content=body.encode(),
                headers=headers,
                extensions=extensions,
                follow_redirects=False,
            )
        except httpx.TimeoutException:
            return SendResult(None, "timed out")
        except httpx.HTTPError as error:
            return SendResult(None, f"{type(error).__name__}: {error}"[:300])
        return SendResult(response.status_code)
