// What happened to each state in one execution, in the words and colours the graph uses.

import { formatDuration, plural } from "./format.js";

/** Fold the visits of one state (a loop can enter it more than once) into one outcome. */
function foldVisits(visits) {
  const retries = visits.reduce((sum, step) => sum + (step.retries || 0), 0);
  const failures = visits.flatMap((step) => step.failures || []);
  const durationMs = visits.reduce((sum, step) => sum + (step.durationMs || 0), 0);
  const last = visits[visits.length - 1];
  const time = last.durationMs === null || last.durationMs === undefined ? "" : ` · ${formatDuration(durationMs)}`;
  const retried = retries ? `retried ${plural(retries, "time")}` : "";
  let kind;
  let label;
  switch (last.status) {
    case "RUNNING":
      kind = "running";
      label = retried ? `running, ${retried}` : "running…";
      break;
    case "FAILED":
      kind = "failed";
      label = retried ? `failed, ${retried}` : "failed";
      break;
    case "CAUGHT":
      kind = "caught";
      label = retried ? `${retried}, caught` : `failed, caught${time}`;
      break;
    default:
      kind = retries ? "retried" : "succeeded";
      label = retries ? `${retried}${time}` : `succeeded${time}`;
  }
  const detail = failures.map((failure, index) => `attempt ${index + 1}: ${failure.error}${failure.message ? ` — ${failure.message}` : ""}`).join("\n");
  return { kind, label, retries, failures, detail };
}

/** Map of state name → {kind, label, retries, failures, detail} for the states the execution entered. */
export function stepOutcomes(execution) {
  const visits = new Map();
  for (const step of execution?.steps || []) {
    if (!visits.has(step.name)) visits.set(step.name, []);
    visits.get(step.name).push(step);
  }
  return new Map([...visits].map(([name, list]) => [name, foldVisits(list)]));
}

/** The transitions the execution took, as "from→to" strings. */
export function takenTransitions(execution) {
  const steps = execution?.steps || [];
  return new Set(steps.slice(1).map((step, index) => `${steps[index].name}→${step.name}`));
}

export const LEGEND = [
  ["succeeded", "Succeeded"],
  ["retried", "Succeeded after retries"],
  ["caught", "Failed, caught"],
  ["failed", "Failed"],
  ["running", "Running"],
  ["skipped", "Not reached"],
];
