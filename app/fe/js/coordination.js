// @ts-check
// Coordination on the page: who a message is addressed to ("→ alice"), summaries
// styled apart and the latest one pinned above the room, a presence dot per
// agent, and a "mentions & directed" view of one name across rooms.
// Everything goes in as text (h() / textContent), never as HTML.

import { api, enc } from "./api.js";
import { senderColour } from "./colours.js";
import { $, closest, h, plainText, timeAgo } from "./dom.js";

const ACTIVE_MS = 5 * 60 * 1000; // seen this recently: a filled dot
const PRESENCE_EVERY_MS = 15000;
const INBOX_PAGE = 100;

// -- one message ----------------------------------------------------------------

export function messageClass(m) {
  return m.message_type === "summary" ? " summary" : "";
}

// Header parts: a "summary" tag.
export function messageExtras(m) {
  return [m.message_type === "summary" ? h("span", { class: "tag summary-tag" }, "summary") : null];
}

// "→ alice, bob" on a line of its own, so it shows on grouped messages too.
export function addressees(m) {
  if (!m.to?.length) return null;
  // data-to: the names, for the receipt marks (receipts.js) drawn under this line.
  const names = JSON.stringify(m.to);
  return h("div", { class: "to", title: "addressed to (everyone still sees it)", "data-to": names }, `→ ${m.to.join(", ")}`);
}

// -- presence -------------------------------------------------------------------

// Who in the open room was seen when: one per page, owned by main.js and
// handed to every view that draws a dot (the agents bar, the status bar, the
// team panel). Every dot for a name is updated in place.
export class Presence {
  constructor() {
    /** @type {Map<string, {last_seen_at?: string, waiting?: boolean}>} lower-cased name -> row */
    this.rows = new Map();
  }

  clear() {
    this.rows.clear();
  }

  /** An agent or status row from the server (it names agent_name or sender). */
  set(row) {
    this.rows.set((row.agent_name ?? row.sender).toLowerCase(), row);
  }

  /** A post is a sign of life. */
  seen(name, at) {
    const key = name.toLowerCase();
    this.rows.set(key, { ...this.rows.get(key), last_seen_at: at });
  }

  state(name) {
    const row = this.rows.get(name.toLowerCase());
    if (!row?.last_seen_at && !row?.waiting) return ["never", "never seen"];
    if (row.waiting) return ["waiting", "waiting for messages now"];
    const age = Date.now() - Date.parse(row.last_seen_at);
    return [age < ACTIVE_MS ? "active" : "idle", `last seen ${timeAgo(row.last_seen_at)}`];
  }

  // A dot that keeps itself current: refresh() updates every dot for a name.
  dot(name) {
    const [state, title] = this.state(name);
    return h("span", { class: "presence", role: "img", "data-presence": name.toLowerCase(), "data-state": state, title, "aria-label": title });
  }

  refresh() {
    for (const dot of document.querySelectorAll("[data-presence]")) {
      if (!(dot instanceof HTMLElement)) continue;
      const [state, title] = this.state(dot.dataset.presence);
      dot.dataset.state = state;
      dot.title = title;
      dot.setAttribute("aria-label", title);
    }
  }
}

// The open room's registered agents with their dots, beside the status bar;
// refreshed every few seconds (presence has no event of its own) and the
// moment someone in the room posts (a post is a sign of life).
export class PresenceBar {
  /** @param {{presence: Presence}} options */
  constructor({ presence }) {
    this.presence = presence;
    this.roomId = null;
    this.bar = h("div", { id: "presence-bar", class: "presence-bar", "aria-label": "Agents" });
    $("statusbar").after(this.bar);
    setInterval(() => this.refresh(), PRESENCE_EVERY_MS);
  }

  open(roomId) {
    this.roomId = roomId;
    this.bar.replaceChildren();
    this.presence.clear();
    this.refresh();
  }

  async refresh() {
    const roomId = this.roomId;
    if (!roomId || document.visibilityState !== "visible") return;
    const [agents, statuses] = await Promise.all([api(`/rooms/${enc(roomId)}/agents`), api(`/rooms/${enc(roomId)}/statuses`)]).catch(() => [
      null,
      null,
    ]);
    if (!agents || roomId !== this.roomId) return;
    for (const row of [...agents.agents, ...statuses.statuses]) this.presence.set(row);
    this.bar.replaceChildren(
      ...agents.agents.map((a) =>
        h("span", { class: "agent-chip" }, this.presence.dot(a.agent_name), h("b", { class: senderColour(a.agent_name) }, a.agent_name)),
      ),
    );
    this.presence.refresh();
  }

