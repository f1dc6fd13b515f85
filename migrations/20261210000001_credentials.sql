-- Tenant key scopes, expiry and use; feed tokens for lookup nodes; a
-- notification whenever a credential stops (or starts) meaning what a
-- control plane's key cache remembers, so every instance forgets it at once.

ALTER TABLE api_keys
    -- read: GETs; write: every POST, PATCH and DELETE. Keys made before
    -- scopes existed could do everything, so that stays the default.
    ADD COLUMN scopes text[] NOT NULL DEFAULT '{read,write}'
        CHECK (cardinality(scopes) > 0 AND scopes <@ '{read,write}'::text[]),
    ADD COLUMN expires_at timestamptz,
    -- refreshed at most once a minute (auth.rs), never per request
    ADD COLUMN last_used_at timestamptz;

-- A lookup node's credential: it may read GET /v1/events and nothing else,
-- so a node's host never holds the operator token.
CREATE TABLE feed_tokens (
    id           uuid PRIMARY KEY,
    name         text,
    -- SHA-256 of the token, as for api_keys
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    token_prefix text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
ALTER TABLE feed_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE feed_tokens FORCE ROW LEVEL SECURITY;
-- operator only: a tenant session never sees feed tokens
GRANT SELECT, INSERT, UPDATE, DELETE ON feed_tokens TO didroute_operator;
CREATE POLICY operator_all ON feed_tokens TO didroute_operator USING (true) WITH CHECK (true);

-- Control planes cache valid credentials (auth.rs KeyCache) and LISTEN on
-- this channel: any revocation, scope or expiry change, or deletion clears
-- every instance's cache when it commits. Refreshing last_used_at does not
-- notify (it would clear the caches once a minute per key for nothing).
CREATE FUNCTION didroute_credentials_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('didroute_credentials', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER api_keys_changed AFTER UPDATE ON api_keys FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
          OR OLD.scopes IS DISTINCT FROM NEW.scopes
          OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR OLD.key_hash IS DISTINCT FROM NEW.key_hash
          OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION didroute_credentials_changed();
CREATE TRIGGER api_keys_deleted AFTER DELETE ON api_keys FOR EACH ROW
    EXECUTE FUNCTION didroute_credentials_changed();
CREATE TRIGGER feed_tokens_changed AFTER UPDATE ON feed_tokens FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.token_hash IS DISTINCT FROM NEW.token_hash)
    EXECUTE FUNCTION didroute_credentials_changed();
CREATE TRIGGER feed_tokens_deleted AFTER DELETE ON feed_tokens FOR EACH ROW
    EXECUTE FUNCTION didroute_credentials_changed();
