-- The bridge's conflict rules: each side's last synced content per field, and every conflict.

-- A hash of each field of the content at the last sync (a JSON object of strings), so a field
-- changed on both sides since is told from one changed on one side only.
ALTER TABLE links ADD COLUMN field_hashes TEXT;

-- Every field changed on both sides since the last sync, with both values and who won.
CREATE TABLE conflicts (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind      TEXT NOT NULL,
    old_id    TEXT NOT NULL,
    new_id    TEXT NOT NULL,
    field     TEXT NOT NULL,
    old_value TEXT NOT NULL,
    new_value TEXT NOT NULL,
    rule      TEXT NOT NULL,
    winner    TEXT NOT NULL CHECK (winner IN ('old', 'new')),
    at        TEXT NOT NULL
);
CREATE INDEX conflicts_record ON conflicts (kind, old_id);
