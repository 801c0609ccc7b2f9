// @ts-check
// The room list, grouped by project, newest activity first, a page at a time.
//
// The page never holds every room: the feed's snapshot brings the newest
// hundred, each group pages on with "Show more" (/api/sidebar), and counts and
// unread totals come from the server (the snapshot's and the throttled `totals`
// events), adjusted meanwhile by the deltas of the rooms on screen. Deltas are
// queued and applied once per animation frame; a row is updated in place (its
// text, not a new element), so a room that gets a post keeps keyboard focus.

import { api, enc } from "./api.js";
import { $, AGES_EVERY_MS, closest, countedUnread, h, plainText, refreshAges, setAttr, setText, timeAgo } from "./dom.js";
import { hasDraft } from "./drafts.js";

const PAGE = 50;
const COLLAPSED_KEY = "chatnut.collapsed";

function setHidden(el, hidden) {
  if (el.hidden !== hidden) el.hidden = hidden;
}

function activity(room) {
  return room.last_message ? room.last_message.id : 0;
}

// Sort key, newest first: activity, then creation, as the server orders them.
function before(a, b) {
  return activity(a) - activity(b) || a.created_at.localeCompare(b.created_at);
}

export class Sidebar {
  constructor({ onChange, reader, onMarkRead, mentions, settings }) {
    this.reader = reader;
    this.settings = settings; // RoomSettings: starred rooms first, muted ones weigh nothing
    this.mentions = mentions; // MentionMarks: rooms with unread for the reader
    this.onChange = onChange;
    this.onMarkRead = onMarkRead; // (project | null)
    this.rooms = new Map(); // id -> summary, only the rooms loaded
    this.rows = new Map(); // id -> <li>
    this.groups = new Map(); // project -> {el, list, more, head}
    this.current = null;
    this.watched = null; // the open room while the reader is at its bottom
    this.fed = false; // the feed's snapshot has come (a prefill is then dropped)
    this.project = "";
    this.unreadOnly = false;
    this.totals = { projects: [], live: 0, archived: 0, unread: 0, unread_rooms: 0 };
    // Each room's share of totals.unread as the server counted it (the totals
    // event says, for the rooms changed since the last one, in the same read),
    // so the watched room's share comes out of the title exactly.
    this.shares = new Map();
    this.queue = new Map();
    this.frame = 0;
    this.archivedLoaded = false;
    try {
      this.collapsed = new Set(JSON.parse(localStorage.getItem(COLLAPSED_KEY) || "[]"));
    } catch {
      this.collapsed = new Set();
    }
    $("project-filter").addEventListener("change", (event) => {
      this.project = /** @type {HTMLSelectElement} */ (event.target).value;
      this._applyFilter();
    });
    $("unread-only").addEventListener("click", () => this.setUnreadOnly(!this.unreadOnly));
    $("archived-toggle").addEventListener("click", () => this._toggleArchived());
    $("live-rooms").addEventListener("click", (event) => {
      const head = closest(event, "button[data-group]");
      if (head) this._toggleGroup(head.dataset.group);
      const more = closest(event, "button[data-more]");
      if (more) this._more(more.dataset.more);
      const mark = closest(event, "button[data-mark]");
      if (mark) this.onMarkRead(mark.dataset.mark);
    });
    $("mark-all-read").addEventListener("click", () => this.onMarkRead(null));
    $("archived-more").addEventListener("click", () => this._moreArchived());
    setInterval(() => this._refreshTimes(), AGES_EVERY_MS);
  }

  // -- what the feed says ------------------------------------------------------

  // The first rows without waiting for the feed, whose start takes a leader
  // election (Web Locks) and a stream of its own: the same first page and
  // totals straight from REST. Whichever comes first is shown; the feed's
  // snapshot, when it comes, replaces this one, and a late answer is dropped.
  // `counts: false` (a first visit, its catch-up still running): rows and
  // room totals without unread counts.
  prefill({ counts = true } = {}) {
    if (!counts && this.unreadOnly) return; // that view is nothing but counts
    const reader = counts ? this.reader : "";
    const query = new URLSearchParams({ limit: "100", status: "all" });
    if (reader) query.set("reader", reader);
    const totals = api(`/sidebar/totals?${reader ? `reader=${enc(reader)}` : ""}`);
    api(`/sidebar?${query}`).then(
      (page) => {
        if (this.fed) return;
        this.snapshot({ rooms: page.rooms }, { fromFeed: false });
        totals.then(
          (t) => {
            if (!this.fed) this.setTotals(t);
          },
          () => {},
        );
      },
      () => {},
    ); // the feed brings them anyway
  }

