// The voice coach on the dashboard: push-to-talk, a typed question, the transcript, the
// connection's state. It talks through voice.js (one WebSocket to /voice/ws) and plays the
// answers with voice-audio.js. docs/voice.md has the protocol; docs/web-client.md the page.
//
// section#voice-panel[data-voice-state] is the connection's phase (connecting, open,
// waiting, gave-up, locked, ended, closed) and [data-attempt], [data-opens] the attempt in
// flight or next and how many sessions opened so far: the browser test waits on them.

import { VoiceConnection } from "./voice.js";
import { Microphone, Player } from "./voice-audio.js";

const MAX_LINES = 50; // transcript lines kept on screen

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

export class VoicePanel {
  /** ``replay()``: the id of the replay the page watches, or null for live. */
  constructor({ root, replay = () => null }) {
    this.root = root;
    this.replay = replay;
    this.build();
    this.player = new Player();
    this.mic = null;
    this.talking = false;
    this.framesSent = 0;
    this.turns = new Map(); // turn -> its coach line
    this.opens = 0;
    this.countdown = null;
    this.conn = new VoiceConnection({
      url: () => this.url(),
      speech: () => this.speech.checked,
      onState: (s) => this.onState(s),
      onMessage: (type, payload) => this.onMessage(type, payload),
      onAudio: (buf) => {
        if (this.speech.checked) this.player.play(buf);
      },
    });
    this.feed = null;
    // Follow the page between live and a replay (the dashboard sets body[data-mode]).
    this.observer = new MutationObserver(() => this.followFeed());
  }

