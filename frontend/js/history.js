// The visual execution history: per execution, the workflow graph coloured by outcome,
// the retries and errors, and the table of history events with their timings.

import { h } from "./dom.js";
import { formatDuration, formatTime } from "./format.js";
import { layoutWorkflow, renderGraph } from "./graph.js";
import { LEGEND, stepOutcomes, takenTransitions } from "./outcomes.js";
import { statusBadge } from "./job-view.js";

/** The graph in a box that scrolls sideways on a narrow screen: focusable, so that the
 * keyboard can scroll it too (axe: scrollable-region-focusable). */
function graphScroll(graph, label) {
  return h("div", { class: "graph-scroll", tabindex: 0, role: "group", "aria-label": `${label} (scrolls sideways on a narrow screen)` }, graph);
}

const ENDS = new Set(["ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"]);
const TASK_ENDS = new Set(["TaskSucceeded", "TaskFailed", "TaskTimedOut", "LambdaFunctionSucceeded", "LambdaFunctionFailed", "LambdaFunctionTimedOut"]);

/** When the workflow definition could not be read: a chain of the states the execution went through. */
function definitionFromSteps(execution) {
  const names = [...new Set(execution.steps.map((step) => step.name))];
  const states = Object.fromEntries(names.map((name, index) => [
    name,
    { Type: execution.steps.find((step) => step.name === name).type, ...(index < names.length - 1 ? { Next: names[index + 1] } : { End: true }) },
  ]));
  return { StartAt: names[0], States: states };
}

function legend() {
  return h("ul", { class: "legend", "aria-label": "Colour key" },
    LEGEND.map(([kind, words]) => h("li", null, h("span", { class: `swatch outcome-${kind}`, "aria-hidden": "true" }), words)));
}

/** Rows with the elapsed time since the execution started and how long each step or task took. */
function eventRows(execution) {
  const start = new Date(execution.startedAt || execution.events[0]?.timestamp || 0);
  const entered = new Map();
  let taskStart = null;
  let state = null;
  return execution.events.map((event) => {
    const at = new Date(event.timestamp);
    let took = null;
    if (event.type.endsWith("StateEntered")) {
      state = event.state;
      entered.set(event.state, at);
    } else if (event.type.endsWith("StateExited") && entered.has(event.state)) {
      took = at - entered.get(event.state);
    } else if (event.type === "TaskScheduled" || event.type === "LambdaFunctionScheduled") {
      taskStart = at;
    } else if (TASK_ENDS.has(event.type) && taskStart) {
      took = at - taskStart;
    } else if (ENDS.has(event.type)) {
      took = at - start;
    }
    const failed = Boolean(event.error) || /Failed|TimedOut|Aborted/.test(event.type);
    return h("tr", { class: failed ? "row-failed" : null },
      h("td", { class: "num" }, String(event.id)),
      h("td", { class: "num" }, `+${formatDuration(at - start)}`),
      h("td", null, h("code", null, event.type)),
      h("td", { class: event.state ? null : "muted" }, event.state || (ENDS.has(event.type) || event.type === "ExecutionStarted" ? "" : state || "")),
      h("td", { class: "num" }, took === null ? "" : formatDuration(took)),
      h("td", { class: "detail" }, event.error ? [h("strong", null, event.error), event.message ? ` ${event.message}` : ""] : ""),
    );
  });
}

function eventTable(execution) {
  return h("div", { class: "table-scroll", tabindex: 0, role: "region", "aria-label": `Events of execution ${execution.name}` },
    h("table", { class: "events" },
      h("caption", null, `History events (${execution.events.length})`),
      h("thead", null, h("tr", null,
        ["#", "Elapsed", "Event", "State", "Took", "Error"].map((name) => h("th", { scope: "col" }, name)))),
      h("tbody", null, eventRows(execution))));
}

function failureList(execution) {
  const items = execution.steps.flatMap((step) => (step.failures || []).map((failure, index) =>
    h("li", null,
      h("strong", null, step.name), ` attempt ${index + 1}: `, h("code", null, failure.error),
      failure.message ? ` — ${failure.message}` : "",
      step.status === "SUCCEEDED" && index === step.failures.length - 1 ? h("span", { class: "muted" }, " (then retried and succeeded)") : "")));
  if (!items.length) return null;
  return h("div", { class: "failures" }, h("h3", null, "Failed attempts"), h("ul", null, items));
}

