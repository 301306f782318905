// The CloudQueue HTTP API, as promises. Every failure becomes an ApiError with a sentence
// a person can read; nothing here touches the page.

const TIMEOUT_MS = 20_000;

export class ApiError extends Error {
  /** status is 0 when no answer came back (network down, timeout, CORS). */
  constructor(message, { status = 0, code = "", details = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Worth trying again later: no answer, throttled, or a server-side failure. */
  get retryable() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

const STATUS_WORDS = {
  400: "bad request",
  401: "unauthorized",
  403: "forbidden",
  404: "not found",
  409: "conflict",
  413: "request too large",
  415: "unsupported media type",
  422: "rejected",
  429: "too many requests",
  500: "server error",
  502: "bad gateway",
  503: "service unavailable",
  504: "gateway timeout",
};

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): the status alone has to do.
  }
  const words = STATUS_WORDS[response.status] || "error";
  const detail = body?.error;
  if (detail && typeof detail === "object") {
    return new ApiError(`${detail.message || words} (HTTP ${response.status}, ${detail.code || words})`, {
      status: response.status,
      code: detail.code || "",
      details: detail.details ?? null,
    });
  }
  // API Gateway's own answers look like {"message": "Not Found"}.
  const message = typeof body?.message === "string" ? body.message : words;
  if (response.status === 401) {
    return new ApiError(`Sign in first: the API wants a valid token (${message}, HTTP 401).`, { status: 401 });
  }
  if (response.status === 403) {
    return new ApiError(`Your sign-in does not allow this (${message}, HTTP 403).`, { status: 403 });
  }
  return new ApiError(`${message} (HTTP ${response.status})`, { status: response.status, code: "" });
}

/** authHeaders(): the headers that say who calls (an Authorization: Bearer when signed in). */
export function createApi(baseUrl, { authHeaders = () => ({}) } = {}) {
  async function request(method, path, { body, headers = {}, query } = {}) {
    const url = new URL(baseUrl + path);
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
    }
    const init = { method, headers: { Accept: "application/json", ...authHeaders(), ...headers } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), TIMEOUT_MS);
    init.signal = timeout.signal;
    let response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      const why = timeout.signal.aborted ? `no answer within ${TIMEOUT_MS / 1000} s` : error.message;
      throw new ApiError(`Could not reach the API at ${baseUrl} (${why}).`);
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) throw await errorFrom(response);
    try {
      return { status: response.status, data: await response.json() };
    } catch {
      throw new ApiError(`The API answered ${method} ${path} with something that is not JSON.`, {
        status: response.status,
      });
    }
  }

  const id = (jobId) => encodeURIComponent(jobId);

  return {
    baseUrl,
    async jobTypes() {
      return (await request("GET", "/job-types")).data.jobTypes;
    },
    async workflow() {
      return (await request("GET", "/workflow")).data;
    },
    /** Resolves to {job, replayed}: replayed is true when an idempotency key matched an earlier submit. */
    async submitJob(type, payload, { idempotencyKey, runAt } = {}) {
      const headers = idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {};
      const body = runAt ? { type, payload, runAt } : { type, payload };
      const { status, data } = await request("POST", "/jobs", { body, headers });
      return { job: data, replayed: status === 200 };
    },
    async getJob(jobId) {
      return (await request("GET", `/jobs/${id(jobId)}`)).data;
    },
    async history(jobId) {
      return (await request("GET", `/jobs/${id(jobId)}/history`)).data;
    },
    async listJobs({ status, limit = 20, nextToken } = {}) {
      return (await request("GET", "/jobs", { query: { status, limit, nextToken } })).data;
    },
    async cancelJob(jobId) {
      return (await request("DELETE", `/jobs/${id(jobId)}`)).data;
    },
    /** The caller's recurring schedules (GET /schedules). */
    async listSchedules() {
      return (await request("GET", "/schedules")).data.schedules;
    },
    async createSchedule(schedule) {
      return (await request("POST", "/schedules", { body: schedule })).data;
    },
    /** action: "pause" | "resume" (POST) or "delete" (DELETE /schedules/{name}). */
    async changeSchedule(name, action) {
      const path = `/schedules/${encodeURIComponent(name)}`;
      return (await (action === "delete" ? request("DELETE", path) : request("POST", `${path}/${action}`))).data;
    },
    /** Put a FAILED job back in the queue under the same id (POST /jobs/{id}/rerun). */
    async rerunJob(jobId) {
      return (await request("POST", `/jobs/${id(jobId)}/rerun`)).data;
    },
  };
}
