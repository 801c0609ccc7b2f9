// @ts-check
// Sends the reader's cursor for each room: it follows the reader at most every
// READ_EVERY_MS, under any rate of traffic (never waiting for a lull): the
// newest id seen goes out, once.

import { api, enc } from "./api.js";

const READ_EVERY_MS = 500;

/** @typedef {{sent: number, want: number, timer: ReturnType<typeof setTimeout> | null, last: number}} RoomRead */

export class ReadSender {
  /**
   * @param {{reader: () => string, holds: (roomId: string) => boolean}} options
   *   reader: the name cursors are sent as; holds: a room marked unread by
   *   hand, whose cursor is left alone while it is open
   */
  constructor({ reader, holds }) {
    this.reader = reader;
    this.holds = holds;
    /** @type {Map<string, RoomRead>} */
    this.rooms = new Map();
  }

  /** The reader has seen up to lastId in roomId: the cursor follows, throttled. */
  markRead(roomId, lastId) {
    if (this.holds(roomId)) return;
    const state = this.rooms.get(roomId) || { sent: 0, want: 0, timer: null, last: 0 };
    this.rooms.set(roomId, state);
    if (lastId <= Math.max(state.sent, state.want)) return;
    state.want = lastId;
    if (state.timer) return;
    const wait = Math.max(0, state.last + READ_EVERY_MS - Date.now());
    state.timer = setTimeout(() => this.send(roomId, state), wait);
  }

  /** The cursor was moved by hand (places.js): reading on starts from there. */
  cursorMoved(roomId, id) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    if (state.timer) clearTimeout(state.timer);
    state.timer = null;
    state.sent = id;
    state.want = id;
  }

  /** The id last sent for roomId (0 when none). */
  lastSent(roomId) {
    return this.rooms.get(roomId)?.sent ?? 0;
  }

  /**
   * The reader's name changed: what was read as the old name and not yet sent
   * goes out as the old name's, and every room starts afresh.
   */
  flush(oldName) {
    for (const [roomId, state] of this.rooms) {
      if (!state.timer) continue;
      clearTimeout(state.timer);
      this.send(roomId, state, oldName);
    }
    this.rooms.clear();
  }

  /** @param {string} roomId @param {RoomRead} state */
  send(roomId, state, reader = this.reader()) {
    state.timer = null;
    state.last = Date.now();
    const id = state.want;
    if (id <= state.sent) return;
    state.sent = id;
    api(`/rooms/${enc(roomId)}/read`, {
      method: "POST",
      body: { reader, last_read_message_id: id },
    }).catch(() => {
      state.sent = 0;
    }); // told again with the next message seen
  }
}