  /** @param {{rooms: any[], totals?: any}} snapshot */
  snapshot({ rooms, totals }, { fromFeed = true } = {}) {
    this.fed ||= fromFeed;
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.queue.clear();
    this.rooms.clear();
    this.rows.clear();
    this.groups.clear();
    $("live-rooms").replaceChildren();
    $("starred-rooms").replaceChildren();
    $("archived-rooms").replaceChildren();
    this.archivedLoaded = false;
    if (totals) this.totals = totals;
    this.shares.clear();
    for (const room of rooms) this.shares.set(room.id, countedUnread(room));
    if (this.unreadOnly) {
      this._reloadUnread();
    } else {
      for (const room of rooms) this._place(room);
    }
    this._placeStarred();
    this._render();
  }

  // The settings came or changed: starred rooms move to the top section (or
  // back to their project), and muted rows lose their weight.
  settingsChanged(id) {
    for (const [roomId, row] of this.rows) {
      if (id && roomId !== id) continue;
      const room = this.rooms.get(roomId);
      if (room.status === "live" && row.parentElement !== this._listOf(room)) {
        row.remove();
        this._place(room, row);
      }
      this._fill(row, room);
    }
    this._placeStarred();
    this._render();
  }

  // Every starred room shows, whichever page of its project it is on.
  _placeStarred() {
    // A muted room's share is known even when its row is not loaded, so the
    // totals can leave it out.
    for (const [id, unread] of Object.entries(this.settings.mutedUnread)) if (!this.shares.has(id)) this.shares.set(id, unread);
    if (this.unreadOnly) return;
    for (const room of this.settings.starredRooms) {
      if (!this.rooms.has(room.id) && this.settings.of(room.id).starred) {
        if (!this.shares.has(room.id)) this.shares.set(room.id, countedUnread(room));
        this._place(room);
      }
    }
  }

  upsert(room) {
    this.queue.set(room.id, room);
    this._schedule();
  }

  remove(id) {
    this.queue.set(id, null);
    this._schedule();
  }

  setTotals(totals) {
    this.totals = totals;
    for (const [id, unread] of Object.entries(totals.rooms || {})) this.shares.set(id, unread);
    this._render();
  }

  // -- reading -----------------------------------------------------------------

  select(id) {
    const old = this.rows.get(this.current)?.firstElementChild;
    old?.removeAttribute("aria-current");
    this.current = id;
    this.rows.get(id)?.firstElementChild.setAttribute("aria-current", "page");
  }

  // The open room, watched at its bottom, shows no unread (its cursor follows).
  watch(id) {
    if (this.watched === id) return;
    const was = this.watched;
    this.watched = id;
    for (const roomId of [was, id]) {
      const room = this.rooms.get(roomId);
      if (room) this._fill(this.rows.get(roomId), room);
    }
    this.onChange();
  }

  // A row says again what it shows (its draft mark, say).
  refreshRow(id) {
    const room = this.rooms.get(id);
    if (room) this._fill(this.rows.get(id), room);
  }

  unreadOf(room) {
    return room?.id === this.watched || this.settings.muted(room?.id) ? 0 : countedUnread(room);
  }

  // What the watched room and the muted rooms still owe, out of the server's
  // unread (all of them, or one project's).
  _silent(project = null) {
    let owed = 0;
    for (const [id, unread] of this.shares) {
      if (id !== this.watched && !this.settings.muted(id)) continue;
      if (project === null || (this.rooms.get(id)?.project ?? this.settings.projectOf(id)) === project) owed += unread;
    }
    return owed;
  }

  // The tab title: the server's total, less what the watched and muted rooms owe.
  totalUnread() {
    return Math.max(0, this.totals.unread - this._silent());
  }

  setUnreadOnly(on) {
    this.unreadOnly = on;
    $("unread-only").setAttribute("aria-pressed", String(on));
    if (on) {
      this._reloadUnread();
    } else {
      this._reloadFirstPage();
    }
  }

