// @ts-check
// The page: wires the sidebar, the open room, the composer, search and the
// tab's one feed together, and keeps the address bar in step (?room=, ?msg=).

import { api, enc } from "./api.js";
import { Composer, senderName } from "./composer.js";
import { InboxView, Presence, PresenceBar, SummaryPin } from "./coordination.js";
import { $, closest } from "./dom.js";
import { MessageEdits } from "./edits.js";
import { SharedFeed } from "./feed.js";
import { bindKeys } from "./keys.js";
import { forReader, MentionMarks } from "./mentions.js";
import { messageItem } from "./message_items.js";
import { PageState } from "./page_state.js";
import { Places } from "./places.js";
import { MentionNotifier, setupTheme } from "./prefs.js";
import { Reactions } from "./reactions.js";
import { ReadSender } from "./read_sender.js";
import { ReceiptMarks } from "./receipts.js";
import { RoomView } from "./room.js";
import { RoomSettings } from "./room_settings.js";
import { SearchView } from "./search.js";
import { Sidebar } from "./sidebar.js";
import { Switcher } from "./switcher.js";
import { TeamPanel } from "./team.js";
import { ThreadPane } from "./thread.js";

const views = ["welcome", "room-view", "search-view", "inbox-view"];
const STARTED_KEY = "chatnut.started."; // + reader: this browser has caught that reader up
const page = new PageState(senderName()); // the open room, and what the page last drew

const mentions = new MentionMarks(senderName);
const presence = new Presence(); // the open room's agents, seen when: every dot reads it
// A room marked unread by hand keeps its cursor while it is open.
const reads = new ReadSender({ reader: senderName, holds: (roomId) => places.holds(roomId) });
const settings = new RoomSettings({ reader: senderName, onChange: (roomId) => sidebar.settingsChanged(roomId), say: (text) => say(text) });
const sidebar = new Sidebar({ onChange: updateTitle, reader: senderName(), onMarkRead: (project) => markAllRead(project), mentions, settings });
const room = new RoomView({
  onRead: (roomId, lastId) => reads.markRead(roomId, lastId),
  onReply: (target) => composer.setReply(target),
  onReact: (id, emoji) => reactions.toggle(id, emoji),
  // A room marked unread is not "watched": its row keeps its count.
  onWatch: (watching) => sidebar.watch(watching && !places.holds(page.currentRoom) ? page.currentRoom : null),
  onTeam: () => team.render(),
  reader: senderName,
  presence,
});
const composer = new Composer({
  roomId: page.roomId,
  names: () => room.names(),
  // Your own message is never unread: the cursor moves past it at once.
  onSent: (roomId, message) => {
    places.release();
    room.sent(roomId);
    reads.markRead(roomId, message.id);
  },
  onDraft: (roomId) => sidebar.refreshRow(roomId),
});
const team = new TeamPanel({ room, presence });
const notifier = new MentionNotifier({
  name: senderName,
  roomName: (id) => sidebar.rooms.get(id)?.name ?? "a room",
  notifies: (roomId, forMe) => settings.notifies(roomId, forMe),
  onOpen: (roomId, messageId) => openRoom(roomId, { focus: messageId }),
});
const searchView = new SearchView({
  projects: () => sidebar.totals.projects.map((p) => p.project),
  onOpen: (roomId, messageId) => openRoom(roomId, { focus: messageId }),
});
const switcher = new Switcher({ onOpen: (roomId) => openRoom(roomId), reader: senderName, mentioned: (id) => mentions.has(id) });
const presenceBar = new PresenceBar({ presence });
const summaryPin = new SummaryPin({ onJump: (roomId, id) => openRoom(roomId, { focus: id }) });
const inbox = new InboxView({
  show: () => show("inbox-view"),
  onOpen: (roomId, id) => openRoom(roomId, { focus: id }),
  defaultName: senderName,
  onName: (name) => receipts.nameShown(name),
});
const reactions = new Reactions({ roomId: page.roomId, reader: senderName, list: $("message-list"), onError: (text) => composer.notice(text) });
const places = new Places({
  room,
  reader: senderName,
  roomId: page.roomId,
  onHeld: (roomId) => {
    if (roomId) sidebar.watch(null);
  },
  onCursor: (roomId, id) => reads.cursorMoved(roomId, id),
  lastSent: (roomId) => reads.lastSent(roomId),
  say: (text) => composer.notice(text),
});
const threads = new ThreadPane({
  roomId: page.roomId,
  reader: senderName,
  list: $("message-list"),
  colour: (name) => room.palette.colour(name),
  onError: (text) => composer.notice(text),
  onMarkUnread: (id) => places.markUnread(id),
});
const edits = new MessageEdits({
  roomId: page.roomId,
  reader: senderName,
  list: $("message-list"),
  build: (m, grouped) => messageItem(m, grouped, room),
  parents: () => room.parents,
  onError: (text) => composer.notice(text),
});
const receipts = new ReceiptMarks({ roomId: page.roomId, onOpen: (roomId, id) => openRoom(roomId, { focus: id }) });
const feed = new SharedFeed({
  onEvent: handle,
  onState: (state) => {
    const indicator = $("conn");
    indicator.dataset.state = state;
    indicator.textContent = state;
    composer.setOnline(state !== "offline");
  },
  sidebarState: () => ({ rooms: [...sidebar.rooms.values()], totals: sidebar.totals }),
});

