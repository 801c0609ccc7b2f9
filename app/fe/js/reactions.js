// @ts-check
// Reactions under messages: a chip per emoji someone used (its count; who, in
// its title and label), pressed where the reader is among them. Clicking a
// chip, or one of the set in the message's toolbar, toggles the reader's own.
// Everything goes in as text.
//
// Live: each toggle is a `reaction` event on the feed carrying all of that
// message's reactions, so a row is replaced, never patched. The latest rows
// heard are kept a while, so an item built from a read made before its
// reaction (a room opening as someone reacts) is filled again when added. The
// event has no id, so a resumed feed cannot replay it: on every `ready` the
// reactions of the messages shown are read again.

import { api, enc } from "./api.js";
import { h, onMessagesAdded } from "./dom.js";

export const EMOJI = ["✅", "👀", "👍", "❌", "🎉"];
const FETCH_IDS = 500; // the batch route's most
const KEEP_LATEST = 200;

/** @param {string} name */
const key = (name) => (name || "").trim().toLowerCase();

/**
 * The row under a message (hidden while empty).
 * @param {number} id
 * @param {{emoji: string, count: number, names: string[]}[] | undefined} reactions
 * @param {string} reader
 */
export function reactionRow(id, reactions, reader) {
  const row = h("div", { class: "reactions", "data-msg": id });
  fill(row, reactions || [], reader);
  return row;
}

/** The set, for the message's toolbar. @param {number} id */
export function reactButtons(id) {
  return EMOJI.map((e) => h("button", { type: "button", class: "react", "data-react": e, "aria-label": `React ${e} to #${id}`, tabindex: "-1" }, e));
}

/**
 * @param {HTMLElement} row
 * @param {{emoji: string, count: number, names: string[]}[]} reactions
 * @param {string} reader
 */
function fill(row, reactions, reader) {
  const me = key(reader);
  const chips = reactions.map((r) => {
    const who = r.names.join(", ");
    return h(
      "button",
      {
        type: "button",
        class: "reaction",
        "data-react": r.emoji,
        "aria-pressed": String(r.names.includes(me)),
        title: who,
        "aria-label": `${r.emoji} ${r.count}: ${who}`,
        tabindex: "-1",
      },
      `${r.emoji} ${r.count}`,
    );
  });
  row.replaceChildren(...chips);
  row.hidden = chips.length === 0;
}

export class Reactions {
  /** @param {{roomId: () => string | null, reader: () => string, list: HTMLElement, onError: (text: string) => void}} options */
  constructor({ roomId, reader, list, onError }) {
    this.roomId = roomId;
    this.reader = reader;
    this.list = list;
    this.onError = onError;
    this.latest = new Map(); // message id -> its reactions as the latest event left them
    onMessagesAdded(
      list,
      () => this.latest.size > 0,
      (item) => this._catchUp(item),
    );
  }

  /** A `reaction` event (or a toggle's answer): the message's reactions as they now stand. */
  reaction(data) {
    const id = Number(data.message_id);
    this.latest.delete(id);
    this.latest.set(id, data.reactions);
    if (this.latest.size > KEEP_LATEST) this.latest.delete(this.latest.keys().next().value);
    if (data.room_id !== this.roomId()) return;
    const row = this.list.querySelector(`.reactions[data-msg="${id}"]`);
    if (row instanceof HTMLElement) fill(row, data.reactions, this.reader());
  }

  /** An item just added, perhaps built from a read older than its latest reaction. @param {HTMLElement} li */
  _catchUp(li) {
    const reactions = this.latest.get(Number(li.dataset.id));
    const row = li.querySelector(".reactions[data-msg]");
    if (reactions && row instanceof HTMLElement) fill(row, reactions, this.reader());
  }

  /** @param {number} id @param {string} emoji */
  async toggle(id, emoji) {
    const roomId = this.roomId();
    if (!roomId) return;
    try {
      const got = await api(`/rooms/${enc(roomId)}/messages/${id}/reactions`, { method: "POST", body: { emoji, name: this.reader() } });
      this.reaction(got);
    } catch (error) {
      this.onError(`Could not react: ${error instanceof Error ? error.message : error}`);
    }
  }

  /** After a (re)connect: what changed while away is read again. */
  async ready() {
    const roomId = this.roomId();
    if (!roomId) return;
    const rows = [...this.list.querySelectorAll(".reactions[data-msg]")];
    const ids = rows.map((row) => Number(row instanceof HTMLElement ? row.dataset.msg : 0)).filter(Boolean);
    for (let i = 0; i < ids.length; i += FETCH_IDS) {
      const chunk = ids.slice(i, i + FETCH_IDS);
      const got = await api(`/rooms/${enc(roomId)}/reactions?ids=${chunk.join(",")}`).catch(() => null);
      if (!got || this.roomId() !== roomId) return;
      for (const id of chunk) {
        const row = this.list.querySelector(`.reactions[data-msg="${id}"]`);
        const now = got.reactions[String(id)] || [];
        if (this.latest.has(id)) this.latest.set(id, now); // fresher than the event kept
        if (row instanceof HTMLElement) fill(row, now, this.reader());
      }
    }
  }
}
