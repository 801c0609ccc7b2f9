// @ts-check
// The room view's message items: one <li> per message (avatar, header with
// times and id, addressees, reply quote, rendered body, actions), with day
// separators and consecutive lines of one sender grouped. `view` is the
// RoomView: its palette, registered agents, reply-parent cache, open room,
// and element(id) for a message in the page.

import { api, enc } from "./api.js";
import { senderColour } from "./colours.js";
import { addressees, messageClass, messageExtras } from "./coordination.js";
import { clockTime, dayLabel, fullTime, h, initials, localDay, plainText, timeAgo } from "./dom.js";
import { editButtons, editedMark } from "./edits.js";
import { forReader } from "./mentions.js";
import { decorateCode, isLong, mentionChips, showMore } from "./message_parts.js";
import { reactButtons, reactionRow } from "./reactions.js";
import { threadActions, threadLine } from "./thread.js";

const GROUP_MS = 5 * 60 * 1000;

// Items for messages (oldest first) following `prev` (an <li> or null),
// with day separators and consecutive lines of one sender grouped.
export function buildItems(messages, prev, view) {
  const out = [];
  let last = prev?.classList?.contains("message") ? prev.dataset : null;
  for (const m of messages) {
    const day = localDay(m.created_at);
    if (!last || last.day !== day) {
      out.push(h("li", { class: "day", "data-day": day }, dayLabel(m.created_at)));
      last = null;
    }
    const grouped =
      Boolean(last) &&
      last.sender === m.sender &&
      last.type === m.message_type &&
      m.message_type !== "system" &&
      !m.metadata?.reply_to &&
      Date.parse(m.created_at) - Number(last.ts) < GROUP_MS;
    const item = messageItem(m, grouped, view);
    out.push(item);
    last = item.dataset;
  }
  return out;
}

// After a prepend: the old first item may join the page before it.
export function rejoin(first) {
  if (!first?.isConnected) return;
  let item = first;
  if (first.classList.contains("day")) {
    const prev = first.previousElementSibling;
    if (prev?.classList.contains("message") && prev.dataset.day === first.dataset.day) {
      item = first.nextElementSibling;
      first.remove();
    } else return;
  }
  if (!item?.classList.contains("message")) return;
  const prev = item.previousElementSibling;
  const grouped =
    prev?.classList.contains("message") &&
    prev.dataset.sender === item.dataset.sender &&
    prev.dataset.type === item.dataset.type &&
    item.dataset.type !== "system" &&
    !item.dataset.reply &&
    Number(item.dataset.ts) - Number(prev.dataset.ts) < GROUP_MS;
  item.classList.toggle("grouped", Boolean(grouped));
}

export function messageItem(m, grouped, view) {
  const system = m.message_type === "system";
  const colour = senderColour(m.sender);
  const gone = Boolean(m.deleted);
  const body = h("div", { class: gone ? "body tombstone" : "body" });
  if (gone) body.textContent = "message deleted";
  else if (m.html === undefined) body.textContent = m.content;
  else body.innerHTML = m.html; // the server renderer's output: escaped, no raw HTML
  // A message is one Tab stop (room.js): its links are reached from it.
  if (m.html?.includes("<a")) for (const a of body.querySelectorAll("a")) a.tabIndex = -1;
  const reader = view.reader();
  mentionChips(body, view.agents, reader);
  const long = !decorateCode(body) && isLong(m.content);
  if (long) body.classList.add("collapsed");
  const replyTo = m.metadata?.reply_to;
  const link = `/?room=${enc(m.room_id)}&msg=${m.id}`;
  const item = h(
    "li",
    {
      class: `message${system ? " system" : ""}${messageClass(m)}${grouped ? " grouped" : ""}${forReader(m, reader) ? " for-me" : ""}`,
      "data-id": m.id,
      "data-sender": m.sender,
      "data-type": m.message_type,
      "data-ts": Date.parse(m.created_at),
      "data-day": localDay(m.created_at),
      "data-reply": replyTo || null,
      "data-edited": gone ? "deleted" : m.edited_at || null, // what edits.js compares
      tabindex: "-1",
    },
    h("span", { class: `avatar ${colour}`, "aria-hidden": "true" }, initials(m.sender)),
    h("time", { class: "gutter", datetime: m.created_at, title: fullTime(m.created_at) }, clockTime(m.created_at)),
    h(
      "header",
      {},
      h("span", { class: `sender ${colour}` }, m.sender),
      system ? h("span", { class: "tag" }, "system") : null,
      m.metadata?.source === "web" ? h("span", { class: "tag" }, "human") : null,
      ...messageExtras(m),
      h("time", { class: "ago", datetime: m.created_at, title: fullTime(m.created_at) }, timeAgo(m.created_at)),
      h("a", { class: "msg-id", href: link, title: "Link to this message", tabindex: "-1" }, `#${m.id}`),
    ),
    addressees(m),
    replyTo ? quoteOf(replyTo, view) : null,
    body,
    editedMark(m), // under the body: a grouped message shows no header
    long ? showMore() : null,
    threadLine(m),
    reactionRow(m.id, m.reactions, reader),
    h(
      "div",
      { class: "msg-actions" },
      ...(gone ? [] : reactButtons(m.id)),
      gone ? null : h("button", { type: "button", "data-reply": m.id, "aria-label": `Reply to #${m.id}`, tabindex: "-1" }, "Reply"),
      h("button", { type: "button", "data-copy-link": link, "aria-label": `Copy link to #${m.id}`, tabindex: "-1" }, "Copy link"),
      ...editButtons(m, reader),
      ...threadActions(m.id),
    ),
  );
  return item;
}

// The parent as a one-line quote when it is in the page; always a jump.
function quoteOf(parentId, view) {
  const parent = view.element(parentId);
  const quote = h("button", { type: "button", class: "quote", "data-jump": parentId, title: `Show #${parentId}`, tabindex: "-1" });
  if (parent) quote.textContent = `↳ ${parent.dataset.sender}: ${plainText(parent.querySelector(".body").textContent, 120)}`;
  else {
    quote.textContent = `↳ message #${parentId}`;
    fetchParent(parentId, quote, view);
  }
  return quote;
}

// A parent outside the page: its one line comes from the server (once per
// id, a few at a time), so a quote reads the same wherever its parent is.
async function fetchParent(parentId, quote, view) {
  let found = view.parents.get(parentId);
  if (!found) {
    if (view.parents.size > 500) view.parents.clear();
    const roomId = view.room.id;
    found = api(`/rooms/${enc(roomId)}/messages?around=${Number(parentId)}&limit=1`)
      .then((page) => page.messages.find((m) => m.id === parentId) || null)
      .catch(() => null);
    view.parents.set(parentId, found);
  }
  const parent = await found;
  // An edit or delete since the fetch began has said what the parent now is (edits.js).
  if (view.parents.get(parentId) !== found) return;
  if (parent) quote.textContent = `↳ ${parent.sender}: ${parent.deleted ? "message deleted" : plainText(parent.content, 120)}`;
}

export function copyText(text, button, done) {
  const label = button.textContent;
  navigator.clipboard?.writeText(text).then(
    () => {
      button.textContent = done;
      setTimeout(() => {
        button.textContent = label;
      }, 1500);
    },
    () => {
      button.textContent = "Copy failed";
    },
  );
}
