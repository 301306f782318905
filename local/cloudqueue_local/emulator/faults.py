"""Chaos on purpose: ``cloudqueue dev --faults lambda=0.05,dynamodb=0.02,sqs=0.02,crash=0.02``.

That fraction of the *functions'* calls fails the way AWS fails them, so that you can
watch the guarantees hold (no job lost, none run twice, none wrong) while things break:

- ``lambda``: an invocation gets a Lambda service error (``TooManyRequestsException`` 429 or
  ``ServiceException`` 500: the handler does not run) or times out (the handler runs, but
  its answer never comes back: ``Sandbox.Timedout`` at the function's timeout, and the
  environment is replaced), like AWS FIS's Lambda actions;
- ``dynamodb``: a call gets ``ThrottlingException`` (400) or ``InternalServerError`` (500);
- ``sqs``: a ``SendMessage`` / ``SendMessageBatch`` fails with ``InternalFailure`` (500);
- ``crash``: an invocation's execution environment is killed (SIGKILL) as its event is handed
  over, as a sandbox dies on Lambda (out of memory, a host failure): the invocation answers
  ``Runtime.ExitError`` at once, the state machine retries it, and the next invocation starts
  a fresh environment.

DynamoDB and SQS faults are applied on the AWS endpoint's HTTP path, only to requests
signed with a function environment's credentials (``environment.ACCESS_KEY_PREFIX``), so
the local stack's own plumbing (the Pipe's receive and delete, provisioning) and your
own AWS CLI calls are never faulted. The functions' SDK retries these as it does on AWS,
so most are absorbed; the rest surface as the function's errors.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

SERVICES = ("lambda", "dynamodb", "sqs", "crash")

# (code, HTTP status, message, weight): what AWS answers, and how often among the faults.
_LAMBDA_SERVICE_ERRORS = [
    ("TooManyRequestsException", 429, "Rate Exceeded.", 0.4),
    ("ServiceException", 500, "The Lambda service encountered an internal error.", 0.4),
]
_LAMBDA_TIMEOUT_WEIGHT = 0.2
_DYNAMODB_ERRORS = [
    ("ThrottlingException", 400, "Throughput exceeds the current capacity for one or more resources."),
    ("InternalServerError", 500, "Internal server error"),
]
_SQS_SENDS = {"AmazonSQS.SendMessage", "AmazonSQS.SendMessageBatch"}


def parse_fault_rates(spec: str) -> dict[str, float]:
    """``"lambda=0.05,dynamodb=0.02"`` → ``{"lambda": 0.05, "dynamodb": 0.02}``.

    A ValueError says what is wrong with a bad spec."""
    rates: dict[str, float] = {}
    for item in spec.split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        name = name.strip().lower()
        if not sep:
            raise ValueError(f"{item.strip()!r} is not service=rate (e.g. lambda=0.05)")
        if name not in SERVICES:
            raise ValueError(f"no faults for {name!r}: the services are {', '.join(SERVICES)}")
        try:
            rate = float(value)
        except ValueError:
            raise ValueError(f"{name}: {value.strip()!r} is not a number") from None
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{name}: the rate is a fraction of calls, from 0 to 1, not {rate}")
        rates[name] = rate
    if not rates:
        raise ValueError("no faults given (e.g. lambda=0.05,dynamodb=0.02,sqs=0.02)")
    return rates


@dataclass(frozen=True)
class LambdaFault:
    """One injected Lambda failure: a service error ``(code, status, message)``, a crash of the
    environment, or (neither) a timeout."""

    service_error: tuple[str, int, str] | None = None
    crash: bool = False

    @property
    def timeout(self) -> bool:
        return self.service_error is None and not self.crash


@dataclass(frozen=True)
class AwsFault:
    """One injected DynamoDB or SQS error response."""

    service: str
    code: str
    status: int
    message: str


class Chaos:
    """Decides which of the functions' calls fail, at the given rates, from one seeded generator.

    ``injected`` counts the faults by ``service.code`` (``lambda.timeout`` for timeouts,
    ``crash.Runtime.ExitError`` for environments killed).
    """

    def __init__(self, rates: dict[str, float] | None = None, seed: int | None = None) -> None:
        self.rates = {service: 0.0 for service in SERVICES} | (rates or {})
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    @classmethod
    def from_spec(cls, spec: str | None, seed: int | None = None) -> Chaos:
        return cls(parse_fault_rates(spec) if spec else None, seed)

    @property
    def active(self) -> bool:
        return any(self.rates.values())

    def set_rates(self, rates: dict[str, float], seed: int | None = None) -> None:
        """Change the rates (and reseed) while running; ``{}`` turns chaos off."""
        with self._lock:
            self.rates = {service: 0.0 for service in SERVICES} | rates
            self._random.seed(seed)

    def _draw(self, service: str) -> float | None:
        """A uniform number in [0, 1) to choose the kind of fault, or None: no fault this time."""
        rate = self.rates[service]
        if not rate:
            return None
        with self._lock:
            if self._random.random() >= rate:
                return None
            return self._random.random()

    def _count(self, key: str) -> None:
        with self._lock:
            self.injected[key] += 1

    def lambda_fault(self) -> LambdaFault | None:
        pick = self._draw("lambda")
        if pick is None:
            if self._draw("crash") is None:
                return None
            self._count("crash.Runtime.ExitError")
            return LambdaFault(crash=True)
        for code, status, message, weight in _LAMBDA_SERVICE_ERRORS:
            if pick < weight:
                self._count(f"lambda.{code}")
                return LambdaFault((code, status, message))
            pick -= weight
        self._count("lambda.timeout")
        return LambdaFault()

    def aws_fault(self, target: str) -> AwsFault | None:
        """The fault for one JSON-protocol call (``X-Amz-Target``), or None."""
        if target.startswith("DynamoDB_"):
            pick = self._draw("dynamodb")
            if pick is None:
                return None
            code, status, message = _DYNAMODB_ERRORS[int(pick * len(_DYNAMODB_ERRORS))]
            self._count(f"dynamodb.{code}")
            return AwsFault("dynamodb", code, status, message)
        if target in _SQS_SENDS and self._draw("sqs") is not None:
            self._count("sqs.InternalFailure")
            return AwsFault(
                "sqs", "InternalFailure", 500, "We encountered an internal error. Please try again."
            )
        return None


def access_key_of(environ: dict[str, Any]) -> str:
    """The access key id a SigV4-signed request was signed with ("" if none)."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    _, found, rest = authorization.partition("Credential=")
    return rest.split("/", 1)[0] if found else ""


class AwsFaultMiddleware:
    """WSGI middleware on the AWS endpoint: faults for the calls of function environments only."""

    def __init__(self, app: Any, chaos: Chaos, is_function: Callable[[str], bool]) -> None:
        self.app = app
        self.chaos = chaos
        self.is_function = is_function

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.chaos.active and self.is_function(access_key_of(environ)):
            fault = self.chaos.aws_fault(environ.get("HTTP_X_AMZ_TARGET", ""))
            if fault is not None:
                return self._fail(fault, environ, start_response)
        return self.app(environ, start_response)  # type: ignore[no-any-return]

    @staticmethod
    def _fail(fault: AwsFault, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length:
            environ["wsgi.input"].read(length)  # the connection stays usable (keep-alive)
        namespace = "com.amazonaws.dynamodb.v20120810" if fault.service == "dynamodb" else "com.amazonaws.sqs"
        body = json.dumps({"__type": f"{namespace}#{fault.code}", "message": fault.message}).encode()
        headers = [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ]
        if fault.service == "sqs":
            headers.append(("x-amzn-query-error", f"{fault.code};Receiver"))
        phrase = {400: "Bad Request", 500: "Internal Server Error"}[fault.status]
        start_response(f"{fault.status} {phrase}", headers)
        return [body]
