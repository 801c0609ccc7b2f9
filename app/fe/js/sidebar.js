// The room list: live and archived rooms, newest activity first, unread
// badges, a project filter. The snapshot builds it; each delta touches one row.

import { $, h, timeAgo } from "./dom.js";

function activity(room) {
  return room.last_message ? room.last_message.id : 0;
}

export class Sidebar {
  constructor({ onChange }) {
    this.rooms = new Map(); // id -> summary
    this.rows = new Map(); // id -> <li>
    this.current = null;
    this.project = "";
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
    $("live-rooms").replaceChildren(...live);
    $("archived-rooms").replaceChildren(...archived);
    this._projects();
    this._applyFilter();
    this.onChange();
  }

  upsert(room) {
    const before = this.rooms.get(room.id);
    this.rooms.set(room.id, room);
    const row = this._row(room);
    const list = $(room.status === "live" ? "live-rooms" : "archived-rooms");
    const old = this.rows.get(room.id);
    const moved = !before || before.status !== room.status || activity(before) !== activity(room);
    if (old && !moved) {
      old.replaceWith(row);
    } else {
      old?.remove();
      list.prepend(row); // newest activity first: a changed room goes to the top
    }
    this.rows.set(room.id, row);
    if (!before || before.project !== room.project) this._projects();
    this._applyFilter();
    this.onChange();
  }

  remove(id) {
    this.rows.get(id)?.remove();
    this.rows.delete(id);
    this.rooms.delete(id);
    this._projects();
    this._applyFilter();
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

  totalUnread() {
    let total = 0;
    for (const room of this.rooms.values()) {
      if (room.status === "live") total += room.unread_count || 0;
    }
    return total;
  }

  _row(room) {
    this.rows.set(room.id, null);
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
    const row = h("li", { "data-project": room.project }, link);
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

  _applyFilter() {
    let live = 0;
    let archived = 0;
    for (const [id, row] of this.rows) {
      const room = this.rooms.get(id);
      const shown = !this.project || room.project === this.project;
      row.classList.toggle("hidden-by-filter", !shown);
      if (shown && room.status === "live") live += 1;
      else if (shown) archived += 1;
    }
    $("live-count").textContent = String(live);
    $("archived-count").textContent = String(archived);
  }
}
