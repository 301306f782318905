"""The local stack's generated secrets (the webhook signing secret): made once, kept in the
state dir (``secrets.json``, readable by its owner only) so that a receiver configured with it
keeps verifying after a restart; made anew at each start without ``--state-dir``."""

from __future__ import annotations

import json
import os
import secrets
import string
from pathlib import Path

from cloudqueue_local.template import LocalTemplate, SecretSpec

SECRETS_FILE = "secrets.json"


def generated(spec: SecretSpec) -> str:
    """A value as GenerateSecretString makes it (letters and digits when punctuation is excluded)."""
    alphabet = string.ascii_letters + string.digits + ("" if spec.exclude_punctuation else string.punctuation)
    return "".join(secrets.choice(alphabet) for _ in range(spec.length))


def secret_values(template: LocalTemplate, state_dir: Path | None) -> dict[str, str]:
    """Each secret's value by logical id: the kept one, else a new one (kept when there is a dir)."""
    path = state_dir / SECRETS_FILE if state_dir is not None else None
    kept: dict[str, str] = json.loads(path.read_text()) if path is not None and path.exists() else {}
    values = {
        spec.logical_id: kept.get(spec.logical_id) or generated(spec) for spec in template.secrets.values()
    }
    if path is not None and values != kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2))
        os.chmod(path, 0o600)
    return values
