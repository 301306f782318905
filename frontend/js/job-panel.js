// The open job: shows it at once, polls it with backoff until it reaches a terminal state,
// keeps its execution history up to date, and offers cancel until it ends (a running job's
// once) and rerun once it FAILED. The history is polled only where the stack records it (historyLevel ALL);
// at ERROR or FATAL it is read once the job has ended (only failures are in it), at OFF never.

import { h, replace } from "./dom.js";
import { TERMINAL_STATUSES, statusWords } from "./format.js";
import { revealStart } from "./graph.js";
import { historyView } from "./history.js";
import { jobView } from "./job-view.js";
import { announce, clearError, showError } from "./notices.js";

// A job on AWS ends in a few hundred ms: look soon, then half as often each time, at most every 4 s.
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 4000;
const BACKOFF = 2;
const MAX_FAILURES = 6;
const HISTORY_TRIES = 12; // on AWS, log delivery can trail the job's final write by seconds
// A running job's progress is written at most once a second: looked at as often, the bar moves.
const RUNNING_DELAY_MS = 1000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const grow = (delay) => Math.min(delay * BACKOFF, MAX_DELAY_MS);

/** How long to wait before the next look at job: the backoff's delay, but at most a second
 * while it runs (or is past its run time), and no later than its run time while SCHEDULED. */
function paced(delay, job) {
  const status = job?.status;
  if (status === "IN_PROGRESS") return Math.min(delay, RUNNING_DELAY_MS);
  if (status === "SCHEDULED" && job.runAt) {
    const due = new Date(job.runAt).getTime() - Date.now();
    return Math.min(delay, due > 0 ? Math.max(due, FIRST_DELAY_MS) : RUNNING_DELAY_MS);
  }
  return delay;
}

/** Every execution the job names is in the history, and none is still running. */
function historySettled(history, job) {
  const executions = history?.executions || [];
  return executions.length >= (job.executions || []).length && executions.every((run) => run.status !== "RUNNING");
}

/**
 * layout: a promise of the workflow graph's layout (null when the definition could not be
 * read); historyLevel: a promise of the state machine's logging level (ALL, ERROR, FATAL, OFF);
 * onChange(job) is told of every change to the open job.
 */
