// Entry point of the page: sign-in first, then the dashboard.
import { Auth } from "./auth.js";
import { Dashboard } from "./dashboard.js";

let auth = null;
const dashboard = new Dashboard({ onAuthLost: () => auth.sessionLost() });
auth = new Auth({
  onSignedIn: () => dashboard.start(),
  onSignedOut: () => dashboard.stop(),
});
// Read-only hooks for the browser tests and for curious people in the console.
window.spotlight = { debug: () => dashboard.debug() };
auth.boot();
