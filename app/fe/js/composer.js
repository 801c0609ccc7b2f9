// @ts-check
// A human joins the conversation: Enter sends, Shift+Enter is a new line, the
// name is remembered in this browser. The post comes back through the feed
// like everyone else's, so it is never shown twice. The draft grows with its
// text, `@` offers names, a reply target can be set from a message, the form
// says why it is closed (archived room, offline), and a failed send keeps the
// draft and offers a retry. A person signed in by their own token posts as
// that person: their name replaces the field (with a sign-out), and a reader's
// page only reads.

import { api, enc } from "./api.js";
import { $, closest, h } from "./dom.js";
import { draftOf, saveDraft } from "./drafts.js";
import { describeEnter, enterSends } from "./enter.js";
import { signedIn, signOut } from "./session.js";

// 128 random bits as hex (crypto.randomUUID needs a secure context; a team
// server may be reached over plain http).
const randomKey = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");

const NAME_KEY = "chatnut.name";
const MAX_SUGGESTIONS = 8;
const sendButton = () => /** @type {HTMLButtonElement} */ ($("send"));

export function senderName() {
  return signedIn.name || localStorage.getItem(NAME_KEY) || "human";
}

// The name in the sidebar: a field for the admin's key, the person's own name
// otherwise; a sign-out wherever a sign-in cookie opened the page.
function showWhoami() {
  if (signedIn.name) {
    $("whoami-free").hidden = true;
    const name = $("whoami-name");
    name.textContent = signedIn.can_post ? `You: ${signedIn.name}` : `You: ${signedIn.name} (reader)`;
    name.hidden = false;
  }
  const out = $("sign-out");
  out.hidden = !signedIn.session;
  out.addEventListener("click", () => signOut());
}

