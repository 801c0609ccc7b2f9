-- The sidebar's first page, newest activity first, is read from this index
-- instead of sorting every room (store/postgres/views.py: sidebar_page).
CREATE INDEX room_stats_activity ON room_stats (last_message_id DESC NULLS LAST);
