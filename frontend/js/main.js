// Wires the page together: reads config.json, builds the form, the job panel and the
// recent jobs list, and follows #<jobId> in the address bar (on load and on hashchange).

import { loadConfig } from "./config.js";
import { createApi } from "./api.js";
import { createAuth } from "./auth.js";
import { createJobForm } from "./form.js";
import { layoutWorkflow } from "./graph.js";
import { createJobList } from "./jobs.js";
import { createJobPanel } from "./job-panel.js";
import { createScheduleList } from "./schedules.js";
import { initNotices, showError } from "./notices.js";

const $ = (selector) => document.querySelector(selector);

function reportUnexpected(error) {
  showError(String(error?.message || error || "unknown error"), { title: "The page hit an unexpected error" });
}

function jobIdFromHash() {
  try {
    return decodeURIComponent(window.location.hash.slice(1)).trim();
  } catch {
    return window.location.hash.slice(1).trim();
  }
}

async function start() {
  initNotices($("#notices"), $("#announcer"));
  window.addEventListener("error", (event) => reportUnexpected(event.error || event.message));
  window.addEventListener("unhandledrejection", (event) => reportUnexpected(event.reason));

  let config;
  try {
    config = await loadConfig();
  } catch (error) {
    showError(error.message, { title: "The page does not know where the API is" });
    $("#app-state").textContent = "Not connected: config.json is missing or wrong.";
    return;
  }
  $("#env-name").textContent = [config.environment, config.region].filter(Boolean).join(" · ") || "unknown";
  $("#api-url").textContent = config.apiUrl;
  $("#openapi-link").href = `${config.apiUrl}/openapi.json`;
  $("#openapi-link").hidden = false;
  $("#app-state").textContent = "";

  const auth = await startAuth(config.auth);
  const api = createApi(config.apiUrl, { authHeaders: () => auth.headers() });
  // The graph's layout and what the history records are read once, while the rest of the page loads.
  const workflowReady = api.workflow();
  const layoutReady = workflowReady.then(
    (workflow) => layoutWorkflow(workflow.definition),
    (error) => {
      showError(`${error.message} The history will show the states each execution went through, without the full graph.`,
        { title: "Could not read the workflow definition" });
      return null;
    },
  );
  // Unknown (an older API, or no answer): look for the history as if every execution logged it.
  const historyLevelReady = workflowReady.then((workflow) => workflow.historyLevel || "ALL", () => "ALL");

  const form = createJobForm($("#job-form"), {
    api,
    onSubmitted(job) {
      list.update(job);
      list.markOpen(job.jobId);
      panel.open(job.jobId, { job });
      // Focus stays in the form (the form's status line says what happened); on a phone the
      // job panel is below the form, so bring it into view.
      if (jobIdFromHash() !== job.jobId) {
        justSubmitted = job.jobId;
        window.location.hash = encodeURIComponent(job.jobId);
      }
      $("#job-section").scrollIntoView({ block: "nearest", behavior: "smooth" });
    },
  });
  const list = createJobList($("#jobs-section"), {
    api,
    onChange(job) {
      list.update(job);
      if (panel.currentId() === job.jobId) panel.open(job.jobId, { job, force: true });
    },
  });
  const panel = createJobPanel({
    jobSection: $("#job-section"),
    jobBody: $("#job-body"),
    historySection: $("#history-section"),
    historyBody: $("#history-body"),
    api,
    layout: layoutReady,
    historyLevel: historyLevelReady,
    // A local stack's executions exist in no AWS account: a console link would lead nowhere.
    consoleLinks: config.environment !== "local",
    onChange: (job) => list.update(job),
  });
  const schedules = createScheduleList($("#schedules-section"), { api, currentJob: () => form.currentJob() });
  // Signed out of a jwt API, the list would only earn a 401: it waits for a sign-in.
  const mustSignIn = auth.mode === "jwt" && !auth.signedIn;
  if (mustSignIn) $("#jobs-state").textContent = "Sign in to see your jobs.";
  const loading = Promise.all([form.load(), mustSignIn ? null : list.load(), mustSignIn ? null : schedules.load()]);
  let justSubmitted = null;
  function route(fromHashChange) {
    const id = jobIdFromHash();
    list.markOpen(id || null);
    if (id) panel.open(id, { focus: fromHashChange && id !== justSubmitted });
    else panel.showEmpty();
    justSubmitted = null;
  }
  window.addEventListener("hashchange", () => route(true));
  route(false);
  await loading;
}

/** The page's auth (./auth.js), shown in the top bar: who is signed in, and the buttons. */
async function startAuth(settings) {
  let auth;
  try {
    auth = await createAuth(settings);
  } catch (error) {
    // The page goes on unsigned: the public routes (job types, workflow) still answer.
    showError(`${error.message}.`, { title: "Sign-in is not available" });
    return createAuth({ mode: "none" });
  }
  const note = $("#auth-note");
  if (auth.mode === "iam") {
    note.textContent = "This API takes only requests signed with AWS credentials (SigV4), which this page " +
      "cannot make. Use the CLI: cloudqueue list --sigv4.";
    note.hidden = false;
  }
  if (auth.mode !== "jwt") return auth;
  $("#auth").hidden = false;
  $("#auth-who").textContent = auth.signedIn ? `Signed in as ${auth.who}` : "";
  $("#sign-in").hidden = auth.signedIn;
  $("#sign-out").hidden = !auth.signedIn;
  $("#sign-in").addEventListener("click", () => auth.signIn().catch(reportUnexpected));
  $("#sign-out").addEventListener("click", () => {
    auth.signOut();
    window.location.reload();
  });
  if (!auth.signedIn) {
    note.textContent = "Sign in to submit jobs and see yours.";
    note.hidden = false;
  }
  return auth;
}

start().catch(reportUnexpected);
