// Spotlight sign-in page: plain ES module, no dependencies, works offline.
// Asks /api/auth/me who we are, shows the PIN form or the signed-in view, and while signed
// in polls /api/diag to prove authenticated API access (epoch id and market source).

const $ = (id) => document.getElementById(id);
const POLL_MS = 5000;

const els = {
  loading: $("loading"),
  form: $("login-form"),
  pin: $("pin"),
  login: $("login"),
  error: $("login-error"),
  signedIn: $("signed-in"),
  status: $("signed-in-status"),
  logout: $("logout"),
  dot: $("live-dot"),
  live: $("live"),
  epoch: $("epoch"),
  source: $("source"),
};

let pollTimer = null;
let lockTimer = null;

async function api(path, options = {}) {
  const headers = { Accept: "application/json" };
  if (options.body) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    credentials: "same-origin",
    cache: "no-store",
    headers,
    ...options,
  });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return { status: response.status, ok: response.ok, body };
}

function setState(state) {
  document.body.dataset.state = state;
  els.loading.hidden = state !== "loading";
  els.form.hidden = state !== "signed-out";
  els.signedIn.hidden = state !== "signed-in";
}

function showError(text) {
  els.error.textContent = text;
  els.error.hidden = !text;
  els.pin.setAttribute("aria-invalid", text ? "true" : "false");
}

function stopLockout() {
  clearInterval(lockTimer);
  lockTimer = null;
  els.login.disabled = false;
}

function startLockout(seconds) {
  stopLockout();
  let left = Math.max(1, Math.ceil(Number(seconds) || 1));
  const render = () => showError(`Too many attempts. Try again in ${left} s.`);
  els.login.disabled = true;
  render();
  lockTimer = setInterval(() => {
    left -= 1;
    if (left <= 0) {
      stopLockout();
      showError("");
      els.pin.focus();
    } else {
      render();
    }
  }, 1000);
}

function showSignedOut(message = "") {
  stopPolling();
  setState("signed-out");
  showError(message);
  els.pin.value = "";
  els.pin.focus();
}

function showSignedIn(authMode) {
  stopLockout();
  showError("");
  setState("signed-in");
  // With SPOTLIGHT_AUTH=off there is no session to end.
  els.status.textContent = authMode === "off" ? "Signed in (authentication off)" : "Signed in";
  els.logout.hidden = authMode === "off";
  startPolling();
}

function setLive(state, text) {
  els.dot.dataset.state = state;
  els.live.textContent = text;
}

async function pollDiag() {
  try {
    const r = await api("/api/diag");
    if (r.status === 401) {
      showSignedOut("Your session ended. Sign in again.");
      return;
    }
    if (!r.ok || !r.body) {
      setLive("down", `server answered ${r.status}`);
      return;
    }
    els.epoch.textContent = r.body.epoch?.id ?? "?";
    els.source.textContent = r.body.market?.source ?? "?";
    const ready = r.body.ready && !r.body.shuttingDown;
    setLive(ready ? "up" : "down", ready ? "live" : "not ready");
  } catch {
    setLive("down", "server unreachable");
  }
}

function startPolling() {
  stopPolling();
  setLive("idle", "connecting\u2026");
  pollDiag();
  pollTimer = setInterval(pollDiag, POLL_MS);
}

function stopPolling() {
  clearInterval(pollTimer);
  pollTimer = null;
  els.epoch.textContent = "";
  els.source.textContent = "";
}

async function refresh() {
  setState("loading");
  try {
    const r = await api("/api/auth/me");
    if (r.ok && r.body && (r.body.authenticated || r.body.auth === "off")) {
      showSignedIn(r.body.auth);
    } else {
      showSignedOut();
    }
  } catch {
    showSignedOut("Cannot reach the server. Reload to try again.");
  }
}

// Sign in with a PIN; shows the outcome. Used by the form and by the one-click link.
async function signIn(pin, wrongMessage = "Wrong PIN.") {
  els.login.disabled = true;
  try {
    const r = await api("/api/auth/pin", { method: "POST", body: JSON.stringify({ pin }) });
    if (r.ok) {
      await refresh();
      return;
    }
    if (r.status === 429 || r.body?.error === "locked_out") {
      startLockout(r.body?.retryAfterS);
      return;
    }
    if (r.status === 401 || r.body?.error === "bad_pin") {
      // Add the server's detail only when it says more than "wrong PIN" (e.g. tries left).
      const detail = typeof r.body?.detail === "string" ? r.body.detail.trim() : "";
      const more = detail && !/^wrong pin\.?$/i.test(detail) ? ` ${detail}` : "";
      showError(`${wrongMessage}${more}`);
    } else {
      showError(`Sign-in failed (server answered ${r.status}).`);
    }
  } catch {
    showError("Cannot reach the server.");
  }
  if (!lockTimer) els.login.disabled = false;
  els.pin.select();
}

els.form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const pin = els.pin.value.trim();
  if (!pin) {
    showError("Enter your PIN.");
    els.pin.focus();
    return;
  }
  await signIn(pin);
});

els.logout.addEventListener("click", async () => {
  els.logout.disabled = true;
  try {
    await api("/api/auth/logout", { method: "POST" });
  } catch {
    // Fall through: ask the server who we are, which shows the truth either way.
  }
  els.logout.disabled = false;
  await refresh();
});

// The one-click link printed at start (/#pin=...) carries the PIN in the URL fragment, which
// browsers never send to a server or proxy (so it stays out of logs). Take it, remove it from
// the address bar and history, and sign in with it. Also on "hashchange": pasting the link
// into a tab that already shows this page changes only the fragment and does not reload it.
function takeLinkPin() {
  const pin = new URLSearchParams(location.hash.slice(1)).get("pin");
  if (pin) {
    history.replaceState(null, "", location.pathname + location.search);
  }
  return pin;
}

async function signInWithLink(pin) {
  if (pin && document.body.dataset.state === "signed-out") {
    await signIn(pin, "That sign-in link's PIN was wrong. Enter your PIN.");
  }
}

window.addEventListener("hashchange", () => signInWithLink(takeLinkPin()));
const linkPin = takeLinkPin();
refresh().then(() => signInWithLink(linkPin));
