// Replay controls (issue #6's API, docs/replay.md): pick a date, start, pause/resume, change
// speed, stop, and see progress (GET /api/replay/<id> every second while one runs). The
// dashboard switches its stream and history to the replay (`replay=<id>`) through
// ``onEnter`` and back to live through ``onExit``.

import { api, apiError } from "./api.js";
import { formatNyDateTime } from "./time.js";
import { el } from "./panels.js";

const $ = (id) => document.getElementById(id);
const ACTIVE = new Set(["starting", "running", "paused"]);
const SPEEDS = [1, 2, 5, 10, 30, 60, 100, 300, 1000, "max"];
const POLL_MS = 1000;
const STORE_KEY = "spotlight.replay";

export const isActive = (r) => Boolean(r && ACTIVE.has(r.state));

/**
 * The speed as asked and, when the replay is clearly slower than that (slow steps, a heavy
 * tape), the speed it really reaches: "100\u00d7 (reaching 37\u00d7)". Pure.
 */
export function speedText(r) {
  if (!r || r.speed === "max") return "max";
  const asked = `${r.speed}\u00d7`;
  const reached = r.speedReached;
  if (r.state !== "running" || typeof reached !== "number" || !Number.isFinite(reached)) return asked;
  if (reached >= 0.9 * r.speed) return asked;
  const shown = reached >= 10 ? Math.round(reached) : Math.round(reached * 10) / 10;
  return `${asked} (reaching ${shown}\u00d7)`;
}

export class ReplayPanel {
  constructor({ onEnter, onExit, onAuthLost }) {
    this.onEnter = onEnter;
    this.onExit = onExit;
    this.onAuthLost = onAuthLost;
    this.current = null; // the replay being watched (R), or null for live
    this.pollTimer = null;
    this.polls = 0;
    this.available = false;
    this.busy = false;
    this.els = {
      panel: $("replay-panel"),
      date: $("replay-date"),
      from: $("replay-from"),
      speed: $("replay-speed"),
      start: $("replay-start"),
      pause: $("replay-pause"),
      stop: $("replay-stop"),
      live: $("replay-live"),
      progress: $("replay-progress"),
      position: $("replay-position"),
      state: $("replay-state"),
      error: $("replay-error"),
    };
    this.els.start.addEventListener("click", () => this.start());
    this.els.pause.addEventListener("click", () => this.togglePause());
    this.els.stop.addEventListener("click", () => this.stop());
    this.els.live.addEventListener("click", () => this.backToLive());
    this.els.speed.addEventListener("change", () => this.changeSpeed());
  }

  /** Load what can be replayed; re-attach to a replay this tab was watching. */
  async init() {
    const r = await api("/api/replay");
    if (r.status === 401) return this.onAuthLost();
    if (!r.ok || !r.body || !Array.isArray(r.body.dates)) {
      this.available = false;
      this.setError(r.status === 404 ? "Replays are not available on this server." : apiError(r, "loading replays"));
      this.render();
      return;
    }
    this.available = true;
    this.setError("");
    const maxSpeed = r.body.limits && Number.isFinite(r.body.limits.maxSpeed) ? r.body.limits.maxSpeed : 1000;
    this.fillSpeeds(maxSpeed);
    this.fillDates(r.body.dates);
    const saved = sessionStorage.getItem(STORE_KEY);
    const mine = (r.body.replays || []).find((x) => x && x.id === saved && isActive(x));
    if (mine) {
      this.current = mine;
      this.onEnter(mine);
      this.startPolling();
    }
    this.render();
  }

  fillSpeeds(maxSpeed) {
    const keep = this.els.speed.value || "10";
    this.els.speed.replaceChildren(
      ...SPEEDS.filter((s) => s === "max" || s <= maxSpeed).map((s) =>
        el("option", { value: String(s), text: s === "max" ? "max" : `${s}\u00d7` }),
      ),
    );
    this.els.speed.value = [...this.els.speed.options].some((o) => o.value === keep) ? keep : "10";
  }

  fillDates(dates) {
    // One option per date and origin with data: the default origin's value is the bare date;
    // another origin (a partly recorded day rebuilt in full instead) is "date|origin".
    const options = dates
      .filter((d) => d && typeof d.date === "string")
      .flatMap((d) => {
        const origins = Array.isArray(d.origins) && d.origins.length ? d.origins : [d.origin ?? "?"];
        return origins.map((origin, i) =>
          el("option", { value: i === 0 ? d.date : `${d.date}|${origin}`, text: `${d.date} \u00b7 ${origin}` }),
        );
      });
    this.els.date.replaceChildren(...options);
    if (!options.length) this.els.date.append(el("option", { value: "", text: "no dates" }));
  }

  speedValue() {
    const v = this.els.speed.value;
    return v === "max" ? "max" : Number(v);
  }

  setError(text) {
    this.els.error.textContent = text;
    this.els.error.hidden = !text;
  }

  async call(path, body, what) {
    this.busy = true;
    this.render();
    const r = await api(path, { method: "POST", body });
    this.busy = false;
    if (r.status === 401) {
      this.onAuthLost();
      return null;
    }
    if (!r.ok || !r.body || !r.body.replay) {
      this.setError(apiError(r, what));
      this.render();
      return null;
    }
    this.setError("");
    return r.body.replay;
  }

