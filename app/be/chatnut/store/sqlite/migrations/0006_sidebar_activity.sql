-- The sidebar's first page, newest activity first, is read from this index
-- instead of sorting every room (store/sqlite/pages.py: sidebar_page).
CREATE INDEX IF NOT EXISTS room_stats_activity ON room_stats(last_message_id DESC);
