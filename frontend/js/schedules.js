// The reader's recurring schedules: the list (each with pause or resume, and delete) and the
// form that creates one from the job described in the submit form.

import { h, replace } from "./dom.js";
import { showError } from "./notices.js";
import { statusBadge } from "./job-view.js";

export function createScheduleList(section, { api, currentJob }) {
  const list = section.querySelector("#schedule-list");
  const state = section.querySelector("#schedules-state");
  const form = section.querySelector("#schedule-form");
  const status = section.querySelector("#schedule-status");

  async function change(schedule, action, button) {
    button.disabled = true;
    try {
      await api.changeSchedule(schedule.name, action);
      await load();
    } catch (error) {
      showError(error.message, { title: `The schedule was not ${action === "delete" ? "deleted" : action + "d"}` });
      button.disabled = false;
    }
  }

  function row(schedule) {
    const toggle = schedule.state === "ENABLED" ? "pause" : "resume";
    const pauseOrResume = h("button", {
      type: "button", class: "button small", "aria-label": `${toggle} schedule ${schedule.name}`,
      onclick: (event) => change(schedule, toggle, event.currentTarget),
    }, toggle === "pause" ? "Pause" : "Resume");
    const remove = h("button", {
      type: "button", class: "button small danger", "aria-label": `Delete schedule ${schedule.name}`,
      onclick: (event) => change(schedule, "delete", event.currentTarget),
    }, "Delete");
    return h("li", { class: "job-row schedule-row", "data-schedule": schedule.name, "data-state": schedule.state },
      h("div", { class: "schedule-what" },
        h("span", null, h("strong", null, schedule.name), " ", statusBadge(schedule.state)),
        h("span", null, h("code", null, schedule.expression), h("span", { class: "muted" },
          ` ${schedule.timezone} · ${schedule.job.type}` + (schedule.job.concurrencyKey ? ` · key ${schedule.job.concurrencyKey}` : "")))),
      h("div", { class: "row-actions" }, pauseOrResume, remove));
  }

  async function load() {
    try {
      const schedules = await api.listSchedules();
      replace(list, ...schedules.map(row));
      state.textContent = schedules.length ? "" : "No schedules yet.";
    } catch (error) {
      state.textContent = `The schedules could not be loaded: ${error.message}`;
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const job = currentJob();
    if (job === null) {
      status.textContent = "The job in the form above is not valid: fix it first.";
      return;
    }
    const data = new FormData(form);
    try {
      const made = await api.createSchedule({
        name: String(data.get("name") || "").trim(),
        expression: String(data.get("expression") || "").trim(),
        timezone: String(data.get("timezone") || "UTC").trim() || "UTC",
        job,
      });
      status.textContent = `Created schedule ${made.name}.`;
      await load();
    } catch (error) {
      status.textContent = error.message;
    }
  });
  section.querySelector("#refresh-schedules").addEventListener("click", load);
  return { load };
}
