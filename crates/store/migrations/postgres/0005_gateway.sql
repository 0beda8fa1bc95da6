-- The inbound gateway (`cutover serve`): every contact a channel's provider posted, kept before the
-- gateway answers 2xx and delivered by a worker under a lease, and each customer's conversation
-- per channel (which ticket, on which side), so a conversation never splits across platforms.
-- Leases and attempt times are microseconds since 1970, as on SQLite, because they are compared
-- in SQL.
CREATE TABLE contacts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel         TEXT COLLATE "C" NOT NULL,
    message_key     TEXT COLLATE "C" NOT NULL,
    customer        TEXT COLLATE "C" NOT NULL,
    payload         JSONB NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'ringing', 'forwarded')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    lease_until_us  BIGINT,
    next_attempt_us BIGINT NOT NULL DEFAULT 0,
    side            TEXT CHECK (side IN ('old', 'new')),
    ticket_id       TEXT COLLATE "C",
    follow_up       BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT,
    received_at     TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ,
    -- A provider's retry of the same message is the same contact.
    UNIQUE (channel, message_key)
);
CREATE INDEX contacts_pending ON contacts (next_attempt_us, id) WHERE status = 'pending';
CREATE INDEX contacts_delivered ON contacts (side, delivered_at) WHERE delivered_at IS NOT NULL;

CREATE TABLE conversations (
    channel    TEXT COLLATE "C" NOT NULL,
    customer   TEXT COLLATE "C" NOT NULL,
    side       TEXT NOT NULL CHECK (side IN ('old', 'new')),
    ticket_id  TEXT COLLATE "C" NOT NULL,
    contact_id BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (channel, customer)
);
