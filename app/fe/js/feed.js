// The tab's one EventSource (SPEC §6): sidebar deltas plus the open room's
// events on a single connection, so ten tabs stay within the browser's six
// connections per host. Switching rooms closes the old source first.
//
// Reconnects: while the browser retries by itself it sends Last-Event-ID and
// the server resumes after it. If the browser gives up (a non-200 answer, e.g.
// during a restart), we open a fresh source with ?last_event_id= ourselves.

const EVENTS = ["snapshot", "room", "room_deleted", "ready", "message", "status", "agent", "cleared"];
const OFFLINE_AFTER_MS = 8000;

export class TabFeed {
  constructor({ onEvent, onState, resumeId }) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.resumeId = resumeId;
    this.source = null;
    this.params = {};
    this.retryTimer = null;
    this.failingSince = null;
    this.backoff = 500;
  }

  open(params) {
    this.params = params;
    this._connect();
  }

  _connect() {
    this.close();
    const query = new URLSearchParams({ html: "true" });
    const { room, project, reader } = this.params;
    if (room) {
      query.set("room", room);
      query.set("last_event_id", String(this.resumeId() || 0));
    }
    if (project) query.set("project", project);
    if (reader) query.set("reader", reader);
    const source = new EventSource(`/api/stream?${query}`);
    this.source = source;
    for (const name of EVENTS) {
      source.addEventListener(name, (event) => {
        if (this.source !== source) return; // a closed source's last words
        if (name === "ready") this._live();
        this.onEvent(name, JSON.parse(event.data));
      });
    }
    source.onerror = () => {
      if (this.source !== source) return;
      this.failingSince ??= Date.now();
      const offline = Date.now() - this.failingSince > OFFLINE_AFTER_MS || !navigator.onLine;
      this.onState(offline ? "offline" : "reconnecting");
      if (source.readyState === EventSource.CLOSED) this._retryLater();
    };
  }

  _live() {
    this.failingSince = null;
    this.backoff = 500;
    this.onState("live");
  }

  _retryLater() {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this._connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, 5000);
  }

  close() {
    clearTimeout(this.retryTimer);
    if (this.source) this.source.close();
    this.source = null;
  }
}
