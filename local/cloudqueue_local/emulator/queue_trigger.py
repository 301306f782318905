"""Lambda's SQS event source mapping: ``{"Records": [...]}`` to a function, partial batch
failures honoured (``ReportBatchItemFailures``)."""

from __future__ import annotations

import logging
from typing import Any

from cloudqueue_local.emulator.awslambda.runtime import LambdaRuntime
from cloudqueue_local.emulator.polling import QueuePoller, sqs_record
from cloudqueue_local.template import QueueSpec, QueueTriggerSpec

logger = logging.getLogger("cloudqueue.local")


class LocalQueueTrigger(QueuePoller):
    """Lambda SQS event source mapping."""

    def __init__(
        self,
        spec: QueueTriggerSpec,
        queue: QueueSpec,
        runtime: LambdaRuntime,
        sqs: Any,
        *,
        region: str,
        wait_seconds: float = 1,
    ) -> None:
        super().__init__(
            f"sqs-trigger-{spec.function}",
            1,
            queue=queue,
            sqs=sqs,
            batch_size=spec.batch_size,
            wait_seconds=wait_seconds,
        )
        self.spec = spec
        self.runtime = runtime
        self.region = region

    def run(self, messages: list[dict[str, Any]]) -> None:
        """Invoke the function on the batch; delete what it did not report as failed."""
        event = {"Records": [sqs_record(message, self.queue, self.region) for message in messages]}
        invocation = self.runtime.invoke(self.spec.function, event)
        if invocation.function_error:
            logger.warning("%s failed on a batch of %d; left for retry", self.spec.function, len(messages))
            return
        failed: set[str] = set()
        if self.spec.report_batch_item_failures:
            response = invocation.json() or {}
            failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        done = [message for message in messages if message["MessageId"] not in failed]
        if done:
            self.delete(done)
