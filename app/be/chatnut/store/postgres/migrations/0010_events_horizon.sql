-- How far the events table has been pruned. A process that has not yet read
-- every event up to here has missed some: it resyncs its streams and waits
-- from the tables instead of carrying on with a silent gap (events.py).
CREATE TABLE events_horizon (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    pruned_through BIGINT NOT NULL
);
INSERT INTO events_horizon (pruned_through) VALUES (0);
