-- Reactions from the page: one row per (message, emoji, name), toggled by
-- that name. They go with their message (the trigger below), so a deleted
-- message or room leaves none behind.
CREATE TABLE reactions (
    message_id INTEGER NOT NULL,
    emoji TEXT NOT NULL,
    name TEXT NOT NULL,
    room_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (message_id, emoji, name)
) WITHOUT ROWID;

CREATE TRIGGER reactions_delete AFTER DELETE ON messages BEGIN
    DELETE FROM reactions WHERE message_id = old.id;
END;
