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

const UNITS = [
  ["year", 31536000], ["month", 2592000], ["week", 604800],
  ["day", 86400], ["hour", 3600], ["minute", 60],
];
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

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

export function colourClass(name) {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return `c${hash % 8}`;
}

// Wrap each case-insensitive occurrence of `needle` in <mark>, as DOM nodes.
export function highlighted(text, needle) {
  const out = [];
  const hay = text.toLowerCase();
  const want = needle.toLowerCase();
  let at = 0;
  while (want && at <= text.length) {
    const hit = hay.indexOf(want, at);
    if (hit < 0) break;
    out.push(text.slice(at, hit), h("mark", {}, text.slice(hit, hit + want.length)));
    at = hit + want.length;
  }
  out.push(text.slice(at));
  return out;
}