  // Rows in the order they are shown, for Alt+↑/↓.
  visibleRooms() {
    const rows = [
      ...$("starred-rooms").querySelectorAll("a[data-room]"),
      ...$("live-rooms").querySelectorAll(".room-list:not([hidden]) > li:not(.hidden-by-filter) a[data-room]"),
    ];
    return rows.map((a) => /** @type {HTMLElement} */ (a).dataset.room);
  }

  // -- applying changes, once per frame ---------------------------------------

  _schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this._flush());
  }

  _flush() {
    this.frame = 0;
    const focused = /** @type {HTMLElement | null} */ (document.activeElement);
    for (const [id, room] of this.queue) {
      if (room === null) this._drop(id);
      else this._apply(room);
    }
    this.queue.clear();
    // A row moved to the top is taken out and put back; focus goes with it.
    if (focused && focused !== document.activeElement && focused.isConnected) focused.focus({ preventScroll: true });
    this._render();
  }

  _apply(room) {
    const old = this.rooms.get(room.id);
    this._adjustTotals(room);
    const row = this.rows.get(room.id);
    if (row && old && old.status === room.status && activity(old) === activity(room)) {
      this.rooms.set(room.id, room);
      this._fill(row, room);
      return;
    }
    if (!old && !this._belongsOnScreen(room)) return; // the totals event counts it
    this.rooms.set(room.id, room);
    if (row) {
      // The same element moves (and keeps focus, see _flush), updated in place.
      row.remove();
      this._fill(row, room);
    }
    this._place(room, row);
  }

  _drop(id, fromTotals = true) {
    const room = this.rooms.get(id);
    if (fromTotals && room) this._adjustTotals({ ...room, status: "deleted" });
    this.rows.get(id)?.remove();
    this.rows.delete(id);
    this.rooms.delete(id);
  }

  // Between two totals events, deltas keep the totals current: a room's new
  // unread replaces its known share (the watched room's share stays as the
  // server counted it, since the title takes exactly that out).
  _adjustTotals(room) {
    if (room.id === this.watched || !this.shares.has(room.id)) return;
    const unread = countedUnread(room);
    const change = unread - this.shares.get(room.id);
    this.shares.set(room.id, unread);
    this.totals.unread += change;
    const project = this.totals.projects.find((p) => p.project === room.project);
    if (project) project.unread += change;
  }

  // A room not loaded comes on screen if it sorts among the loaded ones.
  _belongsOnScreen(room) {
    if (this.unreadOnly && !(room.unread_count > 0)) return false;
    if (room.status === "live" && this.settings.of(room.id).starred) return true;
    const list = room.status === "live" ? this._group(room.project).list : $("archived-rooms");
    if (room.status !== "live" && !this.archivedLoaded) return true;
    const last = this.rooms.get(list.lastElementChild?.dataset.id);
    return !last || !this._hasMore(room.status === "live" ? room.project : null) || before(last, room) <= 0;
  }

  _place(room, existing = null) {
    this.rooms.set(room.id, room);
    const row = existing || this._row(room);
    const list = this._listOf(room);
    let next = list.firstElementChild;
    while (next && before(this.rooms.get(next.dataset.id), room) > 0) next = next.nextElementSibling;
    list.insertBefore(row, next);
  }

  _listOf(room) {
    if (room.status !== "live") return $("archived-rooms");
    return this.settings.of(room.id).starred ? $("starred-rooms") : this._group(room.project).list;
  }

  _row(room) {
    const link = h(
      "a",
      { href: `/?room=${enc(room.id)}`, "data-room": room.id },
      h("span", { class: "name" }),
      h("span", { class: "draft-mark", hidden: true }, h("span", { "aria-hidden": "true" }, "✎ "), "draft"),
      h("span", { class: "badge", "aria-hidden": "true" }),
      h("span", { class: "preview" }),
      h("time", { class: "when" }),
      h("span", { class: "sr-only" }),
      h("span", { class: "muted-mark", title: "Muted", hidden: true }, "🔕"),
    );
    const row = h("li", { "data-id": room.id }, link);
    this.rows.set(room.id, row);
    this._fill(row, room);
    return row;
  }

  // Text only, into the row's existing elements.
  _fill(row, room) {
    if (!row) return;
    const link = row.firstElementChild;
    // The row's name is what it shows (name, draft, preview, age), then in
    // words what the eye gets from the group and the badge.
    const [name, draftMark, badge, preview, when, spoken, mutedMark] = link.children;
    const muted = this.settings.muted(room.id);
    const unread = this.unreadOf(room);
    const draft = hasDraft(room.id);
    if (!countedUnread(room)) this.mentions.clear(room.id, activity(room));
    const mentioned = unread > 0 && this.mentions.has(room.id);
    setText(name, room.name);
    setHidden(draftMark, !draft);
    setText(badge, unread ? `${mentioned ? "@" : ""}${unread}` : "");
    if (badge.classList.contains("mention") !== mentioned) badge.classList.toggle("mention", mentioned);
    if (badge.hidden !== !unread) badge.hidden = !unread;
    const last = room.last_message;
    setText(preview, last ? `${last.sender}: ${plainText(last.preview, 90) || "…"}` : "no messages yet");
    setAttr(when, "datetime", last?.created_at || "");
    setText(when, last ? timeAgo(last.created_at) : "");
    setHidden(mutedMark, !muted);
    setText(spoken, `in ${room.project}${muted ? ", muted" : ""}${unread ? `, ${unread} unread` : ""}${mentioned ? ", mentions you" : ""}`);
    if (room.id === this.current) setAttr(link, "aria-current", "page");
    if (row.classList.contains("unread") !== unread > 0) row.classList.toggle("unread", unread > 0);
  }

  // -- groups ------------------------------------------------------------------

  _group(project) {
    let group = this.groups.get(project);
    if (group) return group;
    const collapsed = this.collapsed.has(project);
    const head = h(
      "button",
      { type: "button", class: "group-head", "data-group": project, "aria-expanded": String(!collapsed) },
      h("span", { class: "group-name" }, project),
      h("span", { class: "count", "aria-hidden": "true" }),
      h("span", { class: "badge", "aria-hidden": "true" }),
      h("span", { class: "sr-only" }),
    );
    const mark = h(
      "button",
      {
        type: "button",
        class: "mark-read icon",
        "data-mark": project,
        "aria-label": `Mark ${project} read`,
        title: `Mark every room in ${project} read`,
        hidden: true,
      },
      "✓",
    );
    const list = h("ul", { class: "room-list", hidden: collapsed });
    const more = h("button", { type: "button", class: "more", "data-more": project, hidden: true }, "Show more");
    const el = h("li", { class: "group", "data-project": project }, h("div", { class: "group-bar" }, head, mark), list, more);
    group = { el, list, more, head, mark };
    this.groups.set(project, group);
    // Groups in name order.
    const container = $("live-rooms");
    let next = /** @type {HTMLElement | null} */ (container.firstElementChild);
    while (next && next.dataset.project.localeCompare(project) < 0) next = /** @type {HTMLElement | null} */ (next.nextElementSibling);
    container.insertBefore(el, next);
    return group;
  }

  _projectTotals(project) {
    return this.totals.projects.find((p) => p.project === project) || { live: 0, archived: 0, unread: 0, unread_rooms: 0 };
  }

  // A project's rooms loaded, its starred ones (shown at the top) included.
  _loaded(project) {
    let starred = 0;
    for (const row of $("starred-rooms").children) if (this.rooms.get(/** @type {HTMLElement} */ (row).dataset.id)?.project === project) starred += 1;
    return (this.groups.get(project)?.list.childElementCount || 0) + starred;
  }

  _hasMore(project) {
    if (project === null) return this.archivedMore;
    const t = this._projectTotals(project);
    const loaded = this._loaded(project);
    return loaded < (this.unreadOnly ? t.unread_rooms : t.live);
  }

  _toggleGroup(project) {
    const group = this.groups.get(project);
    const open = group.list.hidden;
    group.list.hidden = !open;
    group.head.setAttribute("aria-expanded", String(open));
    if (open) this.collapsed.delete(project);
    else this.collapsed.add(project);
    localStorage.setItem(COLLAPSED_KEY, JSON.stringify([...this.collapsed]));
    this._render();
  }

  async _more(project) {
    const page = await this._fetch({ project, offset: this._loaded(project), unread_only: this.unreadOnly });
    for (const room of page.rooms) if (!this.rooms.has(room.id)) this._place(room);
    this._render();
  }

  async _toggleArchived() {
    const list = $("archived-rooms");
    const open = list.hidden;
    list.hidden = !open;
    $("archived-toggle").setAttribute("aria-expanded", String(open));
    if (open && !this.archivedLoaded) await this._moreArchived();
    this._render();
  }

  async _moreArchived() {
    const offset = $("archived-rooms").childElementCount;
    const page = await this._fetch({ status: "archived", offset: this.archivedLoaded ? offset : 0 });
    this.archivedLoaded = true;
    this.archivedMore = page.has_more;
    for (const room of page.rooms) if (!this.rooms.has(room.id)) this._place(room);
    this._render();
  }

  async _reloadUnread() {
    const page = await this._fetch({ unread_only: true, limit: 200 });
    this._replaceLive(page.rooms);
  }

  async _reloadFirstPage() {
    const page = await this._fetch({ limit: 100 });
    this._replaceLive(page.rooms);
  }

  _replaceLive(rooms) {
    for (const [id, room] of this.rooms) if (room.status === "live") this._drop(id, false);
    for (const group of this.groups.values()) group.el.remove();
    this.groups.clear();
    for (const room of rooms) if (!this.rooms.has(room.id)) this._place(room);
    if (!this.unreadOnly) this._placeStarred();
    this._render();
  }

  _fetch(params) {
    const query = new URLSearchParams({ limit: String(PAGE), status: "live", ...params });
    if (this.reader) query.set("reader", this.reader);
    return api(`/sidebar?${query}`);
  }

  // -- the parts built from the totals ---------------------------------------

  _render() {
    const t = this.totals;
    for (const p of t.projects) if (p.live && !this.groups.has(p.project) && !this.unreadOnly) this._group(p.project);
    for (const [project, group] of this.groups) {
      const pt = this._projectTotals(project);
      const [, count, badge, spoken] = group.head.children;
      const rooms = this.unreadOnly ? pt.unread_rooms : pt.live;
      setText(count, String(rooms));
      const unread = Math.max(0, pt.unread - this._silent(project));
      setText(badge, unread ? String(unread) : "");
      setHidden(badge, !unread);
      setHidden(group.mark, !unread);
      setText(spoken, `${rooms} room${rooms === 1 ? "" : "s"}${unread ? `, ${unread} unread` : ""}`);
      setHidden(group.more, !this._hasMore(project) || group.list.hidden);
      setHidden(group.el, Boolean(this.project && project !== this.project) || (!pt.live && !group.list.childElementCount));
    }
    // "Unread only" counts the rooms it shows.
    const shown = this.project ? this._projectTotals(this.project) : t;
    setText($("live-count"), String(this.unreadOnly ? shown.unread_rooms : shown.live));
    setText($("archived-count"), String(this.project ? this._projectTotals(this.project).archived : t.archived));
    setHidden($("archived-more"), !this.archivedMore || $("archived-rooms").hidden);
    setHidden($("mark-all-read"), !this.totalUnread());
    setHidden($("starred-section"), !$("starred-rooms").childElementCount);
    this._projects();
    this.onChange();
  }

  _projects() {
    const names = this.totals.projects.map((p) => p.project);
    if (this.project && !names.includes(this.project)) names.push(this.project);
    const select = $("project-filter");
    const key = names.join("\n");
    if (select.dataset.key === key) return; // unchanged: leave the open menu alone
    select.dataset.key = key;
    select.replaceChildren(
      h("option", { value: "" }, "All projects"),
      ...names.map((name) => h("option", { value: name, selected: name === this.project }, name)),
    );
  }

  _applyFilter() {
    for (const row of $("archived-rooms").children) {
      if (!(row instanceof HTMLElement)) continue;
      row.classList.toggle("hidden-by-filter", Boolean(this.project) && this.rooms.get(row.dataset.id)?.project !== this.project);
    }
    this._render();
  }

  _refreshTimes() {
    refreshAges(document.querySelectorAll(".room-list time.when"));
  }
}
