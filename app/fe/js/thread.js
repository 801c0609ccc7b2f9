// @ts-check
// Threads: a message with replies (messages whose `reply_to` names it) shows
// "N replies · last 5 min ago" under it; that line, or the message's Thread
// action, opens the thread pane beside the room: the parent, its replies
// oldest first, and a composer whose messages reply in the thread.
//
// Counts come with every page of messages the room reads (`replies`). Live,
// a reply arrives on the feed like any message: its parent's line counts it
// once (by id: the line remembers the newest reply it has counted) and the
// open pane appends it. The latest replies heard are kept a while, so a
// parent added after its reply (built from a read made before it, or
// arriving with it) counts it then. When the feed resumes, the counts of the messages
// shown are read again and the open thread is read afresh. Everything goes
// in as text except the server renderer's `html`.

import { api, enc } from "./api.js";
import { $, fullTime, h, initials, onMessagesAdded, timeAgo } from "./dom.js";
import { editedMark } from "./edits.js";
import { describeEnter, enterSends } from "./enter.js";

const PAGE = 100;
const FETCH_IDS = 500; // the batch route's most
const KEEP_HEARD = 200; // parents whose latest replies are kept

/** "3 replies · last 5 minutes ago" @param {number} count @param {string} lastAt */
function lineParts(count, lastAt) {
  return [
    `${count} ${count === 1 ? "reply" : "replies"} · last `,
    h("time", { class: "ago", datetime: lastAt, title: fullTime(lastAt) }, timeAgo(lastAt)),
  ];
}

/**
 * The line under a message with replies (none without).
 * @param {{id: number, replies?: {count: number, last_id: number, last_at: string}}} m
 */
export function threadLine(m) {
  if (!m.replies?.count) return null;
  return h(
    "button",
    { type: "button", class: "thread-line", "data-thread": m.id, "data-count": m.replies.count, "data-last": m.replies.last_id, tabindex: "-1" },
    ...lineParts(m.replies.count, m.replies.last_at),
  );
}

/** The message toolbar's actions for threads and read state. @param {number} id */
export function threadActions(id) {
  return [
    h("button", { type: "button", "data-thread": id, "aria-label": `Open the thread of #${id}`, tabindex: "-1" }, "Thread"),
    h("button", { type: "button", "data-unread": id, "aria-label": `Mark unread from #${id}`, tabindex: "-1" }, "Mark unread"),
  ];
}

/**
 * Set a message's line to `count` replies, the newest `lastId` at `lastAt`.
 * @param {HTMLElement} li
 * @param {number} count
 * @param {number} lastId
 * @param {string} lastAt
 */
function setLine(li, count, lastId, lastAt) {
  const line = li.querySelector(".thread-line");
  if (!count) {
    line?.remove();
    return;
  }
  if (!(line instanceof HTMLElement)) {
    const made = threadLine({ id: Number(li.dataset.id), replies: { count, last_id: lastId, last_at: lastAt } });
    if (!made) return;
    // Under the body, above the reactions (message_items.js builds the rest).
    const before = li.querySelector(".reactions") || li.querySelector(".msg-actions");
    if (before) before.before(made);
    else li.append(made);
    if (li.dataset.open) made.tabIndex = 0; // the focused message's controls are reachable
    return;
  }
  line.dataset.count = String(count);
  line.dataset.last = String(lastId);
  line.replaceChildren(...lineParts(count, lastAt));
}

