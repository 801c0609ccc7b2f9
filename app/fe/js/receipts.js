// Receipts of directed messages on the page: under each message with a `to`,
// one mark per addressee for delivered · read · acked; above the open room,
// what still awaits acks there; in "Mentions & directed", what awaits one
// name's acks. Everything goes in as text.
//
// Live: every stamp is a `receipt` event on the feed, applied here. It has
// no event id, so a resumed feed cannot replay it: on every `ready` (first
// connect and each reconnect) the receipts of the messages shown and the
// lists are read again, and nothing changed while away is missed.

import { api, enc } from "./api.js";
import { $, fullTime, h, timeAgo } from "./dom.js";

export const OVERDUE_AFTER_S = 600; // the REST routes' default; docs/push-and-receipts.md
const FETCH_IDS = 500; // the batch route's most
const REFRESH_MS = 15000; // overdue and ages follow the clock
const LIST_LIMIT = 100;
const STEPS = [
  ["delivered_at", "delivered", "d"],
  ["read_at", "read", "r"],
  ["acked_at", "acked", "a"],
];

function merged(old, fresh) {
  // Stamps are set once and never move: whichever answer has one is right.
  const out = { ...fresh };
  for (const [key] of STEPS) out[key] = fresh?.[key] || old?.[key] || null;
  return out;
}

function overdue(item, now = Date.now()) {
  return item.overdue || now - Date.parse(item.created_at) > OVERDUE_AFTER_S * 1000;
}

export class ReceiptMarks {
  constructor({ roomId, onOpen }) {
    this.roomId = roomId; // () -> the open room's id
    this.onOpen = onOpen; // (roomId, messageId)
    this.known = new Map(); // message id -> {name: stamps}
    this.queued = new Set();
    this.fetchTimer = null;
    this.listTimer = null;
    this.roomAwaiting = null; // {room, items}
    this.nameAwaiting = null; // {name, items}
    this.list = $("message-list");
    this.roomBox = $("awaiting");
    this.nameBox = $("inbox-awaiting");
    new MutationObserver((records) => {
      for (const record of records) {
        for (const node of record.addedNodes) {
          if (node instanceof HTMLElement && node.matches("li.message")) this._attach(node);
        }
      }
    }).observe(this.list, { childList: true });
    for (const box of [this.roomBox, this.nameBox]) {
      box.addEventListener("click", (event) => {
        const link = event.target instanceof Element ? event.target.closest("a[data-room]") : null;
        if (!(link instanceof HTMLElement) || event.ctrlKey || event.metaKey || event.shiftKey) return;
        event.preventDefault();
        this.onOpen(link.dataset.room, Number(link.dataset.msg));
      });
    }
    setInterval(() => this._drawLists(), REFRESH_MS);
  }

  // -- marks on messages ------------------------------------------------------

  _attach(item) {
    const to = item.querySelector(".to[data-to]");
    if (!to) return;
    const id = Number(item.dataset.id);
    const names = JSON.parse(to.dataset.to);
    const marks = h("div", { class: "receipts", "data-msg": id, "data-to": to.dataset.to });
    to.after(marks);
    this._draw(marks, names, this.known.get(id) || {});
    if (!this.known.has(id)) this._queue(id);
  }

  _draw(marks, names, receipts) {
    const parts = names.map((name) => {
      const stamps = receipts[name] || {};
      const said = STEPS.map(([key, word]) => (stamps[key] ? word : `not ${word}`)).join(", ");
      const times = STEPS.map(([key, word]) => `${word} ${stamps[key] ? fullTime(stamps[key]) : "—"}`).join(" · ");
      const attrs = { class: "rcpt", "data-name": name, title: `${name}: ${times}` };
      for (const [key, word] of STEPS) attrs[`data-${word}`] = String(Boolean(stamps[key]));
      return h(
        "span",
        attrs,
        h("span", { class: "rcpt-name" }, name),
        h(
          "span",
          { class: "marks", "aria-hidden": "true" },
          STEPS.map(([key, , letter]) => h("b", { class: stamps[key] ? "on" : null }, letter)),
        ),
        h("span", { class: "sr-only" }, `: ${said}`),
      );
    });
    marks.replaceChildren(h("span", { class: "sr-only" }, "Receipts: "), ...parts);
  }

  _redraw(id) {
    for (const marks of this.list.querySelectorAll(`.receipts[data-msg="${id}"]`)) {
      if (!(marks instanceof HTMLElement)) continue;
      this._draw(marks, JSON.parse(marks.dataset.to), this.known.get(id) || {});
    }
  }

  _queue(id) {
    this.queued.add(id);
    clearTimeout(this.fetchTimer);
    this.fetchTimer = setTimeout(() => this._fetch(), 50);
  }

  async _fetch() {
    const roomId = this.roomId();
    const ids = [...this.queued];
    this.queued.clear();
    if (!roomId || !ids.length) return;
    for (let i = 0; i < ids.length; i += FETCH_IDS) {
      const chunk = ids.slice(i, i + FETCH_IDS);
      const got = await api(`/rooms/${enc(roomId)}/receipts?ids=${chunk.join(",")}`).catch(() => null);
      if (!got || roomId !== this.roomId()) return;
      for (const id of chunk) {
        if (!this.list.querySelector(`.receipts[data-msg="${id}"]`)) continue; // gone meanwhile
        const fresh = got.receipts[String(id)] || {};
        const old = this.known.get(id) || {};
        const names = new Set([...Object.keys(old), ...Object.keys(fresh)]);
        this.known.set(id, Object.fromEntries([...names].map((n) => [n, merged(old[n], fresh[n])])));
        this._redraw(id);
      }
    }
  }

