"""``cloudqueue logs``: a function's logs from its CloudWatch Logs group, like ``sam logs``.

The function is named by its logical id. Locally its name comes from ``template.yaml`` (the
local stack names it so) and its group is read on the local AWS endpoint; with
``--stack-name`` CloudFormation's ``DescribeStackResource`` gives the deployed name and the
group is read on AWS with your credentials.

``--job-id`` shows whole invocations: every line from ``START`` to ``REPORT`` (or JSON
``platform.start`` to ``platform.report``) of each invocation that logged the job id (the
Powertools lines carry it as ``correlation_id`` or in their message). With ``SystemLogLevel:
WARN`` Lambda writes no such lines: then the lines that name the job are shown. The server
narrows the search with the quoted job id as filter pattern, a term moto honours too; which
lines belong to which invocation is worked out here, from each environment's stream, since
no filter pattern can say it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

from cloudqueue_local.client import aws as aws_access
from cloudqueue_local.client import hints
from cloudqueue_local.emulator.awslambda.logs import log_group_name

_DURATION = re.compile(r"(\d+)\s*([smhd])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Lambda's lines around an invocation: text (LogFormat Text), or JSON events (LogFormat JSON;
# none at SystemLogLevel WARN).
_START = re.compile(r'START RequestId: (\S+)|\{"time":"[^"]*","type":"platform\.start"')
_REPORT = re.compile(r'REPORT RequestId: (\S+)|\{"time":"[^"]*","type":"platform\.report"')
# CloudWatch's limit of stream names in one FilterLogEvents call.
_STREAMS_PER_CALL = 100
# How late a line may reach the group after lines written after it (``follow``): each
# environment's lines arrive in batches, and on a busy machine (or CloudWatch's ingestion) a
# batch can land seconds after another stream's newer lines were read. The ids of the lines
# shown in this window keep them from showing twice.
_LATE_MS = 30_000


class LogsError(Exception):
    """Said to the user in one line; ``code`` is the exit status (2: nothing to reach)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def parse_since(text: str) -> float:
    """``10m``, ``2h``, ``1d``, ``30s`` (or ``1h30m``) as seconds."""
    compact = text.strip().lower().replace(" ", "")
    matches = list(_DURATION.finditer(compact))
    if not matches or "".join(match.group(0) for match in matches) != compact:
        raise ValueError(f"{text!r} is not a duration such as 30s, 10m, 2h or 1d")
    seconds = sum(int(match.group(1)) * _SECONDS[match.group(2)] for match in matches)
    if seconds <= 0:
        raise ValueError(f"{text!r} is no time at all: give a duration such as 10m")
    return float(seconds)


@dataclass(frozen=True)
class Source:
    """A function's log group and the client that reads it."""

    logs: Any
    group: str


def source(logical_id: str, aws_url: str | None, stack_name: str | None) -> Source:
    """Where ``logical_id``'s logs are: locally from the template, or from a deployed stack."""
    if stack_name is not None and aws_url is None:
        try:
            resource = boto3.client("cloudformation").describe_stack_resource(
                StackName=stack_name, LogicalResourceId=logical_id
            )["StackResourceDetail"]
        except ClientError as error:
            raise LogsError(
                f"no resource {logical_id!r} in stack {stack_name}: {error.response['Error']['Message']}"
            ) from None
        if resource.get("ResourceType") not in ("AWS::Lambda::Function", "AWS::Serverless::Function"):
            raise LogsError(f"{logical_id} is a {resource.get('ResourceType')}, not a function")
        return Source(boto3.client("logs"), log_group_name(resource["PhysicalResourceId"]))
    template = aws_access.local_template(every_option=True)
    spec = template.functions.get(logical_id)
    if spec is None:
        known = ", ".join(sorted(template.functions))
        raise LogsError(f"no function {logical_id!r} in template.yaml; functions: {known}")
    endpoint = aws_url or aws_access.DEFAULT_AWS_URL
    if not hints.is_listening(endpoint):
        raise LogsError(hints.unreachable("the AWS endpoint", endpoint), 2)
    return Source(aws_access.target(endpoint, None).client("logs"), log_group_name(spec.name))


