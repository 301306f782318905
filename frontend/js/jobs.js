// Recent jobs, newest first: a status filter, pages of ten, a #<jobId> link that opens
// each job, and cancel for the ones still QUEUED.

import { h, replace } from "./dom.js";
import { formatTime } from "./format.js";
import { statusBadge } from "./job-view.js";
import { announce, clearError, showError } from "./notices.js";

const PAGE_SIZE = 10;
const ERROR_KEY = "job-list";

function shortId(id) {
  return id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id;
}

export function createJobList(section, { api, onChange }) {
  const filter = section.querySelector("#status-filter");
  const refreshButton = section.querySelector("#refresh-jobs");
  const list = section.querySelector("#job-list");
  const more = section.querySelector("#more-jobs");
  const state = section.querySelector("#jobs-state");
  let nextToken = null;
  let openId = null;
  let loading = false;

  function row(job) {
    const cancel = job.status === "QUEUED"
      ? h("button", {
          type: "button",
          class: "button small danger",
          "aria-label": `Cancel job ${job.jobId}`,
          onclick: (event) => cancelJob(job, event.currentTarget),
        }, "Cancel")
      : null;
    return h("li", { class: "job-row", "data-job-id": job.jobId, "data-status": job.status },
      h("a", {
        class: "job-link",
        href: `#${encodeURIComponent(job.jobId)}`,
        title: job.jobId,
        "aria-current": job.jobId === openId ? "true" : null,
      },
        h("span", { class: "job-type" }, job.type),
        h("code", { class: "job-short-id" }, shortId(job.jobId)),
      ),
      h("time", { class: "job-time", datetime: job.createdAt }, formatTime(job.createdAt)),
      statusBadge(job.status),
      cancel,
    );
  }

  function findRow(jobId) {
    return [...list.children].find((item) => item.dataset.jobId === jobId) || null;
  }

  function showState() {
    state.textContent = list.children.length ? "" : filter.value ? `No ${filter.value.replaceAll("_", " ").toLowerCase()} jobs.` : "No jobs yet.";
    more.hidden = !nextToken;
  }

  async function load({ append = false } = {}) {
    if (loading) return;
    loading = true;
    refreshButton.disabled = true;
    more.disabled = true;
    section.setAttribute("aria-busy", "true");
    try {
      const page = await api.listJobs({ status: filter.value || undefined, limit: PAGE_SIZE, nextToken: append ? nextToken : undefined });
      clearError(ERROR_KEY);
      nextToken = page.nextToken || null;
      const rows = page.jobs.filter((job) => !append || !findRow(job.jobId)).map(row);
      if (append) list.append(...rows);
      else replace(list, rows);
      showState();
    } catch (error) {
      showError(error.message, { title: "Could not load the recent jobs", key: ERROR_KEY });
      state.textContent = "The list could not be loaded. Use Refresh to try again.";
    } finally {
      loading = false;
      refreshButton.disabled = false;
      more.disabled = false;
      section.removeAttribute("aria-busy");
    }
  }

  async function cancelJob(job, button) {
    button.disabled = true;
    button.textContent = "Cancelling…";
    try {
      const cancelled = await api.cancelJob(job.jobId);
      announce(`Job ${job.jobId} is cancelled.`);
      onChange(cancelled);
    } catch (error) {
      showError(error.message, { title: "The job was not cancelled", key: `cancel:${job.jobId}` });
      // The job has moved on (409): show where it is now.
      api.getJob(job.jobId).then(update, () => {});
    }
  }

  /** A job changed (submitted, polled, cancelled): redraw its row, or add it at the top. */
  function update(job) {
    const existing = findRow(job.jobId);
    const wanted = !filter.value || filter.value === job.status;
    if (existing) {
      const hadFocus = existing.contains(document.activeElement);
      const fresh = row(job);
      existing.replaceWith(fresh);
      if (hadFocus) fresh.querySelector("a").focus();
    } else if (wanted) {
      list.prepend(row(job));
    }
    showState();
  }

  /** Mark the open job's row. */
  function markOpen(jobId) {
    openId = jobId;
    for (const link of list.querySelectorAll(".job-link")) {
      if (link.closest(".job-row").dataset.jobId === jobId) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    }
  }

  filter.addEventListener("change", () => load());
  refreshButton.addEventListener("click", () => load());
  more.addEventListener("click", () => load({ append: true }));

  return { load, update, markOpen };
}
