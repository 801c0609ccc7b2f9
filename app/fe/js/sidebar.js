// The room list: live and archived rooms, newest activity first, unread
// badges, a project filter. The snapshot builds it; each delta touches one row
// and adjusts the running totals, so a change costs the same with 10 000 rooms.

import { $, h, timeAgo } from "./dom.js";

// A 10 000-room sidebar shows its top rows at once and attaches the rest a
// chunk per task, so the page answers while it fills (layout of every row in
// one go froze it for about a second).
const FIRST_ROWS = 150;
const CHUNK_ROWS = 500;

function activity(room) {
  return room.last_message ? room.last_message.id : 0;
}

export class Sidebar {
  constructor({ onChange }) {
    this.rooms = new Map(); // id -> summary
    this.rows = new Map(); // id -> <li>
    this.current = null;
    this.project = "";
    this.totals = { live: 0, archived: 0, unread: 0 };
    this.generation = 0; // a newer snapshot stops an older one's filling
    this.onChange = onChange;
    $("project-filter").addEventListener("change", (event) => {
      this.project = event.target.value;
      this._applyFilter();
      this.onChange();
    });
  }

  snapshot(rooms) {
    this.rooms = new Map(rooms.map((room) => [room.id, room]));
    this.rows.clear();
    const sorted = [...this.rooms.values()].sort(
      (a, b) => activity(b) - activity(a) || b.created_at.localeCompare(a.created_at),
    );
    const live = sorted.filter((r) => r.status === "live").map((r) => this._row(r));
    const archived = sorted.filter((r) => r.status !== "live").map((r) => this._row(r));
    this.generation += 1;
    this._fill($("live-rooms"), live, this.generation);
    this._fill($("archived-rooms"), archived, this.generation);
    this._projects();
    this._applyFilter();
    this.onChange();
  }

  upsert(room) {
    const before = this.rooms.get(room.id);
    this._count(before, -1);
    this._count(room, +1);
    this.rooms.set(room.id, room);
    const old = this.rows.get(room.id);
    const row = this._row(room);
    const list = $(room.status === "live" ? "live-rooms" : "archived-rooms");
    const moved = !before || before.status !== room.status || activity(before) !== activity(room);
    if (old && !moved) {
      old.replaceWith(row);
    } else {
      old?.remove();
      list.prepend(row); // newest activity first: a changed room goes to the top
    }
    if (!before || before.project !== room.project) this._projects();
    row.classList.toggle("hidden-by-filter", !this._shown(room));
    this._showCounts();
    this.onChange();
  }

  remove(id) {
    this._count(this.rooms.get(id), -1);
    this.rows.get(id)?.remove();
    this.rows.delete(id);
    this.rooms.delete(id);
    this._projects();
    this._showCounts();
    this.onChange();
  }

  select(id) {
    this.current = id;
    for (const [roomId, row] of this.rows) {
      const link = row.firstElementChild;
      if (roomId === id) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  }

  _fill(list, rows, generation) {
    list.replaceChildren(...rows.slice(0, FIRST_ROWS));
    let at = FIRST_ROWS;
    const more = () => {
      if (generation !== this.generation || at >= rows.length) return;
      // A row replaced by a delta meanwhile is already in place, as its new self.
      const chunk = rows.slice(at, at + CHUNK_ROWS).filter((row) => this.rows.get(row.dataset.id) === row);
      list.append(...chunk);
      at += CHUNK_ROWS;
      setTimeout(more, 0);
    };
    setTimeout(more, 0);
  }

  totalUnread() {
    return this.totals.unread;
  }

  _shown(room) {
    return !this.project || room.project === this.project;
  }

  // Add (+1) or take away (-1) one room's share of the totals.
  _count(room, sign) {
    if (!room) return;
    const live = room.status === "live";
    if (live) this.totals.unread += sign * (room.unread_count || 0);
    if (this._shown(room)) this.totals[live ? "live" : "archived"] += sign;
  }

  _showCounts() {
    $("live-count").textContent = String(this.totals.live);
    $("archived-count").textContent = String(this.totals.archived);
  }

  _row(room) {
    const last = room.last_message;
    const unread = room.unread_count || 0;
    const link = h(
      "a",
      { href: `/?room=${encodeURIComponent(room.id)}`, "data-room": room.id,
        "aria-current": room.id === this.current ? "page" : null },
      h("span", { class: "name" }, room.name, " ", h("span", { class: "project" }, room.project)),
      unread ? h("span", { class: "badge", "aria-label": `${unread} unread` }, String(unread)) : h("span"),
      h("span", { class: "preview" },
        last ? `${last.sender}: ${last.preview}` : "no messages yet",
        last ? ` · ${timeAgo(last.created_at)}` : ""),
    );
    const row = h("li", { "data-id": room.id, "data-project": room.project }, link);
    this.rows.set(room.id, row);
    return row;
  }

  _projects() {
    const names = [...new Set([...this.rooms.values()].map((r) => r.project))].sort();
    const select = $("project-filter");
    if (this.project && !names.includes(this.project)) names.push(this.project);
    select.replaceChildren(
      h("option", { value: "" }, "All projects"),
      ...names.map((name) => h("option", { value: name, selected: name === this.project }, name)),
    );
  }

  // The whole list: after a snapshot or a change of the project filter.
  _applyFilter() {
    this.totals = { live: 0, archived: 0, unread: 0 };
    for (const [id, row] of this.rows) {
      const room = this.rooms.get(id);
      row.classList.toggle("hidden-by-filter", !this._shown(room));
      this._count(room, +1);
    }
    this._showCounts();
  }
}
