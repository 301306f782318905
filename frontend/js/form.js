// The submit form, built from GET /job-types: a type picker, the payload as a form generated
// from the type's JSON Schema or as JSON (a toggle; both show the same payload), checked
// against the schema before anything is sent, and the options: a run time, a concurrency key
// and an idempotency key.

import { h, replace } from "./dom.js";
import { createPayloadFields } from "./payload-fields.js";
import { describeFields, validate } from "./schema.js";
import { announce, clearError, showError } from "./notices.js";

const DEFAULT_TYPE = "text.transform";
const SUBMIT_ERROR = "submit";

export function createJobForm(form, { api, onSubmitted }) {
  const select = form.querySelector("#job-type");
  const description = form.querySelector("#job-type-help");
  const editor = form.querySelector("#payload");
  const fieldHelp = form.querySelector("#payload-fields");
  const fieldError = form.querySelector("#payload-error");
  const resetButton = form.querySelector("#reset-payload");
  const keyInput = form.querySelector("#idempotency-key");
  const runAtInput = form.querySelector("#run-at");
  const concurrencyInput = form.querySelector("#concurrency-key");
  const optionsSet = form.querySelector("#options-set");
  const submitButton = form.querySelector("#submit-job");
  const loadProblem = form.querySelector("#types-problem");
  const status = form.querySelector("#form-status");
  const fieldsBox = form.querySelector("#payload-form");
  const jsonBox = form.querySelector("#payload-json");
  const modeFields = form.querySelector("#mode-fields");
  const modeJson = form.querySelector("#mode-json");
  const modeNote = form.querySelector("#payload-mode-note");
  const payloadFields = createPayloadFields(fieldsBox, { onInput: fieldsChanged });

  let types = new Map();
  const drafts = new Map(); // what the reader typed per job type, kept across type switches

  function example(type) {
    return JSON.stringify(types.get(type)?.example ?? {}, null, 2);
  }

  /** The editor's JSON, or undefined while it is not valid JSON. */
  function editorPayload() {
    try {
      return JSON.parse(editor.value);
    } catch {
      return undefined;
    }
  }

  const usingFields = () => modeFields.checked && !modeFields.disabled;

  function showMode() {
    fieldsBox.hidden = !usingFields();
    jsonBox.hidden = usingFields();
  }

  function fieldsChanged() {
    const type = select.value;
    editor.value = JSON.stringify(payloadFields.read(editorPayload()), null, 2);
    drafts.set(type, editor.value);
    if (!fieldError.hidden) setProblems([]);
  }

  function showType(type) {
    const info = types.get(type);
    description.textContent = info?.description || "";
    editor.value = drafts.get(type) ?? example(type);
    const formable = info ? payloadFields.available(info.payloadSchema) : false;
    modeFields.disabled = !formable;
    modeNote.hidden = formable;
    if (!formable) modeJson.checked = true;
    if (info) payloadFields.show(info.payloadSchema, editorPayload());
    showMode();
    const fields = info ? describeFields(info.payloadSchema) : [];
    replace(
      fieldHelp,
      fields.length ? h("span", { class: "fields-title" }, "Fields: ") : "This type takes no fields.",
      fields.map((field) =>
        h("span", { class: "field-fact" },
          h("code", null, field.name), ` — ${field.facts}`, field.description ? `. ${field.description}` : ""),
      ),
    );
    setProblems([]);
  }

  function setProblems(messages, heading = "", problems = []) {
    const invalid = messages.length > 0;
    editor.setAttribute("aria-invalid", String(invalid));
    payloadFields.markProblems(problems);
    fieldError.hidden = !invalid;
    replace(fieldError, invalid ? [h("strong", null, heading), h("ul", null, messages.map((m) => h("li", null, m)))] : []);
  }

  /** The payload to send, or null after telling the reader what is wrong with it. */
  function checkedPayload(type) {
    let payload;
    if (usingFields()) {
      payload = payloadFields.read(editorPayload());
    } else {
      try {
        payload = JSON.parse(editor.value);
      } catch (error) {
        setProblems([error.message], "The payload is not valid JSON, so it was not sent.");
        editor.focus();
        return null;
      }
    }
    const problems = validate(types.get(type).payloadSchema, payload);
    if (problems.length) {
      setProblems(problems.map((problem) => problem.message), `The payload does not fit ${type}, so it was not sent.`, problems);
      const field = usingFields() ? payloadFields.markProblems(problems) : null;
      (field || (usingFields() ? fieldsBox.querySelector("input, textarea, select") : editor) || editor).focus();
      return null;
    }
    setProblems([]);
    return payload;
  }

  async function submit(event) {
    event.preventDefault();
    if (submitButton.disabled || !types.size) return;
    const type = select.value;
    const payload = checkedPayload(type);
    status.textContent = "";
    if (payload === null) {
      announce("The payload was not sent: see the message under the editor.");
      return;
    }
    submitButton.disabled = true;
    submitButton.textContent = "Submitting…";
    try {
      // datetime-local is the reader's wall clock; the API wants an offset: send it as UTC.
      const runAt = runAtInput?.value ? new Date(runAtInput.value).toISOString() : undefined;
      const { job, replayed } = await api.submitJob(type, payload, {
        idempotencyKey: keyInput.value.trim(),
        runAt,
        concurrencyKey: concurrencyInput.value.trim(),
      });
      clearError(SUBMIT_ERROR);
      status.textContent = replayed
        ? `Same idempotency key and payload as an earlier submit: showing that job, ${job.jobId}.`
        : `Submitted: job ${job.jobId}.`;
      onSubmitted(job, replayed);
    } catch (error) {
      if (error.status === 422 || error.status === 400 || error.status === 413) {
        setProblems([error.message], "The API refused the job.");
      }
      showError(error.message, { title: "The job was not submitted", key: SUBMIT_ERROR });
    } finally {
      submitButton.disabled = false;
      submitButton.textContent = "Submit job";
    }
  }

  async function load() {
    select.disabled = true;
    submitButton.disabled = true;
    loadProblem.hidden = true;
    try {
      const list = await api.jobTypes();
      types = new Map(list.map((info) => [info.name, info]));
    } catch (error) {
      replace(select, h("option", null, "Job types unavailable"));
      showError(error.message, { title: "Could not load the job types", key: "job-types" });
      loadProblem.hidden = false;
      return;
    }
    clearError("job-types");
    replace(select, [...types.values()].map((info) => h("option", { value: info.name }, info.name)));
    select.value = types.has(DEFAULT_TYPE) ? DEFAULT_TYPE : select.options[0]?.value;
    select.disabled = false;
    submitButton.disabled = false;
    showType(select.value);
  }

  select.addEventListener("change", () => showType(select.value));
  editor.addEventListener("input", () => {
    drafts.set(select.value, editor.value);
    const payload = editorPayload();
    if (payload !== undefined) payloadFields.write(payload);
    if (editor.getAttribute("aria-invalid") === "true") setProblems([]);
  });
  for (const box of [editor, fieldsBox]) {
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
  }
  modeFields.addEventListener("change", () => {
    const payload = editorPayload();
    if (payload === undefined) {
      // The form cannot show JSON it cannot read: stay in the editor and say why.
      modeJson.checked = true;
      setProblems(["Fix the JSON (or reset to the example) to switch to the form."], "The payload is not valid JSON.");
      editor.focus();
      return;
    }
    payloadFields.write(payload);
    showMode();
  });
  modeJson.addEventListener("change", showMode);
  resetButton.addEventListener("click", () => {
    drafts.delete(select.value);
    showType(select.value);
    (usingFields() ? fieldsBox.querySelector("input, textarea, select") || editor : editor).focus();
  });
  // The options apply folded away too: their summary says which are set.
  function showOptionsSet() {
    const set = [
      runAtInput.value ? `run at ${runAtInput.value.replace("T", " ")}` : "",
      concurrencyInput.value.trim() ? `concurrency key ${concurrencyInput.value.trim()}` : "",
      keyInput.value.trim() ? "idempotency key" : "",
    ].filter(Boolean);
    optionsSet.textContent = set.length ? `(${set.join(", ")})` : "";
  }
  for (const input of [runAtInput, concurrencyInput, keyInput]) input.addEventListener("input", showOptionsSet);
  loadProblem.querySelector("button").addEventListener("click", load);
  form.addEventListener("submit", submit);

  /** The job the form describes, checked as a submit is ({type, payload}), or null. */
  // The job the form describes, as a schedule's job: its type, payload and concurrency key.
  function currentJob() {
    const payload = checkedPayload(select.value);
    if (payload === null) return null;
    const concurrencyKey = concurrencyInput.value.trim();
    return { type: select.value, payload, ...(concurrencyKey ? { concurrencyKey } : {}) };
  }

  return { load, currentJob };
}
