"""API Gateway's ``AWS_IAM`` authorization, locally: Signature Version 4, checked before the
function runs.

The signature is computed again with botocore's ``SigV4Auth`` over what was received (method,
path, query, the headers the caller signed, the body), with the secret of the caller's access
key, and compared in constant time. The request's ``X-Amz-Date`` must be within 15 minutes of
now, and its credential scope must name this region and ``execute-api``. A missing or wrong
signature, an unknown key or a stale date answers 403 ``{"message":"Forbidden"}``.

IAM itself is not emulated: every known key may invoke every route (as if each user's policy
allowed ``execute-api:Invoke`` on ``*``). The keys are the local users below, which
``cloudqueue dev`` prints; the function receives the caller's ARN in
``requestContext.authorizer.iam.userArn``, as on AWS.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from cloudqueue_local.emulator.authorization import FORBIDDEN, Decision

SERVICE = "execute-api"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class LocalUser:
    """An IAM user of the local stack: its access key pair and its ARN."""

    name: str
    access_key_id: str
    secret_access_key: str
    user_id: str

    def arn(self, account: str) -> str:
        """The user's ARN in ``account``."""
        return f"arn:aws:iam::{account}:user/{self.name}"


# Local only, printed by `cloudqueue dev`: never valid on AWS (AWS keys are not made of these).
LOCAL_USERS = (
    LocalUser("alice", "AKIALOCALALICE000000", "local-secret-of-alice", "AIDALOCALALICE000000"),
    LocalUser("bob", "AKIALOCALBOB00000000", "local-secret-of-bob", "AIDALOCALBOB00000000"),
)


class IamAuthorizer:
    """Checks a request's SigV4 signature against the local users' keys."""

    def __init__(self, *, region: str, account: str, users: tuple[LocalUser, ...] = LOCAL_USERS) -> None:
        self.region = region
        self.account = account
        self.users = {user.access_key_id: user for user in users}

    def authorize(
        self,
        *,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
        now: datetime | None = None,
    ) -> Decision:
        """API Gateway's decision for a request received as ``method url`` (the URL as sent,
        with its query), with ``headers`` (any case) and ``body``."""
        lower = {name.lower(): value for name, value in headers.items()}
        signed = self._signed(lower, body, now or datetime.now(UTC))
        if signed is None:
            return FORBIDDEN
        user, signed_headers, signature = signed
        # The signature the caller should have sent, as botocore computes it.
        auth = SigV4Auth(Credentials(user.access_key_id, user.secret_access_key), SERVICE, self.region)
        request = AWSRequest(
            method=method.upper(), url=url, data=body, headers={name: lower[name] for name in signed_headers}
        )
        request.context["timestamp"] = lower["x-amz-date"]
        expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
        if not hmac.compare_digest(str(expected), signature):
            return FORBIDDEN
        return Decision(200, {"iam": self._identity(user)})

    def _signed(
        self, lower: dict[str, str], body: bytes, now: datetime
    ) -> tuple[LocalUser, list[str], str] | None:
        """The signer, the signed headers and the signature, if the request's Authorization,
        date, scope and content hash can be those of a valid request; else None."""
        found = _AUTHORIZATION.match(lower.get("authorization", "").strip())
        if found is None:
            return None
        key_id, _, scope = found["credential"].partition("/")
        date, _, rest = scope.partition("/")
        user = self.users.get(key_id)
        amz_date = lower.get("x-amz-date", "")
        try:
            moment = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=UTC)
        except ValueError:
            return None
        signed_headers = found["signed"].split(";")
        digest = hashlib.sha256(body).hexdigest()
        if (
            user is None
            or rest != f"{self.region}/{SERVICE}/aws4_request"
            or date != amz_date[:8]
            or abs(now - moment) > MAX_SKEW
            or "host" not in signed_headers
            or any(name not in lower for name in signed_headers)
            or lower.get("x-amz-content-sha256", digest) != digest  # a claimed hash must be the body's
        ):
            return None
        return user, signed_headers, found["signature"]

    def _identity(self, user: LocalUser) -> dict[str, str | None]:
        """``requestContext.authorizer.iam`` as API Gateway fills it for an IAM user."""
        return {
            "accessKey": user.access_key_id,
            "accountId": self.account,
            "callerId": user.user_id,
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": user.arn(self.account),
            "userId": user.user_id,
        }
