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
    this.list.replaceChildren(
      ...page.rooms.map((room, i) =>
        h(
          "li",
          { role: "option", id: `switch-${i}`, "data-room": room.id, "aria-selected": String(i === 0) },
          h("span", { class: "name" }, room.name),
          " ",
          h("span", { class: "project" }, `${room.project}${room.status === "live" ? "" : " · archived"}`),
          countedUnread(room) && this.mentioned(room.id)
            ? h("span", { class: "badge mention", "aria-label": `${countedUnread(room)} unread, mentions you` }, `@${countedUnread(room)}`)
            : countedUnread(room)
              ? h("span", { class: "badge" }, String(countedUnread(room)))
              : null,
        ),
      ),
    );
    if (!page.rooms.length) this.list.append(h("li", { class: "notice" }, "No room by that name"));
    this._mark(0);
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
