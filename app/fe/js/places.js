// @ts-check
// The reader's place in the open room, moved by hand: "Mark unread" from a
// message, "Jump to unread" (the oldest message past the cursor), and "Mark
// read" (the whole room). The cursor is the name's, on the server, so every
// device follows.
//
// After "Mark unread" the page stops moving the cursor for that room while it
// stays open (a "New" divider shows where unread starts): otherwise the next
// scroll would read it all again. Leaving the room, posting in it or "Mark
// read" ends the hold.

import { api, enc } from "./api.js";
import { $, countedUnread } from "./dom.js";

// The server stops a cursor at the room's newest message.
const EVERYTHING = Number.MAX_SAFE_INTEGER;

export class Places {
  /**
   * @param {{room: any, reader: () => string, roomId: () => string | null,
   *   onHeld: (roomId: string | null) => void, onCursor: (roomId: string, id: number) => void,
   *   lastSent: (roomId: string) => number, say: (text: string) => void}} options
   * `room` is the RoomView; `onHeld` says which room's cursor the page must
   * leave alone now (or null); `onCursor` where the cursor now stands;
   * `lastSent` where this page last moved a room's cursor.
   */
  constructor({ room, reader, roomId, onHeld, onCursor, lastSent, say }) {
    this.lastSent = lastSent;
    this.room = room;
    this.reader = reader;
    this.roomId = roomId;
    this.onHeld = onHeld;
    this.onCursor = onCursor;
    this.say = say;
    this.held = null; // the room whose cursor the page leaves alone
    this.jump = $("jump-unread");
    this.jump.addEventListener("click", () => this.jumpToUnread());
    $("room-mark-read").addEventListener("click", () => this.markRead());
  }

  /** Is the page to leave this room's cursor alone? @param {string | null} roomId */
  holds(roomId) {
    return roomId !== null && roomId === this.held;
  }

  _hold(roomId) {
    this.held = roomId;
    this.onHeld(roomId);
  }

  /** The reader left the room, or posted in it: any hold ends. */
  release() {
    if (this.held) this._hold(null);
  }

  /** The open room's summary changed: "Jump to unread" shows while it has
   * unread — not for the moment between a message arriving at the bottom of a
   * watched room and the page reading it (the cursor is then where this page
   * last put it); a cursor moved back elsewhere shows it at once. */
  summary(room) {
    const cursor = room.last_read_message_id || 0;
    const catchingUp = this.room.watching() && !this.holds(room.id) && cursor >= this.lastSent(room.id);
    this._unread(countedUnread(room) > 0 && !catchingUp);
  }

  _unread(unread) {
    if (this.jump.hidden === unread) this.jump.hidden = !unread;
    $("room-view").classList.toggle("has-unread", unread);
  }

  /** @param {number} messageId */
  async markUnread(messageId) {
    const roomId = this.roomId();
    if (!roomId) return;
    try {
      const cursor = await api(`/rooms/${enc(roomId)}/unread`, { method: "POST", body: { reader: this.reader(), message_id: messageId } });
      if (this.roomId() !== roomId) return;
      this._hold(roomId);
      this.onCursor(roomId, cursor.last_read_message_id);
      this.room.markUnreadAfter(cursor.last_read_message_id);
      this._unread(true);
    } catch (error) {
      this.say(`Not marked unread: ${error instanceof Error ? error.message : error}.`);
    }
  }

  async jumpToUnread() {
    const roomId = this.roomId();
    if (!roomId) return;
    try {
      const summary = await api(`/rooms/${enc(roomId)}?reader=${enc(this.reader())}`);
      if (this.roomId() !== roomId) return;
      if (!countedUnread(summary)) {
        this._unread(false);
        this.say("Nothing unread here.");
        return;
      }
      await this.room.showFirstUnread(summary.last_read_message_id || 0);
    } catch (error) {
      this.say(`Cannot jump: ${error instanceof Error ? error.message : error}.`);
    }
  }

  async markRead() {
    const roomId = this.roomId();
    if (!roomId) return;
    try {
      const cursor = await api(`/rooms/${enc(roomId)}/read`, { method: "POST", body: { reader: this.reader(), last_read_message_id: EVERYTHING } });
      if (this.roomId() !== roomId) return;
      this._hold(null);
      this.onCursor(roomId, cursor.last_read_message_id);
      this.room.reading.divider?.remove();
      this._unread(false);
    } catch (error) {
      this.say(`Not marked read: ${error instanceof Error ? error.message : error}.`);
    }
  }
}
