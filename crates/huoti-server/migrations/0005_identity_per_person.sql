-- huoti-server schema v5: identity data belongs to the person (the session's subject), not to
-- one session. Portable SQL (SQLite and PostgreSQL).
--
-- `identities.subject_id` now holds the subject id. When the person deletes their data or
-- closes the account (R3, R5), `deleted_at_ms` starts the legal minimum after which the
-- retention job deletes the row and shreds the key; R7 deletes at once.
ALTER TABLE identities ADD COLUMN deleted_at_ms BIGINT;
