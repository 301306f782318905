// Submit many jobs from a file: CSV (columns type,payload with the payload as JSON, an
// optional idempotencyKey column) or JSON lines ({"type", "payload"} a line; a JSON array
// too). Sent 100 to a POST /jobs/batch, the API's limit; each item's result is listed.

import { h, replace } from "./dom.js";
import { announce } from "./notices.js";

const BATCH_SIZE = 100;

/** The rows of a CSV text (RFC 4180: quoted fields, "" for a quote, newlines inside quotes). */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === "") quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((cells) => cells.some((cell) => cell.trim() !== ""));
}

/**
 * The items a file holds: [{item}|{problem}] with its line, so that a row that cannot even be
 * read is reported in place (the API checks every item that can).
 */
export function readItems(name, text) {
  const trimmed = text.trim();
  if (!trimmed) return [];
  if (!/\.csv$/i.test(name) && trimmed.startsWith("[")) {
    let parsed;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      return [{ line: 1, problem: `not a JSON array: ${error.message}` }];
    }
    return (Array.isArray(parsed) ? parsed : [parsed]).map((item, index) => ({ line: index + 1, item }));
  }
  if (!/\.csv$/i.test(name) && trimmed.startsWith("{")) {
    return text.split(/\r?\n/).map((raw, index) => ({ raw, line: index + 1 })).filter(({ raw }) => raw.trim())
      .map(({ raw, line }) => {
        try {
          return { line, item: JSON.parse(raw) };
        } catch (error) {
          return { line, problem: `not JSON: ${error.message}` };
        }
      });
  }
  const rows = parseCsv(text);
  const header = rows[0]?.map((cell) => cell.trim().toLowerCase());
  const hasHeader = header && header[0] === "type";
  const columns = hasHeader ? header : ["type", "payload", "idempotencykey"];
  return rows.slice(hasHeader ? 1 : 0).map((cells, index) => {
    const line = index + (hasHeader ? 2 : 1);
    const cell = (name) => cells[columns.indexOf(name)];
    let payload;
    try {
      payload = JSON.parse(cell("payload") ?? "");
    } catch (error) {
      return { line, problem: `the payload is not JSON: ${error.message}` };
    }
    const item = { type: (cell("type") ?? "").trim(), payload };
    const key = cell("idempotencykey");
    if (key) item.idempotencyKey = key;
    return { line, item };
  });
}

/** onDone(): called once an upload accepted at least one job (the page refreshes its list). */
export function createBatchUpload(section, { api, onDone }) {
  const input = section.querySelector("#batch-file");
  const button = section.querySelector("#submit-batch");
  const status = section.querySelector("#batch-status");
  const list = section.querySelector("#batch-results");

  input.addEventListener("change", () => {
    button.disabled = !input.files?.length;
  });

  function resultRow(line, result) {
    if (result.jobId) {
      const replayed = result.status === 200 ? " (already submitted)" : "";
      return h("li", { class: "batch-ok" }, `Line ${line}: `,
        h("a", { href: `#${encodeURIComponent(result.jobId)}` }, h("code", {}, result.jobId)), replayed);
    }
    const error = result.error || {};
    return h("li", { class: "batch-error" }, `Line ${line}: ${error.code ? `${error.code}: ` : ""}${error.message}`);
  }

  async function upload() {
    const file = input.files?.[0];
    if (!file) return;
    button.disabled = true;
    replace(list);
    const entries = readItems(file.name, await file.text());
    if (!entries.length) {
      status.textContent = "The file holds no jobs.";
      button.disabled = false;
      return;
    }
    let accepted = 0;
    let refused = 0;
    // A row per line at once, in the file's order; each filled in as its answer comes.
    const rows = entries.map((entry) => h("li", { class: "batch-waiting" }, `Line ${entry.line}: waiting…`));
    list.append(...rows);
    const settle = (index, result) => {
      if (result.jobId) accepted += 1;
      else refused += 1;
      const row = resultRow(entries[index].line, result);
      rows[index].replaceWith(row);
      rows[index] = row;
    };
    entries.forEach((entry, index) => {
      if (entry.problem) settle(index, { error: { message: entry.problem } });
    });
    const sendable = entries.map((entry, index) => ({ ...entry, index })).filter((entry) => !entry.problem);
    try {
      for (let start = 0; start < sendable.length; start += BATCH_SIZE) {
        const chunk = sendable.slice(start, start + BATCH_SIZE);
        status.textContent = `Submitting ${start + 1}–${start + chunk.length} of ${sendable.length}…`;
        const results = await api.submitBatch(chunk.map((entry) => entry.item));
        results.forEach((result, offset) => settle(chunk[offset].index, result));
      }
      status.textContent = `${accepted} submitted, ${refused} refused.`;
    } catch (error) {
      status.textContent = `${accepted} submitted, then the upload stopped: ${error.message}`;
    } finally {
      if (accepted) onDone?.();
      button.disabled = false;
      announce(status.textContent);
    }
  }

  button.addEventListener("click", () => upload());
}
