-- Who may call the server, each with a key of its own (store/sqlite has the
-- same tables): principals, tokens stored as SHA-256 hashes, and when each
-- token was last used, written by the presence timer to the minute.
CREATE TABLE principals (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('agent', 'person')),
    role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'reader')),
    projects TEXT,
    owner TEXT,
    created_at TEXT NOT NULL,
    disabled_at TEXT
);

CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    principal TEXT NOT NULL REFERENCES principals (name),
    secret_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
);
CREATE INDEX tokens_principal ON tokens (principal);

CREATE TABLE token_uses (
    token_id TEXT PRIMARY KEY,
    last_used_at TEXT NOT NULL
);

-- The principal whose token wrote the row; NULL for the shared token.
ALTER TABLE messages ADD COLUMN principal TEXT;
ALTER TABLE room_status ADD COLUMN principal TEXT;
ALTER TABLE agent_registry ADD COLUMN principal TEXT;

-- post_message with the principal whose token posted (NULL: the shared token).
-- The eight-argument form stays, for callers that record no principal.
CREATE FUNCTION chatnut_post(
    p_room TEXT,
    p_sender TEXT,
    p_content TEXT,
    p_type TEXT,
    p_metadata TEXT,
    p_reply_to BIGINT,
    p_mentioned TEXT[],
    p_to TEXT[],
    p_principal TEXT
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
            recipients, addressees, principal)
        VALUES (v_id, p_room, p_sender, p_content, p_type, v_at, p_metadata,
            CASE WHEN cardinality(p_to) > 0 THEN array_to_json(p_to)::text END,
            CASE WHEN cardinality(v_audience) > 0 THEN array_to_json(v_audience)::text END,
            p_principal);
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

DROP FUNCTION chatnut_post(TEXT, TEXT, TEXT, TEXT, TEXT, BIGINT, TEXT[], TEXT[]);
CREATE FUNCTION chatnut_post(
    p_room TEXT, p_sender TEXT, p_content TEXT, p_type TEXT, p_metadata TEXT,
    p_reply_to BIGINT, p_mentioned TEXT[], p_to TEXT[]
) RETURNS TABLE (
    outcome TEXT, message_id BIGINT, created_at TEXT, seq BIGINT, room_name TEXT,
    room_project TEXT, mentions TEXT, audience TEXT[]
) LANGUAGE sql AS $$
    SELECT * FROM chatnut_post(p_room, p_sender, p_content, p_type, p_metadata, p_reply_to,
        p_mentioned, p_to, NULL::text)
$$;
