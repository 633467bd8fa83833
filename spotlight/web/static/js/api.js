// fetch() for the JSON API: same-origin cookies, never cached, never throws for an HTTP
// status. Returns {status, ok, body}; a network failure is {status: 0, ok: false, body: null}.

export async function api(path, { method = "GET", body = undefined, signal = undefined } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      signal,
    });
  } catch (error) {
    if (error && error.name === "AbortError") throw error;
    return { status: 0, ok: false, body: null };
  }
  let parsed = null;
  try {
    parsed = await response.json();
  } catch {
    parsed = null;
  }
  return { status: response.status, ok: response.ok, body: parsed };
}

/** A short human message for a failed API answer. */
export function apiError(r, what = "request") {
  if (r.status === 0) return `${what}: cannot reach the server`;
  const detail = r.body && typeof r.body.detail === "string" ? r.body.detail : "";
  const code = r.body && typeof r.body.error === "string" ? r.body.error : `HTTP ${r.status}`;
  return `${what} failed (${code})${detail ? `: ${detail}` : ""}`;
}
