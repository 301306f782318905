"""What each per-job function loads at cold start: the structure behind `cloudqueue bench`'s
import ratios (the figures themselves are the bench's, never a test's).

Each handler is imported in a fresh interpreter with its function's environment from
template.yaml, as Lambda's init does, and the test reads which modules that loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cloudqueue_local.template import load_template

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
JOB_TYPE_MODULES = {"cloudqueue.jobtypes.demo", "cloudqueue.jobtypes.text_transform"}


def modules_loaded_by(function: str, module: str) -> set[str]:
    environment = load_template(TEMPLATE).functions[function].environment
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | environment,
        timeout=120,
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_the_process_handler_loads_no_boto3_no_xray_and_no_job_record():
    loaded = modules_loaded_by("ProcessFunction", "cloudqueue.handlers.process")

    assert "cloudqueue.handlers.process" in loaded
    assert {"boto3", "botocore.session", "aws_xray_sdk"}.isdisjoint(loaded)
    # Its one model is in cloudqueue.processing: none of the job record, store or workflow.
    assert {"cloudqueue.models", "cloudqueue.workflow", "cloudqueue.ports", "cloudqueue.adapters"}.isdisjoint(
        loaded
    )
    assert JOB_TYPE_MODULES.isdisjoint(loaded)  # each loads when a job of its type first runs


@pytest.mark.parametrize(
    ("function", "module"),
    [("ClaimFunction", "cloudqueue.handlers.claim"), ("FinalizeFunction", "cloudqueue.handlers.finalize")],
)
def test_the_claim_and_finalize_handlers_load_no_xray_no_job_type_and_no_api_models(function, module):
    loaded = modules_loaded_by(function, module)

    assert module in loaded
    assert "aws_xray_sdk" not in loaded
    assert JOB_TYPE_MODULES.isdisjoint(loaded)
    assert {"cloudqueue.api_models", "cloudqueue.history", "cloudqueue.jobs"}.isdisjoint(loaded)


def test_a_job_type_module_loads_when_its_type_is_first_looked_up():
    code = (
        "import sys; from cloudqueue.jobtypes import JOB_TYPES; "
        "before = 'cloudqueue.jobtypes.text_transform' in sys.modules; "
        "name = JOB_TYPES['text.transform'].name; "
        "print(before, 'cloudqueue.jobtypes.text_transform' in sys.modules, name)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )

    assert result.stdout.split() == ["False", "True", "text.transform"]
