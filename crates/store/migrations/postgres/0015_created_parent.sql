-- The record a created comment or file belongs to on its platform (a comment's ticket, a file's
-- comment or ticket): `cutover cleanup` forgets a comment and its files with their ticket, and
-- removes on its own a comment cutover added to a ticket it did not create.
ALTER TABLE created_records ADD COLUMN parent_id TEXT COLLATE "C";
