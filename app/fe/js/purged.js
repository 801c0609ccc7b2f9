// @ts-check
// Retention deleted a room's messages up to an id (the `purged` event): what
// the open page shows of them leaves it, live, with a note where they were.

import { h } from "./dom.js";
import { rejoin } from "./message_items.js";

const NOTE = "Older messages were deleted by the retention policy.";

/**
 * Remove the list's messages with ids up to `through`; how many went.
 * @param {HTMLElement} list
 * @param {number} through
 */
export function dropPurged(list, through) {
  const gone = [...list.querySelectorAll("li.message")].filter((li) => Number(/** @type {HTMLElement} */ (li).dataset.id) <= through);
  for (const li of gone) li.remove();
  if (!gone.length) return 0;
  // What led the removed messages (day labels, the "New" divider, an earlier
  // note) goes too, except the day label of the first message left.
  let first = list.firstElementChild;
  while (
    first &&
    !first.classList.contains("message") &&
    !(first.classList.contains("day") && first.nextElementSibling?.classList.contains("message"))
  ) {
    first.remove();
    first = list.firstElementChild;
  }
  list.prepend(h("li", { class: "notice purged" }, NOTE));
  rejoin(list.querySelector("li.message"));
  return gone.length;
}