function show(view) {
  for (const id of views) $(id).hidden = id !== view;
  closeDrawer();
}

function closeDrawer() {
  $("app").classList.remove("drawer-open");
}

function updateTitle() {
  const unread = sidebar.totalUnread();
  const name = page.currentRoom ? (sidebar.rooms.get(page.currentRoom)?.name ?? room.room?.name) : null;
  const title = `${unread ? `(${unread}) ` : ""}${name ? `${name} · ` : ""}chatnut`;
  if (document.title !== title) document.title = title; // a write costs even when equal
  const empty = sidebar.totals.live + sidebar.totals.archived === 0 && feed.state === "live";
  if (page.emptyShown !== empty) {
    page.emptyShown = empty;
    $("empty-state").hidden = !empty;
    $("pick-room").hidden = empty;
  }
}

function handle(name, data) {
  switch (name) {
    case "snapshot": {
      const again = sidebar.fed; // a resync, or another name: the settings again, as of now
      sidebar.snapshot(data);
      if (again) settings.load();
      if (page.currentRoom && sidebar.rooms.has(page.currentRoom)) roomChanged(sidebar.rooms.get(page.currentRoom));
      break;
    }
    case "room":
      sidebar.upsert(data);
      if (data.id === page.currentRoom) roomChanged(data);
      break;
    case "totals":
      sidebar.setTotals(data);
      break;
    case "room_deleted":
      sidebar.remove(data.id);
      if (data.id === page.currentRoom) {
        goHome(true);
        say("That room was deleted.");
      }
      break;
    case "message":
      if (!(data.room_id === page.currentRoom && room.watching()) && forReader(data, senderName())) {
        mentions.note(data);
        sidebar.refreshRow(data.room_id);
      }
      room.add(data);
      notifier.message(data, data.room_id === page.currentRoom && room.watching());
      presenceBar.message(data);
      summaryPin.message(data);
      inbox.message(data);
      receipts.message(data);
      threads.message(data);
      break;
    case "receipt":
      receipts.receipt(data);
      break;
    case "reaction":
      reactions.reaction(data);
      break;
    case "edit":
      edits.edit(data);
      threads.edit(data); // and so does the open thread
      summaryPin.message(data); // a summary edited or deleted: the pin follows
      break;
    case "status":
      room.status(data);
      break;
    case "agent":
      room.agent(data);
      break;
    case "cleared":
      if (data.room_id === page.currentRoom) {
        room.cleared();
        threads.roomOpened(); // its thread is gone with the rest
      }
      break;
    case "purged":
      room.purged(data);
      break;
    case "ready":
      room.refreshTeam(); // statuses are not replayed after a reconnect: fetch them
      receipts.ready(); // nor are receipts: read those shown again
      reactions.ready(); // nor reactions
      threads.ready(); // nor reply counts
      edits.ready(); // nor edits and deletes
      if (page.failedRoom) openRoom(page.failedRoom, { push: false });
      break;
  }
  updateTitle();
}

