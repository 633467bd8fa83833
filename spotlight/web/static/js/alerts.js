// Price alerts a trader sets on a level: kept per login in this browser's localStorage, drawn
// as a line on that symbol's chart, and fired once when the live price crosses the level.
//
// Where they are kept (decided for issue 15): localStorage under `spotlight.alerts.<login>`,
// where <login> is the opaque id /api/auth/me gives for the session (a hash of it, "local"
// with authentication off). So a reload, a restart of the server or a second tab of the same
// login see the same alerts; another login on the same browser (sign out, sign in again) has
// a list of its own; nothing is sent to the server. Bounded: at most MAX_ALERTS per login,
// and the lists of at most MAX_LOGINS logins (the least recently used are dropped).
//
// An alert's direction is fixed when it is set: "up" if the level is at or above the price at
// that moment (fires when the price reaches it from below), "down" otherwise. Without a price
// yet, the first price seen decides. Pure apart from the injected storage and clock.

export const MAX_ALERTS = 50;
export const MAX_LOGINS = 5;
const PREFIX = "spotlight.alerts.";
const INDEX = "spotlight.alerts:logins"; // [login, ...], most recent first

const finite = (x) => typeof x === "number" && Number.isFinite(x);

export class AlertBook {
  /** ``storage``: a localStorage-like object; ``login``: whose alerts these are. */
  constructor(storage, login, now = () => Date.now()) {
    this.storage = storage;
    this.login = String(login || "anonymous");
    this.key = PREFIX + this.login;
    this.now = now;
    this.alerts = this.read();
    this.nextId = this.alerts.reduce((n, a) => Math.max(n, a.id), 0) + 1;
    this.touchLogin();
  }

  read() {
    try {
      const list = JSON.parse(this.storage.getItem(this.key) || "[]");
      return Array.isArray(list)
        ? list.filter((a) => a && finite(a.id) && typeof a.symbol === "string" && finite(a.price))
        : [];
    } catch {
      return []; // a list this version cannot read starts over
    }
  }

  save() {
    try {
      this.storage.setItem(this.key, JSON.stringify(this.alerts));
    } catch {
      // storage full or disabled: the alerts still work for this page
    }
  }

  /** Keep the lists of the MAX_LOGINS most recent logins; forget the others'. */
  touchLogin() {
    let logins = [];
    try {
      const raw = JSON.parse(this.storage.getItem(INDEX) || "[]");
      logins = Array.isArray(raw) ? raw.filter((x) => typeof x === "string") : [];
    } catch {
      logins = [];
    }
    logins = [this.login, ...logins.filter((x) => x !== this.login)];
    for (const old of logins.slice(MAX_LOGINS)) {
      try {
        this.storage.removeItem(PREFIX + old);
      } catch {
        // nothing to free
      }
    }
    try {
      this.storage.setItem(INDEX, JSON.stringify(logins.slice(0, MAX_LOGINS)));
    } catch {
      // as in save()
    }
  }

  /** The alerts of ``symbol`` (all when omitted), oldest first. */
  list(symbol = null) {
    return this.alerts.filter((a) => symbol === null || a.symbol === symbol);
  }

  /**
   * Set an alert at ``price`` on ``symbol``; ``current`` is the price now (or null).
   * Returns the alert, or throws an Error saying why not.
   */
  add(symbol, price, current = null) {
    if (typeof symbol !== "string" || !symbol) throw new Error("no symbol");
    if (!finite(price) || price <= 0) throw new Error("enter a price above 0");
    if (this.alerts.length >= MAX_ALERTS) throw new Error(`at most ${MAX_ALERTS} alerts; remove one first`);
    if (this.alerts.some((a) => a.symbol === symbol && a.price === price && !a.triggeredMs)) {
      throw new Error(`there is already an alert at ${price} on ${symbol}`);
    }
    const alert = {
      id: this.nextId++,
      symbol,
      price,
      direction: finite(current) ? (price >= current ? "up" : "down") : null,
      createdMs: this.now(),
      triggeredMs: null,
      triggeredAt: null,
    };
    this.alerts.push(alert);
    this.save();
    return alert;
  }

  remove(id) {
    const before = this.alerts.length;
    this.alerts = this.alerts.filter((a) => a.id !== id);
    if (this.alerts.length !== before) this.save();
  }

  /**
   * A live price of ``symbol``: the alerts it crosses fire (returned, and kept as triggered
   * with the time and the price that did it); an alert fires once.
   */
  check(symbol, price) {
    if (!finite(price)) return [];
    const fired = [];
    let changed = false;
    for (const a of this.alerts) {
      if (a.symbol !== symbol || a.triggeredMs) continue;
      if (a.direction === null) {
        a.direction = a.price >= price ? "up" : "down"; // the first price seen decides
        changed = true;
        continue;
      }
      if ((a.direction === "up" && price >= a.price) || (a.direction === "down" && price <= a.price)) {
        a.triggeredMs = this.now();
        a.triggeredAt = price;
        fired.push(a);
        changed = true;
      }
    }
    if (changed) this.save();
    return fired;
  }
}
