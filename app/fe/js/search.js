// @ts-check
// Search across rooms: matching room names, per-room hit counts (a click
// narrows to that room), then message snippets with the query highlighted,
// 20 at a time with "More results" until every hit is reachable (each page
// asks for the hits older than the last one shown, past the counted 1 000 too).
// Filters: project, room, sender, dates; the active ones are shown and can be
// cleared. The query itself may carry operators (from:, in:, to:, has:code,
// before:, after:), which the server parses; it answers with the text terms
// it looked for, which are what gets highlighted. A hit opens its room around
// the message.

import { api, enc } from "./api.js";
import { senderColour } from "./colours.js";
import { $, AGES_EVERY_MS, closest, fullTime, h, highlighted, plainText, refreshAges, timeAgo } from "./dom.js";

// The server's snippet is a window of the raw Markdown, cut anywhere: shown
// as plain text, without the words the window cut in half (unless a term of
// the query is in one).
function readable(snippet, terms) {
  const lead = snippet.startsWith("…");
  const tail = snippet.endsWith("…") && snippet.length > 1;
  let text = snippet.slice(lead ? 1 : 0, tail ? -1 : undefined);
  const wants = terms.map((t) => t.toLowerCase());
  const keeps = (cut) => !cut || wants.some((want) => cut.toLowerCase().includes(want));
  const first = lead ? (/^\S*\s+/.exec(text)?.[0] ?? "") : "";
  if (!keeps(first)) text = text.slice(first.length);
  const last = tail ? (/\s+\S*$/.exec(text)?.[0] ?? "") : "";
  if (!keeps(last)) text = text.slice(0, text.length - last.length);
  return `${lead ? "… " : ""}${plainText(text, 400)}${tail ? " …" : ""}`;
}

/** A filter field of the search form. */
const field = (id) => /** @type {HTMLInputElement | HTMLSelectElement} */ ($(id));

export class SearchView {
  constructor({ projects, onOpen }) {
    this.projects = projects; // () -> project names
    this.onOpen = onOpen; // (roomId, messageId|null)
    this.query = "";
    this.terms = []; // the text the server looked for (the query without its operators)
    this.filters = {};
    this.names = {};
    this.asked = 0;
    setInterval(() => refreshAges($("search-results").querySelectorAll("time.ago")), AGES_EVERY_MS);
    $("search-filters").addEventListener("submit", (event) => {
      event.preventDefault();
      const to = field("sf-before").value;
      this.filters = {
        ...this.filters,
        project: field("sf-project").value || undefined,
        sender: field("sf-sender").value.trim() || undefined,
        after: field("sf-after").value || undefined,
        // "To" is a whole day: the filter ends before the next one.
        before: to ? new Date(Date.parse(to) + 86400000).toISOString().slice(0, 10) : undefined,
        to: to || undefined,
      };
      this._load();
    });
    $("search-view").addEventListener("click", (event) => {
      const clear = closest(event, "button[data-clear]");
      if (clear) {
        const key = clear.dataset.clear;
        delete this.filters[key];
        if (key === "before") delete this.filters.to;
        this._showForm();
        this._load();
        return;
      }
      const narrow = closest(event, "button[data-room-filter]");
      if (narrow) {
        this.filters.room_id = narrow.dataset.roomFilter;
        this._load();
        return;
      }
      const more = closest(event, "#search-more");
      if (more) {
        this._load(Number(more.dataset.beforeId));
        return;
      }
      const hit = closest(event, "a.hit[data-room]");
      if (hit && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
        event.preventDefault();
        this.onOpen(hit.dataset.room, hit.dataset.msg ? Number(hit.dataset.msg) : null);
      }
    });
  }

  run(query, { project }) {
    this.query = query;
    this.filters = project ? { project } : {};
    this._showForm();
    this._load();
  }

  _showForm() {
    const select = $("sf-project");
    select.replaceChildren(
      h("option", { value: "" }, "Any project"),
      ...this.projects().map((p) => h("option", { value: p, selected: p === this.filters.project }, p)),
    );
    field("sf-sender").value = this.filters.sender || "";
    field("sf-after").value = this.filters.after || "";
    field("sf-before").value = this.filters.to || "";
  }

