"""template.yaml's operational defaults: capacity, encryption, logging, metrics, the dashboard,
memory, and a first deploy in a fresh account (the frontend optional).

Read from the template itself with the local stack's CloudFormation reader, for each value
of the parameters that change what is created.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
