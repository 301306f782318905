// One job's summary: status, attempts, timestamps, payload, and the result or the error.

import { h } from "./dom.js";
import { between, cancellable, formatDuration, formatTime, statusWords } from "./format.js";

export function statusBadge(status, props = {}) {
  return h("span", { class: `badge status-${String(status).toLowerCase()}`, ...props }, String(status).replaceAll("_", " "));
}

function time(iso) {
  return iso ? h("time", { datetime: iso, title: iso }, formatTime(iso)) : "—";
}

function fact(term, ...value) {
  return [h("dt", null, term), h("dd", null, ...value)];
}

/** A flat object of plain values reads best as a table; anything else as JSON. */
function valueView(value, label) {
  const flat = value && typeof value === "object" && !Array.isArray(value) &&
    Object.values(value).every((item) => item === null || typeof item !== "object");
  if (!flat || !Object.keys(value).length) {
    return h("pre", { class: "json", tabindex: 0, "aria-label": label }, JSON.stringify(value, null, 2));
  }
  return h("table", { class: "kv" },
    h("caption", { class: "visually-hidden" }, label),
    h("tbody", null, Object.entries(value).map(([key, item]) =>
      h("tr", null, h("th", { scope: "row" }, key), h("td", null, h("code", null, typeof item === "string" ? item : JSON.stringify(item)))))));
}

const STATUS_SENTENCES = {
  SCHEDULED: "Delayed: it starts at its run time, never before.",
  QUEUED: "Waiting in the queue for a worker.",
  IN_PROGRESS: "A worker has claimed the job and is running it.",
  SUCCEEDED: "Finished: the result is below.",
  FAILED: "Finished without a result: the error is below.",
  CANCELLED: "Cancelled: it will not run (any result it had was discarded).",
};

/** A running job's latest progress report as a bar, its message and when it was said. */
function progressView(job) {
  const progress = job.progress;
  if (job.status !== "IN_PROGRESS" || !progress) return null;
  const percent = Math.round(progress.fraction * 100);
  return h("div", { class: "job-progress", id: "job-progress" },
    h("progress", { max: "100", value: String(percent), "aria-label": `Progress: ${percent}%` }, `${percent}%`),
    h("span", null, ` ${percent}%`, progress.message ? ` — ${progress.message}` : ""));
}

/** Why a QUEUED job has not started, or that a running job was asked to stop. */
function waitingView(job) {
  if (job.status === "QUEUED" && job.waitingFor === "concurrency") {
    return h("p", { class: "help", id: "job-waiting" }, `Waiting for a slot: other jobs with the key ${job.concurrencyKey} are running.`);
  }
  if (job.status === "IN_PROGRESS" && job.cancelRequestedAt) {
    return h("p", { class: "help", id: "job-cancel-requested" }, "Cancel requested: the job stops at its next check and ends CANCELLED.");
  }
  return null;
}

function attemptsOf(run) {
  if (!run.firstAttempt) return "never claimed";
  return run.firstAttempt === run.lastAttempt ? `attempt ${run.firstAttempt}` : `attempts ${run.firstAttempt}–${run.lastAttempt}`;
}

/** The runs a rerun ended, oldest first: each one's outcome, attempts and error. */
function earlierRuns(runs) {
  if (!runs?.length) return null;
  return h("section", { class: "job-runs", id: "job-runs", "aria-labelledby": "runs-title" },
    h("h3", { id: "runs-title" }, runs.length === 1 ? "Earlier run" : `Earlier runs (${runs.length})`),
    h("ol", null, runs.map((run) =>
      h("li", { class: "job-run" },
        h("strong", null, `Run ${run.run}: `), statusBadge(run.status), ` ${attemptsOf(run)}`,
        run.finishedAt ? [", finished ", time(run.finishedAt)] : "",
        run.error ? h("span", { class: "run-error" }, ` — ${run.error.type}: ${run.error.message}`) : ""))));
}

