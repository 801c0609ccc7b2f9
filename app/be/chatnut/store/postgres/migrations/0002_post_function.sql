-- post_message in one round trip: the write lock, the room's rules, the id,
-- the insert, the event and its NOTIFY, all in the caller's transaction (one
-- statement in autocommit: the lock is held until it commits).
-- 7365616 is the write lock's key (store/postgres/__init__.py: WRITE_LOCK).
CREATE FUNCTION chatnut_post(
    p_room TEXT,
    p_sender TEXT,
    p_content TEXT,
    p_type TEXT,
    p_metadata TEXT,
    p_reply_to BIGINT,
    p_mentioned TEXT[],
    p_to TEXT[]
) RETURNS TABLE (
    outcome TEXT,
    message_id BIGINT,
    created_at TEXT,
    seq BIGINT,
    room_name TEXT,
    room_project TEXT,
    mentions TEXT,
    audience TEXT[]
) LANGUAGE plpgsql AS $$
DECLARE
    r rooms%ROWTYPE;
    v_id BIGINT;
    v_seq BIGINT;
    v_at TEXT;
    v_registered TEXT[];
    v_audience TEXT[];
BEGIN
    PERFORM pg_advisory_xact_lock(7365616);
    SELECT * INTO r FROM rooms WHERE rooms.id = p_room;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'missing'::text, NULL::bigint, NULL::text, NULL::bigint,
            NULL::text, NULL::text, NULL::text, NULL::text[];
        RETURN;
    END IF;
    IF r.status <> 'live' THEN
        RETURN QUERY SELECT 'archived'::text, NULL::bigint, NULL::text, NULL::bigint,
            r.name, r.project, NULL::text, NULL::text[];
        RETURN;
    END IF;
    IF p_reply_to IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM messages m WHERE m.id = p_reply_to AND m.room_id = p_room
    ) THEN
        RETURN QUERY SELECT 'reply'::text, NULL::bigint, NULL::text, NULL::bigint,
            r.name, r.project, NULL::text, NULL::text[];
        RETURN;
    END IF;
    -- Addressed to: the `to` names, then the registered agents it @mentions
    -- (byte order, as Python's sorted()).
    v_registered := ARRAY(
        SELECT lower(a.agent_name) FROM agent_registry a
        WHERE a.room_id = p_room AND lower(a.agent_name) = ANY (p_mentioned)
        ORDER BY lower(a.agent_name) COLLATE "C"
    );
    v_audience := p_to || ARRAY(
        SELECT n FROM unnest(v_registered) AS n WHERE NOT (n = ANY (p_to))
        ORDER BY n COLLATE "C"
    );
    v_id := nextval('message_ids');
    v_seq := nextval('event_seqs');
    v_at := to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS')
        || '+00:00';
    INSERT INTO messages (id, room_id, sender, content, message_type, created_at, metadata,
            recipients, addressees)
        VALUES (v_id, p_room, p_sender, p_content, p_type, v_at, p_metadata,
            CASE WHEN cardinality(p_to) > 0 THEN array_to_json(p_to)::text END,
            CASE WHEN cardinality(v_audience) > 0 THEN array_to_json(v_audience)::text END);
    INSERT INTO message_recipients (name, message_id, room_id)
        SELECT n, v_id, p_room FROM unnest(v_audience) AS n;
    INSERT INTO events (seq, kind, room_id, message_id) VALUES (v_seq, 'message', p_room, v_id);
    PERFORM pg_notify('chatnut_events', json_build_object(
        'seq', v_seq, 'kind', 'message', 'room', p_room, 'id', v_id)::text);
    RETURN QUERY SELECT 'ok'::text, v_id, v_at, v_seq, r.name, r.project, (
        SELECT coalesce(json_agg(json_build_object('name', lower(a.agent_name),
            'task_id', a.task_id) ORDER BY lower(a.agent_name) COLLATE "C"), '[]')::text
        FROM agent_registry a
        WHERE a.room_id = p_room AND lower(a.agent_name) = ANY (p_mentioned)
    ), v_audience;
END $$;

-- Every other write's event: the next seq, the row, the NOTIFY (in the
-- caller's transaction, under the write lock it already holds).
CREATE FUNCTION chatnut_emit(p_kind TEXT, p_room TEXT, p_data TEXT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    v_seq BIGINT := nextval('event_seqs');
BEGIN
    INSERT INTO events (seq, kind, room_id, data) VALUES (v_seq, p_kind, p_room, p_data);
    PERFORM pg_notify('chatnut_events', json_build_object(
        'seq', v_seq, 'kind', p_kind, 'room', p_room)::text);
    RETURN v_seq;
END $$;
