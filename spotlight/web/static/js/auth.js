// Sign-in: asks /api/auth/me who we are, shows the PIN form or the dashboard. The PIN form,
// the lockout countdown and the one-click link (/#pin=...) work as docs/security.md says.
// body[data-state] is "loading", "signed-out" or "signed-in" (the browser tests wait on it).

import { api } from "./api.js";

const $ = (id) => document.getElementById(id);

export class Auth {
  /** ``onSignedIn(authMode, login)`` and ``onSignedOut()`` switch the dashboard on and off
   * (``login``: /api/auth/me's opaque id of the session). */
  constructor({ onSignedIn, onSignedOut }) {
    this.onSignedIn = onSignedIn;
    this.onSignedOut = onSignedOut;
    this.lockTimer = null;
    this.signedIn = false;
    this.els = {
      loading: $("loading"),
      loginView: $("login-view"),
      form: $("login-form"),
      pin: $("pin"),
      login: $("login"),
      error: $("login-error"),
      signedIn: $("signed-in"),
      status: $("signed-in-status"),
      logout: $("logout"),
    };
    this.els.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const pin = this.els.pin.value.trim();
      if (!pin) {
        this.showError("Enter your PIN.");
        this.els.pin.focus();
        return;
      }
      this.signIn(pin);
    });
    this.els.logout.addEventListener("click", () => this.signOut());
    // The one-click link printed at start (/#pin=...) carries the PIN in the URL fragment,
    // which browsers never send to a server or proxy (so it stays out of logs). Take it,
    // remove it from the address bar and history, and sign in with it. Also on
    // "hashchange": pasting the link into a tab already showing the page only changes the
    // fragment and does not reload it.
    window.addEventListener("hashchange", () => this.signInWithLink(takeLinkPin()));
  }

  async boot() {
    const linkPin = takeLinkPin();
    await this.refresh();
    await this.signInWithLink(linkPin);
  }

  setState(state) {
    document.body.dataset.state = state;
    this.els.loading.hidden = state !== "loading";
    this.els.loginView.hidden = state === "signed-in";
    this.els.form.hidden = state !== "signed-out";
    this.els.signedIn.hidden = state !== "signed-in";
  }

  showError(text) {
    this.els.error.textContent = text;
    this.els.error.hidden = !text;
    this.els.pin.setAttribute("aria-invalid", text ? "true" : "false");
  }

  stopLockout() {
    clearInterval(this.lockTimer);
    this.lockTimer = null;
    this.els.login.disabled = false;
  }

  startLockout(seconds) {
    this.stopLockout();
    let left = Math.max(1, Math.ceil(Number(seconds) || 1));
    const render = () => this.showError(`Too many attempts. Try again in ${left} s.`);
    this.els.login.disabled = true;
    render();
    this.lockTimer = setInterval(() => {
      left -= 1;
      if (left <= 0) {
        this.stopLockout();
        this.showError("");
        this.els.pin.focus();
      } else {
        render();
      }
    }, 1000);
  }

  showSignedOut(message = "") {
    if (this.signedIn) {
      this.signedIn = false;
      this.onSignedOut();
    }
    this.setState("signed-out");
    this.showError(message);
    this.els.pin.value = "";
    this.els.pin.focus();
  }

  showSignedIn(authMode, login = null) {
    this.stopLockout();
    this.showError("");
    this.setState("signed-in");
    // With SPOTLIGHT_AUTH=off there is no session to end.
    this.els.status.textContent =
      authMode === "off" ? "Signed in (authentication off)" : "Signed in";
    this.els.logout.hidden = authMode === "off";
    if (!this.signedIn) {
      this.signedIn = true;
      this.onSignedIn(authMode, login);
    }
  }

  /** Ask the server who we are and show the matching view. */
  async refresh(signedOutMessage = "") {
    if (!this.signedIn) this.setState("loading");
    const r = await api("/api/auth/me");
    if (r.ok && r.body && (r.body.authenticated || r.body.auth === "off")) {
      this.showSignedIn(r.body.auth, r.body.login);
      return true;
    }
    this.showSignedOut(r.status === 0 ? "Cannot reach the server. Reload to try again." : signedOutMessage);
    return false;
  }

  /** The dashboard lost its session (a 401 somewhere): back to the form. */
  async sessionLost() {
    return this.refresh("Your session ended. Sign in again.");
  }

  // Sign in with a PIN; shows the outcome. Used by the form and by the one-click link.
  async signIn(pin, wrongMessage = "Wrong PIN.") {
    this.els.login.disabled = true;
    const r = await api("/api/auth/pin", { method: "POST", body: { pin } });
    if (r.ok) {
      await this.refresh();
      return;
    }
    if (r.status === 429 || r.body?.error === "locked_out") {
      this.startLockout(r.body?.retryAfterS);
      return;
    }
    if (r.status === 401 || r.body?.error === "bad_pin") {
      // Add the server's detail only when it says more than "wrong PIN" (e.g. tries left).
      const detail = typeof r.body?.detail === "string" ? r.body.detail.trim() : "";
      const more = detail && !/^wrong pin\.?$/i.test(detail) ? ` ${detail}` : "";
      this.showError(`${wrongMessage}${more}`);
    } else if (r.status === 0) {
      this.showError("Cannot reach the server.");
    } else {
      this.showError(`Sign-in failed (server answered ${r.status}).`);
    }
    if (!this.lockTimer) this.els.login.disabled = false;
    this.els.pin.select();
  }

  async signOut() {
    this.els.logout.disabled = true;
    await api("/api/auth/logout", { method: "POST" });
    this.els.logout.disabled = false;
    // Ask the server who we are, which shows the truth either way.
    if (this.signedIn) {
      this.signedIn = false;
      this.onSignedOut();
    }
    await this.refresh();
  }

  async signInWithLink(pin) {
    if (pin && document.body.dataset.state === "signed-out") {
      await this.signIn(pin, "That sign-in link's PIN was wrong. Enter your PIN.");
    }
  }
}

function takeLinkPin() {
  const pin = new URLSearchParams(location.hash.slice(1)).get("pin");
  if (pin) history.replaceState(null, "", location.pathname + location.search);
  return pin;
}
