// @ts-check
// Messages for the reader: sent `to` their name, or naming them with @name.
// Either counts as addressed to them in the page (an agent's @mention of a
// person is how it asks them). Which rooms hold one not yet read is kept in
// this browser (per name, across reloads) and let go once the room has no
// unread.

const MENTION = /(^|[^\p{L}\p{N}_])@([\p{L}\p{N}_-]+)/gu;
const KEY = "chatnut.mentioned."; // + reader -> {roomId: newest id for them}

/**
 * @param {{to?: string[] | null, content: string, sender: string}} m
 * @param {string} reader
 */
export function forReader(m, reader) {
  const name = reader.toLowerCase();
  if (m.sender.toLowerCase() === name) return false;
  if (m.to?.includes(name)) return true;
  if (!m.content.includes("@")) return false;
  for (const match of m.content.matchAll(MENTION)) if (match[2].toLowerCase() === name) return true;
  return false;
}

export class MentionMarks {
  /** @param {() => string} reader */
  constructor(reader) {
    this.reader = reader;
    this.loadedFor = "";
    /** @type {Record<string, number>} */
    this.rooms = {};
  }

  _load() {
    const reader = this.reader();
    if (this.loadedFor === reader) return;
    this.loadedFor = reader;
    try {
      this.rooms = JSON.parse(localStorage.getItem(KEY + reader) || "{}") || {};
    } catch {
      this.rooms = {};
    }
  }

  _save() {
    try {
      localStorage.setItem(KEY + this.loadedFor, JSON.stringify(this.rooms));
    } catch {
      // Storage refused: the marks last for this visit.
    }
  }

  /** A live message for the reader in a room they are not watching. */
  note(m) {
    this._load();
    if ((this.rooms[m.room_id] || 0) >= m.id) return;
    this.rooms[m.room_id] = m.id;
    this._save();
  }

  /** @param {string} roomId */
  has(roomId) {
    this._load();
    return roomId in this.rooms;
  }

  /**
   * The room has no unread as of message `upto` (a summary that old, or
   * newer, says so): marks up to there go.
   * @param {string} roomId
   * @param {number} upto
   */
  clear(roomId, upto) {
    this._load();
    if (!(roomId in this.rooms) || this.rooms[roomId] > upto) return;
    delete this.rooms[roomId];
    this._save();
  }
}
