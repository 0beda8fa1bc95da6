-- The links written lately, newest first: the bridge's rolling re-check reads them.
CREATE INDEX links_written ON links (updated_at);