/** The job's webhook attempts (the last ones kept; deliveryAttempts counts them all). */
function webhookDeliveries(job) {
  const attempts = job.deliveries || [];
  if (!attempts.length) return null;
  const total = job.deliveryAttempts || attempts.length;
  return h("section", { class: "job-deliveries", id: "job-deliveries", "aria-labelledby": "deliveries-title" },
    h("h3", { id: "deliveries-title" }, total === 1 ? "Webhook delivery" : `Webhook deliveries (${total})`),
    job.callbackUrl ? h("p", { class: "help" }, "POSTed to ", h("code", null, job.callbackUrl)) : null,
    h("table", { class: "deliveries" },
      h("caption", { class: "visually-hidden" }, "Webhook delivery attempts"),
      h("thead", null, h("tr", null, ["Attempt", "Time", "Answer", "Outcome"].map((name) => h("th", { scope: "col" }, name)))),
      h("tbody", null, attempts.map((attempt) =>
        h("tr", { class: `delivery delivery-${String(attempt.outcome).toLowerCase()}` },
          h("td", null, String(attempt.attempt)),
          h("td", null, time(attempt.at)),
          h("td", null, attempt.statusCode ? `HTTP ${attempt.statusCode}` : (attempt.error || "no answer")),
          h("td", null, attempt.outcome))))));
}

/** The job's summary; onCancel is offered while it is QUEUED or running (until a cancel is
 * requested), onRerun when it FAILED. */
export function jobView(job, { watching, onCancel, onRerun, cancelling = false, rerunning = false }) {
  // A delayed job waited for its run time on purpose: its start is measured from that time.
  const waited = between(job.runAt || job.createdAt, job.startedAt);
  const waitedWords = (ms) => job.runAt ? ` ${formatDuration(ms)} after its run time` : ` after ${formatDuration(ms)} in the queue`;
  const ran = between(job.startedAt, job.finishedAt);
  return [
    h("div", { class: "job-head" },
      h("div", null,
        h("p", { class: "eyebrow" }, job.type),
        h("p", { class: "job-id-line" }, h("code", { id: "job-id", class: "job-id" }, job.jobId)),
      ),
      h("div", { class: "job-status" },
        statusBadge(job.status, { id: "job-status", "aria-label": `Status: ${statusWords(job.status)}` }),
        watching ? h("span", { class: "watching" }, h("span", { class: "spinner", "aria-hidden": "true" }), "watching") : null,
      ),
    ),
    h("p", { class: "status-sentence" }, STATUS_SENTENCES[job.status] || ""),
    progressView(job),
    waitingView(job),
    cancellable(job) && onCancel
      ? h("p", null, h("button", { type: "button", class: "button danger", id: "cancel-job", onclick: onCancel, disabled: cancelling }, cancelling ? "Cancelling…" : "Cancel job"))
      : null,
    job.error
      ? h("div", { class: "job-error", id: "job-error", role: "group", "aria-label": "Error" },
          h("strong", null, job.error.type), h("span", null, job.error.message))
      : null,
    job.status === "FAILED" && onRerun
      ? h("p", null, h("button", { type: "button", class: "button", id: "rerun-job", onclick: onRerun, disabled: rerunning }, rerunning ? "Rerunning…" : "Rerun job"),
          h("span", { class: "help" }, " Runs it again under the same id; this run's error is kept below."))
      : null,
    job.result !== null && job.result !== undefined
      ? h("section", { class: "job-result", id: "job-result", "aria-labelledby": "result-title" },
          h("h3", { id: "result-title" }, "Result"), valueView(job.result, "Result"))
      : null,
    h("dl", { class: "facts" },
      fact("Attempts", String(job.attempts), job.attempts > 1 ? h("span", { class: "muted" }, job.runs?.length ? " (across all runs)" : " (claimed again after a worker was lost)") : ""),
      fact("Executions", String((job.executions || []).length)),
      fact("Created", time(job.createdAt)),
      job.runAt ? fact("Run at", time(job.runAt)) : [],
      job.schedule ? fact("Schedule", h("code", null, job.schedule)) : [],
      job.concurrencyKey ? fact("Concurrency key", h("code", null, job.concurrencyKey)) : [],
      fact("Started", time(job.startedAt), waited !== null ? h("span", { class: "muted" }, waitedWords(waited)) : ""),
      fact("Finished", time(job.finishedAt), ran !== null ? h("span", { class: "muted" }, ` after ${formatDuration(ran)} of work`) : ""),
      fact("Updated", time(job.updatedAt)),
      job.idempotencyKey ? fact("Idempotency key", h("code", null, job.idempotencyKey)) : [],
    ),
    earlierRuns(job.runs),
    webhookDeliveries(job),
    h("details", { class: "payload" },
      h("summary", null, "Payload"),
      h("pre", { class: "json" }, JSON.stringify(job.payload, null, 2))),
  ];
}
