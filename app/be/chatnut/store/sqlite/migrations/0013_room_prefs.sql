-- A reader's own settings for a room, kept on the server under the reader's
-- name so they follow the person to every device: how loudly the room
-- notifies (`level`: all, mentions — the default: mentions and messages directed to the
-- reader — or none), whether it is muted (no unread weight, no
-- notification) and whether it is starred (listed first in the sidebar).
-- A room deleted takes its rows with it.
CREATE TABLE room_prefs (
    reader TEXT NOT NULL,
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    level TEXT NOT NULL DEFAULT 'mentions' CHECK (level IN ('all', 'mentions', 'none')),
    muted INTEGER NOT NULL DEFAULT 0 CHECK (muted IN (0, 1)),
    starred INTEGER NOT NULL DEFAULT 0 CHECK (starred IN (0, 1)),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (reader, room_id)
);

-- The room's rows, for the cascade.
CREATE INDEX room_prefs_room ON room_prefs(room_id);
