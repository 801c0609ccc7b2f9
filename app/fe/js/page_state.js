// @ts-check
// What the page as a whole is showing, in one place: main.js makes one and
// the views it wires read the open room through roomId (their own state stays
// in each view).

export class PageState {
  /** @param {string} reader the name the page reads as when it starts */
  constructor(reader) {
    /** @type {string | null} the open room, or null on the welcome view */
    this.currentRoom = null;
    /** @type {string | null} a room that could not open (an outage): retried on reconnect */
    this.failedRoom = null;
    /** @type {boolean | null} whether the "no rooms yet" state is shown (null: not drawn yet) */
    this.emptyShown = null;
    /** the name read as: a change (the field, another tab) is followed from here */
    this.reader = reader;
    /** The open room's id, for the views: a function, so it is always the current one. */
    this.roomId = () => this.currentRoom;
  }
}