function roomChanged(summary) {
  room.describe(summary);
  places.summary(summary);
  composer.setOpen(summary.status === "live", summary.status === "live" ? "" : "This room is archived: it is read-only.");
}

function say(text) {
  $("welcome-note").textContent = text;
}

async function openRoom(roomId, { focus = null, push = true } = {}) {
  if (push) {
    const url = `/?room=${enc(roomId)}${focus ? `&msg=${Number(focus)}` : ""}`;
    history.pushState({ room: roomId, focus }, "", url);
  }
  say(""); // errors are cleared on navigation
  if (page.currentRoom === roomId && focus && room.room?.id === roomId) {
    show("room-view");
    await room.focus(focus);
    return;
  }
  page.currentRoom = roomId;
  page.failedRoom = null;
  places.release();
  threads.roomOpened();
  receipts.roomOpened(roomId);
  sidebar.select(roomId);
  sidebar.watch(null);
  settings.show(roomId);
  composer.setReply(null);
  composer.openRoom(roomId);
  show("room-view");
  // A linked message's window is asked for beside the summary (a deep link
  // saves a round trip); if the summary fails, its error is the one shown.
  const aroundPage = focus ? room.around(roomId, focus) : null;
  aroundPage?.catch(() => {});
  try {
    const summary = await api(`/rooms/${enc(roomId)}?reader=${enc(senderName())}`);
    if (page.currentRoom !== roomId) return;
    roomChanged(summary);
    presenceBar.open(roomId);
    summaryPin.open(roomId, senderName());
    await room.open(summary, { focus, cursor: summary.last_read_message_id || 0, aroundPage });
  } catch (error) {
    if (page.currentRoom !== roomId) return;
    if (!error.status) page.failedRoom = roomId; // the server was unreachable: try again when back
    goHome(false);
    say(`Cannot open that room: ${error.message}.`);
    return;
  }
  team.render();
  updateTitle();
}

function goHome(push) {
  if (push) history.pushState({}, "", "/");
  say(""); // callers with news say it after
  page.currentRoom = null;
  places.release();
  threads.roomOpened();
  room.room = null;
  sidebar.select(null);
  sidebar.watch(null);
  show("welcome");
  updateTitle();
}

function fromAddress() {
  const params = new URLSearchParams(location.search);
  const roomId = params.get("room");
  say("");
  if (roomId) openRoom(roomId, { focus: Number(params.get("msg")) || null, push: false });
  else goHome(false);
}

function search(query) {
  show("search-view");
  searchView.run(query, { project: sidebar.project });
}

