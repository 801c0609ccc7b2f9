-- Who may call the server, each with a key of its own: a principal is an
-- agent or a person with a role and, optionally, the projects it is scoped to
-- (a JSON array; NULL: every project). A token is stored as the SHA-256 of
-- its secret only; `prefix` is what lists show.
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

-- When each token was last used, to the minute: written by the same timer as
-- presence, never by the call itself (a read stays a read).
CREATE TABLE token_uses (
    token_id TEXT PRIMARY KEY,
    last_used_at TEXT NOT NULL
) WITHOUT ROWID;

-- The principal whose token wrote the row; NULL for the shared token.
ALTER TABLE messages ADD COLUMN principal TEXT;
ALTER TABLE room_status ADD COLUMN principal TEXT;
ALTER TABLE agent_registry ADD COLUMN principal TEXT;