  build() {
    const r = this.root;
    r.replaceChildren();
    r.append(el("h2", { id: "voice-title" }, "Voice coach"));
    const status = el("div", { class: "voice-status" });
    this.dot = el("span", { class: "dot", "data-state": "idle", "aria-hidden": "true" });
    this.stateText = el("span", { id: "voice-state", "data-testid": "voice-state" }, "off");
    this.retryButton = el("button", { id: "voice-retry", type: "button", class: "small", hidden: "" }, "Retry");
    status.append(this.dot, this.stateText, this.retryButton);
    const controls = el("div", { class: "voice-controls" });
    this.talk = el("button", { id: "voice-talk", type: "button", "aria-pressed": "false", disabled: "" }, "Hold to talk");
    const label = el("label", { class: "small" });
    this.speech = el("input", { id: "voice-speech", type: "checkbox", checked: "" });
    label.append(this.speech, document.createTextNode(" speak answers"));
    controls.append(this.talk, label);
    this.form = el("form", { id: "voice-form", class: "voice-form" });
    this.input = el("input", { id: "voice-text", type: "text", maxlength: "500", placeholder: "or type a question", "aria-label": "Question" });
    this.ask = el("button", { id: "voice-ask", type: "submit", class: "small", disabled: "" }, "Ask");
    this.form.append(this.input, this.ask);
    this.notice = el("p", { id: "voice-notice", class: "small muted", hidden: "" });
    this.list = el("ol", { id: "voice-transcript", class: "list voice-transcript", "data-count": "0", "aria-live": "polite" });
    r.append(status, controls, this.form, this.notice, this.list);

    this.retryButton.addEventListener("click", () => this.conn.start());
    this.talk.addEventListener("pointerdown", (e) => {
      e.preventDefault();
      this.startTalking();
    });
    for (const name of ["pointerup", "pointerleave", "pointercancel"]) {
      this.talk.addEventListener(name, () => this.stopTalking());
    }
    this.talk.addEventListener("keydown", (e) => {
      if (e.code === "Space" && !e.repeat) {
        e.preventDefault();
        this.startTalking();
      }
    });
    this.talk.addEventListener("keyup", (e) => {
      if (e.code === "Space") this.stopTalking();
    });
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = this.input.value.trim();
      if (text && this.conn.send({ type: "input.text", text })) {
        this.player.stop();
        this.input.value = "";
      }
    });
    this.speech.addEventListener("change", () => {
      if (!this.speech.checked) this.player.stop();
      if (this.conn.state.phase !== "closed" && this.conn.state.phase !== "idle") this.conn.start();
    });
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const replay = this.replay();
    return `${scheme}://${location.host}/voice/ws${replay ? `?replay=${encodeURIComponent(replay)}` : ""}`;
  }

  start() {
    this.feed = this.replay();
    this.observer.observe(document.body, { attributes: true, attributeFilter: ["data-mode"] });
    this.conn.start();
    clearInterval(this.countdown);
    this.countdown = setInterval(() => this.renderState(), 250);
  }

  stop() {
    this.observer.disconnect();
    clearInterval(this.countdown);
    this.countdown = null;
    this.stopTalking(false);
    this.player.stop();
    this.conn.stop();
  }

  followFeed() {
    const feed = this.replay();
    if (feed === this.feed) return;
    this.feed = feed;
    this.player.stop();
    this.line("notice", feed ? `Now answering about replay ${feed}.` : "Now answering about the live market.");
    this.conn.start();
  }

  // -- push-to-talk -------------------------------------------------------------------------
  async startTalking() {
    if (this.talking || !this.conn.open) return;
    this.talking = true;
    this.framesSent = 0;
    this.player.stop();
    this.conn.send({ type: "response.cancel" }); // talking over the coach stops it
    this.talk.setAttribute("aria-pressed", "true");
    this.talk.textContent = "Listening\u2026 release to ask";
    this.mic = new Microphone({
      onFrame: (buf) => {
        if (this.conn.sendAudio(buf)) this.framesSent += 1;
      },
    });
    try {
      await this.mic.start();
    } catch (error) {
      this.talking = false;
      this.mic = null;
      this.resetTalk();
      this.line("error", `Microphone: ${error.message}`);
    }
  }

  async stopTalking(commit = true) {
    if (!this.talking) return;
    this.talking = false;
    const mic = this.mic;
    this.mic = null;
    this.resetTalk();
    await mic?.stop();
    if (!commit) return;
    this.conn.send({ type: this.framesSent ? "input.commit" : "input.clear" });
  }

  resetTalk() {
    this.talk.setAttribute("aria-pressed", "false");
    this.talk.textContent = "Hold to talk";
  }

  // -- what the server says -----------------------------------------------------------------
  onMessage(type, p) {
    switch (type) {
      case "session.started":
        this.opens += 1;
        this.root.dataset.agent = p.agent;
        this.notice.hidden = !p.notice;
        this.notice.textContent = p.notice || "";
        this.renderState(); // [data-opens] and the agent's name follow at once
        break;
      case "response.start":
        this.player.stop();
        this.coachLine(p.turn).dataset.state = "thinking";
        break;
      case "transcript":
        this.line("user", p.text || "(nothing heard)", p.turn);
        break;
      case "answer.delta": {
        const li = this.coachLine(p.turn);
        li.dataset.partial = (li.dataset.partial || "") + p.text;
        li.querySelector(".text").textContent = li.dataset.partial;
        break;
      }
      case "answer":
        this.coachLine(p.turn).querySelector(".text").textContent = p.text;
        break;
      case "tool":
        this.coachLine(p.turn).querySelector(".meta").textContent += ` ${p.name}${p.ok ? "" : " (no data)"}`;
        break;
      case "audio.dropped":
        this.line("notice", `${p.ms} ms of the answer's audio was dropped: the connection is slow.`, p.turn);
        break;
      case "response.done": {
        const li = this.coachLine(p.turn);
        li.dataset.state = p.status;
        if (p.status === "cancelled" && !li.querySelector(".text").textContent) li.querySelector(".text").textContent = "(stopped)";
        break;
      }
      case "error":
        this.line("error", p.detail || p.error, p.turn);
        break;
      case "notice":
        this.line("notice", p.detail, p.turn);
        break;
      default:
        break; // heartbeat, and anything newer than this page
    }
  }

  coachLine(turn) {
    let li = this.turns.get(turn);
    if (!li) {
      li = el("li", { "data-role": "coach", "data-turn": String(turn) });
      li.append(el("span", { class: "who" }, "Coach "), el("span", { class: "text" }), el("span", { class: "meta muted small" }));
      this.append(li);
      this.turns.set(turn, li);
    }
    return li;
  }

  line(role, text, turn = null) {
    const li = el("li", { "data-role": role }, "");
    if (turn !== null) li.dataset.turn = String(turn);
    li.append(el("span", { class: "who" }, role === "user" ? "You " : ""), el("span", { class: "text" }, text));
    const coach = turn !== null && role === "user" ? this.turns.get(turn) : null;
    if (coach) this.list.insertBefore(li, coach); // the question above its answer
    else this.append(li);
  }

  append(li) {
    this.list.append(li);
    while (this.list.children.length > MAX_LINES) {
      const first = this.list.firstElementChild;
      this.turns.forEach((v, k) => v === first && this.turns.delete(k));
      first.remove();
    }
    this.list.dataset.count = String(this.list.children.length);
    this.list.scrollTop = this.list.scrollHeight;
  }

  // -- the connection's state ---------------------------------------------------------------
  onState(s) {
    this.state = s;
    this.root.dataset.voiceState = s.phase;
    this.root.dataset.attempt = String(s.attempt || 0);
    const open = s.phase === "open";
    this.talk.disabled = !open;
    this.ask.disabled = !open;
    if (!open) this.stopTalking(false);
    this.renderState();
  }

  renderState() {
    const s = this.state;
    if (!s) return;
    this.root.dataset.opens = String(this.opens);
    const of = `attempt ${s.attempt}/${s.maxAttempts}`;
    const agent = this.conn.session ? this.conn.session.agent : "";
    const text = {
      idle: "off",
      connecting: s.attempt > 1 ? `connecting\u2026 ${of}` : "connecting\u2026",
      open: `ready${agent ? ` \u00b7 ${agent} coach` : ""}`,
      waiting: `reconnecting in ${Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000))} s \u00b7 ${of}`,
      "gave-up": "max reconnects reached",
      locked: "refused: sign in again",
      ended: `closed by the server (${s.code})`,
      closed: "off",
    }[s.phase];
    this.stateText.textContent = text;
    this.dot.dataset.state = { open: "up", waiting: "idle", connecting: "idle" }[s.phase] || "down";
    this.retryButton.hidden = !["gave-up", "locked", "ended"].includes(s.phase);
  }

  debug() {
    return {
      state: this.state,
      session: this.conn.session,
      opens: this.opens,
      played: this.player.played,
      lines: [...this.list.children].map((li) => ({ role: li.dataset.role, turn: li.dataset.turn, text: li.textContent })),
    };
  }
}
