// @ts-check
// Ctrl/Cmd+K: jump to any room by name. It asks the server (the page does not
// hold every room), a little after the last keystroke.

import { api } from "./api.js";
import { $, closest, countedUnread, h } from "./dom.js";

const LIMIT = 20;
const TYPE_PAUSE_MS = 120;

export class Switcher {
  constructor({ onOpen, reader, mentioned }) {
    this.onOpen = onOpen;
    this.mentioned = mentioned; // (roomId) -> a message for the reader is unread there
    this.reader = reader;
    this.dialog = /** @type {HTMLDialogElement} */ ($("switcher"));
    this.input = /** @type {HTMLInputElement} */ ($("switcher-input"));
    this.list = $("switcher-list");
    this.timer = null;
    this.asked = 0;
    this.input.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this._find(), TYPE_PAUSE_MS);
    });
    this.input.addEventListener("keydown", (event) => this._key(event));
    this.list.addEventListener("click", (event) => {
      const option = closest(event, "[role=option]");
      if (option) this._choose(option.dataset.room);
    });
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) this.dialog.close(); // a click on the backdrop
    });
  }

  open() {
    if (this.dialog.open) return;
    this.input.value = "";
    this.dialog.showModal();
    this.input.focus();
    this._find();
  }

  async _find() {
    const asked = ++this.asked;
    const query = new URLSearchParams({ status: "all", limit: String(LIMIT), reader: this.reader() });
    if (this.input.value.trim()) query.set("q", this.input.value.trim());
    let page;
    try {
      page = await api(`/sidebar?${query}`);
    } catch (error) {
      this.list.replaceChildren(h("li", { class: "notice" }, `Cannot list rooms: ${error.message}`));
      return;
    }
    if (asked !== this.asked) return; // a newer keystroke won
    this._show(page.rooms.map((room) => this._option(room)));
    if (!page.rooms.length) this.list.append(h("li", { class: "notice" }, "No room by that name"));
    this._mark(0);
  }

  _option(room) {
    const unread = countedUnread(room);
    return h(
      "li",
      { role: "option", "data-room": room.id, "aria-selected": "false" },
      h("span", { class: "name" }, room.name),
      " ",
      h("span", { class: "project" }, `${room.project}${room.status === "live" ? "" : " · archived"}`),
      unread && this.mentioned(room.id)
        ? h("span", { class: "badge mention", "aria-label": `${unread} unread, mentions you` }, `@${unread}`)
        : unread
          ? h("span", { class: "badge" }, String(unread))
          : null,
    );
  }

  /** Show these options, keeping in place each one shown already as it was:
   * a click on an option that stays is not lost to a newer answer arriving
   * between its press and its release. @param {HTMLElement[]} made */
  _show(made) {
    const shown = new Map();
    for (const li of this.list.querySelectorAll("[role=option]")) if (li instanceof HTMLElement) shown.set(li.dataset.room, li);
    const options = made.map((li, i) => {
      const old = shown.get(li.dataset.room);
      const keep = old && old.innerHTML === li.innerHTML ? old : li;
      keep.id = `switch-${i}`;
      return keep;
    });
    const wanted = new Set(options);
    for (const child of [...this.list.children]) if (!wanted.has(/** @type {HTMLElement} */ (child))) child.remove();
    options.forEach((li, i) => {
      if (this.list.children[i] !== li) this.list.insertBefore(li, this.list.children[i] || null);
    });
  }

  _mark(index) {
    const options = [...this.list.querySelectorAll("[role=option]")];
    options.forEach((o, i) => {
      o.setAttribute("aria-selected", String(i === index));
    });
    if (options[index]) {
      this.input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    }
  }

  _key(event) {
    const options = [...this.list.querySelectorAll("[role=option]")];
    const at = options.findIndex((o) => o.getAttribute("aria-selected") === "true");
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (options.length) this._mark((at + (event.key === "ArrowDown" ? 1 : -1) + options.length) % options.length);
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (options[at]) this._choose(/** @type {HTMLElement} */ (options[at]).dataset.room);
    } else if (event.key === "Escape") {
      // The search box would only clear its text; Esc closes, as everywhere.
      event.preventDefault();
      this.dialog.close();
    }
  }

  _choose(roomId) {
    this.dialog.close();
    this.onOpen(roomId);
  }
}
