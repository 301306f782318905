"""``cloudqueue dlq list | delete | purge | redrive``: what the workflow gave up on, read and
moved with ``client.dead_letters`` and ``client.aws``; and ``cloudqueue webhook-secret``, the
other command that reads a stack's resources directly."""

from __future__ import annotations

from typing import Annotated

import typer

from cloudqueue_local.cli import render
from cloudqueue_local.cli.options import AsJson, AwsUrl, StackName, fail
from cloudqueue_local.client import aws as aws_access
from cloudqueue_local.client import dead_letters

app = typer.Typer(
    help="Dead letters and poison messages: what the workflow gave up on.", no_args_is_help=True
)


@app.command("list")
def dlq_list(aws_url: AwsUrl = None, stack_name: StackName = None, as_json: AsJson = False) -> None:
    """Show the dead letters and the poison messages (names no job), without consuming them."""
    messages = dead_letters.list_messages(dead_letters.queues(aws_url, stack_name))
    render.print_json(messages) if as_json else render.out.print(render.dead_letters_table(messages))


@app.command("delete")
def dlq_delete(
    message_id: Annotated[str, typer.Argument(metavar="ID", help="A messageId from `cloudqueue dlq list`.")],
    aws_url: AwsUrl = None,
    stack_name: StackName = None,
) -> None:
    """Delete one kept message (a dead letter or a poison message)."""
    queue = dead_letters.delete_message(dead_letters.queues(aws_url, stack_name), message_id)
    if queue is None:
        fail(f"no message {message_id} in the dead-letter or poison-message queue")
    render.out.print(f"deleted {message_id} from the {queue} queue")


@app.command("purge")
def dlq_purge(aws_url: AwsUrl = None, stack_name: StackName = None) -> None:
    """Delete every poison message (those that name no job); jobs' dead letters stay."""
    deleted = dead_letters.purge_poison(dead_letters.queues(aws_url, stack_name))
    render.out.print(f"deleted {deleted} poison message(s)")


@app.command("redrive")
def dlq_redrive(aws_url: AwsUrl = None, stack_name: StackName = None) -> None:
    """Move every dead-lettered message back to the job queue, to be run again."""
    target = aws_access.target(aws_url, stack_name)
    moved = aws_access.redrive_dead_letters(target)
    render.out.print(f"moved {moved} message(s) back to {target.job_queue_url}")


def webhook_secret(aws_url: AwsUrl = None, stack_name: StackName = None) -> None:
    """Print the webhook signing secret (whsec_...) that verifies CloudQueue's callbacks.

    Give it to your receiver's Standard Webhooks library: Webhook(secret).verify(body, headers).
    """
    secret = aws_access.webhook_secret(aws_access.target(aws_url, stack_name))
    render.out.print(secret, highlight=False, markup=False, soft_wrap=True)
