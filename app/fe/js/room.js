// @ts-check
// The open room: a window of its messages, never the whole room.
//
// It opens on the newest page, on a window around the first unread message
// (under a "New" divider), or around a linked message; scrolling either way
// loads the next page, and the page holds at most MAX_IN_PAGE messages (the
// far end is let go). Live messages are queued and attached once per
// animation frame. Where the reader is and what they have seen (pinned to the
// bottom, the pill, the cursor, the "New" divider) is reading.js's job.

import { api, enc } from "./api.js";
import { palette, senderColour } from "./colours.js";
import { $, AGES_EVERY_MS, countedUnread, fullTime, h, plainText, refreshAges, setAttr, setText } from "./dom.js";
import { forReader } from "./mentions.js";
import { buildItems, copyText, rejoin } from "./message_items.js";
import { dropPurged } from "./purged.js";
import { Reading } from "./reading.js";

const PAGE = 100;
const WINDOW = 200; // around a linked message
const MAX_IN_PAGE = 500;
const ANNOUNCE_MS = 4000;
const SHORT_BURST = 3; // up to this many new messages are read in full
const SPOKEN_CHARS = 300;

export class RoomView {
  constructor({ onRead, onReply, onReact, onWatch, onTeam, reader, presence }) {
    this.presence = presence; // coordination.js's Presence: the status bar's dots
    this.onReply = onReply; // ({id, sender, excerpt})
    this.onReact = onReact; // (message id, emoji): toggle the reader's reaction
    this.reader = reader; // () -> the reader's name: their own messages are never news
    this.onTeam = onTeam; // () — agents or statuses changed
    this.room = null;
    this.agents = new Map();
    this.statusRows = new Map();
    this.palette = palette; // the page-wide sender colours (colours.js)
    this.list = $("message-list");
    this.scroller = $("messages");
    this.incoming = [];
    this.frame = 0;
    this.reading = new Reading({
      scroller: this.scroller,
      list: this.list,
      window: {
        roomId: () => this.room?.id ?? null,
        newestId: () => this.newestId,
        atLiveEnd: () => !this.hasNewer,
      },
      onRead,
      onWatch, // (watching: bool) — at the bottom, tab visible
    });
    this._reset();
    $("pill").addEventListener("click", () => this.jumpToNewest());
    this.list.addEventListener("click", (event) => this._clicked(event));
    // The list is one Tab stop (the "rover": the message last focused, else the
    // first unread or the newest); ↑/↓ move between messages; inside the
    // focused message Tab walks its links and actions.
    this.rover = null;
    this.list.addEventListener("keydown", (event) => this._arrow(event));
    this.list.addEventListener("focusin", (event) => this._entered(event));
    this.list.addEventListener("focusout", (event) => this._left(event));
    const edges = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          if (!entry.isIntersecting) continue;
          if (entry.target.id === "older") this.loadOlder();
          else this.loadNewer();
        }
      },
      { root: this.scroller, rootMargin: "600px 0px 600px 0px" },
    );
    edges.observe($("older"));
    edges.observe($("newer"));
    setInterval(() => this._refreshTimes(), AGES_EVERY_MS);
  }

  _reset() {
    this.newestId = 0;
    this.oldestId = null;
    this.hasOlder = false;
    this.hasNewer = false;
    this.beyond = []; // live messages past the window's end, while it is not at the end
    this.loading = false;
    this.pending = null;
    this.incoming = [];
    this.reading.reset();
    this.parents = new Map(); // reply parents outside the page: id -> promise of the message
    clearTimeout(this.announceTimer); // another room's news is not this one's
    this.announceTimer = null;
    this.announced = 0;
    this.spoken = []; // the first messages of the burst being counted
    this.forMe = []; // the burst's messages for the reader
    this.lastAnnounce = 0;
  }

  // -- opening -----------------------------------------------------------------

  // The window around a linked message: it does not depend on the room's
  // summary, so the page asks for both at once (open's `aroundPage`).
  around(roomId, focus) {
    return api(`/rooms/${enc(roomId)}/messages?around=${Number(focus)}&limit=${WINDOW}&html=true`);
  }

  async open(room, { focus = null, cursor = 0, aroundPage = null } = {}) {
    this.room = room;
    this._reset();
    this.pending = []; // live messages that arrive while the first page loads
    this.agents = new Map();
    this.statusRows = new Map();
    this.list.replaceChildren();
    this.list.setAttribute("aria-busy", "true"); // until its first page is drawn
    this._edges();
    this.reading.setUnseen(0);
    this.describe(room);
    const base = `/rooms/${enc(room.id)}/messages`;
    // An archived room counts no unread, so it opens at its end too.
    const firstUnread = !focus && countedUnread(room) > 0 && cursor > 0 ? cursor + 1 : null;
    let request;
    if (focus) request = aroundPage ?? this.around(room.id, focus);
    else if (firstUnread) request = api(`${base}?around=${firstUnread}&limit=${PAGE}&html=true`);
    else request = api(`${base}?limit=${PAGE}&html=true`);
    const [page] = await Promise.all([request, this.refreshTeam()]);
    if (this.room?.id !== room.id) return false; // another room was opened meanwhile
    this._load(page);
    this.list.setAttribute("aria-busy", "false");
    const arrived = this.pending;
    this.pending = null;
    for (const message of arrived) this.add(message);
    if (focus) {
      const shown = this._show(focus);
      this._rove(this.element(focus));
      return shown;
    }
    if (firstUnread && this.reading.showUnreadAfter(cursor)) {
      this._rove(this.reading.divider?.nextElementSibling);
      return true;
    }
    this.reading.toEnd();
    this._rove(null);
    return true;
  }

  // -- the keyboard ----------------------------------------------------------------

  /** Make `li` (else the newest message) the list's one Tab stop. */
  _rove(li, focus = false) {
    const target = li?.isConnected && li.classList.contains("message") ? li : this.list.querySelector("li.message:last-of-type");
    if (!target) return;
    if (this.rover && this.rover !== target) this.rover.tabIndex = -1;
    this.rover = target;
    target.tabIndex = 0;
    if (focus) {
      target.focus({ preventScroll: true });
      target.scrollIntoView({ block: "nearest" });
    }
  }

  _arrow(event) {
    if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
    const li = event.target;
    if (!li.matches?.("li.message")) return;
    event.preventDefault();
    const step = event.key === "ArrowUp" ? "previousElementSibling" : "nextElementSibling";
    let next = li[step];
    while (next && !next.classList.contains("message")) next = next[step];
    if (next) this._rove(next, true);
  }

  _controls(li) {
    return li.querySelectorAll("a, button");
  }

  _entered(event) {
    const li = event.target.closest?.("li.message");
    if (!li) return;
    if (li !== this.rover || !this.rover.isConnected) this._rove(li);
    if (li.dataset.open) return;
    li.dataset.open = "1";
    for (const el of this._controls(li)) el.tabIndex = 0;
  }

  _left(event) {
    const li = event.target.closest?.("li.message");
    if (!li || li.contains(event.relatedTarget)) return;
    delete li.dataset.open;
    for (const el of this._controls(li)) el.tabIndex = -1;
  }

  // A page answered by `around` or by the newest-page read.
  _load(page) {
    const messages = page.messages;
    this.list.replaceChildren(...this._build(messages, null));
    this.oldestId = messages.length ? messages[0].id : null;
    this.newestId = messages.length ? messages[messages.length - 1].id : 0;
    this.hasOlder = page.has_older ?? page.has_more;
    this.hasNewer = page.has_newer ?? false;
    this._edges();
  }

  async refreshTeam() {
    if (!this.room) return;
    const roomId = this.room.id;
    const [statuses, agents] = await Promise.all([api(`/rooms/${enc(roomId)}/statuses`), api(`/rooms/${enc(roomId)}/agents`)]).catch(() => [
      null,
      null,
    ]);
    if (!statuses || this.room?.id !== roomId) return;
    for (const a of agents.agents) this.agents.set(a.agent_name, a);
    this.statuses(statuses.statuses);
  }

  describe(room) {
    this.room = { ...this.room, ...room };
    const r = this.room;
    setText($("room-name"), r.name);
    const bits = [r.project];
    if (r.branch) bits.push(`branch ${r.branch}`);
    if (r.status !== "live") bits.push("archived");
    if (r.description) bits.push(r.description);
    setText($("room-meta"), bits.join(" · "));
    setAttr($("export-md"), "href", `/api/rooms/${enc(r.id)}/export?format=md`);
    if ($("archive-room").hidden !== (r.status !== "live")) $("archive-room").hidden = r.status !== "live";
    if ($("delete-room").hidden !== (r.status === "live")) $("delete-room").hidden = r.status === "live";
  }

  // -- live messages, once per frame --------------------------------------------

  add(message) {
    if (!this.room || message.room_id !== this.room.id) return;
    if (this.pending) {
      this.pending.push(message);
      return;
    }
    if (this.hasNewer) {
      // The window ends before the newest message: the reader catches up by
      // scrolling (loadNewer), which takes these from here.
      if (this.beyond.length < MAX_IN_PAGE) this.beyond.push(message);
      else this.beyond = [];
      if (message.sender !== this.reader()) this.reading.setUnseen(this.reading.unseen + 1);
      return;
    }
    this.incoming.push(message);
    if (!this.frame) this.frame = requestAnimationFrame(() => this._flush());
  }

  _flush() {
    this.frame = 0;
    const batch = this.incoming.filter((m) => m.id > this.newestId);
    this.incoming = [];
    if (!batch.length || !this.room) return;
    const items = this._build(batch, this.list.lastElementChild);
    for (const item of items) item.classList.add("live"); // laid out at once (app.css)
    this.list.append(...items);
    this.newestId = batch[batch.length - 1].id;
    this.oldestId ??= batch[0].id;
    if (this.reading.pinned) {
      this._trim("top");
      this.reading.seen();
      this._announce(batch);
    } else {
      const reader = this.reader();
      const news = batch.filter((m) => m.sender !== reader).length;
      if (news) this.reading.setUnseen(this.reading.unseen + news);
    }
  }

  // The reader sent a message here: to the bottom, where it lands.
  sent(roomId) {
    if (this.room?.id === roomId) this.jumpToNewest();
  }

  // -- paging ------------------------------------------------------------------

  async loadOlder() {
    if (!this.room || !this.hasOlder || this.loading || this.oldestId === null) return;
    this.loading = true;
    const roomId = this.room.id;
    try {
      const page = await api(`/rooms/${enc(roomId)}/messages?before_id=${this.oldestId}&limit=${PAGE}&html=true`);
      if (this.room?.id !== roomId) return;
      const fresh = page.messages.filter((m) => m.id < this.oldestId);
      // Keep the reader's place: what they were looking at stays where it was.
      const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
      const oldFirst = this.list.firstElementChild;
      this.list.prepend(...this._build(fresh, null));
      rejoin(oldFirst);
      if (fresh.length) this.oldestId = fresh[0].id;
      this.hasOlder = page.has_more;
      this._trim("bottom");
      this._edges();
      this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
    } finally {
      this.loading = false;
    }
  }

  async loadNewer() {
    if (!this.room || !this.hasNewer || this.loading) return;
    this.loading = true;
    const roomId = this.room.id;
    try {
      const page = await api(`/rooms/${enc(roomId)}/messages?since_id=${this.newestId}&limit=${PAGE}&html=true`);
      if (this.room?.id !== roomId) return;
      const fresh = page.messages.filter((m) => m.id > this.newestId);
      this.hasNewer = page.has_more;
      if (!this.hasNewer) {
        // At the live end: what arrived meanwhile follows, once.
        const last = fresh.length ? fresh[fresh.length - 1].id : this.newestId;
        fresh.push(...this.beyond.filter((m) => m.id > last));
        this.beyond = [];
        this.reading.setUnseen(0);
      }
      this.list.append(...this._build(fresh, this.list.lastElementChild));
      if (fresh.length) this.newestId = fresh[fresh.length - 1].id;
      const top = this.scroller.scrollTop;
      const height = this.scroller.scrollHeight;
      this._trim("top");
      this.scroller.scrollTop = top - (height - this.scroller.scrollHeight);
      this._edges();
      this.reading.checkRead();
    } finally {
      this.loading = false;
    }
  }

  async jumpToNewest() {
    if (!this.hasNewer) {
      this.reading.toEnd();
      return;
    }
    const roomId = this.room.id;
    const page = await api(`/rooms/${enc(roomId)}/messages?limit=${PAGE}&html=true`);
    if (this.room?.id !== roomId) return;
    this.beyond = [];
    this._load(page);
    this.reading.toEnd();
  }

  // Show a message: in the page already, or a fresh window around it.
  async focus(messageId) {
    if (this.element(messageId)) return this._show(messageId);
    const roomId = this.room.id;
    const page = await api(`/rooms/${enc(roomId)}/messages?around=${Number(messageId)}&limit=${WINDOW}&html=true`);
    if (this.room?.id !== roomId) return false;
    this.beyond = [];
    this._load(page);
    return this._show(messageId);
  }

  _show(messageId) {
    const target = this.element(messageId);
    if (!target) return false;
    this.reading.hold(target, "center");
    target.classList.add("flash");
    setTimeout(() => target.classList.remove("flash"), 2500);
    return true;
  }

  // -- the reader's place, moved by hand (places.js) ------------------------------

  /** The "New" divider above the first message past `cursor`, shown. */
  markUnreadAfter(cursor) {
    this.reading.divider?.remove();
    if (this.reading.showUnreadAfter(cursor)) this._rove(this.reading.divider?.nextElementSibling);
  }

  /** The oldest unread message (past `cursor`): in the page, or a window around it. */
  async showFirstUnread(cursor) {
    const ids = [...this.list.querySelectorAll("li.message")].map((li) => Number(/** @type {HTMLElement} */ (li).dataset.id));
    const inPage = ids.some((id) => id > cursor) && (!this.hasOlder || ids[0] <= cursor);
    if (!inPage) {
      const roomId = this.room.id;
      const page = await api(`/rooms/${enc(roomId)}/messages?around=${Number(cursor) + 1}&limit=${PAGE}&html=true`);
      if (this.room?.id !== roomId) return;
      this.beyond = [];
      this._load(page);
    }
    this.markUnreadAfter(cursor);
  }

  // Let go of the far end so the page holds at most MAX_IN_PAGE messages.
  _trim(side) {
    const extra = this.list.querySelectorAll("li.message").length - MAX_IN_PAGE;
    if (extra <= 0) return;
    let removed = 0;
    while (removed < extra) {
      const el = side === "top" ? this.list.firstElementChild : this.list.lastElementChild;
      if (!el) break;
      if (el.classList.contains("message")) removed += 1;
      el.remove();
    }
    // Separators left at the new edge go too; a grouped first line gets its header.
    const edge = () => (side === "top" ? this.list.firstElementChild : this.list.lastElementChild);
    while (edge() && !edge().classList.contains("message")) edge().remove();
    const ids = [...this.list.querySelectorAll("li.message")].map((li) => Number(/** @type {HTMLElement} */ (li).dataset.id));
    if (side === "top") {
      this.oldestId = ids[0];
      this.hasOlder = true;
      rejoin(this.list.firstElementChild);
    } else {
      this.newestId = ids[ids.length - 1];
      this.hasNewer = true;
    }
  }

  _edges() {
    $("older").hidden = !this.hasOlder;
    $("newer").hidden = !this.hasNewer;
  }

  cleared() {
    this.list.replaceChildren(h("li", { class: "notice" }, "The room was cleared."));
    this.oldestId = this.newestId + 1;
    this.hasOlder = false;
    this.hasNewer = false;
    this._edges();
  }

  // Retention deleted this room's messages up to `through_id`: none older is left.
  purged({ room_id: roomId, through_id: through }) {
    if (!this.room || roomId !== this.room.id) return;
    const keep = (/** @type {{id: number}} */ m) => m.id > through;
    if (this.pending) this.pending = this.pending.filter(keep);
    this.beyond = this.beyond.filter(keep);
    if (!dropPurged(this.list, through)) return;
    const first = /** @type {HTMLElement | null} */ (this.list.querySelector("li.message"));
    this.oldestId = first ? Number(first.dataset.id) : null;
    this.hasOlder = false;
    this._edges();
    if (!this.rover?.isConnected) this._rove(null);
  }

  element(id) {
    return this.list.querySelector(`li.message[data-id="${Number(id)}"]`);
  }

  // -- building messages (message_items.js) --------------------------------------

  _build(messages, prev) {
    return buildItems(messages, prev, this);
  }

  _clicked(event) {
    const jump = event.target.closest("[data-jump]");
    if (jump) {
      this.focus(Number(jump.dataset.jump));
      return;
    }
    const reply = event.target.closest("button[data-reply]");
    if (reply) {
      const li = reply.closest("li.message");
      const excerpt = plainText(li.querySelector(".body").textContent, 80);
      this.onReply({ id: Number(reply.dataset.reply), sender: li.dataset.sender, excerpt });
      return;
    }
    const react = event.target.closest("button[data-react]");
    if (react) {
      this.onReact(Number(react.closest("li.message").dataset.id), react.dataset.react);
      return;
    }
    const copyLink = event.target.closest("button[data-copy-link]");
    if (copyLink) {
      copyText(new URL(copyLink.dataset.copyLink, location.href).href, copyLink, "Link copied");
      return;
    }
    const expand = event.target.closest("button[data-expand]");
    if (expand) {
      const open = expand.getAttribute("aria-expanded") !== "true";
      expand.previousElementSibling.classList.toggle("collapsed", !open);
      expand.setAttribute("aria-expanded", String(open));
      expand.textContent = open ? "Show less" : "Show more";
      return;
    }
    const copyCode = event.target.closest("button[data-copy-code]");
    if (copyCode) {
      copyText(copyCode.parentElement.nextElementSibling.textContent, copyCode, "Copied");
      return;
    }
    const permalink = event.target.closest("a.msg-id");
    if (permalink && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      history.replaceState(history.state, "", permalink.href);
      this._show(Number(permalink.closest("li").dataset.id));
    }
  }

  // -- team --------------------------------------------------------------------

  statuses(rows) {
    this.statusRows = new Map(rows.map((s) => [s.sender, s]));
    this._statusBar();
  }

  status(row) {
    if (!this.room || row.room_id !== this.room.id) return;
    this.statusRows.set(row.sender, row);
    this._statusBar();
  }

  agent(row) {
    if (!this.room || row.room_id !== this.room.id) return;
    this.agents.set(row.agent_name, row);
    this.onTeam?.();
  }

  // Names for @-autocomplete: registered agents first, then recent senders.
  names() {
    const recent = [...this.list.querySelectorAll("li.message")].slice(-200).map((li) => /** @type {HTMLElement} */ (li).dataset.sender);
    return [...new Set([...this.agents.keys(), ...recent.reverse()])];
  }

  _statusBar() {
    const chips = [...this.statusRows.values()].map((s) =>
      h(
        "span",
        { class: "status-chip", title: fullTime(s.updated_at) },
        this.presence.dot(s.sender),
        h("b", { class: senderColour(s.sender) }, s.sender),
        ": ",
        s.status,
      ),
    );
    $("statusbar").replaceChildren(...chips);
    this.onTeam?.();
  }

  // -- what the rest of the page asks -------------------------------------------

  get pinned() {
    return this.reading.pinned;
  }

  watching() {
    return this.reading.watching();
  }

  scrollToEnd() {
    this.reading.toEnd();
  }

  // The screen reader hears new messages at the bottom, a few seconds apart:
  // what arrives meanwhile is counted and said when the pause is over, so the
  // end of a burst is never left unsaid.
  // What the live region says: a short burst in full; a longer one counted,
  // with the messages for the reader still in full (a few, at most).
  _announce(batch) {
    this.announced += batch.length;
    this.announcedFrom = batch[batch.length - 1].sender;
    const reader = this.reader();
    for (const m of batch) {
      if (this.spoken.length < SHORT_BURST) this.spoken.push(m);
      if (this.forMe.length < SHORT_BURST && forReader(m, reader)) this.forMe.push(m);
    }
    if (this.announceTimer) return;
    const wait = Math.max(0, this.lastAnnounce + ANNOUNCE_MS - Date.now());
    this.announceTimer = setTimeout(() => this._say(), wait);
  }

  _say() {
    this.announceTimer = null;
    const count = this.announced;
    if (!count) return;
    const said = (m) => `${m.sender}: ${plainText(m.content, SPOKEN_CHARS)}`;
    let text;
    if (count <= SHORT_BURST) text = this.spoken.map(said).join(". ");
    else {
      text = `${count} new messages, latest from ${this.announcedFrom}`;
      for (const m of this.forMe) text += `. For you, from ${said(m)}`;
    }
    $("announce").textContent = text;
    this.announced = 0;
    this.spoken = [];
    this.forMe = [];
    this.lastAnnounce = Date.now();
  }

  _refreshTimes() {
    refreshAges([...this.list.querySelectorAll("time.ago")].slice(-200)); // the newest 200
  }
}
