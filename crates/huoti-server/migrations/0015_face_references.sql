-- huoti-server schema v15 (issue 14): face match (本人核验).
-- Portable SQL (SQLite and PostgreSQL).
--
-- face_references: one reference per person, kept only with their `face_comparison` consent.
-- The row holds no biometric data: the template (128 numbers, never the image) is sealed in
-- the blob store at `blob_key` under a data key of its own (owner `fr_<subject>`), so that
-- withdrawing the consent, deleting the person or closing the account shreds it at once.
CREATE TABLE face_references (
    subject_id TEXT PRIMARY KEY,
    blob_key TEXT NOT NULL,
    model TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX face_references_created ON face_references (created_at_ms);

-- What a session asked of face match at its creation: compare with the person's reference
-- when live, and/or enrol the reference from its best frame when live.
CREATE TABLE session_face_match (
    session_id TEXT PRIMARY KEY,
    compare_faces BIGINT NOT NULL,
    enrol_reference BIGINT NOT NULL
);
