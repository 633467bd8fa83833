// The price alerts on the screen: the "Alert at" box in the chart's toolbar (or Alt+click on
// the chart), one chip per alert of the symbol shown (x removes it), one dashed line per
// waiting alert on the chart, and when the live price crosses a level: a notice on the page
// (kept until dismissed) and a desktop notification if the browser allows them. The rules
// and the storage are alerts.js; this is the DOM side.

import { AlertBook } from "./alerts.js";
import { fmtPrice } from "./format.js";
import { el } from "./panels.js";
import { formatNyTime } from "./time.js";

const $ = (id) => document.getElementById(id);
const ALERT_COLOR = "#ff9f1c";
const MAX_NOTICES = 5; // shown at once; the oldest goes first

export class AlertsPanel {
  /** ``price(symbol)``: the last price known; ``onLinesChanged()``: redraw the chart's lines. */
  constructor({ price, onLinesChanged }) {
    this.price = price;
    this.onLinesChanged = onLinesChanged;
    this.book = null;
    this.symbol = null;
    this.els = { form: $("alert-form"), input: $("alert-price"), list: $("alerts"), notices: $("alert-notices") };
    this.els.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.addFromInput();
    });
  }

  /** Load the alerts of this login (from /api/auth/me). */
  attach(login) {
    this.book = new AlertBook(window.localStorage, login);
    document.body.dataset.login = this.book.login;
    this.render();
  }

  show(symbol) {
    this.symbol = symbol;
    this.els.input.placeholder = `Alert on ${symbol}\u2026`;
    this.render();
  }

  focus() {
    const p = this.price(this.symbol);
    if (!this.els.input.value && Number.isFinite(p)) this.els.input.value = String(p);
    this.els.input.focus();
    this.els.input.select();
  }

  addFromInput() {
    const price = Number(this.els.input.value);
    if (this.add(price)) {
      this.els.input.value = "";
      this.els.input.blur();
    }
  }

  /** Set an alert on the symbol shown; returns it, or null (and says why). */
  add(price) {
    if (!this.book || !this.symbol) return null;
    try {
      const alert = this.book.add(this.symbol, Math.round(price * 100) / 100, this.price(this.symbol));
      this.els.input.setCustomValidity("");
      this.askForNotifications();
      this.render();
      this.onLinesChanged();
      return alert;
    } catch (error) {
      this.els.input.setCustomValidity(error.message);
      this.els.input.reportValidity();
      return null;
    }
  }

  remove(id) {
    this.book?.remove(id);
    this.render();
    this.onLinesChanged();
  }

  askForNotifications() {
    if ("Notification" in window && Notification.permission === "default") {
      Notification.requestPermission().catch(() => {});
    }
  }

  /** A price of ``symbol``; alerts fire on live prices only (a replay never fires them). */
  onPrice(symbol, price, live) {
    if (!live || !this.book) return;
    const fired = this.book.check(symbol, price);
    if (!fired.length) return;
    for (const alert of fired) this.notify(alert);
    this.render();
    this.onLinesChanged();
  }

  notify(alert) {
    const arrow = alert.direction === "up" ? "\u25b2" : "\u25bc";
    const text = `${alert.symbol} ${arrow} ${fmtPrice(alert.price)}: traded ${fmtPrice(alert.triggeredAt)} at ${formatNyTime(alert.triggeredMs)} ET`;
    const close = el("button", { type: "button", class: "small secondary", "aria-label": "Dismiss", text: "\u2715" });
    const notice = el("div", { class: "notice", "data-alert": alert.id }, el("span", { text }), close);
    close.addEventListener("click", () => notice.remove());
    this.els.notices.prepend(notice);
    while (this.els.notices.children.length > MAX_NOTICES) this.els.notices.lastElementChild.remove();
    if ("Notification" in window && Notification.permission === "granted") {
      try {
        new Notification(`Spotlight: ${alert.symbol} crossed ${fmtPrice(alert.price)}`, { body: text, tag: `alert-${alert.id}` });
      } catch {
        // some browsers allow notifications only from a service worker: the notice suffices
      }
    }
  }

  /** The chart's lines for the waiting alerts of ``symbol``. */
  lines(symbol) {
    if (!this.book) return [];
    return this.book
      .list(symbol)
      .filter((a) => !a.triggeredMs)
      .map((a) => ({
        id: `alert:${a.id}`,
        price: a.price,
        title: `Alert ${a.direction === "down" ? "\u25bc" : "\u25b2"}`,
        color: ALERT_COLOR,
        lineStyle: 2,
      }));
  }

  render() {
    const list = this.els.list;
    list.replaceChildren();
    const alerts = this.book && this.symbol ? this.book.list(this.symbol) : [];
    for (const a of alerts) {
      const arrow = a.direction === "down" ? "\u25bc" : a.direction === "up" ? "\u25b2" : "";
      const remove = el("button", { type: "button", "aria-label": `Remove the alert at ${a.price}`, text: "\u2715" });
      remove.addEventListener("click", () => this.remove(a.id));
      list.append(
        el(
          "span",
          { class: `chip alert${a.triggeredMs ? " fired" : ""}`, "data-price": a.price, title: a.triggeredMs ? `crossed at ${formatNyTime(a.triggeredMs)} ET` : "waiting" },
          `${arrow} ${fmtPrice(a.price)}${a.triggeredMs ? " \u2713" : ""}`,
          remove,
        ),
      );
    }
    list.dataset.count = String(alerts.length);
  }
}
