"""Who is calling: the owner a request acts as, and whether it may act on every owner's jobs.

The gateway decides who may call which route (a JWT's scopes, an IAM policy); the function
decides which jobs a caller sees. A caller that is not an admin sees only the jobs it owns,
and another owner's job is answered exactly as a missing one, so nothing tells it exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloudqueue.listing import DEFAULT_OWNER
from cloudqueue.models import Job

ANONYMOUS = DEFAULT_OWNER
"""The owner of every job when the API has no authorizer (``AuthMode=none``, the public demo)."""


@dataclass(frozen=True)
class Caller:
    """The owner a request acts as; ``admin``: it came by an ``/admin/...`` route, which the
    gateway lets through only with the admin scope (jwt) or an IAM policy allowing it (iam)."""

    owner: str
    admin: bool = False

    def may_see(self, job: Job) -> bool:
        """True when this caller may read, cancel or rerun ``job``."""
        return self.admin or job.owner == self.owner

    @property
    def listed_owner(self) -> str | None:
        """Whose jobs a plain listing shows: the caller's own; None (every owner) for an admin."""
        return None if self.admin else self.owner
