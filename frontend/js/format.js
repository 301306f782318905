// How times, durations and values read on the page.

const timeFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  fractionalSecondDigits: 3,
});

/** "28 Nov 2026, 04:49:25.826" in the reader's time zone, or "—". */
export function formatTime(iso) {
  if (!iso) return "—";
  const moment = new Date(iso);
  return Number.isNaN(moment.getTime()) ? String(iso) : timeFormat.format(moment);
}

/** 2 → "2 ms", 1530 → "1.53 s", 95000 → "1 min 35 s". */
export function formatDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Milliseconds between two ISO timestamps, or null. */
export function between(startIso, endIso) {
  if (!startIso || !endIso) return null;
  const ms = new Date(endIso) - new Date(startIso);
  return Number.isNaN(ms) ? null : ms;
}

export function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** The words for a job status: "IN_PROGRESS" → "in progress". */
export function statusWords(status) {
  return String(status || "").toLowerCase().replaceAll("_", " ");
}

export const TERMINAL_STATUSES = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);
export const JOB_STATUSES = ["SCHEDULED", "QUEUED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "CANCELLED"];
/** Statuses a job can still be cancelled in (DELETE /jobs/{id}). */
export const CANCELLABLE_STATUSES = new Set(["SCHEDULED", "QUEUED"]);
