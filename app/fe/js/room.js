// The open room: the newest window first, older pages on scroll-up, live
// messages from the tab feed, the team status bar, @mention chips and the
// "N new messages" pill while the reader is scrolled up.

import { api, enc } from "./api.js";
import { messageClass, messageExtras, presenceDot } from "./coordination.js";
import { $, colourClass, h, timeAgo } from "./dom.js";

const PAGE = 100;
const HUNT_PAGE = 500; // looking for a search hit further back
const HUNT_LIMIT = 20000;
const NEAR_BOTTOM_PX = 48;
const MENTION = /(^|[^\p{L}\p{N}_])@([\p{L}\p{N}_-]+)/gu;

export class RoomView {
  constructor({ onRead }) {
    this.onRead = onRead; // (roomId, lastId) when the reader has seen the newest
    this.room = null;
    this.newestId = 0;
    this.oldestId = null;
    this.hasOlder = false;
    this.loadingOlder = false;
    this.unseen = 0;
    this.agents = new Set();
    this.statusRows = new Map();
    this.pending = null;
    this.list = $("message-list");
    this.scroller = $("messages");
    this.pill = $("pill");
    // Pinned: the reader follows the newest message. Messages below the fold
    // skip layout (content-visibility), so heights settle only as they come into
    // view; while pinned, every settling keeps the bottom in view.
    this.pinned = true;
    this.lastTop = 0;
    this.pill.addEventListener("click", () => this.scrollToEnd());
    this.scroller.addEventListener("scroll", () => this._scrolled(), { passive: true });
    new ResizeObserver(() => {
      if (this._stillPinned()) this.scroller.scrollTop = this.scroller.scrollHeight;
    }).observe(this.list);
    this.older = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.loadOlder();
    }, { root: this.scroller, rootMargin: "600px 0px 0px 0px" });
    this.older.observe($("older"));
    setInterval(() => this._refreshTimes(), 30000);
  }

  async open(room, focusId = null) {
    this.room = room;
    this.newestId = 0;
    this.oldestId = null;
    this.hasOlder = false;
    this.unseen = 0;
    this.pending = []; // live messages that arrive while the first page loads
    this.list.replaceChildren();
    this._pill();
    this.describe(room);
    const [page, statuses, agents] = await Promise.all([
      api(`/rooms/${enc(room.id)}/messages?limit=${PAGE}&html=true`),
      api(`/rooms/${enc(room.id)}/statuses`),
      api(`/rooms/${enc(room.id)}/agents`),
    ]);
    if (this.room?.id !== room.id) return; // another room was opened meanwhile
    this.agents = new Set(agents.agents.map((a) => a.agent_name));
    this.statuses(statuses.statuses);
    this._prepend(page.messages, page.has_more);
    const early = this.pending;
    this.pending = null;
    for (const message of early) this.add(message, false);
    if (focusId) await this.focus(focusId);
    else this.scrollToEnd();
  }

  async refreshTeam() {
    if (!this.room) return;
    const roomId = this.room.id;
    const [statuses, agents] = await Promise.all([
      api(`/rooms/${enc(roomId)}/statuses`),
      api(`/rooms/${enc(roomId)}/agents`),
    ]).catch(() => [null, null]);
    if (!statuses || this.room?.id !== roomId) return;
    for (const a of agents.agents) this.agents.add(a.agent_name);
    this.statuses(statuses.statuses);
  }

  describe(room) {
    this.room = { ...this.room, ...room };
    const r = this.room;
    $("room-name").textContent = r.name;
    const bits = [r.project];
    if (r.branch) bits.push(`branch ${r.branch}`);
    if (r.status !== "live") bits.push("archived");
    if (r.description) bits.push(r.description);
    $("room-meta").textContent = bits.join(" · ");
    $("export-md").href = `/api/rooms/${enc(r.id)}/export?format=md`;
    $("archive-room").hidden = r.status !== "live";
    $("delete-room").hidden = r.status === "live";
  }

  // -- messages --------------------------------------------------------------

  add(message, live) {
    if (!this.room || message.room_id !== this.room.id) return;
    if (this.pending) {
      this.pending.push(message);
      return;
    }
    if (message.id <= this.newestId) return; // already shown (ids only grow)
    const follow = this._stillPinned() || this.atBottom();
    this.list.append(this._item(message));
    this.newestId = message.id;
    this.oldestId ??= message.id;
    if (follow) this.scrollToEnd();
    else if (live) {
      this.unseen += 1;
      this._pill();
    }
  }

  async loadOlder(limit = PAGE) {
    if (!this.room || !this.hasOlder || this.loadingOlder || this.oldestId === null) return false;
    this.loadingOlder = true;
    const roomId = this.room.id;
    try {
      const page = await api(
        `/rooms/${enc(roomId)}/messages?before_id=${this.oldestId}&limit=${limit}&html=true`,
      );
      if (this.room?.id !== roomId) return false;
      this._prepend(page.messages, page.has_more);
      return true;
    } finally {
      this.loadingOlder = false;
    }
  }

  async focus(messageId) {
    let loaded = this.list.childElementCount;
    while (!this._element(messageId) && this.hasOlder && loaded < HUNT_LIMIT) {
      if (!(await this.loadOlder(HUNT_PAGE))) break;
      loaded = this.list.childElementCount;
    }
    const target = this._element(messageId);
    if (!target) return false;
    this.pinned = false;
    target.scrollIntoView({ block: "center" });
    target.classList.add("flash");
    setTimeout(() => target.classList.remove("flash"), 2500);
    return true;
  }

  cleared() {
    this.list.replaceChildren(h("li", { class: "notice" }, "The room was cleared."));
    this.oldestId = this.newestId + 1;
    this.hasOlder = false;
  }

  _prepend(messages, hasMore) {
    // Keep the reader's place: what they were looking at stays where it was.
    const before = this.scroller.scrollHeight - this.scroller.scrollTop;
    const fresh = messages.filter((m) => this.oldestId === null || m.id < this.oldestId);
    this.list.prepend(...fresh.map((m) => this._item(m)));
    if (fresh.length) {
      this.oldestId = fresh[0].id;
      this.newestId = Math.max(this.newestId, fresh[fresh.length - 1].id);
    }
    this.hasOlder = hasMore;
    $("older").hidden = !hasMore;
    this.scroller.scrollTop = this.scroller.scrollHeight - before;
  }

  _element(id) {
    return this.list.querySelector(`li[data-id="${Number(id)}"]`);
  }

  _item(m) {
    const system = m.message_type === "system";
    const body = h("div", { class: "body" });
    body.innerHTML = m.html ?? ""; // the server renderer's output: escaped, no raw HTML
    if (m.html === undefined) body.textContent = m.content;
    this._chips(body);
    const replyTo = m.metadata?.reply_to;
    return h(
      "li",
      { class: `message${system ? " system" : ""}${messageClass(m)}`, "data-id": m.id },
      h(
        "header",
        {},
        h("span", { class: `sender ${colourClass(m.sender)}` }, m.sender),
        system ? h("span", { class: "tag" }, "system") : null,
        m.metadata?.source === "web" ? h("span", { class: "tag" }, "human") : null,
        ...messageExtras(m),
        h("time", { datetime: m.created_at, title: m.created_at }, timeAgo(m.created_at)),
        h("span", { class: "msg-id" }, `#${m.id}`),
      ),
      replyTo ? h("div", { class: "reply" }, `↳ reply to #${replyTo}`) : null,
      body,
    );
  }

  // @name of a registered agent becomes a chip (text nodes only, never code).
  _chips(body) {
    if (!this.agents.size) return;
    const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT, {
      acceptNode: (node) =>
        node.parentElement.closest("code, pre, a") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
    });
    const nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    for (const node of nodes) {
      const text = node.nodeValue;
      const parts = [];
      let at = 0;
      for (const match of text.matchAll(MENTION)) {
        const name = match[2].toLowerCase();
        if (!this.agents.has(name)) continue;
        const start = match.index + match[1].length;
        parts.push(text.slice(at, start), h("span", { class: "mention", title: "registered agent" }, `@${match[2]}`));
        at = start + 1 + match[2].length;
      }
      if (!parts.length) continue;
      parts.push(text.slice(at));
      node.replaceWith(...parts);
    }
  }

  // -- team ------------------------------------------------------------------

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
    this.agents.add(row.agent_name);
  }

  _statusBar() {
    const chips = [...this.statusRows.values()].map((s) =>
      h("span", { class: "status-chip", title: s.updated_at },
        presenceDot(s.sender), h("b", { class: colourClass(s.sender) }, s.sender), ": ", s.status),
    );
    $("statusbar").replaceChildren(...chips);
  }

  // -- scrolling -------------------------------------------------------------

  atBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToEnd() {
    this.pinned = true;
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.unseen = 0;
    this._pill();
    this._seen();
  }

  // Only the reader moves the view up; settling heights only push it down.
  // Checked here too, not only on the scroll event: that event comes a frame
  // later, and a message arriving in between must not pull the reader back.
  _stillPinned() {
    const top = this.scroller.scrollTop;
    if (top < this.lastTop - 2) this.pinned = false;
    this.lastTop = top;
    return this.pinned;
  }

  _scrolled() {
    this._stillPinned();
    if (this.atBottom()) {
      this.pinned = true;
      this.unseen = 0;
      this._pill();
      this._seen();
    }
  }

  _seen() {
    if (this.room && this.newestId && document.visibilityState === "visible") {
      this.onRead(this.room.id, this.newestId);
    }
  }

  _pill() {
    this.pill.hidden = this.unseen === 0;
    this.pill.textContent = `${this.unseen} new message${this.unseen === 1 ? "" : "s"} ↓`;
  }

  _refreshTimes() {
    const times = this.list.querySelectorAll("time");
    for (let i = Math.max(0, times.length - 200); i < times.length; i += 1) {
      times[i].textContent = timeAgo(times[i].dateTime);
    }
  }
}
