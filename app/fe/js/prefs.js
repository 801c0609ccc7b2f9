// @ts-check
// What the user chooses once and the page remembers: the theme, and desktop
// notifications for @mentions (asked for only when turned on).

import { $ } from "./dom.js";
import { forReader } from "./mentions.js";

const THEME_KEY = "chatnut.theme";
const NOTIFY_KEY = "chatnut.notify";
const THEMES = ["system", "light", "dark"];
const THEME_NAMES = { system: "follow the system", light: "light", dark: "dark" };

export function setupTheme() {
  const button = $("theme-toggle");
  const apply = (theme) => {
    if (theme === "system") delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
    button.setAttribute("aria-label", `Theme: ${THEME_NAMES[theme]}`);
    button.title = `Theme: ${THEME_NAMES[theme]} (click to change)`;
  };
  let theme = localStorage.getItem(THEME_KEY);
  if (!THEMES.includes(theme)) theme = "system";
  apply(theme);
  button.addEventListener("click", () => {
    theme = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
    localStorage.setItem(THEME_KEY, theme);
    apply(theme);
  });
}

export class MentionNotifier {
  constructor({ name, roomName, onOpen, notifies }) {
    this.name = name; // () -> the composer's name
    this.roomName = roomName;
    this.notifies = notifies; // (room id, for me?) -> the room's level says yes
    this.onOpen = onOpen;
    this.button = $("notify-toggle");
    this.on = localStorage.getItem(NOTIFY_KEY) === "on" && window.Notification?.permission === "granted";
    this._show();
    this.button.addEventListener("click", () => this.toggle());
  }

  async toggle() {
    if (this.on) {
      this.on = false;
    } else if (window.Notification) {
      const answer = Notification.permission === "granted" ? "granted" : await Notification.requestPermission();
      this.on = answer === "granted";
      if (!this.on) this.button.title = "Notifications are blocked by the browser for this site";
    }
    localStorage.setItem(NOTIFY_KEY, this.on ? "on" : "off");
    this._show();
  }

  _show() {
    this.button.setAttribute("aria-pressed", String(this.on));
  }

  // A message from someone else, while I am not looking at it, that the
  // room's level asks for (by default one naming @me or sent to me).
  message(message, watching) {
    if (!this.on || watching) return;
    const me = this.name().toLowerCase();
    if (message.sender.toLowerCase() === me) return;
    if (!this.notifies(message.room_id, forReader(message, me))) return;
    const note = new Notification(`${message.sender} in ${this.roomName(message.room_id)}`, {
      body: message.content.slice(0, 200),
      tag: `chatnut-${message.id}`,
    });
    note.onclick = () => {
      window.focus();
      this.onOpen(message.room_id, message.id);
    };
  }
}
