// The open room: a window of its messages, never the whole room.
//
// It opens on the newest page, on a window around the first unread message
// (under a "New" divider), or around a linked message; scrolling either way
// loads the next page, and the page holds at most MAX_IN_PAGE messages (the
// far end is let go). Live messages are queued and attached once per
// animation frame; whether the reader is at the bottom is known from scroll
// events, never by reading layout per message, and a ResizeObserver keeps a
// pinned reader at the bottom after layout.

import { api, enc } from "./api.js";
import { addressees, messageClass, messageExtras, presenceDot } from "./coordination.js";
import { $, Palette, clockTime, dayLabel, fullTime, h, initials, localDay, plainText, setAttr, setText, timeAgo } from "./dom.js";
import { decorateCode, mentionChips } from "./message_parts.js";

const PAGE = 100;
const WINDOW = 200; // around a linked message
const MAX_IN_PAGE = 500;
const NEAR_BOTTOM_PX = 48;
const GROUP_MS = 5 * 60 * 1000;
const READ_CHECK_MS = 250;
const ANNOUNCE_MS = 4000;

export class RoomView {
  constructor({ onRead, onReply, onWatch, onTeam }) {
    this.onRead = onRead; // (roomId, lastSeenId)
    this.onReply = onReply; // ({id, sender, excerpt})
    this.onWatch = onWatch; // (watching: bool) — at the bottom, tab visible
    this.onTeam = onTeam; // () — agents or statuses changed
    this.room = null;
    this.agents = new Map();
    this.statusRows = new Map();
    this.palette = new Palette();
    this.list = $("message-list");
    this.scroller = $("messages");
    this.pill = $("pill");
    this.incoming = [];
    this.frame = 0;
    this.pinned = true;
    this.lastTop = 0;
    this._reset();
    this.pill.addEventListener("click", () => this.jumpToNewest());
    // The reader's own gestures unpin at once (before their scroll event, so a
    // message arriving in between never pulls them back); scroll events (one
    // per frame at most, when layout is clean: nothing writes the DOM outside
    // animation frames) tell whether the bottom is reached.
    this.scroller.addEventListener("scroll", () => this._scrolled(), { passive: true });
    this.scroller.addEventListener("wheel", (event) => { if (event.deltaY < 0) this._unpin(); }, { passive: true });
    this.scroller.addEventListener("touchmove", () => this._unpin(), { passive: true });
    this.scroller.addEventListener("keydown", (event) => {
      if (["ArrowUp", "PageUp", "Home"].includes(event.key)) this._unpin();
    });
    this.scroller.addEventListener("pointerdown", (event) => {
      if (event.target === this.scroller) this._unpin(); // the scrollbar
    });

    this.list.addEventListener("click", (event) => this._clicked(event));
    // Heights settle as off-screen messages come into view (content-visibility):
    // a pinned reader stays at the bottom, a shown message stays where it was put.
    new ResizeObserver(() => {
      if (this.anchor) this.anchor.el.scrollIntoView({ block: this.anchor.block });
      else if (this.pinned && !this.hasNewer) this.scroller.scrollTop = this.scroller.scrollHeight;
    }).observe(this.list);
    for (const kind of ["wheel", "touchstart", "keydown", "pointerdown"]) {
      this.scroller.addEventListener(kind, () => { this.anchor = null; }, { passive: true });
    }
    const edges = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        if (entry.target.id === "older") this.loadOlder();
        else this.loadNewer();
      }
    }, { root: this.scroller, rootMargin: "600px 0px 600px 0px" });
    edges.observe($("older"));
    edges.observe($("newer"));
    setInterval(() => this._refreshTimes(), 30000);
  }

  _reset() {
    this.newestId = 0;
    this.oldestId = null;
    this.hasOlder = false;
    this.hasNewer = false;
    this.beyond = []; // live messages past the window's end, while it is not at the end
    this.loading = false;
    this.unseen = 0;
    this.pending = null;
    this.incoming = [];
    this.divider = null;
    this.anchor = null;
    this.parents = new Map(); // reply parents outside the page: id -> promise of the message
    this.lastAnnounce = 0;
  }

  // -- opening -----------------------------------------------------------------

  async open(room, { focus = null, cursor = 0 } = {}) {
    this.room = room;
    this._reset();
    this.pending = []; // live messages that arrive while the first page loads
    this.palette = new Palette();
    this.agents = new Map();
    this.statusRows = new Map();
    this.list.replaceChildren();
    this._edges();
    this._pill();
    this.describe(room);
    const base = `/rooms/${enc(room.id)}/messages`;
    const firstUnread = !focus && room.unread_count > 0 && cursor > 0 ? cursor + 1 : null;
    let url = `${base}?limit=${PAGE}&html=true`;
    if (focus) url = `${base}?around=${Number(focus)}&limit=${WINDOW}&html=true`;
    else if (firstUnread) url = `${base}?around=${firstUnread}&limit=${PAGE}&html=true`;
    const [page] = await Promise.all([api(url), this.refreshTeam()]);
    if (this.room?.id !== room.id) return false; // another room was opened meanwhile
    this._load(page);
    const early = this.pending;
    this.pending = null;
    for (const message of early) this.add(message);
    if (focus) return this._show(focus);
    if (firstUnread) {
      this._markUnread(cursor);
      if (this.divider) {
        this.pinned = false;
        this._hold(this.divider, "start");
        this._checkRead();
        return true;
      }
    }
    this.scrollToEnd();
    return true;
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
    const [statuses, agents] = await Promise.all([
      api(`/rooms/${enc(roomId)}/statuses`),
      api(`/rooms/${enc(roomId)}/agents`),
    ]).catch(() => [null, null]);
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
      this.unseen += 1;
      this._pill();
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
    this.list.append(...this._build(batch, this.list.lastElementChild));
    this.newestId = batch[batch.length - 1].id;
    this.oldestId ??= batch[0].id;
    if (this.pinned) {
      this._trim("top");
      this._seen();
      this._announce(batch);
    } else {
      this.unseen += batch.length;
      this._pill();
    }
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
      this._rejoin(oldFirst);
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
        this.unseen = 0;
        this._pill();
      }
      this.list.append(...this._build(fresh, this.list.lastElementChild));
      if (fresh.length) this.newestId = fresh[fresh.length - 1].id;
      const top = this.scroller.scrollTop;
      const height = this.scroller.scrollHeight;
      this._trim("top");
      this.scroller.scrollTop = top - (height - this.scroller.scrollHeight);
      this._edges();
      this._checkRead();
    } finally {
      this.loading = false;
    }
  }

  async jumpToNewest() {
    if (!this.hasNewer) {
      this.scrollToEnd();
      return;
    }
    const roomId = this.room.id;
    const page = await api(`/rooms/${enc(roomId)}/messages?limit=${PAGE}&html=true`);
    if (this.room?.id !== roomId) return;
    this.beyond = [];
    this.unseen = 0;
    this._load(page);
    this.scrollToEnd();
  }

  // Show a message: in the page already, or a fresh window around it.
  async focus(messageId) {
    if (this._element(messageId)) return this._show(messageId);
    const roomId = this.room.id;
    const page = await api(`/rooms/${enc(roomId)}/messages?around=${Number(messageId)}&limit=${WINDOW}&html=true`);
    if (this.room?.id !== roomId) return false;
    this.beyond = [];
    this._load(page);
    return this._show(messageId);
  }

  _show(messageId) {
    const target = this._element(messageId);
    if (!target) return false;
    this.pinned = false;
    this._hold(target, "center");
    target.classList.add("flash");
    setTimeout(() => target.classList.remove("flash"), 2500);
    this._checkRead();
    return true;
  }

  // Scroll to an element and keep it there while heights settle, until the
  // reader moves (wheel, touch, key, pointer) or a second has passed.
  _hold(el, block) {
    this.anchor = { el, block };
    el.scrollIntoView({ block });
    clearTimeout(this.anchorTimer);
    this.anchorTimer = setTimeout(() => { this.anchor = null; }, 1000);
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
    const ids = [...this.list.querySelectorAll("li.message")].map((li) => Number(li.dataset.id));
    if (side === "top") {
      this.oldestId = ids[0];
      this.hasOlder = true;
      this._rejoin(this.list.firstElementChild);
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

  _element(id) {
    return this.list.querySelector(`li.message[data-id="${Number(id)}"]`);
  }

  // -- building messages ---------------------------------------------------------

  // Items for messages (oldest first) following `prev` (an <li> or null),
  // with day separators and consecutive lines of one sender grouped.
  _build(messages, prev) {
    const out = [];
    let last = prev?.classList?.contains("message") ? prev.dataset : null;
    for (const m of messages) {
      const day = localDay(m.created_at);
      if (!last || last.day !== day) {
        out.push(h("li", { class: "day", role: "separator", "data-day": day }, dayLabel(m.created_at)));
        last = null;
      }
      const grouped = Boolean(last) && last.sender === m.sender && last.type === m.message_type
        && m.message_type !== "system" && !m.metadata?.reply_to
        && Date.parse(m.created_at) - Number(last.ts) < GROUP_MS;
      const item = this._item(m, grouped);
      out.push(item);
      last = item.dataset;
    }
    return out;
  }

  // After a prepend: the old first item may join the page before it.
  _rejoin(first) {
    if (!first?.isConnected) return;
    let item = first;
    if (first.classList.contains("day")) {
      const prev = first.previousElementSibling;
      if (prev?.classList.contains("message") && prev.dataset.day === first.dataset.day) {
        item = first.nextElementSibling;
        first.remove();
      } else return;
    }
    if (!item?.classList.contains("message")) return;
    const prev = item.previousElementSibling;
    const grouped = prev?.classList.contains("message") && prev.dataset.sender === item.dataset.sender
      && prev.dataset.type === item.dataset.type && item.dataset.type !== "system" && !item.dataset.reply
      && Number(item.dataset.ts) - Number(prev.dataset.ts) < GROUP_MS;
    item.classList.toggle("grouped", Boolean(grouped));
  }

  _item(m, grouped) {
    const system = m.message_type === "system";
    const colour = this.palette.colour(m.sender);
    const body = h("div", { class: "body" });
    if (m.html === undefined) body.textContent = m.content;
    else body.innerHTML = m.html; // the server renderer's output: escaped, no raw HTML
    mentionChips(body, this.agents);
    decorateCode(body);
    const replyTo = m.metadata?.reply_to;
    const link = `/?room=${enc(m.room_id)}&msg=${m.id}`;
    const item = h(
      "li",
      {
        class: `message${system ? " system" : ""}${messageClass(m)}${grouped ? " grouped" : ""}`,
        "data-id": m.id,
        "data-sender": m.sender,
        "data-type": m.message_type,
        "data-ts": Date.parse(m.created_at),
        "data-day": localDay(m.created_at),
        "data-reply": replyTo || null,
      },
      h("span", { class: `avatar ${colour}`, "aria-hidden": "true" }, initials(m.sender)),
      h("time", { class: "gutter", datetime: m.created_at, title: fullTime(m.created_at) }, clockTime(m.created_at)),
      h(
        "header",
        {},
        h("span", { class: `sender ${colour}` }, m.sender),
        system ? h("span", { class: "tag" }, "system") : null,
        m.metadata?.source === "web" ? h("span", { class: "tag" }, "human") : null,
        ...messageExtras(m),
        h("time", { class: "ago", datetime: m.created_at, title: fullTime(m.created_at) }, timeAgo(m.created_at)),
        h("a", { class: "msg-id", href: link, title: "Link to this message" }, `#${m.id}`),
      ),
      addressees(m),
      replyTo ? this._quote(replyTo) : null,
      body,
      h("div", { class: "msg-actions" },
        h("button", { type: "button", "data-reply": m.id, "aria-label": `Reply to #${m.id}` }, "Reply"),
        h("button", { type: "button", "data-copy-link": link, "aria-label": `Copy link to #${m.id}` }, "Copy link")),
    );
    return item;
  }

  // The parent as a one-line quote when it is in the page; always a jump.
  _quote(parentId) {
    const parent = this._element(parentId);
    const quote = h("button", { type: "button", class: "quote", "data-jump": parentId, title: `Show #${parentId}` });
    if (parent) quote.textContent = `↳ ${parent.dataset.sender}: ${plainText(parent.querySelector(".body").textContent, 120)}`;
    else {
      quote.textContent = `↳ message #${parentId}`;
      this._fetchParent(parentId, quote);
    }
    return quote;
  }

  // A parent outside the page: its one line comes from the server (once per
  // id, a few at a time), so a quote reads the same wherever its parent is.
  async _fetchParent(parentId, quote) {
    let found = this.parents.get(parentId);
    if (!found) {
      if (this.parents.size > 500) this.parents.clear();
      const roomId = this.room.id;
      found = api(`/rooms/${enc(roomId)}/messages?around=${Number(parentId)}&limit=1`)
        .then((page) => page.messages.find((m) => m.id === parentId) || null)
        .catch(() => null);
      this.parents.set(parentId, found);
    }
    const parent = await found;
    if (parent) quote.textContent = `↳ ${parent.sender}: ${plainText(parent.content, 120)}`;
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
    const copyLink = event.target.closest("button[data-copy-link]");
    if (copyLink) {
      copy(new URL(copyLink.dataset.copyLink, location.href).href, copyLink, "Link copied");
      return;
    }
    const copyCode = event.target.closest("button[data-copy-code]");
    if (copyCode) {
      copy(copyCode.parentElement.nextElementSibling.textContent, copyCode, "Copied");
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
    const recent = [...this.list.querySelectorAll("li.message")].slice(-200).map((li) => li.dataset.sender);
    return [...new Set([...this.agents.keys(), ...recent.reverse()])];
  }

  _statusBar() {
    const chips = [...this.statusRows.values()].map((s) =>
      h("span", { class: "status-chip", title: fullTime(s.updated_at) },
        presenceDot(s.sender), h("b", { class: this.palette.colour(s.sender) }, s.sender), ": ", s.status),
    );
    $("statusbar").replaceChildren(...chips);
    this.onTeam?.();
  }

  // -- scrolling and reading ---------------------------------------------------

  atBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToEnd() {
    this.anchor = null;
    this.pinned = true;
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.unseen = 0;
    this._pill();
    this._seen();
  }

  _unpin() {
    this.anchor = null;
    if (!this.pinned) return;
    this.pinned = false;
    this.onWatch(false);
  }

  _scrolled() {
    const top = this.scroller.scrollTop;
    if (top < this.lastTop - 2) this._unpin(); // only the reader scrolls up
    this.lastTop = top;
    if (!this.hasNewer && !this.anchor && this.atBottom()) {
      this.pinned = true;
      if (this.unseen) {
        this.unseen = 0;
        this._pill();
      }
      this._seen();
    }
    this._checkRead();
  }

  watching() {
    return Boolean(this.room) && this.pinned && !this.hasNewer && document.visibilityState === "visible";
  }

  _seen() {
    this.onWatch(this.watching());
    if (this.watching() && this.newestId) this.onRead(this.room.id, this.newestId);
  }

  // The cursor follows what the reader has actually had on screen.
  _checkRead() {
    if (this.readTimer) return;
    this.readTimer = setTimeout(() => {
      this.readTimer = null;
      if (!this.room || document.visibilityState !== "visible") return;
      if (this.watching()) {
        this._seen();
        return;
      }
      const bottom = this.scroller.scrollTop + this.scroller.clientHeight;
      const items = this.list.querySelectorAll("li.message");
      let lo = 0;
      let hi = items.length - 1;
      let seen = null;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const el = items[mid];
        if (el.offsetTop + el.offsetHeight <= bottom) {
          seen = el;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (seen) this.onRead(this.room.id, Number(seen.dataset.id));
    }, READ_CHECK_MS);
  }

  _markUnread(cursor) {
    const first = [...this.list.querySelectorAll("li.message")].find((li) => Number(li.dataset.id) > cursor);
    if (!first) return;
    this.divider = h("li", { class: "divider", role: "separator", "aria-label": "New messages" }, h("span", {}, "New"));
    first.before(this.divider);
    first.classList.remove("grouped");
  }

  _pill() {
    this.pill.hidden = this.unseen === 0;
    this.pill.textContent = `${this.unseen} new message${this.unseen === 1 ? "" : "s"} ↓`;
  }

  // The screen reader hears new messages at the bottom, a few seconds apart.
  _announce(batch) {
    const now = Date.now();
    this.announced = (this.announced || 0) + batch.length;
    if (now - this.lastAnnounce < ANNOUNCE_MS) return;
    const last = batch[batch.length - 1];
    $("announce").textContent = `${this.announced} new message${this.announced === 1 ? "" : "s"}, latest from ${last.sender}`;
    this.announced = 0;
    this.lastAnnounce = now;
  }

  _refreshTimes() {
    const times = this.list.querySelectorAll("time.ago");
    for (let i = Math.max(0, times.length - 200); i < times.length; i += 1) {
      times[i].textContent = timeAgo(times[i].dateTime);
    }
  }
}

function copy(text, button, done) {
  const label = button.textContent;
  navigator.clipboard?.writeText(text).then(
    () => {
      button.textContent = done;
      setTimeout(() => { button.textContent = label; }, 1500);
    },
    () => { button.textContent = "Copy failed"; },
  );
}
