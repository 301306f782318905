"""The imports scenario of ``cloudqueue bench``: each handler's cold import against its goal.

Each handler's import time is a ratio of ``import boto3`` in a fresh interpreter (ratios,
because the machine's speed cancels out), beside its floor (the same ratio for the libraries
it must load, ``IMPORT_FLOORS``) and its goal (``IMPORT_TARGETS``), with a verdict. Under
another interpreter with ``--python``, which ``interpreter_problem`` checks first.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
from pathlib import Path
from typing import Any

from cloudqueue_local.bench.timing import import_seconds, snippet_seconds

HANDLERS = {
    "ApiFunction": "cloudqueue.handlers.api",
    "ClaimFunction": "cloudqueue.handlers.claim",
    "ProcessFunction": "cloudqueue.handlers.process",
    "FinalizeFunction": "cloudqueue.handlers.finalize",
}
# Issue 9's cold-start goals: each handler's import ÷ ``import boto3`` at most this.
IMPORT_TARGETS = {"ApiFunction": 1.6, "ClaimFunction": 1.2, "ProcessFunction": 0.5, "FinalizeFunction": 1.2}

# --- each function's floor: its libraries alone ------------------------------------------
# The third-party imports a handler must load, and the module-level work those libraries need,
# with nothing of CloudQueue's own: what its import cannot go below without dropping a library.
# A handler's ratio minus its floor's is what CloudQueue itself adds. No client is created: no
# handler creates one at import. tests/unit/test_cold_start_imports.py checks that each floor
# loads its handler's libraries and no module its handler does not load.
_BOTO3 = "import boto3\nimport boto3.dynamodb.types"
_PYDANTIC = """from pydantic import BaseModel, ConfigDict
class FloorModel(BaseModel):
    model_config = ConfigDict(defer_build=True)
    value: int"""
_LOGGER = "from aws_lambda_powertools import Logger\nLogger()"
_METRICS = "from aws_lambda_powertools import Metrics\nMetrics()"
_HTTP_RESOLVER = """from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig
APIGatewayHttpResolver(enable_validation=True, cors=CORSConfig())"""
_UUID7 = "import uuid_utils"

IMPORT_FLOORS: dict[str, tuple[str, ...]] = {
    # boto3 and its DynamoDB types: the job store (DynamoJobStore; DynamoDB is the only AWS
    # service it calls); pydantic: its request and job models (one model, with defer_build as
    # CloudQueue's have); Powertools Logger and Metrics, constructed at import as it does.
    "ClaimFunction": (_BOTO3, _PYDANTIC, _LOGGER, _METRICS),
    # The same libraries as claim, for the same reasons: the store, the models, Logger, Metrics.
    "FinalizeFunction": (_BOTO3, _PYDANTIC, _LOGGER, _METRICS),
    # pydantic: its one request model (and the job types' payload models); Powertools Logger.
    # No boto3: it calls no AWS. No Metrics: it emits none. (Importing Powertools loads
    # botocore's __init__ alone, to probe for it: in the handler as here.)
    "ProcessFunction": (_PYDANTIC, _LOGGER),
    # boto3 and its DynamoDB types: the store; the SQS, CloudWatch Logs and Step Functions
    # adapters need boto3 alone until their first call. pydantic: the API's models. Powertools
    # Logger, Metrics and the event handler's APIGatewayHttpResolver with validation on (the
    # routes' Body/Header/Path/Query parameters and 422s), which loads its OpenAPI and
    # validation parts. uuid_utils: uuid7 job ids (cloudqueue.jobs).
    "ApiFunction": (_BOTO3, _PYDANTIC, _LOGGER, _METRICS, _HTTP_RESOLVER, _UUID7),
}


def floor_snippet(function: str) -> str:
    """The code of ``function``'s floor, to run in a fresh interpreter."""
    return "\n".join(IMPORT_FLOORS[function])


MET = "met"
UNMET = "unmet"
BELOW_FLOOR = "unmet, goal below the libraries' floor"


