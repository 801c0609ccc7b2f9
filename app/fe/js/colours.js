// @ts-check
// One colour per sender name, the same in every view of the page: messages
// and their avatars, the agents bar, the status bar and team panel, the
// pinned summary, @mention chips, search results and the "Mentions &
// directed" list. Every view asks senderColour(); nothing else derives one.
//
// A name starts from its hashed hue (see app.css .c0–.c11); a hue more names
// wear than another gives way to the next least worn, so the first twelve
// names the page meets get twelve colours. The mapping is the page's, kept in
// this module on purpose: a name must wear one colour in every view, so it
// cannot belong to any one view (a room, the search) the way the rest of the
// state does. Names are told apart case-insensitively, as @mentions are.

const HUES = 12;
// Past this many names, a name takes its hashed hue without being remembered,
// so a page that meets a flood of names holds no more than this.
const REMEMBERED = 5000;

/** @type {Map<string, string>} */
const byName = new Map();
const worn = new Array(HUES).fill(0);

function hashedHue(key) {
  let hash = 2166136261;
  for (const ch of key) hash = Math.imul(hash ^ /** @type {number} */ (ch.codePointAt(0)), 16777619) >>> 0;
  return hash % HUES;
}

/** The colour class (`c0`…`c11`) of a sender's name. */
export function senderColour(name) {
  const key = name.toLowerCase();
  const known = byName.get(key);
  if (known) return known;
  const start = hashedHue(key);
  if (byName.size >= REMEMBERED) return `c${start}`;
  let hue = start;
  for (let i = 1; i < HUES; i += 1) {
    const next = (start + i) % HUES;
    if (worn[next] < worn[hue]) hue = next;
  }
  worn[hue] += 1;
  const colour = `c${hue}`;
  byName.set(key, colour);
  return colour;
}

/** The same colours for views handed a room's `palette` rather than this module. */
export const palette = { colour: senderColour };