export class ThreadPane {
  /**
   * @param {{roomId: () => string | null, reader: () => string, list: HTMLElement,
   *   colour: (name: string) => string, onError: (text: string) => void,
   *   onMarkUnread: (id: number) => void}} options
   */
  constructor({ roomId, reader, list, colour, onError, onMarkUnread }) {
    this.roomId = roomId;
    this.reader = reader;
    this.list = list; // the room's message list
    this.colour = colour;
    this.onError = onError;
    this.pane = $("thread");
    this.items = $("thread-list");
    this.draft = /** @type {HTMLTextAreaElement} */ ($("thread-draft"));
    describeEnter(this.draft, { label: "Reply in the thread", button: "Reply", placeholder: "Reply in the thread" });
    this.more = $("thread-more");
    this.parentId = null;
    this.lastId = 0; // the newest reply shown
    this.hasMore = false;
    this.opener = null; // what had the focus: it gets it back on close
    this.token = 0; // the open thread's, so a late answer for another is dropped
    this.heard = new Map(); // parent id -> the replies to it heard on the feed
    onMessagesAdded(
      list,
      () => this.heard.size > 0,
      (item) => {
        const parentId = Number(item.dataset.id);
        for (const reply of this.heard.get(parentId) || []) this._counted(parentId, reply);
      },
    );
    list.addEventListener("click", (event) => {
      const target = event.target instanceof Element ? event.target : null;
      const open = target?.closest("[data-thread]");
      if (open instanceof HTMLElement) {
        this.open(Number(open.dataset.thread), open);
        return;
      }
      const unread = target?.closest("[data-unread]");
      if (unread instanceof HTMLElement) onMarkUnread(Number(unread.dataset.unread));
    });
    $("thread-close").addEventListener("click", () => this.close());
    this.more.addEventListener("click", () => this._load(false));
    $("thread-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.draft.addEventListener("keydown", (event) => {
      if (enterSends(event)) {
        event.preventDefault();
        this.send();
      }
    });
    // Esc closes the pane wherever the focus is, unless a dialog is open
    // (the switcher and the help sheet close themselves).
    document.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || this.pane.hidden || document.querySelector("dialog[open]")) return;
      event.preventDefault();
      this.close();
    });
  }

  get isOpen() {
    return !this.pane.hidden;
  }

  /** Open the thread of `parentId` (from `opener`, which gets the focus back). */
  async open(parentId, opener = null) {
    if (!this.roomId()) return;
    this.opener = opener?.closest?.("li.message") || opener;
    this.parentId = parentId;
    this.pane.hidden = false;
    document.getElementById("app")?.classList.add("thread-open");
    $("thread-title").textContent = `Thread of #${parentId}`;
    $("thread-note").textContent = "";
    this.items.replaceChildren(h("li", { class: "thread-loading" }, "Loading…"));
    this.lastId = 0;
    await this._load(true);
    if (this.parentId === parentId) this.draft.focus();
  }

  close() {
    if (this.pane.hidden) return;
    this.pane.hidden = true;
    document.getElementById("app")?.classList.remove("thread-open");
    this.parentId = null;
    this.token += 1;
    this.items.replaceChildren();
    const back = this.opener;
    this.opener = null;
    if (back instanceof HTMLElement && back.isConnected) back.focus({ preventScroll: true });
  }

  /** Another room was opened: its threads are not this one's. */
  roomOpened() {
    this.opener = null;
    this.close();
  }

  async _load(fresh) {
    const roomId = this.roomId();
    const parentId = this.parentId;
    if (!roomId || !parentId) return;
    const token = ++this.token;
    const after = fresh ? 0 : this.lastId;
    let page;
    try {
      page = await api(`/rooms/${enc(roomId)}/messages/${Number(parentId)}/thread?after=${after}&limit=${PAGE}&html=true`);
    } catch (error) {
      if (token === this.token)
        this.items.replaceChildren(h("li", { class: "thread-error" }, `Cannot open the thread: ${error instanceof Error ? error.message : error}.`));
      return;
    }
    if (token !== this.token) return;
    if (fresh) this.items.replaceChildren(this._item(page.parent, true));
    for (const m of page.replies) this._append(m);
    this.hasMore = page.has_more;
    this.more.hidden = !this.hasMore;
    this._count(page.reply_count);
    const li = this._inRoom(parentId);
    const last = page.replies[page.replies.length - 1];
    if (li && last && !this.hasMore) setLine(li, page.reply_count, last.id, last.created_at);
  }

  _count(count) {
    $("thread-count").textContent = `${count} ${count === 1 ? "reply" : "replies"}`;
  }

  _item(m, parent = false) {
    const colour = this.colour(m.sender);
    const body = h("div", { class: m.deleted ? "body tombstone" : "body" });
    if (m.deleted) body.textContent = "message deleted";
    else if (m.html === undefined) body.textContent = m.content;
    else body.innerHTML = m.html; // the server renderer's output: escaped, no raw HTML
    return h(
      "li",
      { class: `thread-item${parent ? " thread-parent" : ""}`, "data-id": m.id },
      h("span", { class: `avatar ${colour}`, "aria-hidden": "true" }, initials(m.sender)),
      h(
        "header",
        {},
        h("span", { class: `sender ${colour}` }, m.sender),
        " ",
        h("time", { class: "ago", datetime: m.created_at, title: fullTime(m.created_at) }, timeAgo(m.created_at)),
        m.edited_at && !m.deleted ? " " : "",
        m.deleted ? null : editedMark(m),
      ),
      body,
    );
  }

  /** An `edit` event: the message as it now stands, if the open thread shows it. */
  edit(m) {
    if (m.room_id !== this.roomId() || !this.parentId) return;
    const old = this.items.querySelector(`.thread-item[data-id="${Number(m.id)}"]`);
    if (old) old.replaceWith(this._item(m, old.classList.contains("thread-parent")));
  }

  _append(m) {
    if (m.id <= this.lastId) return;
    this.items.append(this._item(m));
    this.lastId = m.id;
  }

  _inRoom(id) {
    const li = this.list.querySelector(`li.message[data-id="${Number(id)}"]`);
    return li instanceof HTMLElement ? li : null;
  }

  /** A message from the feed: a reply counts on its parent and joins its open thread. */
  message(m) {
    const parentId = m.metadata?.reply_to;
    if (!parentId || m.room_id !== this.roomId()) return;
    const replies = this.heard.get(parentId) || [];
    this.heard.delete(parentId);
    const heard = { id: m.id, room_id: m.room_id, created_at: m.created_at }; // not the body
    this.heard.set(parentId, [...replies, heard].slice(-PAGE));
    if (this.heard.size > KEEP_HEARD) this.heard.delete(this.heard.keys().next().value);
    this._counted(parentId, m); // a parent not in the room yet counts it when added
    const shownAlready = this.parentId === parentId ? this.items.querySelector(`.thread-item[data-id="${Number(m.id)}"] .body`) : null;
    if (shownAlready && m.html !== undefined) shownAlready.innerHTML = m.html; // the feed's rendering of one sent here
    if (this.parentId === parentId && !this.hasMore && m.id > this.lastId) {
      this._append(m);
      const shown = this.items.querySelectorAll(".thread-item:not(.thread-parent)").length;
      this._count(shown);
    }
  }

  _counted(parentId, m) {
    const li = this._inRoom(parentId);
    if (!li || m.room_id !== this.roomId()) return;
    const line = li.querySelector(".thread-line");
    const counted = line instanceof HTMLElement ? Number(line.dataset.last) : 0;
    if (m.id <= counted) return; // counted already (or in the count the page read)
    const count = line instanceof HTMLElement ? Number(line.dataset.count) : 0;
    setLine(li, count + 1, m.id, m.created_at);
  }

  async send() {
    const roomId = this.roomId();
    const parentId = this.parentId;
    const content = this.draft.value.trim();
    if (!roomId || !parentId || !content) return;
    const sender = this.reader();
    if (!sender) {
      $("thread-note").textContent = "Set your name first.";
      return;
    }
    try {
      const posted = await api(`/rooms/${enc(roomId)}/messages`, { method: "POST", body: { sender, content, reply_to: parentId } });
      this.draft.value = "";
      $("thread-note").textContent = "";
      // The feed brings it too (with its rendering); the one first shown stays.
      this.message(posted);
    } catch (error) {
      $("thread-note").textContent = `Not sent: ${error instanceof Error ? error.message : error}`;
    }
  }

  /** After a (re)connect: counts of the messages shown, and the open thread, read again. */
  async ready() {
    const roomId = this.roomId();
    if (!roomId) return;
    if (this.parentId) this._load(true);
    const ids = [...this.list.querySelectorAll("li.message")].map((li) => Number(li instanceof HTMLElement ? li.dataset.id : 0)).filter(Boolean);
    for (let i = 0; i < ids.length; i += FETCH_IDS) {
      const chunk = ids.slice(i, i + FETCH_IDS);
      const got = await api(`/rooms/${enc(roomId)}/replies?ids=${chunk.join(",")}`).catch(() => null);
      if (!got || this.roomId() !== roomId) return;
      for (const id of chunk) {
        const li = this._inRoom(id);
        const r = got.replies[String(id)];
        if (li) setLine(li, r?.count || 0, r?.last_id || 0, r?.last_at || "");
      }
    }
  }
}