export class Composer {
  constructor({ roomId, names, onSent, onDraft }) {
    this.roomId = roomId;
    this.onSent = onSent; // (roomId, message) — the server took it
    this.onDraft = onDraft; // (roomId) — the room's having a draft changed
    this.names = names; // () -> names to offer after "@"
    this.form = /** @type {HTMLFormElement} */ ($("composer"));
    this.draft = /** @type {HTMLTextAreaElement} */ ($("draft"));
    describeEnter(this.draft, { label: "Message", button: "Send", placeholder: "Message the team", keysInPlaceholder: true });
    this.sender = /** @type {HTMLInputElement} */ ($("sender"));
    this.to = /** @type {HTMLInputElement} */ ($("to"));
    // The picker offers the room's agents and recent senders when it is used
    // (as typed too: focused while the room was loading, it had none yet).
    const offer = () => $("to-names").replaceChildren(...this.names().map((name) => h("option", { value: name })));
    this.to.addEventListener("focus", offer);
    this.to.addEventListener("input", offer);
    this.note = $("composer-note");
    this.suggest = $("mention-list");
    this.replyTo = null;
    /** @type {{content: string, roomId: string, key: string} | null} the draft being sent, and its idempotency key */
    this.pending = null;
    this.closedWhy = "";
    this.offline = false;
    this.shownWhy = "";
    // A reader's page reads: the server would refuse every post anyway.
    this.readOnlyWhy = signedIn.can_post ? "" : `Read only: ${signedIn.name || "this sign-in"} has the reader role here.`;
    showWhoami();
    this.sender.value = senderName();
    this.sender.addEventListener("change", () => {
      const name = this.sender.value.trim();
      if (name) localStorage.setItem(NAME_KEY, name);
    });
    this.draft.addEventListener("input", () => {
      this._keep();
      this._grow();
      this._offer();
    });
    this.draft.addEventListener("keydown", (event) => this._key(event));
    this.draft.addEventListener("blur", () => setTimeout(() => this._hideSuggestions(), 150));
    this.suggest.addEventListener("mousedown", (event) => {
      const option = closest(event, "[role=option]");
      if (!option) return;
      event.preventDefault();
      this._complete(option.dataset.name);
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    $("reply-cancel").addEventListener("click", () => this.setReply(null));
    $("retry").addEventListener("click", () => this.send());
  }

  // Another room opened: its own draft comes back (or an empty box).
  openRoom(roomId) {
    this.draft.value = draftOf(roomId);
    this._hideSuggestions();
    this._grow();
  }

  _keep(roomId = this.roomId(), text = this.draft.value) {
    if (roomId && saveDraft(roomId, text)) this.onDraft(roomId);
  }

  // Archived (why given) or open; offline closes it too, with its own reason.
  setOpen(open, why = "") {
    this.closedWhy = open ? "" : why;
    this._state();
  }

  setOnline(online) {
    this.offline = !online;
    this._state();
  }

  _state() {
    const offline = this.offline ? "Offline: the server cannot be reached. Your draft is kept; sending resumes when it is back." : "";
    const why = this.closedWhy || this.readOnlyWhy || offline;
    if (why === this.shownWhy) return; // unchanged: write nothing (called on every room delta)
    this.shownWhy = why;
    for (const el of [this.draft, this.to, sendButton()]) el.disabled = Boolean(why);
    if (why) this._say(why);
    else if (this.note.dataset.kind === "closed") this._say("");
    this.note.dataset.kind = why ? "closed" : "";
  }

  setReply(target) {
    this.replyTo = target;
    const bar = $("replying");
    bar.hidden = !target;
    if (target) {
      $("reply-text").textContent = `Replying to ${target.sender} #${target.id}: ${target.excerpt}`;
      this.draft.focus();
    }
  }

  async send() {
    const content = this.draft.value;
    const sender = signedIn.name || this.sender.value.trim();
    if (!content.trim()) return;
    if (!sender) {
      this._say("Type your name first.", true);
      this.sender.focus();
      return;
    }
    if (!signedIn.name) localStorage.setItem(NAME_KEY, sender);
    sendButton().disabled = true;
    $("retry").hidden = true;
    // One key per draft: sending the same draft again after an error (the
    // Retry button) cannot post it twice if the first try did land.
    const roomId = this.roomId();
    if (!this.pending || this.pending.content !== content || this.pending.roomId !== roomId) {
      this.pending = { content, roomId, key: `web-${randomKey()}` };
    }
    /** @type {Record<string, unknown>} */
    const body = { sender, content, idempotency_key: this.pending.key };
    if (this.replyTo) body.reply_to = this.replyTo.id;
    const to = this.to.value
      .split(/[\s,]+/)
      .map((name) => name.replace(/^@/, ""))
      .filter(Boolean);
    if (to.length) body.to = to;
    try {
      const message = await api(`/rooms/${enc(roomId)}/messages`, { method: "POST", body });
      this.pending = null;
      this.onSent(roomId, message);
      this._keep(roomId, "");
      if (this.roomId() === roomId) {
        this.draft.value = "";
        this.to.value = ""; // addressing is for one message
        this._grow();
        this.setReply(null);
        this._say("");
      }
    } catch (error) {
      this._say(`Not sent: ${error.message}. Your draft is kept.`, true);
      $("retry").hidden = false;
    } finally {
      sendButton().disabled = Boolean(this.closedWhy || this.readOnlyWhy || this.offline);
      this.draft.focus();
    }
  }

  _grow() {
    this.draft.style.height = "auto";
    this.draft.style.height = `${Math.min(this.draft.scrollHeight + 2, window.innerHeight * 0.3)}px`;
  }

  // -- @ autocomplete ----------------------------------------------------------

  _word() {
    const upto = this.draft.value.slice(0, this.draft.selectionStart);
    const match = /(^|[^\p{L}\p{N}_])@([\p{L}\p{N}_-]*)$/u.exec(upto);
    return match ? match[2] : null;
  }

  _offer() {
    const word = this._word();
    if (word === null) return this._hideSuggestions();
    const lower = word.toLowerCase();
    const found = this.names()
      .filter((n) => n.toLowerCase().startsWith(lower) && n !== word)
      .slice(0, MAX_SUGGESTIONS);
    if (!found.length) return this._hideSuggestions();
    this.suggest.replaceChildren(
      ...found.map((name, i) => h("li", { role: "option", id: `mention-${i}`, "data-name": name, "aria-selected": String(i === 0) }, `@${name}`)),
    );
    this.suggest.hidden = false;
    this.draft.setAttribute("aria-activedescendant", "mention-0");
  }

  _hideSuggestions() {
    this.suggest.hidden = true;
    this.draft.removeAttribute("aria-activedescendant");
  }

  _move(step) {
    const options = [...this.suggest.children];
    const at = options.findIndex((o) => o.getAttribute("aria-selected") === "true");
    const next = (at + step + options.length) % options.length;
    options.forEach((o, i) => {
      o.setAttribute("aria-selected", String(i === next));
    });
    this.draft.setAttribute("aria-activedescendant", options[next].id);
  }

  _complete(name) {
    const start = this.draft.selectionStart;
    const word = this._word() ?? "";
    const before = this.draft.value.slice(0, start - word.length);
    const after = this.draft.value.slice(start);
    this.draft.value = `${before}${name} ${after}`;
    const caret = before.length + name.length + 1;
    this.draft.setSelectionRange(caret, caret);
    this._keep();
    this._hideSuggestions();
    this._grow();
  }

  _key(event) {
    if (!this.suggest.hidden) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        this._move(event.key === "ArrowDown" ? 1 : -1);
        return;
      }
      if (event.key === "Enter" || event.key === "Tab") {
        event.preventDefault();
        const chosen = this.suggest.querySelector("[aria-selected=true]");
        this._complete(/** @type {HTMLElement} */ (chosen).dataset.name);
        return;
      }
      if (event.key === "Escape") {
        event.stopPropagation();
        this._hideSuggestions();
        return;
      }
    }
    if (enterSends(event)) {
      event.preventDefault();
      this.form.requestSubmit();
    } else if (event.key === "Escape" && this.replyTo) {
      event.stopPropagation();
      this.setReply(null);
    }
  }

  /** A refusal from elsewhere in the room (a reaction), where the reader looks. @param {string} text */
  notice(text) {
    this._say(text, true);
  }

  _say(text, error = false) {
    this.note.textContent = text;
    this.note.classList.toggle("error", error);
  }
}
