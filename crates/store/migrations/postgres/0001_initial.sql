-- The store: links, cursors, outbox, dead letters, audit log and run state.
-- Platform ids use the "C" collation, so they sort bytewise as on SQLite. The outbox lease is
-- microseconds since 1970, as on SQLite, because it is compared in SQL.

-- One row per record that exists on both sides.
CREATE TABLE links (
    kind        TEXT NOT NULL,
    old_id      TEXT COLLATE "C" NOT NULL,
    new_id      TEXT COLLATE "C" NOT NULL,
    fingerprint TEXT NOT NULL,
    old_version TEXT,
    new_version TEXT,
    last_writer TEXT NOT NULL CHECK (last_writer IN ('old', 'new')),
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, old_id),
    UNIQUE (kind, new_id)
);

-- How far each reader has read each side's change stream.
CREATE TABLE cursors (
    side          TEXT NOT NULL CHECK (side IN ('old', 'new')),
    stream        TEXT NOT NULL,
    position_time TIMESTAMPTZ NOT NULL,
    position_id   TEXT COLLATE "C" NOT NULL,
    position_seq  BIGINT NOT NULL,
    token         TEXT,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (side, stream)
);

-- Writes waiting to be sent to a side.
CREATE TABLE outbox (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           TEXT NOT NULL,
    target_side    TEXT NOT NULL CHECK (target_side IN ('old', 'new')),
    source_side    TEXT NOT NULL CHECK (source_side IN ('old', 'new')),
    source_id      TEXT COLLATE "C" NOT NULL,
    payload        JSONB NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'sent')),
    attempts       BIGINT NOT NULL,
    lease_until_us BIGINT,
    created_at     TIMESTAMPTZ NOT NULL,
    sent_at        TIMESTAMPTZ
);
CREATE INDEX outbox_pending ON outbox (target_side, id) WHERE status = 'pending';

-- Records that cannot be applied, whole, with the reason.
CREATE TABLE dead_letters (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT NOT NULL,
    side       TEXT NOT NULL CHECK (side IN ('old', 'new')),
    source_id  TEXT COLLATE "C" NOT NULL,
    reason     TEXT NOT NULL,
    record     JSONB NOT NULL,
    attempts   BIGINT NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL,
    last_seen  TIMESTAMPTZ NOT NULL,
    retried_at TIMESTAMPTZ,
    UNIQUE (kind, side, source_id, reason)
);
CREATE INDEX dead_letters_reason ON dead_letters (reason);

-- Append-only, hash-chained log of decisions.
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    detail    JSONB NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The chain head: the last entry's seq and hash, written with each entry. Appends lock its row
-- (FOR UPDATE), and verification compares the end of the log with it, so removed trailing
-- entries show.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Named JSON values: per-run status, switch journals.
CREATE TABLE run_state (
    name       TEXT PRIMARY KEY,
    value      JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