@dataclass(frozen=True)
class Line:
    stream: str
    timestamp: int  # epoch milliseconds
    message: str
    event_id: str

    def render(self) -> str:
        moment = datetime.fromtimestamp(self.timestamp / 1000, UTC)
        stream = self.stream.rsplit("]", 1)[-1][:8]  # the environment, as a short tag
        return f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond // 1000:03d} {stream} {self.message.rstrip()}"


def _events(src: Source, **query: Any) -> Iterator[Line]:
    """Every event FilterLogEvents finds (all pages), each stream's in order, sorted by time."""
    lines: list[Line] = []
    token = None
    while True:
        try:
            page = src.logs.filter_log_events(
                logGroupName=src.group, **query, **({"nextToken": token} if token else {})
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            raise LogsError(f"no log group {src.group}: the function has not run yet") from None
        lines += [
            Line(event["logStreamName"], event["timestamp"], event["message"], event["eventId"])
            for event in page.get("events", [])
        ]
        token = page.get("nextToken")
        if not token:
            break
    # Stable: lines of one stream with the same millisecond keep their order.
    return iter(sorted(lines, key=lambda line: line.timestamp))


@dataclass
class _Invocations:
    """Groups each stream's lines into invocations (``START`` .. ``REPORT``), for ``--job-id``."""

    job_id: str
    open: dict[str, list[Line]] = field(default_factory=dict)  # stream → the invocation's lines so far

    def feed(self, line: Line) -> list[Line]:
        """The lines to show once an invocation that mentions the job has ended."""
        if _START.match(line.message):
            self.open[line.stream] = [line]
            return []
        lines = self.open.get(line.stream)
        if lines is None:
            # Outside an invocation's platform lines: an environment's start, or a function
            # whose SystemLogLevel writes none (each line of the job is then shown alone).
            return [line] if self.job_id in line.message else []
        lines.append(line)
        if not _REPORT.match(line.message):
            return []
        del self.open[line.stream]
        return lines if any(self.job_id in each.message for each in lines) else []


def _select(lines: Iterable[Line], invocations: _Invocations | None) -> Iterator[Line]:
    for line in lines:
        if invocations is None:
            yield line
        else:
            yield from invocations.feed(line)


def read(src: Source, *, since_seconds: float, job_id: str | None) -> Iterator[Line]:
    """The group's lines of the last ``since_seconds`` (of ``job_id``'s invocations only)."""
    start = int((time.time() - since_seconds) * 1000)
    if job_id is None:
        return _events(src, startTime=start)
    matching = {line.stream for line in _events(src, startTime=start, filterPattern=f'"{job_id}"')}
    streams = sorted(matching)
    lines: list[Line] = []
    for first in range(0, len(streams), _STREAMS_PER_CALL):
        lines += _events(src, startTime=start, logStreamNames=streams[first : first + _STREAMS_PER_CALL])
    lines.sort(key=lambda line: line.timestamp)
    return _select(lines, _Invocations(job_id))


def follow(
    src: Source,
    *,
    since_seconds: float,
    job_id: str | None,
    show: Callable[[Line], None],
    poll_seconds: float = 1.0,
) -> None:
    """Show the lines as they come, until interrupted (Ctrl-C)."""
    invocations = _Invocations(job_id) if job_id is not None else None
    start = int((time.time() - since_seconds) * 1000)
    seen: set[str] = set()
    while True:
        lines = list(_events(src, startTime=start))
        for line in _select((line for line in lines if line.event_id not in seen), invocations):
            show(line)
        if lines:
            # Ask again from a little before the newest line: a line can be written after
            # a later one was read (buffers, ingestion); the ids say which were shown.
            start = max(start, lines[-1].timestamp - _LATE_MS)
            seen = {line.event_id for line in lines if line.timestamp >= start}
        time.sleep(poll_seconds)


__all__ = ["Line", "LogsError", "Source", "follow", "parse_since", "read", "source"]
