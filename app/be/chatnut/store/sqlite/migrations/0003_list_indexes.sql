-- The room list filters by status and project and sorts by recency; the
-- per-type reads filter messages of one room by type.
CREATE INDEX IF NOT EXISTS idx_rooms_status_project ON rooms(status, project);
CREATE INDEX IF NOT EXISTS idx_messages_room_type ON messages(room_id, message_type, id);
