-- What cutover created on a platform (not what it found there and linked): one row per record,
-- written in the transaction that commits its link. `cutover cleanup` deletes exactly these,
-- and removes each row (with its link) in the transaction after its record is deleted, so a
-- cleanup cut short goes on where it stopped.
CREATE TABLE created_records (
    side        TEXT NOT NULL CHECK (side IN ('old', 'new')),
    kind        TEXT NOT NULL,
    record_id   TEXT COLLATE "C" NOT NULL,
    source_id   TEXT NOT NULL,
    at_us       BIGINT NOT NULL,
    PRIMARY KEY (side, kind, record_id)
);