  async start() {
    const [date, origin] = this.els.date.value.split("|");
    if (!date) return this.setError("Pick a date to replay.");
    // "The open" is the server's default for a replay with an index in it, which also falls
    // back to midnight for today before 09:30; midnight is asked for explicitly.
    const from = this.els.from.value === "midnight" ? { start: "midnight" } : {};
    const body = { date, speed: this.speedValue(), ...from, ...(origin ? { origin } : {}) };
    const replay = await this.call("/api/replay/start", body, "starting the replay");
    if (!replay) return;
    this.current = replay;
    sessionStorage.setItem(STORE_KEY, replay.id);
    this.onEnter(replay);
    this.startPolling();
    this.render();
  }

  async togglePause() {
    if (!this.current) return;
    const paused = this.current.state === "paused";
    const replay = await this.call(
      paused ? "/api/replay/resume" : "/api/replay/pause",
      { id: this.current.id },
      paused ? "resuming" : "pausing",
    );
    if (replay) this.update(replay);
  }

  async changeSpeed() {
    if (!isActive(this.current)) return;
    const replay = await this.call("/api/replay/speed", { id: this.current.id, speed: this.speedValue() }, "changing speed");
    if (replay) this.update(replay);
  }

  async stop() {
    if (!this.current) return;
    const id = this.current.id;
    const replay = await this.call("/api/replay/stop", { id }, "stopping the replay");
    // Whatever the answer (it may have ended meanwhile), stopping returns to live.
    if (replay || (this.current && this.current.id === id)) this.backToLive();
  }

  backToLive() {
    this.stopPolling();
    this.current = null;
    sessionStorage.removeItem(STORE_KEY);
    this.setError("");
    this.onExit();
    this.render();
  }

  /**
   * The stream said the replay is over: `replay:end` (reason "finished", "stopped" from
   * elsewhere, or "failed"), or its id answered 404 ("gone", e.g. the server restarted).
   * The chart stays as it was, with "replay ended" and a button back to live. (A stop from
   * this page has already switched to live, so there is nothing to do then.)
   */
  ended(reason, error = null) {
    if (!this.current || this.current.state === "ended") return;
    this.stopPolling();
    const progress = reason === "finished" ? 1 : this.current.progress;
    this.current = { ...this.current, state: "ended", endReason: reason, progress };
    sessionStorage.removeItem(STORE_KEY);
    if (reason === "failed") this.setError(`Replay failed${error ? `: ${error}` : "."}`);
    this.render();
  }

  update(replay) {
    if (!this.current || replay.id !== this.current.id) return;
    this.current = replay;
    if (!isActive(replay)) this.stopPolling();
    this.render();
  }

  startPolling() {
    this.stopPolling();
    this.pollTimer = setInterval(() => this.poll(), POLL_MS);
  }

  stopPolling() {
    clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  async poll() {
    if (!this.current) return this.stopPolling();
    const id = this.current.id;
    const r = await api(`/api/replay/${encodeURIComponent(id)}`);
    this.polls += 1;
    this.els.panel.dataset.polls = String(this.polls);
    if (!this.current || this.current.id !== id) return;
    if (r.status === 401) return this.onAuthLost();
    if (r.status === 404) return this.ended("gone");
    if (r.ok && r.body && r.body.replay) this.update(r.body.replay);
  }

  render() {
    const e = this.els;
    const r = this.current;
    const active = isActive(r);
    e.panel.dataset.state = r ? r.state : this.available ? "idle" : "unavailable";
    e.start.disabled = !this.available || this.busy || active || !e.date.value;
    e.date.disabled = !this.available || active;
    e.from.disabled = !this.available || active;
    e.speed.disabled = !this.available || (r !== null && !active);
    e.pause.disabled = !active || this.busy || r.state === "starting";
    e.pause.textContent = r && r.state === "paused" ? "Resume" : "Pause";
    e.stop.disabled = !active || this.busy;
    e.live.hidden = !r || active;
    const progress = r && Number.isFinite(r.progress) ? Math.min(1, Math.max(0, r.progress)) : 0;
    e.progress.value = progress;
    e.progress.textContent = `${Math.round(progress * 100)}%`;
    e.progress.dataset.value = String(progress);
    if (!r) {
      e.state.textContent = this.available ? "live" : "";
      e.position.textContent = "";
      return;
    }
    const speed = speedText(r);
    const why = r.endReason && r.endReason !== "finished" ? ` (${r.endReason})` : "";
    const label = r.state === "ended" ? `replay ended${why}` : r.state;
    e.state.textContent = `${label} \u00b7 ${r.date ?? ""} \u00b7 ${speed} \u00b7 ${Math.round(progress * 100)}%`;
    e.position.textContent = Number.isFinite(r.positionMs) ? formatNyDateTime(r.positionMs) + " ET" : "";
    if (r.state === "failed" && r.error) this.setError(`Replay failed: ${r.error}`);
    if (active && e.speed.value !== String(r.speed) && [...e.speed.options].some((o) => o.value === String(r.speed))) {
      if (document.activeElement !== e.speed) e.speed.value = String(r.speed);
    }
  }
}
