// @ts-check
// The reader's own settings per room: how loudly it notifies (every message,
// @mentions and messages directed to the reader, or nothing), muted (no
// unread weight, no notification) and starred (listed first in the sidebar).
// They are kept on the server under the reader's name, so they follow the
// person to every device: all of them (and the starred rooms' summaries) come
// in one request with the sidebar, never one per row.

import { api, enc } from "./api.js";
import { $ } from "./dom.js";

/** @typedef {{level: string, muted: boolean, starred: boolean}} Setting */

/** @type {Setting} */
const DEFAULT = { level: "mentions", muted: false, starred: false };

export class RoomSettings {
  /** @param {{reader: () => string, onChange: (roomId: string | null) => void, say: (text: string) => void}} options */
  constructor({ reader, onChange, say }) {
    this.reader = reader;
    this.onChange = onChange;
    this.say = say;
    /** @type {Map<string, Setting>} */
    this.byRoom = new Map();
    /** @type {any[]} the live starred rooms as sidebar rows, as the server counted them */
    this.starredRooms = [];
    /** @type {Record<string, number>} the live muted rooms' unread, as the server counted it */
    this.mutedUnread = {};
    /** @type {string | null} the open room, whose controls are in its header */
    this.current = null;
    this.star = $("room-star");
    this.mute = $("room-mute");
    this.level = /** @type {HTMLSelectElement} */ ($("room-level"));
    this.star.addEventListener("click", () => this._change({ starred: !this.of(this.current).starred }));
    this.mute.addEventListener("click", () => this._change({ muted: !this.of(this.current).muted }));
    this.level.addEventListener("change", () => this._change({ level: this.level.value }));
  }

  // One request for every room's settings; a failure leaves the defaults.
  async load() {
    const reader = this.reader();
    if (!reader) return;
    try {
      const answer = await api(`/room-prefs?reader=${enc(reader)}`);
      this.byRoom = new Map(answer.rooms.map((/** @type {any} */ r) => [r.room_id, r]));
      this.starredRooms = answer.starred_rooms;
      this.mutedUnread = answer.muted_unread;
    } catch {
      return;
    }
    this.show(this.current);
    this.onChange(null);
  }

  /** @param {string | null | undefined} roomId @returns {Setting} */
  of(roomId) {
    return (roomId && this.byRoom.get(roomId)) || DEFAULT;
  }

  /** @param {string} roomId */
  projectOf(roomId) {
    return /** @type {any} */ (this.byRoom.get(roomId))?.project;
  }

  /** A muted room carries no unread weight. @param {string | null | undefined} roomId */
  muted(roomId) {
    return this.of(roomId).muted;
  }

  /** Whether a message for this room notifies, given whether it is for the reader. */
  notifies(roomId, forReader) {
    const { level, muted } = this.of(roomId);
    if (muted || level === "none") return false;
    return level === "all" || forReader;
  }

  /** The open room's controls say its settings. @param {string | null} roomId */
  show(roomId) {
    this.current = roomId;
    const { level, muted, starred } = this.of(roomId);
    this.star.setAttribute("aria-pressed", String(starred));
    this.star.textContent = starred ? "★" : "☆";
    this.star.title = starred ? "Starred: listed first (click to unstar)" : "Star: list this room first";
    this.mute.setAttribute("aria-pressed", String(muted));
    this.mute.textContent = muted ? "Muted" : "Mute";
    this.level.value = level;
  }

  /** @param {Partial<Setting>} change */
  async _change(change) {
    const roomId = this.current;
    const reader = this.reader();
    if (!roomId) return;
    if (!reader) {
      this.say("Type your name first: settings are kept under it.");
      this.show(roomId);
      return;
    }
    try {
      const row = await api(`/rooms/${enc(roomId)}/prefs`, { method: "PUT", body: { reader, ...change } });
      this.byRoom.set(roomId, row);
    } catch (error) {
      this.say(`Not changed: ${/** @type {Error} */ (error).message}.`);
    }
    if (this.current === roomId) this.show(roomId);
    this.onChange(roomId);
  }
}