export function createJobPanel({ jobSection, jobBody, historySection, historyBody, api, layout, historyLevel = "ALL", consoleLinks, onChange }) {
  let current = null; // {id, stopped, job, history, cancelling}
  let graphLayout = null;
  Promise.resolve(layout).then((value) => {
    graphLayout = value;
    if (current?.history) drawHistory(current);
  });
  const jobHeading = jobSection.querySelector("h2");
  const errorKey = () => `job:${current?.id}`;

  function stop() {
    if (current) current.stopped = true;
    current = null;
  }

  function showEmpty() {
    stop();
    replace(jobBody, h("p", { class: "empty" }, "Submit a job, or open one from the list of recent jobs."));
    historySection.hidden = true;
  }

  function draw(run, { watching }) {
    replace(jobBody, jobView(run.job, {
      watching,
      onCancel: () => cancel(run),
      cancelling: run.cancelling,
      onRerun: () => rerun(run),
      rerunning: run.rerunning,
    }));
  }

  const refreshButton = (run) => h("button", { type: "button", class: "button small", onclick: () => refreshHistory(run) }, "Refresh history");

  function drawHistory(run, note = null) {
    historySection.hidden = false;
    // At ERROR or FATAL a failure's records may trail the job's end: the reader may look again.
    if (!note && ["ERROR", "FATAL"].includes(run.level) && TERMINAL_STATUSES.has(run.job.status)) {
      note = h("p", { class: "muted" }, refreshButton(run));
    }
    replace(historyBody, historyView({ job: run.job, history: run.history, layout: graphLayout, note, consoleLinks, level: run.level }));
    requestAnimationFrame(() => historyBody.querySelectorAll(".graph-scroll").forEach(revealStart));
  }

  async function refreshHistory(run) {
    if (!(run.job.executions || []).length) {
      run.history = { executions: [] };
      drawHistory(run);
      return;
    }
    try {
      const history = await api.history(run.id);
      if (run.stopped) return;
      clearError(`history:${run.id}`);
      if (JSON.stringify(history) !== JSON.stringify(run.history)) {
        run.history = history;
        drawHistory(run);
      }
    } catch (error) {
      if (!run.stopped) showError(error.message, { title: "Could not load the execution history", key: `history:${run.id}` });
    }
  }

  async function watch(run) {
    run.level = await historyLevel;
    if (run.stopped) return;
    const recordsAll = run.level === "ALL";
    let delay = FIRST_DELAY_MS;
    let failures = 0;
    let fetchFirst = !run.job;
    while (!run.stopped) {
      if (fetchFirst) {
        try {
          const job = await api.getJob(run.id);
          if (run.stopped) return;
          failures = 0;
          clearError(errorKey());
          const changed = JSON.stringify(job) !== JSON.stringify(run.job);
          const statusChanged = run.job && job.status !== run.job.status;
          run.job = job;
          if (changed) draw(run, { watching: !TERMINAL_STATUSES.has(job.status) });
          if (statusChanged || changed) onChange(job);
          if (statusChanged) announce(`Job ${job.jobId} is now ${statusWords(job.status)}.`);
        } catch (error) {
          if (run.stopped) return;
          failures += 1;
          if (!error.retryable || failures >= MAX_FAILURES) {
            fail(run, error);
            return;
          }
          showError(`${error.message} Trying again in ${Math.round(delay / 100) / 10} s.`, { title: "Lost contact with the API", key: errorKey() });
          await sleep(delay);
          delay = grow(delay);
          continue;
        }
      }
      fetchFirst = true;
      if (recordsAll) await refreshHistory(run);
      else if (!run.history) {
        run.history = { executions: [] };
        drawHistory(run);
      }
      if (TERMINAL_STATUSES.has(run.job.status) || run.stopped) break;
      const wait = paced(delay, run.job);
      await sleep(wait);
      delay = grow(wait);
    }
    if (run.stopped) return;
    draw(run, { watching: false });
    if (!recordsAll) {
      // Nothing more will arrive by waiting for it: read what was recorded once (not at OFF).
      if (run.level !== "OFF" && (run.job.executions || []).length) await refreshHistory(run);
      if (!run.stopped) drawHistory(run);
      return;
    }
    delay = 500;
    for (let tries = 0; !historySettled(run.history, run.job) && tries < HISTORY_TRIES && !run.stopped; tries += 1) {
      await sleep(delay);
      delay = grow(delay);
      await refreshHistory(run);
    }
    if (!run.stopped && !historySettled(run.history, run.job)) {
      drawHistory(run, h("p", { class: "muted" }, "The execution history may still be arriving. ", refreshButton(run)));
    }
  }

  function fail(run, error) {
    const notFound = error.status === 404;
    replace(jobBody,
      h("div", { class: "job-error", role: "group", "aria-label": "Error" },
        h("strong", null, notFound ? `No job with id ${run.id}` : `Could not load job ${run.id}`),
        h("span", null, error.message)),
      h("p", null, h("button", { type: "button", class: "button", onclick: () => open(run.id, { force: true }) }, "Try again")));
    historySection.hidden = true;
    showError(error.message, { title: notFound ? `Job ${run.id} was not found` : `Could not load job ${run.id}`, key: errorKey() });
  }

  /** A change the reader asked for (cancel, rerun): the button shows it is busy, then the job
   * is shown as the API answered it, or the error is said and the button comes back. */
  async function act(run, { busy, call, done, failed, watching }) {
    run[busy] = true;
    draw(run, { watching });
    try {
      const job = await call(run.id);
      clearError(`${busy}:${run.id}`);
      announce(done(job));
      onChange(job);
      open(job.jobId, { job, force: true });
    } catch (error) {
      showError(error.message, { title: failed, key: `${busy}:${run.id}` });
      run[busy] = false;
      if (!run.stopped) draw(run, { watching });
    }
  }

  const cancel = (run) => act(run, {
    busy: "cancelling", call: api.cancelJob, watching: true,
    done: (job) => job.status === "IN_PROGRESS"
      ? `Cancel requested: job ${job.jobId} stops at its next check and ends cancelled.`
      : `Job ${job.jobId} is cancelled.`,
    failed: "The job was not cancelled",
  });
  const rerun = (run) => act(run, {
    busy: "rerunning", call: api.rerunJob, watching: false,
    done: (job) => `Job ${job.jobId} is queued again.`, failed: "The job was not rerun",
  });

  /** Show job id: job (when the caller already has it) is drawn at once, then followed. */
  function open(id, { job = null, focus = false, force = false } = {}) {
    if (!force && current?.id === id) {
      if (focus) jobHeading.focus();
      return;
    }
    stop();
    const run = { id, stopped: false, job, history: null, level: "ALL", cancelling: false, rerunning: false };
    current = run;
    jobSection.dataset.jobId = id;
    if (job) {
      draw(run, { watching: !TERMINAL_STATUSES.has(job.status) });
    } else {
      replace(jobBody, h("p", { class: "loading" }, h("span", { class: "spinner", "aria-hidden": "true" }), `Loading job ${id}…`));
    }
    historySection.hidden = !job;
    if (job) replace(historyBody, h("p", { class: "muted" }, "Waiting for the first execution…"));
    if (focus) jobHeading.focus();
    watch(run).catch((error) => showError(String(error?.message || error), { title: "The page hit an unexpected error" }));
  }

  return { open, showEmpty, currentId: () => current?.id ?? null };
}