  message(m) {
    if (m.room_id !== this.roomId) return;
    this.presence.seen(m.sender, m.created_at);
    this.presence.refresh();
  }
}

// -- the latest summary, pinned above the messages ----------------------------

const SUMMARY_OPEN_KEY = "chatnut.summary-open"; // room ids whose summary is open

/** @returns {Set<string>} */
function openSummaries() {
  try {
    return new Set(JSON.parse(localStorage.getItem(SUMMARY_OPEN_KEY) || "[]"));
  } catch {
    return new Set();
  }
}

export class SummaryPin {
  constructor({ onJump }) {
    this.onJump = onJump; // (roomId, messageId)
    this.roomId = null;
    this.shownId = 0;
    this.pin = h("aside", { id: "latest-summary", class: "latest-summary", hidden: true, "aria-label": "Latest summary" });
    this.pin.addEventListener("click", (event) => {
      const jump = closest(event, "[data-summary]");
      if (jump) this.onJump(this.roomId, Number(jump.dataset.summary));
      if (closest(event, "[data-summary-toggle]")) this._toggle();
    });
    this.shown = null;
    ($("messages").closest(".room-body") ?? $("messages")).before(this.pin);
  }

  async open(roomId, reader) {
    this.roomId = roomId;
    this.shownId = 0;
    this.pin.hidden = true;
    // The handoff holds the newest summary (cut to a stated length): one read.
    const handoff = await api(`/rooms/${enc(roomId)}/handoff?reader=${enc(reader)}&recent=0`).catch(() => null);
    if (handoff && roomId === this.roomId && handoff.latest_summary) this.show(handoff.latest_summary);
  }

  message(m) {
    if (m.room_id === this.roomId && m.message_type === "summary") this.show(m);
  }

  // One line (its start, in plain text) until opened; opened, the summary
  // rendered like a message. Open or not is remembered per room.
  show(m) {
    if (m.id < this.shownId) return;
    this.shownId = m.id;
    this.shown = m;
    const open = openSummaries().has(this.roomId);
    const body = h("div", { class: "summary-text body", hidden: !open });
    if (m.html !== undefined)
      body.innerHTML = m.html; // the server renderer's output
    else body.textContent = m.content;
    this.pin.replaceChildren(
      h(
        "header",
        {},
        h("span", { class: "tag summary-tag" }, "latest summary"),
        " ",
        h("b", { class: senderColour(m.sender) }, m.sender),
        " ",
        h("time", { datetime: m.created_at, title: m.created_at }, timeAgo(m.created_at)),
        " ",
        h("button", { type: "button", class: "link", "data-summary": m.id }, `#${m.id}`),
        h("span", { class: "summary-line", hidden: open }, plainText(m.content, 200)),
        h(
          "button",
          {
            type: "button",
            class: "summary-toggle",
            "data-summary-toggle": "",
            "aria-expanded": String(open),
            "aria-label": open ? "Hide the summary" : "Show the summary",
          },
          open ? "Hide" : "Show",
        ),
      ),
      body,
    );
    this.pin.hidden = false;
    if (open) this._render(m, body);
  }

  // The handoff's summary is raw (and may be cut): the whole message, rendered.
  async _render(m, body) {
    if (m.html !== undefined) return;
    const roomId = this.roomId;
    const page = await api(`/rooms/${enc(roomId)}/messages?around=${m.id}&limit=1&html=true`).catch(() => null);
    const full = page?.messages.find((x) => x.id === m.id);
    if (!full || roomId !== this.roomId || this.shown !== m) return;
    m.html = full.html;
    body.innerHTML = full.html;
  }

  _toggle() {
    const open = openSummaries();
    if (open.has(this.roomId)) open.delete(this.roomId);
    else open.add(this.roomId);
    try {
      localStorage.setItem(SUMMARY_OPEN_KEY, JSON.stringify([...open].slice(-500)));
    } catch {
      // Storage refused: the choice lasts for this visit.
    }
    this.shownId = 0;
    if (this.shown) this.show(this.shown);
  }
}

// -- mentions & directed: one name across rooms --------------------------------

