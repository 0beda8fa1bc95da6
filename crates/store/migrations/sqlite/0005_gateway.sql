-- The inbound gateway (`cutover serve`): every contact a channel's provider posted, kept before the
-- gateway answers 2xx and delivered by a worker under a lease, and each customer's conversation
-- per channel (which ticket, on which side), so a conversation never splits across platforms.
-- Leases and attempt times are microseconds since 1970, as the outbox's, because they are
-- compared in SQL.
CREATE TABLE contacts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    channel         TEXT NOT NULL,
    message_key     TEXT NOT NULL,
    customer        TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'ringing', 'forwarded')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    lease_until_us  INTEGER,
    next_attempt_us INTEGER NOT NULL DEFAULT 0,
    side            TEXT CHECK (side IN ('old', 'new')),
    ticket_id       TEXT,
    follow_up       INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    received_at     TEXT NOT NULL,
    delivered_at    TEXT,
    -- A provider's retry of the same message is the same contact.
    UNIQUE (channel, message_key)
);
CREATE INDEX contacts_pending ON contacts (next_attempt_us, id) WHERE status = 'pending';
CREATE INDEX contacts_delivered ON contacts (side, delivered_at) WHERE delivered_at IS NOT NULL;

CREATE TABLE conversations (
    channel    TEXT NOT NULL,
    customer   TEXT NOT NULL,
    side       TEXT NOT NULL CHECK (side IN ('old', 'new')),
    ticket_id  TEXT NOT NULL,
    contact_id INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (channel, customer)
);
