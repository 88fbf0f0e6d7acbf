-- huoti-server schema v13 (issue 20, scale-out): state every node must see lives in the
-- database, not in one process's memory. Portable SQL (SQLite and PostgreSQL).

-- Frame hashes of analysed sessions, for the cross-session replay check: a replay sent through
-- another node, or after a restart, is caught. Kept `analysis.seen_ttl_s`, then deleted (S1:
-- hashes derive from face images). The 64-bit hash is stored as a signed BIGINT (the same
-- bits); its four 16-bit chunks are indexed, so a search within 3 bits finds its candidates by
-- equality (two hashes that close agree on at least one whole chunk).
CREATE TABLE seen_frames (
    session_id TEXT NOT NULL,
    hash BIGINT NOT NULL,
    c0 BIGINT NOT NULL,
    c1 BIGINT NOT NULL,
    c2 BIGINT NOT NULL,
    c3 BIGINT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX seen_frames_c0 ON seen_frames (c0);
CREATE INDEX seen_frames_c1 ON seen_frames (c1);
CREATE INDEX seen_frames_c2 ON seen_frames (c2);
CREATE INDEX seen_frames_c3 ON seen_frames (c3);
CREATE INDEX seen_frames_at ON seen_frames (at_ms);
CREATE INDEX seen_frames_session ON seen_frames (session_id);

-- Token buckets of the frame-upload rate limit, one per session, in thousandths of a token,
-- updated compare-and-set so that uploads through every node draw on one bucket.
CREATE TABLE rate_buckets (
    bucket TEXT PRIMARY KEY,
    tokens_milli BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX rate_buckets_updated ON rate_buckets (updated_at_ms);
