"""The options several commands share, and the parsing of option values into what the rooms
take. A value that cannot be used is a ``typer.BadParameter`` (exit status 2, with usage)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

ApiUrl = Annotated[
    str, typer.Option("--api-url", envvar="CLOUDQUEUE_API_URL", help="Base URL of the CloudQueue API.")
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="CLOUDQUEUE_TOKEN",
        help="A JWT for an API with AuthMode=jwt, sent as Authorization: Bearer.",
        show_default=False,
    ),
]
SigV4 = Annotated[
    bool,
    typer.Option(
        "--sigv4",
        envvar="CLOUDQUEUE_SIGV4",
        help="Sign requests (SigV4) with your AWS credentials, for an API with AuthMode=iam.",
    ),
]
Admin = Annotated[
    bool, typer.Option("--admin", help="Use the /admin/jobs routes: any owner's job (admin scope or policy).")
]
AwsUrl = Annotated[
    str | None,
    typer.Option(
        "--aws-url",
        envvar="CLOUDQUEUE_AWS_URL",
        help="AWS endpoint (the local stack's: http://127.0.0.1:4566). Omit with --stack-name for AWS.",
    ),
]
StackName = Annotated[
    str | None,
    typer.Option(
        "--stack-name", envvar="CLOUDQUEUE_STACK_NAME", help="A deployed stack (uses your AWS credentials)."
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print raw JSON instead of tables.")]
# A submitted job's options, also each job of a recurring schedule.
ConcurrencyKey = Annotated[
    str | None,
    typer.Option("--key", help="Concurrency key: at most the type's limit of jobs with it run at once."),
]
CallbackUrl = Annotated[
    str | None,
    typer.Option(
        "--callback-url",
        help="POST the job's end here, signed (a stack with webhooks on; `cloudqueue webhook-secret`).",
    ),
]
Params = Annotated[
    list[str] | None,
    typer.Option("--param", help="Override a template parameter: Name=Value (repeatable)."),
]


class CliError(Exception):
    """Said to the user in one line, with a non-zero exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = 1) -> NoReturn:
    """End the command with ``message`` on stderr and exit status ``code``."""
    raise CliError(message, code)


def parse_json_argument(raw: str, what: str) -> Any:
    """A JSON value given inline, or as ``@file.json``."""
    text = raw
    if raw.startswith("@"):
        path = Path(raw[1:])
        if not path.is_file():
            raise typer.BadParameter(f"no file {path}", param_hint=what)
        text = path.read_text()
    try:
        return json.loads(text)
    except ValueError as error:
        raise typer.BadParameter(f"not valid JSON: {error}", param_hint=what) from None


def json_file(path: Path, what: str) -> Any:
    """The JSON value in the file ``path`` (an option naming a file)."""
    if not path.is_file():
        raise typer.BadParameter(f"no file {path}", param_hint=what)
    return parse_json_argument(f"@{path}", what)


def parameter_overrides(param: list[str] | None) -> dict[str, str]:
    """``--param Name=Value`` options as template parameter overrides."""
    overrides: dict[str, str] = {}
    for item in param or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{item!r} is not Name=Value", param_hint="--param")
        overrides[name] = value
    return overrides


def options_on(*, events: bool, webhooks: bool) -> dict[str, str]:
    """``--events`` / ``--webhooks`` as the template parameters they turn on (``--param`` wins)."""
    return ({"JobEvents": "on"} if events else {}) | ({"Webhooks": "on"} if webhooks else {})


def numbers(text: str, hint: str) -> list[int]:
    """A comma-separated list of integers."""
    try:
        return [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a comma-separated list of numbers", param_hint=hint
        ) from None
