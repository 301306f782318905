"""What each per-job function loads at cold start: the structure behind `cloudqueue bench`'s
import ratios (the figures themselves are the bench's, never a test's).

Each handler, and each function's floor (``IMPORT_FLOORS``: its libraries alone), runs in a
fresh interpreter with its function's environment from template.yaml, as Lambda's init does,
and the test reads which modules that loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from cloudqueue_local.bench.imports import HANDLERS, IMPORT_FLOORS, floor_snippet
from cloudqueue_local.template import load_template

pytestmark = pytest.mark.slow  # a fresh interpreter per test

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
JOB_TYPE_MODULES = {"cloudqueue.jobtypes.demo", "cloudqueue.jobtypes.text_transform"}

# Prints the modules the code before it loaded, and the top-level names of those that come
# from site-packages: the third-party libraries (CloudQueue's own are under functions/).
_REPORT = """
import json, sys, sysconfig
roots = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
new = sorted(set(sys.modules) - _before)
libraries = set()
for name in new:
    path = getattr(sys.modules[name], "__file__", None) or ""
    for root in roots:
        if path.startswith(root + "/"):
            libraries.add(path[len(root) + 1 :].split("/")[0].removesuffix(".py").split(".")[0])
print(json.dumps({"modules": new, "libraries": sorted(libraries)}))
"""


@cache
def loaded_by(function: str, code: str) -> tuple[frozenset[str], frozenset[str]]:
    """The modules ``code`` loads in a fresh interpreter with ``function``'s environment, and
    the third-party top-level packages among them."""
    environment = load_template(TEMPLATE).functions[function].environment
    script = f"import sys\n_before = set(sys.modules)\n{code}\n{_REPORT}"
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | environment,
        timeout=120,
    )
    loaded = json.loads(result.stdout.splitlines()[-1])
    return frozenset(loaded["modules"]), frozenset(loaded["libraries"])


def modules_loaded_by(function: str, module: str) -> set[str]:
    return set(loaded_by(function, f"import {module}")[0])


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


# --- each function's floor (cloudqueue bench: what its import costs without CloudQueue) ---


@pytest.mark.parametrize("function", sorted(IMPORT_FLOORS))
def test_each_floor_runs_alone_and_loads_nothing_of_cloudqueue(function):
    modules, libraries = loaded_by(function, floor_snippet(function))

    assert libraries  # it ran, and loaded libraries
    assert not {name for name in modules if name == "cloudqueue" or name.startswith("cloudqueue.")}


@pytest.mark.parametrize("function", sorted(IMPORT_FLOORS))
def test_each_floor_loads_every_library_its_handler_loads(function):
    _, floor_libraries = loaded_by(function, floor_snippet(function))
    _, handler_libraries = loaded_by(function, f"import {HANDLERS[function]}")

    assert handler_libraries <= floor_libraries


def test_the_process_floor_loads_no_boto3_and_the_others_load_what_their_handlers_use():
    process, _ = loaded_by("ProcessFunction", floor_snippet("ProcessFunction"))
    claim, _ = loaded_by("ClaimFunction", floor_snippet("ClaimFunction"))
    api, _ = loaded_by("ApiFunction", floor_snippet("ApiFunction"))

    assert {"pydantic", "aws_lambda_powertools.logging"} <= process
    # No boto3, and of botocore only its __init__, which importing Powertools probes (as in
    # the process handler: test_the_process_handler_loads_no_boto3_no_xray_and_no_job_record).
    assert not {name for name in process if name.startswith(("boto3", "botocore."))}
    assert {"boto3", "boto3.dynamodb.types", "pydantic", "aws_lambda_powertools.metrics"} <= claim
    assert {
        "aws_lambda_powertools.event_handler.api_gateway",
        "aws_lambda_powertools.event_handler.middlewares.openapi_validation",
        "aws_lambda_powertools.event_handler.openapi.params",
        "uuid_utils",
    } <= api


@pytest.mark.parametrize("function", sorted(IMPORT_FLOORS))
def test_each_handler_loads_every_module_its_floor_loads(function):
    floor_modules, floor_libraries = loaded_by(function, floor_snippet(function))
    handler_modules, _ = loaded_by(function, f"import {HANDLERS[function]}")

    # The floor's libraries are the handler's (never one it does not use), and the floor does
    # no work in them that the handler does not: each module it loads, the handler loads.
    assert floor_libraries <= {name.split(".")[0] for name in handler_modules}
    assert floor_modules <= handler_modules
