"""The webhook signing secret, kept in Secrets Manager.

The template makes it with ``GenerateSecretString`` (32 letters and digits, no punctuation),
which cannot write the ``whsec_`` form itself; the secret's bytes are those 32 ASCII characters,
and ``whsec_form`` gives what Standard Webhooks libraries take: ``whsec_`` + their base64. The
CLI's ``webhook-secret`` prints the same form, so a receiver verifies with exactly what signs.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters

from cloudqueue.callbacks import whsec_form


def webhook_secret(secret_id: str) -> str:
    """The signing secret in ``whsec_`` form (read once, kept 5 minutes)."""
    value = parameters.get_secret(secret_id, max_age=300)
    return whsec_form(str(value))
