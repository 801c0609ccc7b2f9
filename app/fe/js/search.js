// Search across rooms: matching room names, then message snippets with the
// query highlighted; a hit opens its room at the message.

import { api, enc } from "./api.js";
import { $, h, highlighted, timeAgo } from "./dom.js";

export async function runSearch(query, { project, roomName, onOpen }) {
  const view = $("search-results");
  $("search-title").textContent = `Search: ${query}`;
  view.replaceChildren(h("p", { class: "notice" }, "Searching…"));
  let result;
  try {
    const scope = project ? `&project=${enc(project)}` : "";
    result = await api(`/search?q=${enc(query)}${scope}`);
  } catch (error) {
    view.replaceChildren(h("p", { class: "notice" }, `Search failed: ${error.message}`));
    return;
  }
  const open = (roomId, messageId) => (event) => {
    event.preventDefault();
    onOpen(roomId, messageId);
  };
  const rooms = result.rooms.map((room) =>
    h("a", { class: "hit", href: `/?room=${enc(room.id)}`, onclick: open(room.id, null) },
      h("div", {}, highlighted(room.name, query)),
      h("div", { class: "where" }, `${room.project} · ${room.status}`)),
  );
  const messages = result.messages.map((m) =>
    h("a", { class: "hit", href: `/?room=${enc(m.room_id)}&msg=${m.id}`, onclick: open(m.room_id, m.id) },
      h("div", { class: "where" }, `${roomName(m.room_id) ?? "a room"} · ${m.sender} · ${timeAgo(m.created_at)} · #${m.id}`),
      h("div", {}, highlighted(m.snippet, query))),
  );
  const total = result.message_rooms.reduce((sum, r) => sum + r.match_count, 0);
  const heading = messages.length
    ? `Messages (${total}${total >= 1000 ? "+" : ""} matches)`
    : "No messages match";
  const parts = [rooms.length ? h("h2", {}, "Rooms") : null, ...rooms, h("h2", {}, heading), ...messages];
  view.replaceChildren(...parts.filter(Boolean));
}
