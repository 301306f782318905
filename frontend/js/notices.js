// Messages for people: errors in an alert region (read out at once by screen readers),
// progress in a polite status region. Nothing is only logged to the console.

let errorRegion = null;
let statusRegion = null;

export function initNotices(errors, status) {
  errorRegion = errors;
  statusRegion = status;
}

/** Show an error in words; the same key replaces its earlier message instead of stacking. */
export function showError(message, { title = "Something went wrong", key = message } = {}) {
  if (!errorRegion) return;
  for (const existing of errorRegion.querySelectorAll(".notice")) {
    if (existing.dataset.key === key) existing.remove();
  }
  const dismiss = document.createElement("button");
  dismiss.type = "button";
  dismiss.className = "notice-dismiss";
  dismiss.setAttribute("aria-label", `Dismiss: ${title}`);
  dismiss.textContent = "×";
  const body = document.createElement("div");
  const heading = document.createElement("strong");
  heading.textContent = title;
  const text = document.createElement("p");
  text.textContent = message;
  body.append(heading, text);
  const notice = document.createElement("div");
  notice.className = "notice notice-error";
  notice.dataset.key = key;
  notice.append(body, dismiss);
  dismiss.addEventListener("click", () => notice.remove());
  errorRegion.append(notice);
  while (errorRegion.children.length > 4) errorRegion.firstElementChild.remove();
}

export function clearError(key) {
  for (const existing of errorRegion?.querySelectorAll(".notice") || []) {
    if (existing.dataset.key === key) existing.remove();
  }
}

/** A short progress message for assistive technology ("Job … succeeded"). */
export function announce(message) {
  if (statusRegion) statusRegion.textContent = message;
}
