// A human joins the conversation: Enter sends, Shift+Enter is a new line, the
// name is remembered in this browser. The post comes back through the feed
// like everyone else's, so it is never shown twice.

import { api, enc } from "./api.js";
import { $ } from "./dom.js";

const NAME_KEY = "chatnut.name";

export function senderName() {
  return localStorage.getItem(NAME_KEY) || "human";
}

export class Composer {
  constructor({ roomId }) {
    this.roomId = roomId;
    this.form = $("composer");
    this.draft = $("draft");
    this.sender = $("sender");
    this.note = $("composer-note");
    this.sender.value = senderName();
    this.sender.addEventListener("change", () => {
      const name = this.sender.value.trim();
      if (name) localStorage.setItem(NAME_KEY, name);
    });
    this.draft.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.form.requestSubmit();
      }
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
  }

  setOpen(open, why = "") {
    for (const el of [this.draft, this.sender, $("send")]) el.disabled = !open;
    this._say(why);
  }

  async send() {
    const content = this.draft.value;
    const sender = this.sender.value.trim();
    if (!content.trim()) return;
    if (!sender) {
      this._say("Type your name first.", true);
      this.sender.focus();
      return;
    }
    localStorage.setItem(NAME_KEY, sender);
    $("send").disabled = true;
    try {
      await api(`/rooms/${enc(this.roomId())}/messages`, {
        method: "POST",
        body: { sender, content },
      });
      this.draft.value = "";
      this._say("");
    } catch (error) {
      this._say(`Not sent: ${error.message}`, true); // the draft stays
    } finally {
      $("send").disabled = false;
      this.draft.focus();
    }
  }

  _say(text, error = false) {
    this.note.textContent = text;
    this.note.classList.toggle("error", error);
  }
}
