// @ts-check
// The browser's one event stream, shared by every tab.
//
// Browsers allow six HTTP/1.1 connections per host across all tabs, so a
// stream per tab would stall the seventh tab. Instead the tabs elect a leader
// with the Web Locks API: the leader holds the only EventSource — the
// combined feed with sidebar deltas and every room's events — and forwards
// each event to the other tabs over a BroadcastChannel. When the leader tab
// closes, its lock passes to another tab, which opens the stream again from
// the newest message id it has seen, so nothing falls in the gap (ids are
// global; the rooms drop what they already have).
//
// Reconnects: while the browser retries by itself it sends Last-Event-ID and
// the server resumes after it. If the browser gives up (a non-200 answer, e.g.
// during a restart), the leader opens a fresh source with ?last_event_id=.
// A new reader's name (follow) opens a fresh source the same way.

import { stillSignedIn } from "./session.js";

const EVENTS = [
  "snapshot",
  "room",
  "room_deleted",
  "totals",
  "ready",
  "message",
  "status",
  "agent",
  "cleared",
  "purged",
  "receipt",
  "reaction",
  "edit",
];
const CHANNEL = "chatnut-feed";
const LEADER_LOCK = "chatnut-feed-leader";
const OFFLINE_AFTER_MS = 8000;

export class SharedFeed {
  constructor({ onEvent, onState, sidebarState }) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.sidebarState = sidebarState; // the leader answers a new tab with this
    this.maxSeen = 0; // the newest message id seen, in any room
    this.leader = false;
    this.state = "connecting";
    this.source = null;
    this.retryTimer = null;
    this.failingSince = null;
    this.backoff = 500;
    this.channel = "BroadcastChannel" in window ? new BroadcastChannel(CHANNEL) : null;
    if (this.channel) this.channel.onmessage = (event) => this._heard(event.data);
  }

  start(reader) {
    this.reader = reader;
    // The browser knows before the stream does: an open stream can sit silent
    // for a long time after the network went away.
    window.addEventListener("offline", () => {
      if (!this.leader) return;
      this.source?.close();
      clearTimeout(this.retryTimer);
      this._setState("offline");
    });
    window.addEventListener("online", () => {
      if (this.leader) this._connect();
    });
    if (this.channel && navigator.locks) {
      // Held for the tab's lifetime: the promise never settles.
      navigator.locks.request(LEADER_LOCK, () => new Promise(() => this._lead()));
      this.channel.postMessage({ kind: "hello" });
    } else {
      this._lead(); // no way to share: this tab streams for itself
    }
  }

  // The reader's name changed: the stream starts again as that name, and its
  // snapshot brings the name's own unread counts, cursors and mentions. Every
  // tab of the browser hears of a new name (it is stored in localStorage, so
  // the other tabs get a "storage" event) and calls this; only the leader
  // streams, and a tab that leads later streams as the name it was told.
  follow(reader) {
    if (reader === this.reader) return;
    this.reader = reader;
    if (this.leader) this._connect();
  }

  _lead() {
    this.leader = true;
    this._connect();
  }

  _connect() {
    clearTimeout(this.retryTimer);
    this.source?.close();
    const query = new URLSearchParams({ room: "*", html: "true" });
    if (this.maxSeen) query.set("last_event_id", String(this.maxSeen));
    if (this.reader) query.set("reader", this.reader);
    const source = new EventSource(`/api/stream?${query}`);
    this.source = source;
    for (const name of EVENTS) {
      source.addEventListener(name, (event) => {
        if (this.source !== source) return;
        const data = JSON.parse(event.data);
        if (name === "ready") {
          this.failingSince = null;
          this.backoff = 500;
          this._setState("live");
        }
        this._deliver(name, data);
        this.channel?.postMessage({ kind: "event", name, data });
      });
    }
    source.onerror = () => {
      if (this.source !== source) return;
      this.failingSince ??= Date.now();
      const long = Date.now() - this.failingSince > OFFLINE_AFTER_MS;
      this._setState(long || !navigator.onLine ? "offline" : "reconnecting");
      if (source.readyState === EventSource.CLOSED) {
        // Refused for good (the sign-in ended) leaves the page; else retry.
        stillSignedIn().then(() => {
          if (this.source !== source) return;
          this.retryTimer = setTimeout(() => this._connect(), this.backoff);
          this.backoff = Math.min(this.backoff * 2, 5000);
        });
      }
    };
  }

  _deliver(name, data) {
    if (name === "message") this.maxSeen = Math.max(this.maxSeen, data.id);
    if (name === "ready") this.maxSeen = Math.max(this.maxSeen, data.last_event_id || 0);
    if (name === "snapshot") {
      for (const room of data.rooms) this.maxSeen = Math.max(this.maxSeen, room.last_message?.id || 0);
    }
    this.onEvent(name, data);
  }

  _setState(state) {
    this.state = state;
    this.onState(state);
    if (this.leader) this.channel?.postMessage({ kind: "state", state });
  }

  _heard(message) {
    if (message.kind === "hello") {
      if (!this.leader) return;
      // A new tab: hand it the sidebar as it stands, then the stream goes on.
      this.channel.postMessage({ kind: "event", name: "snapshot", data: this.sidebarState() });
      this.channel.postMessage({ kind: "state", state: this.state });
      return;
    }
    if (this.leader) return;
    if (message.kind === "event") this._deliver(message.name, message.data);
    else if (message.kind === "state") {
      this.state = message.state;
      this.onState(message.state);
    }
  }
}