  // beforeId: the oldest hit shown, for the next page; none for the first.
  async _load(beforeId = null) {
    const asked = ++this.asked;
    const view = $("search-results");
    $("search-title").textContent = `Search: ${this.query}`;
    this._showActive();
    const params = new URLSearchParams({ q: this.query });
    if (beforeId) params.set("before_id", String(beforeId));
    for (const key of ["project", "room_id", "sender", "after", "before"]) {
      if (this.filters[key]) params.set(key, this.filters[key]);
    }
    if (!beforeId) view.replaceChildren(h("p", { class: "notice" }, "Searching…"));
    let result;
    try {
      result = await api(`/search?${params}`);
    } catch (error) {
      if (asked === this.asked) view.replaceChildren(h("p", { class: "notice" }, `Search failed: ${error.message}`));
      return;
    }
    if (asked !== this.asked) return; // a newer search won
    this.terms = result.terms ?? [this.query];
    Object.assign(this.names, result.room_names);
    const hits = result.messages.map((m) => this._hit(m));
    const oldest = result.messages.at(-1)?.id;
    const more =
      result.has_more && oldest ? h("button", { type: "button", id: "search-more", class: "more", "data-before-id": oldest }, "More results") : null;
    if (beforeId) {
      $("search-more")?.remove();
      view.append(...hits, ...(more ? [more] : []));
      return;
    }
    const rooms = result.rooms.map((room) =>
      h(
        "a",
        { class: "hit", href: `/?room=${enc(room.id)}`, "data-room": room.id },
        h("div", {}, highlighted(room.name, this.terms)),
        h("div", { class: "where" }, `${room.project} · ${room.status}`),
      ),
    );
    const perRoom = result.message_rooms.map((r) =>
      h(
        "button",
        { type: "button", class: "room-count", "data-room-filter": r.room_id, title: "Only this room" },
        `${this._roomName(r.room_id)} (${r.match_count})`,
      ),
    );
    const total = `${result.total}${result.capped ? "+" : ""}`;
    view.replaceChildren(
      ...[
        rooms.length ? h("h2", {}, "Rooms") : null,
        ...rooms,
        h("h2", {}, result.total ? `Messages (${total} match${result.total === 1 ? "" : "es"})` : "No messages match"),
        perRoom.length > 1 ? h("div", { class: "room-counts", "aria-label": "Matches per room" }, perRoom) : null,
        ...hits,
        more,
      ].filter(Boolean),
    );
  }

  _roomName(id) {
    const room = this.names[id];
    return room ? `${room.project}/${room.name}` : "a room";
  }

  _showActive() {
    const labels = {
      project: (v) => `project ${v}`,
      room_id: (v) => `room ${this._roomName(v)}`,
      sender: (v) => `sender ${v}`,
      after: (v) => `from ${v}`,
      before: () => `to ${this.filters.to}`,
    };
    const active = Object.keys(labels).filter((k) => this.filters[k]);
    $("search-active").replaceChildren(
      ...(active.length
        ? [
            "Filtered by: ",
            ...active.map((k) =>
              h(
                "span",
                { class: "filter-chip" },
                labels[k](this.filters[k]),
                h("button", { type: "button", "data-clear": k, "aria-label": `Clear ${labels[k](this.filters[k])}` }, "×"),
              ),
            ),
          ]
        : []),
    );
  }

  _hit(m) {
    return h(
      "a",
      { class: "hit", href: `/?room=${enc(m.room_id)}&msg=${m.id}`, "data-room": m.room_id, "data-msg": m.id },
      h(
        "div",
        { class: "where" },
        `${this._roomName(m.room_id)} · `,
        h("b", { class: `sender ${senderColour(m.sender)}` }, m.sender),
        " · ",
        h("time", { class: "ago", datetime: m.created_at, title: fullTime(m.created_at) }, timeAgo(m.created_at)),
        ` · #${m.id}`,
      ),
      h("div", {}, highlighted(readable(m.snippet, this.terms), this.terms)),
    );
  }
}
