// @ts-check
// Enter in a draft. With a keyboard it sends and Shift+Enter is a new line;
// on a touch screen it is a new line, as a phone's keyboard expects, and the
// form's button sends. Each draft says which applies here, in its placeholder
// and its accessible name, and says it again when the pointer changes (a
// tablet docked to a keyboard).

const touch = matchMedia("(pointer: coarse)");
const KEYS = "Enter sends, Shift+Enter for a new line";

/** Whether Enter is a new line here, not a send. */
export const onTouchScreen = () => touch.matches;

/** Whether this key press sends the draft. @param {KeyboardEvent} event */
export const enterSends = (event) => event.key === "Enter" && !event.shiftKey && !event.isComposing && !touch.matches;

/**
 * Words a draft shows for what Enter does. The placeholder stays short on a
 * touch screen, where the draft is a phone's width.
 * @param {HTMLTextAreaElement} draft
 * @param {{label: string, button: string, placeholder: string, keysInPlaceholder?: boolean}} words
 */
export function describeEnter(draft, { label, button, placeholder, keysInPlaceholder = false }) {
  const say = () => {
    draft.placeholder = keysInPlaceholder && !touch.matches ? `${placeholder} — ${KEYS}` : placeholder;
    draft.setAttribute("aria-label", `${label} (${touch.matches ? `the ${button} button sends` : KEYS})`);
  };
  say();
  touch.addEventListener("change", say);
}
