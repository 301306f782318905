// Who the page acts as, per the API's AuthMode (config.json's `auth` block):
// - none: nobody signs in; every request goes as it is.
// - jwt: OpenID Connect authorization code + PKCE against the issuer named in config.json,
//   found through its discovery document (the local stack's issuer, or Cognito's managed
//   login when deployed). The access token lives in sessionStorage (this tab, until it is
//   closed), never in localStorage, and goes out as `Authorization: Bearer`.
// - iam: the API wants SigV4 signatures, which a browser page cannot make without AWS
//   credentials of its own: the page says so and points to the CLI.

const TOKEN_KEY = "cloudqueue.token";
const PENDING_KEY = "cloudqueue.signin";
const DEFAULT_SCOPES = ["openid", "cloudqueue/jobs.read", "cloudqueue/jobs.write"];

function base64url(bytes) {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText(length = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(length)));
}

async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** The claims of a JWT, unverified: only for showing who is signed in (the gateway verifies). */
export function claimsOf(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      Array.from(atob(part), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`).join(""),
    );
    const claims = JSON.parse(json);
    return claims && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

function storedToken() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const claims = token ? claimsOf(token) : null;
  // An expired token would only earn 401s: the page is signed out instead.
  if (!claims || (typeof claims.exp === "number" && claims.exp * 1000 <= Date.now())) {
    sessionStorage.removeItem(TOKEN_KEY);
    return null;
  }
  return { token, claims };
}

/** Where the issuer sends the browser back: this page, without query or fragment. */
function redirectUri() {
  return `${window.location.origin}${window.location.pathname}`;
}

async function discover(issuer) {
  const url = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`the issuer's discovery document answered HTTP ${response.status}`);
  const document = await response.json();
  if (!document.authorization_endpoint || !document.token_endpoint) {
    throw new Error("the issuer's discovery document names no authorization or token endpoint");
  }
  return document;
}

/** Finish a sign-in the issuer redirected back with (?code=&state=); nothing when there is none. */
async function completeSignIn(settings, discovery) {
  const query = new URLSearchParams(window.location.search);
  if (!query.has("code") && !query.has("error")) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
  sessionStorage.removeItem(PENDING_KEY);
  // The address bar loses the code at once: a reload must not replay it.
  window.history.replaceState(null, "", redirectUri() + window.location.hash);
  if (query.has("error")) throw new Error(`the issuer refused the sign-in (${query.get("error")})`);
  if (!pending || pending.state !== query.get("state")) {
    throw new Error("the sign-in answer does not match a sign-in this tab started; sign in again");
  }
  const response = await fetch(discovery.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: query.get("code"),
      redirect_uri: redirectUri(),
      client_id: settings.clientId,
      code_verifier: pending.verifier,
    }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || typeof body.access_token !== "string") {
    throw new Error(`the token endpoint refused the code (${body.error || `HTTP ${response.status}`})`);
  }
  sessionStorage.setItem(TOKEN_KEY, body.access_token);
  if (pending.hash) window.history.replaceState(null, "", redirectUri() + pending.hash);
  return storedToken();
}

/**
 * The page's auth for config.auth ({mode, issuer, clientId, scopes}). Resolves to
 * {mode, signedIn, who, headers(), signIn(), signOut()}; a failed sign-in rejects with a
 * sentence, and leaves the page signed out.
 */
export async function createAuth(settings) {
  const mode = settings?.mode || "none";
  const none = { mode, signedIn: false, who: "", headers: () => ({}), signIn() {}, signOut() {} };
  if (mode !== "jwt") return none;
  if (!settings.issuer || !settings.clientId) {
    throw new Error('config.json\'s auth block needs "issuer" and "clientId" for jwt mode');
  }
  const discovery = await discover(settings.issuer);
  let session = (await completeSignIn(settings, discovery)) || storedToken();
  const scopes = Array.isArray(settings.scopes) && settings.scopes.length ? settings.scopes : DEFAULT_SCOPES;
  return {
    mode,
    get signedIn() {
      return session !== null;
    },
    get who() {
      return session ? String(session.claims.username || session.claims["cognito:username"] || session.claims.sub || "") : "";
    },
    headers() {
      return session ? { Authorization: `Bearer ${session.token}` } : {};
    },
    async signIn() {
      const verifier = randomText(48);
      const state = randomText(16);
      sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, hash: window.location.hash }));
      const url = new URL(discovery.authorization_endpoint);
      url.search = new URLSearchParams({
        response_type: "code",
        client_id: settings.clientId,
        redirect_uri: redirectUri(),
        scope: scopes.join(" "),
        state,
        code_challenge: await challengeOf(verifier),
        code_challenge_method: "S256",
      }).toString();
      window.location.assign(url.href);
    },
    signOut() {
      sessionStorage.removeItem(TOKEN_KEY);
      session = null;
    },
  };
}
