// The page: wires the sidebar, the open room, the composer, search and the
// tab's one feed together, and keeps the address bar in step (?room=, ?msg=).

import { api, enc } from "./api.js";
import { Composer, senderName } from "./composer.js";
import { InboxView, PresenceBar, SummaryPin } from "./coordination.js";
import { $ } from "./dom.js";
import { SharedFeed } from "./feed.js";
import { RoomView } from "./room.js";
import { runSearch } from "./search.js";
import { Sidebar } from "./sidebar.js";

const views = ["welcome", "room-view", "search-view", "inbox-view"];
let currentRoom = null;
const readMarks = new Map(); // room id -> last id we told the server we read
let readTimer = null;

const sidebar = new Sidebar({ onChange: updateTitle });
const room = new RoomView({ onRead: markRead });
const composer = new Composer({ roomId: () => currentRoom });
const presenceBar = new PresenceBar();
const summaryPin = new SummaryPin({ onJump: (roomId, id) => openRoom(roomId, { focus: id }) });
const inbox = new InboxView({
  show: () => show("inbox-view"),
  onOpen: (roomId, id) => openRoom(roomId, { focus: id }),
  defaultName: senderName,
});
const feed = new SharedFeed({
  onEvent: handle,
  onState: (state) => {
    const indicator = $("conn");
    indicator.dataset.state = state;
    indicator.textContent = state;
  },
  sidebarRooms: () => [...sidebar.rooms.values()],
});

function show(view) {
  for (const id of views) $(id).hidden = id !== view;
  $("app").classList.remove("drawer-open");
}

function updateTitle() {
  const unread = sidebar.totalUnread();
  const name = currentRoom ? sidebar.rooms.get(currentRoom)?.name : null;
  document.title = `${unread ? `(${unread}) ` : ""}${name ? `${name} · ` : ""}chatnut`;
}

function handle(name, data) {
  switch (name) {
    case "snapshot":
      sidebar.snapshot(data.rooms);
      if (currentRoom && sidebar.rooms.has(currentRoom)) roomChanged(sidebar.rooms.get(currentRoom));
      break;
    case "room":
      sidebar.upsert(data);
      if (data.id === currentRoom) roomChanged(data);
      break;
    case "room_deleted":
      sidebar.remove(data.id);
      if (data.id === currentRoom) {
        goHome(true);
        $("welcome").querySelector("p").textContent = "That room was deleted.";
      }
      break;
    case "message":
      room.add(data, true);
      presenceBar.message(data);
      summaryPin.message(data);
      inbox.message(data);
      break;
    case "status":
      room.status(data);
      break;
    case "agent":
      room.agent(data);
      break;
    case "cleared":
      if (data.room_id === currentRoom) room.cleared();
      break;
    case "ready":
      room.refreshTeam(); // statuses are not replayed after a reconnect: fetch them
      break;
  }
  updateTitle();
}

function roomChanged(summary) {
  room.describe(summary);
  composer.setOpen(summary.status === "live", summary.status === "live" ? "" : "This room is archived: it is read-only.");
}

function markRead(roomId, lastId) {
  if ((readMarks.get(roomId) || 0) >= lastId) return;
  readMarks.set(roomId, lastId);
  clearTimeout(readTimer);
  readTimer = setTimeout(() => {
    api(`/rooms/${enc(roomId)}/read`, {
      method: "POST",
      body: { reader: senderName(), last_read_message_id: lastId },
    }).catch(() => readMarks.delete(roomId)); // tell it again next time
  }, 400);
}

async function openRoom(roomId, { focus = null, push = true } = {}) {
  if (push) {
    const url = `/?room=${enc(roomId)}${focus ? `&msg=${Number(focus)}` : ""}`;
    history.pushState({ room: roomId, focus }, "", url);
  }
  currentRoom = roomId;
  sidebar.select(roomId);
  show("room-view");
  let summary = sidebar.rooms.get(roomId);
  try {
    summary ??= await api(`/rooms/${enc(roomId)}`);
    roomChanged(summary);
    presenceBar.open(roomId);
    summaryPin.open(roomId, senderName());
    await room.open(summary, focus);
  } catch (error) {
    if (currentRoom !== roomId) return;
    goHome(false);
    $("welcome").querySelector("p").textContent = `Cannot open that room: ${error.message}`;
    return;
  }
  updateTitle();
}

function goHome(push) {
  if (push) history.pushState({}, "", "/");
  currentRoom = null;
  room.room = null;
  sidebar.select(null);
  show("welcome");
  updateTitle();
}

function fromAddress() {
  const params = new URLSearchParams(location.search);
  const roomId = params.get("room");
  if (roomId) openRoom(roomId, { focus: Number(params.get("msg")) || null, push: false });
  else goHome(false);
}

function wire() {
  $("sidebar").addEventListener("click", (event) => {
    const link = event.target.closest("a[data-room]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    openRoom(link.dataset.room);
  });
  $("home-link").addEventListener("click", (event) => {
    event.preventDefault();
    goHome(true);
  });
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const query = $("search").value.trim();
    if (!query) return;
    show("search-view");
    runSearch(query, {
      project: sidebar.project,
      roomName: (id) => sidebar.rooms.get(id)?.name ?? "a room",
      onOpen: (roomId, messageId) => openRoom(roomId, { focus: messageId }),
    });
  });
  $("close-search").addEventListener("click", () => show(currentRoom ? "room-view" : "welcome"));
  $("close-inbox").addEventListener("click", () => show(currentRoom ? "room-view" : "welcome"));
  $("archive-room").addEventListener("click", async () => {
    const r = sidebar.rooms.get(currentRoom) || room.room;
    if (!confirm(`Archive "${r.name}"? Agents can no longer post to it.`)) return;
    await api(`/rooms/${enc(r.id)}/archive`, { method: "POST" }).catch((e) => alert(e.message));
  });
  $("delete-room").addEventListener("click", async () => {
    const r = sidebar.rooms.get(currentRoom) || room.room;
    const count = r.message_count ?? 0;
    if (!confirm(`Delete "${r.name}" and its ${count} messages for good?`)) return;
    await api(`/rooms/${enc(r.id)}`, { method: "DELETE" }).catch((e) => alert(e.message));
  });
  for (const button of document.querySelectorAll("[data-menu]")) {
    button.addEventListener("click", () => $("app").classList.toggle("drawer-open"));
  }
  document.addEventListener("keydown", (event) => {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName);
    if (event.key === "/" && !typing) {
      event.preventDefault();
      $("search").focus();
    } else if (event.key === "Escape") {
      $("app").classList.remove("drawer-open");
      if (!$("search-view").hidden || inbox.visible) show(currentRoom ? "room-view" : "welcome");
    }
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && currentRoom && room.atBottom()) room.scrollToEnd();
  });
  window.addEventListener("popstate", fromAddress);
}

wire();
feed.start(senderName());
fromAddress();
