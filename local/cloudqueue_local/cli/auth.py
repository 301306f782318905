"""``cloudqueue token``: a token from a running local stack's issuer (``AuthMode=jwt``)."""

from __future__ import annotations

from typing import Annotated

import typer

from cloudqueue_local.cli import render
from cloudqueue_local.client.api import DEFAULT_API_URL
from cloudqueue_local.client.tokens import DEFAULT_SCOPES, mint_token


def token(
    sub: Annotated[str, typer.Option("--sub", help="Who the token is for (its sub: the jobs' owner).")],
    url: Annotated[
        str,
        typer.Option("--url", envvar="CLOUDQUEUE_API_URL", help="The local stack (its API and page URL)."),
    ] = DEFAULT_API_URL,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="A scope to grant (repeatable; default cloudqueue/jobs.read and cloudqueue/jobs.write; "
            "cloudqueue/admin for the /admin routes).",
        ),
    ] = None,
    ttl: Annotated[int, typer.Option("--ttl", min=1, max=86400, help="Seconds the token is valid.")] = 3600,
    audience: Annotated[
        str | None, typer.Option("--audience", help="Put this aud in the token (another is refused: 401).")
    ] = None,
    issuer: Annotated[
        str | None, typer.Option("--issuer", help="Put this iss in the token (another is refused: 401).")
    ] = None,
) -> None:
    """Print an access token from the local stack's issuer (`cloudqueue dev --param AuthMode=jwt`).

    Use it as `--token` (or CLOUDQUEUE_TOKEN), or as `Authorization: Bearer <token>`.
    """
    minted = mint_token(url, sub, scope or list(DEFAULT_SCOPES), ttl=ttl, audience=audience, issuer=issuer)
    render.out.print(minted, highlight=False, markup=False, soft_wrap=True)