export class InboxView {
  constructor({ show, onOpen, defaultName, onName }) {
    this.show = show; // () => shows the view
    this.onName = onName; // (name) => the view now shows this name
    this.onOpen = onOpen; // (roomId, messageId)
    this.defaultName = defaultName;
    this.name = null;
    this.form = $("inbox-form");
    this.input = /** @type {HTMLInputElement} */ ($("inbox-name"));
    this.results = $("inbox-results");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.load(this.input.value.trim());
    });
    $("inbox-open").addEventListener("click", () => this.open());
    this.results.addEventListener("click", (event) => {
      const hit = closest(event, "a[data-room]");
      if (!hit || event.ctrlKey || event.metaKey || event.shiftKey) return;
      event.preventDefault();
      this.onOpen(hit.dataset.room, Number(hit.dataset.msg));
    });
  }

  open() {
    this.show();
    this.input.value ||= this.defaultName();
    this.load(this.input.value.trim());
    this.input.focus();
  }

  get visible() {
    return !$("inbox-view").hidden;
  }

  async load(name) {
    if (!name) return;
    this.name = name;
    this.onName?.(name);
    $("inbox-title").textContent = `Mentions & directed: ${name}`;
    let page;
    let mentioned;
    try {
      // Sent `to` the name (the server's inbox), and @name in the text (a
      // search): both are addressed to this reader.
      [page, mentioned] = await Promise.all([
        api(`/inbox?agent_name=${enc(name)}&limit=${INBOX_PAGE}&newest=true`),
        api(`/search?${new URLSearchParams({ q: `@${name}` })}`).catch(() => null),
      ]);
    } catch (error) {
      this.results.replaceChildren(h("p", { class: "notice" }, `Cannot read it: ${error.message}`));
      return;
    }
    if (name !== this.name) return;
    const messages = [...page.messages, ...this._mentions(mentioned, name, page.messages)];
    messages.sort((a, b) => b.id - a.id);
    const hits = messages.slice(0, INBOX_PAGE).map((m) => this._hit(m));
    this.results.replaceChildren(...(hits.length ? hits : [h("p", { class: "notice" }, `Nothing addressed to ${name} in a live room.`)]));
    if (page.has_more || messages.length > INBOX_PAGE) this.results.append(h("p", { class: "notice" }, `The newest ${INBOX_PAGE} are shown.`));
  }

  // Search hits that @name the reader (not a longer name that starts the
  // same), as inbox messages, less those the inbox has already.
  _mentions(result, name, already) {
    if (!result) return [];
    const have = new Set(already.map((m) => m.id));
    const exact = new RegExp(`@${name.replace(/[^\p{L}\p{N}_-]/gu, "")}(?![\\p{L}\\p{N}_-])`, "iu");
    return result.messages
      .filter((m) => !have.has(m.id) && exact.test(m.snippet) && m.sender.toLowerCase() !== name.toLowerCase())
      .map((m) => ({
        id: m.id,
        sender: m.sender,
        created_at: m.created_at,
        content: m.snippet,
        to: [],
        room: { id: m.room_id, ...result.room_names[m.room_id] },
      }));
  }

  // A live post addressed to the name (or @mentioning it) shows at the top.
  message(m) {
    if (!this.visible || !this.name) return;
    const name = this.name.toLowerCase();
    const mentioned = new RegExp(`(^|[^\\p{L}\\p{N}_])@${name.replace(/[^\p{L}\p{N}_-]/gu, "")}(?![\\p{L}\\p{N}_-])`, "iu");
    if (m.to?.includes(name) || mentioned.test(m.content)) this.load(this.name);
  }

  _hit(m) {
    const where = [
      `${m.room.project}/${m.room.name} · `,
      h("b", { class: `sender ${senderColour(m.sender)}` }, m.sender),
      `${m.to?.length ? ` → ${m.to.join(", ")}` : ""} · ${timeAgo(m.created_at)} · #${m.id}`,
    ];
    return h(
      "a",
      { class: `hit${messageClass(m)}`, href: `/?room=${enc(m.room.id)}&msg=${m.id}`, "data-room": m.room.id, "data-msg": m.id },
      h("div", { class: "where" }, ...where),
      h("div", { class: "snippet" }, m.content.length > 300 ? `${m.content.slice(0, 300)}…` : m.content),
    );
  }
}