function executionView(execution, index, count, layout, consoleLinks) {
  const definitionLayout = layout || (execution.steps.length ? layoutWorkflow(definitionFromSteps(execution)) : null);
  const retries = execution.steps.reduce((sum, step) => sum + (step.retries || 0), 0);
  const summary = [
    `Execution ${index + 1} of ${count}`,
    execution.status === "RUNNING" ? "running" : `${execution.status.toLowerCase()} in ${formatDuration(execution.durationMs)}`,
    retries ? `${retries} ${retries === 1 ? "retry" : "retries"}` : null,
  ].filter(Boolean).join(" · ");
  return h("details", { class: "execution", open: index === count - 1, "data-execution": execution.name },
    h("summary", null,
      h("span", { class: "execution-title" }, summary),
      statusBadge(execution.status)),
    h("div", { class: "execution-body" },
      h("p", { class: "execution-meta" },
        h("span", null, "Name ", h("code", null, execution.name)),
        h("span", null, "Started ", h("time", { datetime: execution.startedAt || "" }, formatTime(execution.startedAt))),
        consoleLinks && execution.consoleUrl
          ? h("a", { class: "console-link", href: execution.consoleUrl, target: "_blank", rel: "noopener noreferrer" },
              "Open in the Step Functions console", h("span", { "aria-hidden": "true" }, " ↗"))
          : null),
      execution.error
        ? h("p", { class: "job-error" }, h("strong", null, `Execution ${execution.status.toLowerCase()}: ${execution.error.error}`), h("span", null, execution.error.message))
        : null,
      definitionLayout
        ? graphScroll(renderGraph(definitionLayout, {
            outcomes: stepOutcomes(execution),
            taken: takenTransitions(execution),
            title: `Workflow of execution ${index + 1}, each state coloured by what happened`,
          }), `Workflow graph of execution ${index + 1}`)
        : h("p", { class: "muted" }, "No state has been entered yet."),
      legend(),
      failureList(execution),
      execution.events.length ? eventTable(execution) : h("p", { class: "muted" }, "No history events yet."),
    ));
}

/** What a history below ALL can show, said once above it (null at ALL). */
function levelNote(level) {
  if (level === "ALL") return null;
  const said = level === "OFF"
    ? "This stack does not record execution history (ExecutionLogLevel OFF)."
    : `This stack records only what went wrong in its executions (ExecutionLogLevel ${level}): an execution without an error has no history here. Deploy with ExecutionLogLevel=ALL to see every step.`;
  return h("p", { class: "help history-level" }, said);
}

function emptyReason(job) {
  if (job.status === "CANCELLED") return "The job was cancelled before any execution ran.";
  if (job.status === "QUEUED") return "No execution yet: the job is waiting in the queue. The workflow it will run:";
  if (job.status === "SCHEDULED") return "No execution yet: the job waits for its run time. The workflow it will run then:";
  return "No execution history was found for this job.";
}

/**
 * The history panel's content. layout is the workflow laid out from its definition (null
 * when it could not be read); note is an optional sentence about history still arriving;
 * consoleLinks: whether consoleUrl links lead anywhere (not for a local stack's executions);
 * level: what the stack's history records (ALL, ERROR, FATAL or OFF).
 */
export function historyView({ job, history, layout, note, consoleLinks = true, level = "ALL" }) {
  // Below ALL an execution with no records was not recorded (not still running): leave it out.
  const executions = (history?.executions || []).filter((execution) => level === "ALL" || execution.events.length);
  if (!executions.length && level !== "ALL" && !["SCHEDULED", "QUEUED", "CANCELLED"].includes(job.status)) {
    return [levelNote(level), note || null];
  }
  if (!executions.length) {
    return [
      h("p", { class: "help" }, emptyReason(job)),
      layout && job.status !== "CANCELLED"
        ? [graphScroll(renderGraph(layout, { title: "The job workflow (not run yet)" }), "Workflow graph"), legend()]
        : null,
    ];
  }
  return [
    levelNote(level),
    executions.length > 1
      ? h("p", { class: "help" }, `This job ran in ${executions.length} executions (a rerun, a redelivered message or a re-claim after a lost worker). The latest is open.`)
      : null,
    executions.map((execution, index) => executionView(execution, index, executions.length, layout, consoleLinks)),
    note || null,
  ];
}