def import_verdict(ratio: float, floor: float, goal: float) -> str:
    """Met, unmet, or unmet with the goal below what the required libraries cost on their own
    (then no change to CloudQueue's own code can meet it)."""
    if ratio <= goal:
        return MET
    return BELOW_FLOOR if floor > goal else UNMET


def import_ratios(runs: int = 7, *, python: str | None = None) -> dict[str, dict[str, float]]:
    """Each handler imported with its function's environment from template.yaml, as on Lambda,
    and its floor (``IMPORT_FLOORS``) with the same environment, each as a ratio of ``import
    boto3``: ``{Function: {"ratio", "floor", "boto3_seconds"}}``, medians.

    Each round times ``import boto3`` and then every handler and its floor, and each ratio is
    taken within its round: on a machine shared with other work the load drifts between rounds
    much more than within one, so the median of per-round ratios is steadier than a ratio of
    medians.
    """
    from cloudqueue_local.client.aws import local_template

    functions = local_template().functions
    baselines: list[float] = []
    ratios: dict[str, list[float]] = {name: [] for name in HANDLERS}
    floors: dict[str, list[float]] = {name: [] for name in HANDLERS}
    for _ in range(runs):
        baseline = import_seconds("boto3", python=python)
        baselines.append(baseline)
        for name, module in HANDLERS.items():
            environment = functions[name].environment
            ratios[name].append(import_seconds(module, environment, python=python) / baseline)
            floors[name].append(snippet_seconds(floor_snippet(name), environment, python=python) / baseline)
    baseline = statistics.median(baselines)
    return {
        name: {
            "ratio": statistics.median(ratios[name]),
            "floor": statistics.median(floors[name]),
            "boto3_seconds": baseline,
        }
        for name in HANDLERS
    }


def judge_imports(measured: dict[str, dict[str, float]]) -> dict[str, dict[str, Any]]:
    """``import_ratios``'s figures with each function's goal, CloudQueue's own share (its ratio
    minus its floor) and the verdict."""
    judged: dict[str, dict[str, Any]] = {}
    for name, figures in measured.items():
        goal = IMPORT_TARGETS[name]
        judged[name] = figures | {
            "goal": goal,
            "own": figures["ratio"] - figures["floor"],
            "verdict": import_verdict(figures["ratio"], figures["floor"], goal),
        }
    return judged


# --- another interpreter (``--python``) ----------------------------------------------------

_PROBE = "import json, sys; print(json.dumps({'python': sys.version.split()[0]}))"
# What the handlers and their floors import: the libraries, then CloudQueue itself.
_NEEDED = ("boto3", "pydantic", "aws_lambda_powertools", "uuid_utils", "cloudqueue")
_FIRST_MISSING = """import importlib, sys
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError:
        print(name)
        break"""


def _run(python: str, *args: str) -> subprocess.CompletedProcess[str] | None:
    """``python`` run with ``args``, or None when it cannot be run or does not end in time."""
    try:
        return subprocess.run([python, *args], check=False, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.SubprocessError):
        return None


def interpreter_version(python: str) -> str | None:
    """The Python version ``python`` runs, or None if it is not an executable Python."""
    result = _run(python, "-c", _PROBE)
    if result is None or result.returncode != 0:
        return None
    try:
        return str(json.loads(result.stdout.strip().splitlines()[-1])["python"])
    except (ValueError, IndexError, KeyError, TypeError):
        return None


def interpreter_problem(python: str) -> str | None:
    """Why the imports scenario cannot run under ``python``, in one line, or None."""
    if not Path(python).is_file() or not os.access(python, os.X_OK) or interpreter_version(python) is None:
        return f"{python} is not an executable Python"
    result = _run(python, "-c", _FIRST_MISSING, *_NEEDED)
    missing = result.stdout.strip() if result is not None else ""
    if result is None or result.returncode != 0 or missing:
        return (
            f"{python} cannot import {missing or 'the handlers'}: install "
            "functions/dependencies/requirements.txt into it and put functions/ on PYTHONPATH"
        )
    return None
