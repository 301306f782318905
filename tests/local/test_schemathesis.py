"""schemathesis against the running API in each AuthMode, with a valid caller: every operation
of the OpenAPI document, fuzzed, answers as documented (no 5xx, no undocumented status, bodies
that match their schemas), through the local gateway's checks.

Excluded: ``positive_data_acceptance``: a ``nextToken`` is opaque, so any string is schema-valid
while only the tokens the API gave out are accepted (400 invalid_next_token is the answer).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from cloudqueue_local.client.tokens import mint_token
from cloudqueue_local.emulator.iam_authorizer import LOCAL_USERS
from cloudqueue_local.template import REGION
from tests.auth_stacks import dev_stack

pytestmark = pytest.mark.slow

ALL_SCOPES = ["cloudqueue/jobs.read", "cloudqueue/jobs.write", "cloudqueue/admin"]
EXAMPLES = 15  # per operation: 13 operations, about 200 requests a mode


class SignedRequests(requests.auth.AuthBase):
    """SigV4 for ``requests`` (what schemathesis sends with), as the CLI signs with httpx."""

    def __init__(self, credentials: Credentials) -> None:
        self.signer = SigV4Auth(credentials, "execute-api", REGION)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        signed = {name: value for name, value in request.headers.items() if name.lower() == "content-type"}
        signed["host"] = urlsplit(request.url).netloc
        body = request.body.encode() if isinstance(request.body, str) else request.body or b""
        aws = AWSRequest(method=request.method, url=request.url, data=body, headers=signed)
        self.signer.add_auth(aws)
        for name in ("Authorization", "X-Amz-Date"):
            request.headers[name] = aws.headers[name]
        return request


def fuzz_every_operation(url: str, **call: object) -> None:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in operations} >= {("GET", "/admin/jobs"), ("POST", "/jobs")}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_as_documented(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=url, excluded_checks=[positive_data_acceptance], timeout=30, **call
            )

        answers_as_documented()


@pytest.fixture(scope="module", params=["jwt", "iam"])
def guarded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    mode = request.param
    with dev_stack(mode, tmp_path_factory.mktemp(f"st-{mode}") / "output.txt") as url:
        yield mode, url


def test_the_public_demo_answers_as_its_document_says(local_stack) -> None:
    fuzz_every_operation(local_stack.api_url)


def test_a_guarded_api_answers_a_valid_caller_as_its_document_says(guarded: tuple[str, str]) -> None:
    mode, url = guarded
    if mode == "jwt":
        token = mint_token(url, "fuzzer", ALL_SCOPES)
        fuzz_every_operation(url, headers={"Authorization": f"Bearer {token}"})
    else:
        alice = LOCAL_USERS[0]
        fuzz_every_operation(
            url, auth=SignedRequests(Credentials(alice.access_key_id, alice.secret_access_key))
        )
