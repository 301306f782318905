// Recent jobs, newest first: a status filter, pages of ten, a #<jobId> link that opens
// each job, cancel for the ones still QUEUED, and a quiet refresh while any job is moving.

import { h, replace } from "./dom.js";
import { formatTime } from "./format.js";
import { statusBadge } from "./job-view.js";
import { announce, clearError, showError } from "./notices.js";

const PAGE_SIZE = 10;
const AUTO_REFRESH_MS = 10_000;
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
  let pages = 0;
  // The newest copy seen of each job. A list page can be older than a poll or a cancel made
  // while it loaded, and an unfiltered page can hold a job twice when its status changed
  // while the API went through the statuses: the newest updatedAt wins.
  const latest = new Map();

  function newest(job) {
    const seen = latest.get(job.jobId);
    if (seen && seen.updatedAt > job.updatedAt) return seen;
    latest.set(job.jobId, job);
    return job;
  }

  function row(job) {
    const cancel = job.status === "QUEUED" || job.status === "SCHEDULED"
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
      page.jobs.forEach(newest);
      const ids = [...new Set(page.jobs.map((job) => job.jobId))];
      const rows = ids.filter((id) => !append || !findRow(id)).map((id) => row(latest.get(id)));
      if (append) list.append(...rows);
      else replace(list, rows);
      pages = append ? pages + 1 : 1;
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
  function update(changed) {
    const job = newest(changed);
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

  // While a listed job is still moving, refresh the first page now and then; not while the
  // reader is in the list (rows would change under them) or has paged further.
  setInterval(() => {
    const moving = list.querySelector('.job-row[data-status="SCHEDULED"], .job-row[data-status="QUEUED"], .job-row[data-status="IN_PROGRESS"]');
    if (moving && pages === 1 && document.visibilityState === "visible" && !section.contains(document.activeElement)) load();
  }, AUTO_REFRESH_MS);

  filter.addEventListener("change", () => load());
  refreshButton.addEventListener("click", () => load());
  more.addEventListener("click", () => load({ append: true }));

  return { load, update, markOpen };
}
