// @ts-check
// Where the reader is in the open room, and what they have seen.
//
// Pinned: the reader follows the newest message (at the bottom of the live
// end, not scrolled up); a ResizeObserver keeps them there while heights
// settle. Whether the bottom is reached is known from scroll events, never by
// reading layout per message. The reader's own gestures unpin at once. The
// cursor follows what has actually been on screen: every new message while
// watching (pinned, tab visible), else the last message wholly shown. A room
// opened with unread gets a "New" divider above the first of them.

import { $, h } from "./dom.js";

const NEAR_BOTTOM_PX = 48;
const READ_CHECK_MS = 250;
const HOLD_MS = 1000;

export class Reading {
  // window: the room view's page of messages — roomId(), newestId(), atLiveEnd().
  constructor({ scroller, list, window, onRead, onWatch }) {
    this.scroller = scroller;
    this.list = list;
    this.window = window;
    this.onRead = onRead; // (roomId, lastSeenId)
    this.onWatch = onWatch; // (watching: bool)
    this.pill = $("pill");
    this.pinned = true;
    this.lastTop = 0;
    this.readTimer = null;
    this.reset();
    // The reader's own gestures unpin at once (before their scroll event, so a
    // message arriving in between never pulls them back); scroll events (one
    // per frame at most, when layout is clean: nothing writes the DOM outside
    // animation frames) tell whether the bottom is reached.
    scroller.addEventListener("scroll", () => this._scrolled(), { passive: true });
    scroller.addEventListener(
      "wheel",
      (event) => {
        if (event.deltaY < 0) this.unpin();
      },
      { passive: true },
    );
    scroller.addEventListener("touchmove", () => this.unpin(), { passive: true });
    scroller.addEventListener("keydown", (event) => {
      if (["ArrowUp", "PageUp", "Home"].includes(event.key)) this.unpin();
    });
    scroller.addEventListener("pointerdown", (event) => {
      if (event.target === scroller) this.unpin(); // the scrollbar
    });
    for (const kind of ["wheel", "touchstart", "keydown", "pointerdown"]) {
      scroller.addEventListener(
        kind,
        () => {
          this.anchor = null;
        },
        { passive: true },
      );
    }
    // Heights settle as off-screen messages come into view (content-visibility):
    // a pinned reader stays at the bottom, a shown message stays where it was put.
    new ResizeObserver(() => {
      if (this.anchor) this.anchor.el.scrollIntoView({ block: this.anchor.block });
      else if (this.pinned && this.window.atLiveEnd()) scroller.scrollTop = scroller.scrollHeight;
    }).observe(list);
  }

  // A room opened afresh.
  reset() {
    this.unseen = 0;
    this.divider = null;
    this.anchor = null;
  }

  atBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }

  watching() {
    return this.window.roomId() !== null && this.pinned && this.window.atLiveEnd() && document.visibilityState === "visible";
  }

  // To the newest message, following it from now on.
  toEnd() {
    this.anchor = null;
    this.pinned = true;
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.setUnseen(0);
    this.seen();
  }

  unpin() {
    this.anchor = null;
    if (!this.pinned) return;
    this.pinned = false;
    this.onWatch(false);
  }

  // Scroll to an element and keep it there while heights settle, until the
  // reader moves (wheel, touch, key, pointer) or a second has passed.
  hold(el, block) {
    this.pinned = false;
    this.anchor = { el, block };
    el.scrollIntoView({ block });
    clearTimeout(this.anchorTimer);
    this.anchorTimer = setTimeout(() => {
      this.anchor = null;
    }, HOLD_MS);
    this.checkRead();
  }

  // New messages the reader has not scrolled to: the pill says how many.
  setUnseen(count) {
    this.unseen = count;
    this.pill.hidden = count === 0;
    this.pill.textContent = `${count} new message${count === 1 ? "" : "s"} ↓`;
  }

  // The newest message is on screen (the caller knows): the cursor follows.
  seen() {
    this.onWatch(this.watching());
    if (this.watching() && this.window.newestId()) this.onRead(this.window.roomId(), this.window.newestId());
  }

  _scrolled() {
    const top = this.scroller.scrollTop;
    if (top < this.lastTop - 2) this.unpin(); // only the reader scrolls up
    this.lastTop = top;
    if (this.window.atLiveEnd() && !this.anchor && this.atBottom()) {
      this.pinned = true;
      if (this.unseen) this.setUnseen(0);
      this.seen();
    }
    this.checkRead();
  }

  // The cursor follows what the reader has actually had on screen.
  checkRead() {
    if (this.readTimer) return;
    this.readTimer = setTimeout(() => {
      this.readTimer = null;
      const roomId = this.window.roomId();
      if (roomId === null || document.visibilityState !== "visible") return;
      if (this.watching()) {
        this.seen();
        return;
      }
      const bottom = this.scroller.scrollTop + this.scroller.clientHeight;
      const items = this.list.querySelectorAll("li.message");
      let lo = 0;
      let hi = items.length - 1;
      let seen = null;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const el = items[mid];
        if (el.offsetTop + el.offsetHeight <= bottom) {
          seen = el;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (seen) this.onRead(roomId, Number(seen.dataset.id));
    }, READ_CHECK_MS);
  }

  // A "New" divider above the first message past the reader's cursor, shown
  // at the top of the screen; false when every message in the page is read.
  showUnreadAfter(cursor) {
    const first = [...this.list.querySelectorAll("li.message")].find((li) => Number(li.dataset.id) > cursor);
    if (!first) return false;
    // A list item like the day lines (an <ol> holds only list items): its text says it.
    this.divider = h("li", { class: "divider" }, h("span", {}, "New"), h("span", { class: "sr-only" }, " messages"));
    first.before(this.divider);
    first.classList.remove("grouped");
    this.hold(this.divider, "start");
    return true;
  }
}
