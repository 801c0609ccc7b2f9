// @ts-check
// What the page adds to a rendered message body, as DOM (never as HTML):
// @mention chips for registered agents, and a language label and a copy
// button on code blocks.

import { senderColour } from "./colours.js";
import { h } from "./dom.js";

const MENTION = /(^|[^\p{L}\p{N}_])@([\p{L}\p{N}_-]+)/gu;

// @name of a registered agent becomes a chip (text nodes only, never code);
// the reader's own name a chip of its own ("me").
export function mentionChips(body, agents, reader = "") {
  const me = reader.toLowerCase();
  if (!agents.size && !(me && body.textContent.includes("@"))) return;
  const known = new Set([...agents.keys()].map((name) => name.toLowerCase()));
  if (me) known.add(me);
  const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => (node.parentElement.closest("code, pre, a") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  /** @type {Text[]} */
  const nodes = [];
  while (walker.nextNode()) nodes.push(/** @type {Text} */ (walker.currentNode));
  for (const node of nodes) {
    const text = node.nodeValue;
    if (!text.includes("@")) continue;
    const parts = [];
    let at = 0;
    for (const match of text.matchAll(MENTION)) {
      if (!known.has(match[2].toLowerCase())) continue;
      const start = match.index + match[1].length;
      const mine = match[2].toLowerCase() === me;
      // The chip is underlined in the name's colour: its text keeps the chip's
      // own colour, which is what holds 4.5:1 on the chip's background.
      const colour = senderColour(match[2]);
      const chip = mine
        ? h("span", { class: `mention me ${colour}`, title: "you" }, `@${match[2]}`)
        : h("span", { class: `mention ${colour}`, title: "registered agent" }, `@${match[2]}`);
      parts.push(text.slice(at, start), chip);
      at = start + 1 + match[2].length;
    }
    if (!parts.length) continue;
    parts.push(text.slice(at));
    node.replaceWith(...parts);
  }
}

// Past these a block or a message is shown collapsed, with "Show more". Told
// from the text (lines, characters), never from layout: no reads per message.
const CODE_LINES = 16;
const MESSAGE_LINES = 30;
const MESSAGE_CHARS = 2400;

function lineCount(text) {
  let lines = 1;
  for (let at = text.indexOf("\n"); at !== -1 && lines <= 1000; at = text.indexOf("\n", at + 1)) lines += 1;
  return lines;
}

/** A "Show more" for the element just before it (room.js toggles it). */
export function showMore() {
  return h("button", { type: "button", class: "show-more", "data-expand": "", "aria-expanded": "false", tabindex: "-1" }, "Show more");
}

/** A message whose text is long (and not already shortened by its code blocks). */
export function isLong(content) {
  return content.length > MESSAGE_CHARS || lineCount(content) > MESSAGE_LINES;
}

// The renderer marks highlighted blocks <pre><code data-lang="Python">. Long
// blocks collapse; Copy takes the whole text either way. True when one did.
export function decorateCode(body) {
  let collapsed = false;
  for (const pre of body.querySelectorAll("pre")) {
    if (lineCount(pre.textContent.trimEnd()) > CODE_LINES) {
      pre.classList.add("collapsed");
      pre.after(showMore());
      collapsed = true;
    }
    const lang = pre.querySelector("code")?.dataset.lang || "text";
    pre.before(
      h(
        "div",
        { class: "code-head" },
        h("span", { class: "lang" }, lang),
        h("button", { type: "button", "data-copy-code": "", "aria-label": `Copy ${lang} code`, tabindex: "-1" }, "Copy"),
      ),
    );
  }
  return collapsed;
}
