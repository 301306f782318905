// The page's settings: config.json beside index.html names the API (the local stack
// generates it; on AWS the deploy step uploads it).

export class ConfigError extends Error {}

export async function loadConfig(url = "config.json") {
  let response;
  try {
    response = await fetch(url, { cache: "no-store" });
  } catch (error) {
    throw new ConfigError(`Could not read ${url} (${error.message}). Open the page through its web server, not as a file.`);
  }
  if (!response.ok) {
    throw new ConfigError(
      `Could not read ${url}: the server answered HTTP ${response.status}. ` +
        "Upload a config.json with the API URL next to index.html (see the README).",
    );
  }
  let config;
  try {
    config = await response.json();
  } catch {
    throw new ConfigError(`${url} is not valid JSON.`);
  }
  if (!config || typeof config.apiUrl !== "string" || !config.apiUrl) {
    throw new ConfigError(`${url} has no "apiUrl": it must name the API, e.g. {"apiUrl": "https://…"}.`);
  }
  return {
    apiUrl: new URL(config.apiUrl, window.location.href).href.replace(/\/+$/, ""),
    environment: config.environment || "",
    region: config.region || "",
    // {mode: "none" | "jwt" | "iam", issuer, clientId, scopes}; absent: the public demo.
    auth: config.auth && typeof config.auth === "object" ? config.auth : { mode: "none" },
  };
}
