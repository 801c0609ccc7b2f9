// @ts-check
// What the reader has typed and not sent, per room, kept in this browser
// across reloads. Which rooms have one is held in memory (read from storage
// once), so the sidebar asks without touching storage on every row update.

const PREFIX = "chatnut.draft."; // + room id

/** @type {Set<string>} */
const withDraft = new Set();
for (let i = 0; i < localStorage.length; i += 1) {
  const key = localStorage.key(i);
  if (key?.startsWith(PREFIX)) withDraft.add(key.slice(PREFIX.length));
}

/** @param {string} roomId */
export function hasDraft(roomId) {
  return withDraft.has(roomId);
}

/** @param {string} roomId */
export function draftOf(roomId) {
  return withDraft.has(roomId) ? localStorage.getItem(PREFIX + roomId) || "" : "";
}

/**
 * Keeps (or, when blank, forgets) a room's draft; true when the room's
 * having a draft changed (its sidebar row then says so).
 * @param {string} roomId
 * @param {string} text
 */
export function saveDraft(roomId, text) {
  const had = withDraft.has(roomId);
  try {
    if (text.trim()) localStorage.setItem(PREFIX + roomId, text);
    else localStorage.removeItem(PREFIX + roomId);
  } catch {
    // Storage full or refused: the draft stays in the box for this visit.
  }
  if (text.trim()) withDraft.add(roomId);
  else withDraft.delete(roomId);
  return had !== withDraft.has(roomId);
}
