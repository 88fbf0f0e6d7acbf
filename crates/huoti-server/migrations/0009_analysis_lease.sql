-- huoti-server schema v9 (issue 19): hardening. Portable SQL (SQLite and PostgreSQL).

-- A session being analysed, or whose frames are still to be erased after its verdict, holds a
-- lease that the working node renews. A node that dies (kill -9, power loss) or a request that
-- is dropped mid-`complete` lets it expire; the janitor then finishes the job — an
-- `analysing` session becomes `failed` — and erases the frames and their key (L2, S1).
-- Sessions stranded in `analysing` before this version have no lease and are treated as
-- expired.
ALTER TABLE sessions ADD COLUMN analysis_lease_until_ms BIGINT;

-- Disclosures made by naming a session were filed under the session id, so the person's own
-- list missed them (D1–D6): they are filed under the session's person.
UPDATE disclosures SET subject_id = (SELECT s.subject_id FROM sessions s WHERE s.id = disclosures.subject_id)
WHERE subject_id IN (SELECT id FROM sessions WHERE subject_id IS NOT NULL);
