// @ts-check
// Small DOM helpers. Text always goes in as text (textContent/append of
// strings); the only HTML the page inserts is the server renderer's `html`.

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export const $ = (id) => document.getElementById(id);

/**
 * The element at or above an event's target that matches `selector`, if any.
 * @param {Event} event
 * @param {string} selector
 * @returns {HTMLElement | null}
 */
export function closest(event, selector) {
  return event.target instanceof Element ? event.target.closest(selector) : null;
}

// Writes only a change: an equal write still dirties layout, and a layout read
// after it (a scroll handler's) would then be forced.
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

export function setAttr(el, name, value) {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

/**
 * Calls `added` with each message item put into `list`, however it came (a
 * first page, an older or newer page, a live message): a change heard while a
 * read was in flight is laid on the items drawn from that older read.
 * `wanted()` says whether anything is waiting, so an idle watcher costs one
 * call per batch.
 * @param {HTMLElement} list
 * @param {() => boolean} wanted
 * @param {(item: HTMLElement) => void} added
 */
export function onMessagesAdded(list, wanted, added) {
  new MutationObserver((records) => {
    if (!wanted()) return;
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node instanceof HTMLElement && node.matches("li.message")) added(node);
      }
    }
  }).observe(list, { childList: true });
}

/** @type {[Intl.RelativeTimeFormatUnit, number][]} */
const UNITS = [
  ["year", 31536000],
  ["month", 2592000],
  ["week", 604800],
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
];
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

// A room's unread as the page counts it: archived rooms never count (README).
export function countedUnread(room) {
  return room?.status === "live" ? room.unread_count || 0 : 0;
}

// Relative times say their age again: the room, the sidebar and search each
// call this on their own times every AGES_EVERY_MS.
export const AGES_EVERY_MS = 30000;
export function refreshAges(times) {
  for (const time of times) if (time.dateTime) time.textContent = timeAgo(time.dateTime);
}

export function timeAgo(iso, now = Date.now()) {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  if (Math.abs(seconds) < 45) return "just now";
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === "minute") {
      return relative.format(Math.round(seconds / size), unit);
    }
  }
  return "";
}

export function initials(name) {
  const words = name
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim()
    .split(" ")
    .filter(Boolean);
  if (!words.length) return "?";
  if (words.length === 1) {
    // agent1, agent2: the number tells them apart, not "AG" twice.
    const number = /\d{1,2}$/.exec(words[0]);
    if (number && number.index > 0) return (words[0][0] + number[0]).toUpperCase();
    return words[0].slice(0, 2).toUpperCase();
  }
  // agent-1, agent-10: a number is kept whole (two digits), not cut to its first.
  const second = /^\d{1,2}$/.test(words[1]) ? words[1] : words[1][0];
  return (words[0][0] + second).toUpperCase();
}

const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });
const dayName = new Intl.DateTimeFormat(undefined, { weekday: "long", month: "long", day: "numeric", year: "numeric" });

export const clockTime = (iso) => clock.format(new Date(iso));
export const fullTime = (iso) => full.format(new Date(iso));
export const localDay = (iso) => new Date(iso).toDateString();

export function dayLabel(iso, now = new Date()) {
  const day = new Date(iso).toDateString();
  if (day === now.toDateString()) return "Today";
  if (day === new Date(now.getTime() - 86400000).toDateString()) return "Yesterday";
  return dayName.format(new Date(iso));
}

// A message's Markdown as one line of plain text, for previews and quotes.
export function plainText(markdown, max = 160) {
  const text = markdown
    .replace(/```[^\n]*\n?/g, " ")
    .replace(/^\s*\|?\s*:?-{2,}.*$/gm, " ")
    .replace(/\|/g, " ")
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/^\s{0,3}(#{1,6}|>|[-*+]|\d+[.)])\s+/gm, "")
    .replace(/\[[ xX]\]\s+/g, "")
    .replace(/(\*\*|__|~~|`)/g, "")
    .replace(/(^|\s)[*_](\S)/g, "$1$2")
    .replace(/(\S)[*_](\s|$)/g, "$1$2")
    .replace(/\s+/g, " ")
    .trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// Wrap each case-insensitive occurrence of `needle` (or of any of several)
// in <mark>, as DOM nodes.
export function highlighted(text, needle) {
  const out = [];
  const hay = text.toLowerCase();
  const wants = (Array.isArray(needle) ? needle : [needle]).map((n) => n.toLowerCase()).filter(Boolean);
  let at = 0;
  while (wants.length && at <= text.length) {
    let hit = -1;
    let size = 0;
    for (const want of wants) {
      const found = hay.indexOf(want, at);
      if (found >= 0 && (hit < 0 || found < hit || (found === hit && want.length > size))) [hit, size] = [found, want.length];
    }
    if (hit < 0) break;
    out.push(text.slice(at, hit), h("mark", {}, text.slice(hit, hit + size)));
    at = hit + size;
  }
  out.push(text.slice(at));
  return out;
}
