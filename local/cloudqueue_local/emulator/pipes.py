"""EventBridge Pipes: an SQS source, a Step Functions target run synchronously.

``LocalPipe`` receives from the queue (waking as soon as a message is sent: see
``polling.QueuePoller``), hands the state machine the same array of records an EventBridge
Pipe does, runs it synchronously (REQUEST_RESPONSE), deletes the messages only when the
execution SUCCEEDED, and otherwise leaves redelivery and dead-lettering to SQS (visibility
timeout, redrive policy). AWS does not document when a Pipe retries a failed execution's
message, so ``redelivery`` chooses: after the visibility timeout (``"visibility"``, as plain
SQS) or at once (``"immediate"``: ChangeMessageVisibility 0). CloudQueue must be correct
either way; tests run both.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from cloudqueue_local.emulator.polling import QueuePoller, sqs_record
from cloudqueue_local.emulator.stepfunctions import LocalStepFunctions
from cloudqueue_local.template import PipeSpec, QueueSpec

logger = logging.getLogger("cloudqueue.local")

REDELIVER_AFTER_VISIBILITY = "visibility"
REDELIVER_AT_ONCE = "immediate"


class LocalPipe(QueuePoller):
    """EventBridge Pipe: SQS → Step Functions (REQUEST_RESPONSE)."""

    def __init__(
        self,
        spec: PipeSpec,
        queue: QueueSpec,
        stepfunctions: LocalStepFunctions,
        sqs: Any,
        *,
        region: str,
        pollers: int = 4,
        wait_seconds: float = 1,
        redelivery: str = REDELIVER_AFTER_VISIBILITY,
    ) -> None:
        super().__init__(
            f"pipe-{spec.logical_id}",
            pollers,
            queue=queue,
            sqs=sqs,
            batch_size=spec.batch_size,
            wait_seconds=wait_seconds,
        )
        self.redelivery = redelivery
        self.spec = spec
        self.stepfunctions = stepfunctions
        self.region = region
        self.executions_succeeded = 0
        self.executions_failed = 0
        self.on_execution: Callable[[Any], None] | None = None

    def run(self, messages: list[dict[str, Any]]) -> None:
        """Run the state machine on the batch; delete it if the execution SUCCEEDED."""
        records = [sqs_record(message, self.queue, self.region) for message in messages]
        execution = self.stepfunctions.run_sync(self.spec.target_arn, json.dumps(records), uuid.uuid4().hex)
        if self.on_execution is not None:
            self.on_execution(execution)
        if execution.status == "SUCCEEDED":
            self.executions_succeeded += 1
            self.delete(messages)
        else:
            # As on AWS: a failed target invocation leaves the message to come back after its
            # visibility timeout, and SQS dead-letters it after maxReceiveCount receives.
            self.executions_failed += 1
            logger.warning(
                "pipe: execution %s ended %s (%s); message left for redelivery (%s)",
                execution.execution_arn,
                execution.status,
                execution.error,
                self.redelivery,
            )
            if self.redelivery == REDELIVER_AT_ONCE:
                self.make_visible(messages)

    def make_visible(self, messages: list[dict[str, Any]]) -> None:
        """Hand the messages back to the queue now (ChangeMessageVisibility 0)."""
        self.sqs.change_message_visibility_batch(
            QueueUrl=self.queue.url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": 0}
                for index, message in enumerate(messages)
            ],
        )
