// Entry point of the page: sign-in first, then the dashboard.
import { Auth } from "./auth.js";
import { Dashboard } from "./dashboard.js";
import { VoicePanel } from "./voice-panel.js";

let auth = null;
const dashboard = new Dashboard({ onAuthLost: () => auth.sessionLost() });
// The voice coach answers about what the page shows: the live market or the replay.
const voice = new VoicePanel({
  root: document.getElementById("voice-panel"),
  replay: () => dashboard.replay?.id ?? null,
});
auth = new Auth({
  onSignedIn: (_authMode, login) => {
    dashboard.start(login);
    voice.start();
  },
  onSignedOut: () => {
    dashboard.stop();
    voice.stop();
  },
});
// Read-only hooks for the browser tests and for curious people in the console.
window.spotlight = { debug: () => dashboard.debug(), voice: () => voice.debug() };
auth.boot();
