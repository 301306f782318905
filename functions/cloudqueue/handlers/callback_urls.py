"""The API's check of a submit's ``callbackUrl``, before anything is sent or stored: a 422 when
the stack has no webhooks (``WebhooksDisabled``) or when CloudQueue may not POST there
(``CallbackRefused``, see ``cloudqueue.callbacks``)."""

from __future__ import annotations

from cloudqueue.adapters import dns
from cloudqueue.callbacks import CallbackPolicy, Resolver, check_callback_url
from cloudqueue.errors import WebhooksDisabled
from cloudqueue.settings import ApiSettings

DISABLED = (
    "webhooks are not enabled on this stack, so a callbackUrl would never be called: deploy it "
    "with the template parameter Webhooks=on (locally: cloudqueue dev --webhooks), or submit "
    "without callbackUrl and follow the job with GET /jobs/{jobId}"
)


def checked_callback_url(url: str | None, config: ApiSettings, resolver: Resolver | None) -> str | None:
    """``url`` if this stack may POST a job's end to it; a 422 naming why not. ``resolver``: the
    DNS to check its host with (None: the system's)."""
    if url is None:
        return None
    if not config.webhooks:
        raise WebhooksDisabled(DISABLED)
    policy = CallbackPolicy(config.callback_https_only, config.callback_allow_loopback)
    return check_callback_url(url, resolver or dns.resolve, policy).url
