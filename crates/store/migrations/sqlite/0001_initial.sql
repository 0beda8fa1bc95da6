-- The store: links, cursors, outbox, dead letters, audit log and run state.
-- Times are TEXT as the driver writes them (RFC 3339, to the microsecond); the outbox lease is
-- an integer of microseconds since 1970, because it is compared in SQL.

-- One row per record that exists on both sides.
CREATE TABLE links (
    kind        TEXT NOT NULL,
    old_id      TEXT NOT NULL,
    new_id      TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    old_version TEXT,
    new_version TEXT,
    last_writer TEXT NOT NULL CHECK (last_writer IN ('old', 'new')),
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (kind, old_id),
    UNIQUE (kind, new_id)
);

-- How far each reader has read each side's change stream.
CREATE TABLE cursors (
    side          TEXT NOT NULL CHECK (side IN ('old', 'new')),
    stream        TEXT NOT NULL,
    position_time TEXT NOT NULL,
    position_id   TEXT NOT NULL,
    position_seq  INTEGER NOT NULL,
    token         TEXT,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (side, stream)
);

-- Writes waiting to be sent to a side.
CREATE TABLE outbox (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT NOT NULL,
    target_side    TEXT NOT NULL CHECK (target_side IN ('old', 'new')),
    source_side    TEXT NOT NULL CHECK (source_side IN ('old', 'new')),
    source_id      TEXT NOT NULL,
    payload        TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'sent')),
    attempts       INTEGER NOT NULL,
    lease_until_us INTEGER,
    created_at     TEXT NOT NULL,
    sent_at        TEXT
);
CREATE INDEX outbox_pending ON outbox (target_side, id) WHERE status = 'pending';

-- Records that cannot be applied, whole, with the reason.
CREATE TABLE dead_letters (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    side       TEXT NOT NULL CHECK (side IN ('old', 'new')),
    source_id  TEXT NOT NULL,
    reason     TEXT NOT NULL,
    record     TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    retried_at TEXT,
    UNIQUE (kind, side, source_id, reason)
);
CREATE INDEX dead_letters_reason ON dead_letters (reason);

-- Append-only, hash-chained log of decisions.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- The chain head: the last entry's seq and hash, written with each entry. Appends lock it, and
-- verification compares the end of the log with it, so removed trailing entries show.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Named JSON values: per-run status, switch journals.
CREATE TABLE run_state (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
