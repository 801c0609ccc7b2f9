-- Threads: a reply names its parent in its metadata (`reply_to`, a message id
-- of the same room). A page asks how many replies each message it shows has,
-- and a thread pane reads one parent's replies in order: both are lookups by
-- (room, parent) in this index, so a room of any size answers a page's worth
-- of counts in one read. Partial: only replies are in it, and only metadata
-- that is JSON (the original stored free text there; json_extract would fail
-- on it).
CREATE INDEX idx_messages_reply_to
    ON messages (room_id, json_extract(metadata, '$.reply_to'), id)
    WHERE json_valid(metadata) AND json_extract(metadata, '$.reply_to') IS NOT NULL;
