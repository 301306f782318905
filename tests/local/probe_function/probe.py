"""A function for the runtime's tests: it tells what its environment is, and misbehaves on request."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

invocations = 0  # module state: one count per environment


def handler(event: dict[str, Any], context: Any) -> Any:
    global invocations  # noqa: PLW0603 - the module state under test
    invocations += 1
    action = event.get("action", "whoami")
    if action == "sleep":
        time.sleep(float(event["seconds"]))
    elif action == "exit":
        os._exit(int(event.get("code", 3)))
    elif action == "wait_for":
        if "pid_file" in event:  # tells the test which process to kill
            written = Path(event["pid_file"] + ".tmp")
            written.write_text(str(os.getpid()))
            written.replace(event["pid_file"])
        deadline = time.monotonic() + 30
        while not Path(event["path"]).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        if "then_exit" in event:
            os._exit(int(event["then_exit"]))
    elif action == "append":
        with open(event["path"], "a", encoding="utf-8") as log:
            log.write(f"{event['n']}\n")
    elif action == "send":
        return send(event["queueUrl"])
    elif action == "env":
        return {"env": {name: os.environ.get(name) for name in event["names"]}}
    elif action == "print":
        for line in event["lines"]:
            print(line, flush=True)
    return {
        "pid": os.getpid(),
        "colour": os.environ.get("COLOUR"),
        "invocations": invocations,
        "requestId": context.aws_request_id,
    }


def send(queue_url: str) -> dict[str, Any]:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    sqs = boto3.client("sqs", config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    try:
        sqs.send_message(QueueUrl=queue_url, MessageBody="probe")
    except ClientError as error:
        return {"error": error.response["Error"]["Code"]}
    return {"sent": True}
