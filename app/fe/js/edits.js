// @ts-check
// Editing and deleting your own messages. Edit and Delete sit in the actions
// of the messages this page may change (a signed-in person's own, or any for
// an admin; else those posted under the name in the field — the server
// decides, this only offers). Edit opens the text in place: Enter saves (on
// a touch screen, as in the composer, Enter is a new line and Save saves),
// Esc cancels. Delete asks once more on the same button. An edited message
// shows "(edited)" (when, in its title); a deleted one "message deleted".
//
// Live: an `edit` event carries the message as it now stands, and its item is
// built again from it (its reactions row carried over). The latest changes
// are kept a while, so an item built from a page read before its change (a
// room opening as a message is deleted) is built again as soon as it is added.
// The event has no id, so a resumed feed cannot replay it: on every `ready`
// the messages shown are asked about again (`/rooms/{id}/edits`).

import { api, enc } from "./api.js";
import { fullTime, h, onMessagesAdded, plainText } from "./dom.js";
import { enterSends, onTouchScreen } from "./enter.js";
import { signedIn } from "./session.js";

const FETCH_IDS = 500; // the batch route's most
const KEEP_CHANGES = 200;

/** An item's change as built (data-edited), or a message's: "deleted", an edit time, "". */
const changeOf = (m) => (m.deleted ? "deleted" : m.edited_at || "");

/** @param {string} name */
const key = (name) => (name || "").trim().toLowerCase();

/**
 * Whether this page may change the message: a person signed in by their own
 * token, their principal's messages (an admin's, any); the admin's key (or no
 * token), the messages posted under the name in the field.
 * @param {{sender: string, principal?: string}} m
 * @param {string} reader
 */
function mayChange(m, reader) {
  if (signedIn.name) return signedIn.can_post && (signedIn.role === "admin" || m.principal === signedIn.name);
  return Boolean(reader) && key(m.sender) === key(reader);
}

/**
 * Edit and Delete, for the messages this page may change that still stand.
 * @param {{id: number, sender: string, principal?: string, deleted?: boolean}} m
 * @param {string} reader
 */
export function editButtons(m, reader) {
  if (m.deleted || !mayChange(m, reader)) return [];
  return [
    h("button", { type: "button", "data-edit": m.id, "aria-label": `Edit #${m.id}`, tabindex: "-1" }, "Edit"),
    h("button", { type: "button", "data-delete": m.id, "aria-label": `Delete #${m.id}`, tabindex: "-1" }, "Delete"),
  ];
}

/** "(edited)" beside the time, when. @param {{edited_at?: string}} m */
export function editedMark(m) {
  if (!m.edited_at) return null;
  // A <time>, not a labelled <span>: a label on an element without a role is
  // not read by every screen reader (axe counts it as serious).
  return h("time", { class: "edited", datetime: m.edited_at, title: `Edited ${fullTime(m.edited_at)}` }, "(edited)");
}

export class MessageEdits {
  /**
   * @param {{roomId: () => string | null, reader: () => string, list: HTMLElement, build: (m: any, grouped: boolean) => HTMLElement, parents: () => Map<number, unknown>, onError: (text: string) => void}} options
   */
  constructor({ roomId, reader, list, build, parents, onError }) {
    this.parents = parents; // the room's cache of reply parents outside the page
    this.roomId = roomId;
    this.reader = reader;
    this.list = list;
    this.build = build; // (message, grouped) -> its item, as the room builds them
    this.onError = onError;
    this.changes = new Map(); // message id -> the message as its latest change left it
    onMessagesAdded(
      list,
      () => this.changes.size > 0,
      (item) => this._catchUp(item),
    );
    list.addEventListener("click", (event) => this._clicked(event));
    list.addEventListener("keydown", (event) => this._key(event));
    // A Delete that asks again forgets it when left.
    list.addEventListener("focusout", (event) => {
      const button = event.target instanceof HTMLElement ? event.target.closest("button[data-delete]") : null;
      if (button instanceof HTMLElement) this._unask(button);
    });
  }

  /** @param {MouseEvent} event */
  _clicked(event) {
    const target = event.target instanceof Element ? event.target : null;
    const edit = target?.closest("button[data-edit]");
    if (edit instanceof HTMLElement) {
      this.open(Number(edit.dataset.edit));
      return;
    }
    const del = target?.closest("button[data-delete]");
    if (del instanceof HTMLElement) {
      if (del.dataset.asking) this.remove(Number(del.dataset.delete));
      else {
        del.dataset.asking = "1";
        del.textContent = "Delete for good?";
        del.setAttribute("aria-label", `Delete #${del.dataset.delete} for good? Press again to delete`);
      }
      return;
    }
    const save = target?.closest("button[data-edit-save]");
    if (save instanceof HTMLElement) this._save(Number(save.dataset.editSave));
    const cancel = target?.closest("button[data-edit-cancel]");
    if (cancel instanceof HTMLElement) this.close(Number(cancel.dataset.editCancel));
  }

  /** @param {HTMLElement} button */
  _unask(button) {
    if (!button.dataset.asking) return;
    delete button.dataset.asking;
    button.textContent = "Delete";
    button.setAttribute("aria-label", `Delete #${button.dataset.delete}`);
  }

