-- huoti-server schema v14 (issue 19 defect 6, issue 20): blob deletions still to do.
-- Portable SQL (SQLite and PostgreSQL).
--
-- Erasing an owner's face data deletes its data key first (crypto-shredding: every copy of its
-- blobs is unreadable from that moment) and, in the same transaction, records the deletion of
-- its blobs here. The blobs are then deleted at once; a deletion that fails (the object store
-- is down) stays here and the job retries it, claimed with a lease so that several nodes never
-- work on one row, until nothing is left under the prefix.
CREATE TABLE blob_deletions (
    target TEXT PRIMARY KEY,
    whole_prefix BIGINT NOT NULL,
    requested_at_ms BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    last_error TEXT,
    claimed_by TEXT,
    claim_until_ms BIGINT
);
CREATE INDEX blob_deletions_next ON blob_deletions (next_attempt_ms);