function wire() {
  $("sidebar").addEventListener("click", (event) => {
    const link = closest(event, "a[data-room]");
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
    const query = /** @type {HTMLInputElement} */ ($("search")).value.trim();
    if (query) search(query);
  });
  $("close-search").addEventListener("click", () => show(page.currentRoom ? "room-view" : "welcome"));
  $("close-inbox").addEventListener("click", () => show(page.currentRoom ? "room-view" : "welcome"));
  $("archive-room").addEventListener("click", async () => {
    const r = room.room;
    if (!confirm(`Archive "${r.name}"? Agents can no longer post to it.`)) return;
    await api(`/rooms/${enc(r.id)}/archive`, { method: "POST" }).catch((e) => alert(e.message));
  });
  $("delete-room").addEventListener("click", async () => {
    const r = room.room;
    const count = r.message_count ?? 0;
    if (!confirm(`Delete "${r.name}" and its ${count} messages for good?`)) return;
    await api(`/rooms/${enc(r.id)}`, { method: "DELETE" }).catch((e) => alert(e.message));
  });
  for (const button of document.querySelectorAll("[data-menu]")) {
    button.addEventListener("click", () => $("app").classList.toggle("drawer-open"));
  }
  $("backdrop").addEventListener("click", closeDrawer); // a tap outside the drawer
  bindKeys({
    switcher,
    closeDrawer,
    closeSearch: () => {
      if (!$("search-view").hidden || inbox.visible) show(page.currentRoom ? "room-view" : "welcome");
    },
    current: page.roomId,
    rooms: () => sidebar.visibleRooms(),
    unread: (id) => sidebar.unreadOf(sidebar.rooms.get(id)) > 0,
    openRoom: (id) => openRoom(id),
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && page.currentRoom && room.pinned) room.scrollToEnd();
    sidebar.watch(room.watching() && !places.holds(page.currentRoom) ? page.currentRoom : null);
  });
  window.addEventListener("popstate", fromAddress);
  // The composer stores the name on "change" (its listener runs first).
  $("sender").addEventListener("change", readerChanged);
  window.addEventListener("storage", readerChanged);
  $("mcp-url").textContent = `${location.origin}/mcp/`;
}

// A name's first visit starts every cursor at "now": the page does not greet
// anyone with thousands of old messages as unread. Rooms created later count
// from their first message until opened. Read state belongs to the name on
// the server: a name that has cursors already (read in another browser) keeps
// them, which the server decides (`first_visit`).
async function catchUpFirstVisit(reader) {
  if (localStorage.getItem(STARTED_KEY + reader)) return;
  try {
    await api("/catch-up", { method: "POST", body: { reader, first_visit: true } });
    localStorage.setItem(STARTED_KEY + reader, new Date().toISOString());
  } catch {
    // Not reachable now: the counts stay as they are, and the next visit tries again.
  }
}

// The reader's name changed (the name field, or another tab of this browser):
// what is read as that name follows without a reload, as a reload would have
// it. What was read as the old name and not yet sent goes out as the old
// name's; a name new to this browser starts at "now"; the feed reconnects as
// the name (its snapshot brings that name's counts and mentions), and the open
// room opens again at the new name's cursor.
async function readerChanged() {
  const name = senderName();
  if (name === page.reader) return;
  const old = page.reader;
  page.reader = name;
  const field = /** @type {HTMLInputElement} */ ($("sender"));
  if (field.value.trim() !== name) field.value = name; // changed in another tab
  sidebar.reader = name;
  reads.flush(old);
  await catchUpFirstVisit(name);
  if (name !== page.reader) return; // changed again meanwhile: that change follows
  feed.follow(name);
  if (page.currentRoom) openRoom(page.currentRoom, { push: false });
}

// "Mark all read", everywhere or in one project: the reader's own action. The
// name's open pages (this one too) hear each room's new cursor on their feed.
function markAllRead(project = null) {
  const body = project ? { reader: senderName(), project } : { reader: senderName() };
  api("/catch-up", { method: "POST", body }).catch((error) => say(`Not marked read: ${error.message}.`));
}

setupTheme();
wire();
// A first visit shows its first rows while the catch-up runs, without
// counts (they may be the old ones it is about to clear); the feed's
// snapshot, which starts after it, brings them. A deep link opens after it
// too, so the room's cursor is the one the catch-up leaves.
const firstVisit = !localStorage.getItem(STARTED_KEY + senderName());
sidebar.prefill({ counts: !firstVisit });
settings.load();
if (!firstVisit) fromAddress();
catchUpFirstVisit(senderName()).then(() => {
  if (firstVisit) fromAddress(); // the room is asked for first, as on a return visit
  feed.start(senderName());
});
