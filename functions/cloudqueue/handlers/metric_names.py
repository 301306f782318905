"""The custom metrics the handlers emit (namespace ``CloudQueue``, dimension ``service``), in
one place: the handlers, the alarms and the cost model read them from here.

CloudWatch bills a custom metric for every hour in which it is published (0.30 USD a month
for one published every hour), so none is emitted on every job: each counts something rare,
and only when it happens (never a value of 0 on every run). What every job does is counted
by the services' own metrics, free: finished jobs are FinalizeFunction's ``AWS/Lambda``
Invocations (and ``AWS/States`` ExecutionsSucceeded), submissions are the HTTP API's
``AWS/ApiGateway`` Count and the job queue's ``AWS/SQS`` NumberOfMessagesSent.
"""

from __future__ import annotations

from typing import Final

NAMESPACE: Final = "CloudQueue"

# The one job outcome emitted: a job ended FAILED (its step failed for good, or it was
# dead-lettered: see JOBS_DEAD_LETTERED). A success is counted by the free metrics above.
JOBS_FAILED: Final = "JobsFailed"
# A finalize found its lease taken by another worker and wrote nothing.
STALE_WORKERS_FENCED: Final = "StaleWorkersFenced"
# A claim found its job already finished or taken by this very execution: a duplicate delivery.
DUPLICATE_DELIVERIES_SKIPPED: Final = "DuplicateDeliveriesSkipped"
# What DeadLetterFunction did with a dead letter (DeadLetterAlarm watches the first); a poison
# message is also set aside by the claim, at its first execution.
JOBS_DEAD_LETTERED: Final = "JobsDeadLettered"
JOBS_REDRIVEN: Final = "JobsRedriven"
POISON_MESSAGES_KEPT: Final = "PoisonMessagesKept"
# A delayed job's message came before the job was due (a duplicate, a resend): the claim sent
# it again, held back until then.
EARLY_DELIVERIES_DEFERRED: Final = "EarlyDeliveriesDeferred"
# The sweeper sent the message of a job whose pending send was overdue.
PENDING_JOBS_SENT: Final = "PendingJobsSent"
# The sweeper sent again the message of a job QUEUED longer than the job queue keeps one.
STRANDED_JOBS_RESENT: Final = "StrandedJobsResent"

# A webhook attempt failed and will be retried, or a delivery was given up on (dead-lettered).
# A delivered webhook is WebhookFunction's AWS/Lambda Invocations, free.
WEBHOOKS_RETRIED: Final = "WebhooksRetried"
WEBHOOKS_FAILED: Final = "WebhooksFailed"

# The names each function may emit, by the template's logical id.
BY_FUNCTION: Final[dict[str, frozenset[str]]] = {
    # Cancels and reruns are a client's own requests: counted by the API stage's free
    # AWS/ApiGateway Count per route, not by a custom metric billed for each hour they happen.
    "ApiFunction": frozenset(),
    "ClaimFunction": frozenset(
        {DUPLICATE_DELIVERIES_SKIPPED, POISON_MESSAGES_KEPT, EARLY_DELIVERIES_DEFERRED}
    ),
    "ProcessFunction": frozenset(),
    "FinalizeFunction": frozenset({JOBS_FAILED, STALE_WORKERS_FENCED}),
    "DeadLetterFunction": frozenset({JOBS_DEAD_LETTERED, JOBS_REDRIVEN, POISON_MESSAGES_KEPT}),
    "RequeueFunction": frozenset({PENDING_JOBS_SENT, STRANDED_JOBS_RESENT}),
    "EventsFunction": frozenset(),
    "WebhookFunction": frozenset({WEBHOOKS_RETRIED, WEBHOOKS_FAILED}),
    # A firing's job is every scheduled job: counted by the function's own Invocations.
    "ScheduledSubmitFunction": frozenset(),
}

# Emitted on every job: none (the cost model counts their hours from here).
PER_JOB: Final[frozenset[str]] = frozenset()

ALL: Final[frozenset[str]] = frozenset().union(*BY_FUNCTION.values())