  _shownIds() {
    const marks = this.list.querySelectorAll(".receipts[data-msg]");
    return [...marks].map((el) => Number(el.getAttribute("data-msg")));
  }

  // -- the feed -------------------------------------------------------------

  receipt(data) {
    for (const row of data.receipts) {
      const shown = this.list.querySelector(`.receipts[data-msg="${row.message_id}"]`);
      if (!shown && !this.known.has(row.message_id)) continue; // not on this page
      const byName = this.known.get(row.message_id) || {};
      byName[row.name] = merged(byName[row.name], row);
      this.known.set(row.message_id, byName);
      this._redraw(row.message_id);
    }
    if (data.more && data.room_id === this.roomId()) for (const id of this._shownIds()) this._queue(id);
    const acks = data.receipts.filter((r) => r.acked_at);
    const who = this.nameAwaiting?.name;
    const forName = who && !$("inbox-view").hidden && acks.some((r) => r.name === who);
    if ((acks.length && data.room_id === this.roomAwaiting?.room) || forName) this._reloadSoon();
  }

  message(m) {
    if (!m.metadata?.ack_required) return;
    if (m.room_id === this.roomAwaiting?.room || (this.nameAwaiting && m.to?.includes(this.nameAwaiting.name))) {
      this._reloadSoon();
    }
  }

  // The feed (re)connected: whatever changed while it was away is read again.
  ready() {
    for (const id of this._shownIds()) this._queue(id);
    this._reloadSoon();
  }

  roomOpened(roomId) {
    if (this.known.size > 5000) this.known.clear();
    this.queued.clear();
    this.roomAwaiting = { room: roomId, items: null };
    this.roomBox.hidden = true;
    this._reloadSoon();
  }

  nameShown(name) {
    this.nameAwaiting = { name: name.toLowerCase(), items: null };
    this._reloadSoon();
  }

  // -- awaiting-ack lists -------------------------------------------------------

  _reloadSoon() {
    clearTimeout(this.listTimer);
    this.listTimer = setTimeout(() => this._reload(), 100);
  }

  async _reload() {
    const room = this.roomAwaiting;
    const who = this.nameAwaiting;
    const [inRoom, forName] = await Promise.all([
      room ? api(`/rooms/${enc(room.room)}/awaiting-acks?limit=${LIST_LIMIT}`).catch(() => null) : null,
      who ? api(`/awaiting-acks?name=${enc(who.name)}&limit=${LIST_LIMIT}`).catch(() => null) : null,
    ]);
    if (inRoom && room === this.roomAwaiting) room.items = inRoom.awaiting;
    if (forName && who === this.nameAwaiting) who.items = forName.awaiting;
    this._drawLists();
  }

  _drawLists() {
    const now = Date.now();
    const room = this.roomAwaiting;
    if (room?.items && room.room === this.roomId()) {
      this._drawList(this.roomBox, "Awaiting ack", room.items, now, (a) => a.name);
    } else this.roomBox.hidden = true;
    const who = this.nameAwaiting;
    if (who?.items) this._drawList(this.nameBox, `Awaiting ${who.name}'s ack`, who.items, now, null);
    else this.nameBox.hidden = true;
  }

  _drawList(box, title, items, now, nameOf) {
    box.hidden = items.length === 0;
    if (!items.length) return box.replaceChildren();
    const late = items.filter((a) => overdue(a, now)).length;
    const wasOpen = box.querySelector("details")?.open ?? false;
    const rows = items.map((a) => {
      const isLate = overdue(a, now);
      return h(
        "li",
        { class: isLate ? "overdue" : null, "data-msg": a.message_id, "data-name": a.name },
        h("a", { href: `/?room=${enc(a.room_id)}&msg=${a.message_id}`, "data-room": a.room_id, "data-msg": a.message_id }, `#${a.message_id}`),
        " ",
        nameOf ? h("b", {}, nameOf(a)) : null,
        nameOf ? " " : null,
        h("span", { class: "muted" }, `from ${a.sender} · `),
        h("time", { datetime: a.created_at, title: fullTime(a.created_at) }, timeAgo(a.created_at, now)),
        isLate ? h("span", { class: "tag overdue-tag" }, "overdue") : null,
        " ",
        h("span", { class: "preview" }, a.preview.length > 80 ? `${a.preview.slice(0, 80)}…` : a.preview),
      );
    });
    const summary = `${title}: ${items.length}${late ? ` (${late} overdue)` : ""}`;
    const details = h(
      "details",
      { open: wasOpen },
      h("summary", {}, summary),
      h("ul", {}, rows),
      h("p", { class: "muted" }, `Overdue: not acked ${OVERDUE_AFTER_S / 60} minutes after it was posted.`),
    );
    box.replaceChildren(details);
  }
}
