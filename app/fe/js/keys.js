// @ts-check
// The keyboard: Ctrl/Cmd+K room switcher, Alt+↑/↓ previous/next room,
// Alt+Shift+↑/↓ previous/next room with unread, `/` search, `?` this help,
// Esc closes what is open.

import { $ } from "./dom.js";

export function bindKeys({ switcher, closeDrawer, closeSearch, current, rooms, unread, openRoom }) {
  const step = (direction, onlyUnread) => {
    const ids = rooms();
    if (!ids.length) return;
    let at = ids.indexOf(current());
    for (let i = 0; i < ids.length; i += 1) {
      at = at < 0 ? (direction > 0 ? 0 : ids.length - 1) : (at + direction + ids.length) % ids.length;
      if (!onlyUnread || unread(ids[at])) {
        openRoom(ids[at]);
        return;
      }
    }
  };
  document.addEventListener("keydown", (event) => {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName);
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k") {
      event.preventDefault();
      switcher.open();
    } else if (event.altKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
      event.preventDefault();
      step(event.key === "ArrowDown" ? 1 : -1, event.shiftKey);
    } else if (event.key === "/" && !typing) {
      event.preventDefault();
      $("search").focus();
    } else if (event.key === "?" && !typing) {
      event.preventDefault();
      /** @type {HTMLDialogElement} */ ($("help")).showModal();
    } else if (event.key === "Escape") {
      closeDrawer();
      closeSearch();
    }
  });
  $("help-open").addEventListener("click", () => /** @type {HTMLDialogElement} */ ($("help")).showModal());
}
