-- huoti-server schema v11: API keys expire and can be revoked (issue 19). Portable SQL
-- (SQLite and PostgreSQL).
--
-- Both are read on every request that presents the key: nothing is cached on a node, so a
-- revocation is refused by every node from its next request. Keys made before this version
-- never expire until an operator says so; a revoked key's row stays (who held it, and when it
-- stopped), only its use ends.
ALTER TABLE api_keys ADD COLUMN expires_at_ms BIGINT;
ALTER TABLE api_keys ADD COLUMN revoked_at_ms BIGINT;
