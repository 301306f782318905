"""template.yaml's operational defaults: capacity, encryption, logging, metrics, the dashboard,
memory, and a first deploy in a fresh account (the frontend optional).

Read from the template itself with the local stack's CloudFormation reader, for each value
of the parameters that change what is created.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from cloudqueue_local.template import Resolver, read_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
TEMPLATE = read_template(TEMPLATE_PATH)
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
PARAMETERS: dict[str, Any] = TEMPLATE["Parameters"]

# The account's HTTP API quota per region (requests/s), and the requests a job takes at least:
# its submit and one read of its result.
ACCOUNT_HTTP_API_RPS = 10_000
REQUESTS_PER_JOB = 2


def resolver(**parameters: str) -> Resolver:
    """The template's resolver for a stack deployed with ``parameters`` (else the defaults)."""
    values = {
        name: str(parameters.get(name, declaration.get("Default", "")))
        for name, declaration in PARAMETERS.items()
    }
    return Resolver(TEMPLATE, values, "us-east-1", "123456789012", "cloudqueue")


# --- capacity ---------------------------------------------------------------------------------


def test_the_stage_throttle_lets_1000_jobs_a_second_through_by_default() -> None:
    # Given the HTTP API's default route settings, resolved with the defaults
    settings = resolver().resolve(RESOURCES["HttpApi"]["Properties"]["DefaultRouteSettings"])
    rate, burst = int(settings["ThrottlingRateLimit"]), int(settings["ThrottlingBurstLimit"])

    # Then at 2 requests a job the steady rate admits 1,000 jobs/s or more, a burst admits twice
    # the rate, and both stay well under the account's own quota
    assert rate / REQUESTS_PER_JOB >= 1_000
    assert burst >= 2 * rate
    assert rate <= ACCOUNT_HTTP_API_RPS / 2
    assert burst <= ACCOUNT_HTTP_API_RPS


# --- the table's key -----------------------------------------------------------------------

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def table_encryption(**parameters: str) -> dict[str, Any]:
    encryption: dict[str, Any] = resolver(**parameters).resolve(
        RESOURCES["JobsTable"]["Properties"]["SSESpecification"]
    )
    return encryption


def test_the_table_is_encrypted_with_the_aws_owned_key_by_default() -> None:
    # SSEEnabled false is DynamoDB's AWS owned key (no KMS charge); true without a key id would be
    # the AWS managed key, billed per request.
    assert table_encryption() == {"SSEEnabled": False}


def test_a_key_arn_encrypts_the_table_with_that_customer_managed_key() -> None:
    assert table_encryption(TableKmsKeyArn=KEY_ARN) == {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": KEY_ARN,
    }


@pytest.mark.parametrize(
    ("value", "accepted"),
    [("", True), (KEY_ARN, True), ("alias/my-key", False), ("1234abcd-12ab-34cd-56ef-1234567890ab", False)],
)
def test_the_key_parameter_takes_a_key_arn_or_nothing(value: str, accepted: bool) -> None:
    pattern = PARAMETERS["TableKmsKeyArn"]["AllowedPattern"]
    assert (re.fullmatch(pattern, value) is not None) is accepted