  /** @param {KeyboardEvent} event */
  _key(event) {
    const box = event.target instanceof HTMLTextAreaElement ? event.target.closest("form.edit-box") : null;
    if (!(box instanceof HTMLElement)) return;
    const id = Number(box.dataset.msg);
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      this.close(id);
    } else if (enterSends(event)) {
      event.preventDefault();
      this._save(id);
    }
    // ↑/↓ move the caret here, not between messages.
    if (event.key === "ArrowUp" || event.key === "ArrowDown") event.stopPropagation();
  }

  /** @param {number} id */
  _item(id) {
    const li = this.list.querySelector(`li.message[data-id="${id}"]`);
    return li instanceof HTMLElement ? li : null;
  }

  /** Open the editor in place of the body, with the text as it stands. @param {number} id */
  async open(id) {
    const roomId = this.roomId();
    const li = this._item(id);
    if (!roomId || !li) return;
    const open = li.querySelector("form.edit-box textarea");
    if (open instanceof HTMLElement) {
      open.focus();
      return;
    }
    const page = await api(`/rooms/${enc(roomId)}/messages?around=${id}&limit=1`).catch(() => null);
    const message = page?.messages?.find((m) => m.id === id);
    if (!message || message.deleted || !li.isConnected) {
      if (!message) this.onError("Could not edit: the message could not be read");
      return;
    }
    const keys = onTouchScreen() ? "the Save button saves" : "Enter saves, Esc cancels";
    const text = h("textarea", { class: "edit-text", "aria-label": `Edit #${id}: ${keys}` });
    text.value = message.content;
    text.rows = Math.min(12, message.content.split("\n").length + 1);
    const box = h(
      "form",
      { class: "edit-box", "data-msg": id },
      text,
      h(
        "div",
        { class: "edit-row" },
        h("span", { class: "edit-hint" }, "Enter to save · Esc to cancel"),
        h("button", { type: "button", "data-edit-cancel": id }, "Cancel"),
        h("button", { type: "button", "data-edit-save": id, class: "primary" }, "Save"),
      ),
    );
    box.addEventListener("submit", (event) => event.preventDefault());
    const body = li.querySelector(".body");
    if (body instanceof HTMLElement) body.hidden = true;
    (body ?? li.lastElementChild)?.after(box);
    text.focus();
    text.setSelectionRange(text.value.length, text.value.length);
  }

  /** Close the editor, the message as it was. @param {number} id */
  close(id) {
    const li = this._item(id);
    if (!li) return;
    li.querySelector("form.edit-box")?.remove();
    const body = li.querySelector(".body");
    if (body instanceof HTMLElement) body.hidden = false;
    li.focus();
  }

  /** @param {number} id */
  async _save(id) {
    const li = this._item(id);
    const text = li?.querySelector("form.edit-box textarea");
    if (!(text instanceof HTMLTextAreaElement)) return;
    if (!text.value.trim()) {
      this.onError("Could not edit: the message would be empty (Delete takes it away)");
      return;
    }
    try {
      const got = await api(`/messages/${id}?html=true`, { method: "PATCH", body: { content: text.value, name: this.reader() } });
      this.show(got);
    } catch (error) {
      this.onError(`Could not edit: ${error instanceof Error ? error.message : error}`);
    }
  }

  /** @param {number} id */
  async remove(id) {
    try {
      const got = await api(`/messages/${id}?html=true&name=${enc(this.reader())}`, { method: "DELETE" });
      this.show(got);
    } catch (error) {
      this.onError(`Could not delete: ${error instanceof Error ? error.message : error}`);
    }
  }

  /** An `edit` event: the message as it now stands. */
  edit(data) {
    this.changes.delete(data.id);
    this.changes.set(data.id, data);
    if (this.changes.size > KEEP_CHANGES) this.changes.delete(this.changes.keys().next().value);
    if (data.room_id === this.roomId()) this.show(data);
  }

  /** An item just added: built from a read older than its latest change? @param {HTMLElement} li */
  _catchUp(li) {
    const latest = this.changes.get(Number(li.dataset.id));
    const shown = li.dataset.edited || "";
    if (!latest || shown === "deleted") return;
    const change = changeOf(latest);
    if (change === "deleted" || change > shown) this.show(latest);
  }

  /** Build the message's item again from what it now is, in the same place; the
   * quotes of replies to it say what it now says. */
  show(m) {
    this.parents().delete(m.id);
    const line = `↳ ${m.sender}: ${m.deleted ? "message deleted" : plainText(m.content, 120)}`;
    for (const quote of this.list.querySelectorAll(`.quote[data-jump="${Number(m.id)}"]`)) quote.textContent = line;
    const old = this._item(m.id);
    if (!old) return;
    const hadFocus = old.contains(document.activeElement);
    const fresh = this.build(m, old.classList.contains("grouped"));
    for (const name of ["live", "for-me"]) if (old.classList.contains(name)) fresh.classList.add(name);
    const reactions = old.querySelector(".reactions");
    if (reactions) fresh.querySelector(".reactions")?.replaceWith(reactions);
    // So is its thread's line (thread.js): an edit does not change its replies.
    const thread = old.querySelector(".thread-line");
    if (thread) {
      fresh.querySelector(".thread-line")?.remove();
      fresh.querySelector(".reactions")?.before(thread);
    }
    old.replaceWith(fresh);
    if (hadFocus) fresh.focus();
  }

  /** After a (re)connect: what changed while away is read again. */
  async ready() {
    const roomId = this.roomId();
    if (!roomId) return;
    const ids = [...this.list.querySelectorAll("li.message[data-id]")]
      .map((li) => Number(li instanceof HTMLElement ? li.dataset.id : 0))
      .filter(Boolean);
    for (let i = 0; i < ids.length; i += FETCH_IDS) {
      const chunk = ids.slice(i, i + FETCH_IDS);
      const got = await api(`/rooms/${enc(roomId)}/edits?html=true&ids=${chunk.join(",")}`).catch(() => null);
      if (!got || this.roomId() !== roomId) return;
      for (const m of got.messages) if (!this._item(m.id)?.querySelector("form.edit-box")) this.show(m);
    }
  }
}
