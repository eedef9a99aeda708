-- Authentication hardening: failed-login counts for rate limiting, password reset links,
-- two-factor authentication (TOTP and recovery codes), half-finished logins, login
-- network restrictions, and an audit log that says where from and cannot be changed.
-- Keep in step with ../sqlite/0028_auth_hardening.sql: a test compares the two.

-- Failed logins within the window, per account (`scope` 'account', `key` the e-mail
-- tried, lower-cased) and per client address (`scope` 'ip'). In the database so that
-- every server behind a load balancer counts the same attempts.
CREATE TABLE login_failures (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_failures_key ON login_failures(scope, key, at);
CREATE INDEX login_failures_at ON login_failures(at);

-- "Forgot password?" links: single use, expiring, stored as SHA-256 hashes.
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
CREATE INDEX password_resets_user ON password_resets(user_id);

-- TOTP: the confirmed secret (base32), one being enrolled, and the last time step a code
-- was accepted for (a code is not taken twice). `login_network`: where the user may log
-- in from ('role': as their role says; 'any', 'office', 'internet').
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
ALTER TABLE users ADD COLUMN login_network TEXT NOT NULL DEFAULT 'role';

-- Ten one-time recovery codes per user with 2FA, as SHA-256 hashes.
CREATE TABLE recovery_codes (
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at TIMESTAMPTZ,
    PRIMARY KEY (user_id, code_hash)
);

-- A session is 'full', or a login half done: 'second_factor' (password right, code
-- awaited) or 'enrol' (the role requires 2FA, the user has none yet). Only full sessions
-- grant access.
ALTER TABLE sessions ADD COLUMN stage TEXT NOT NULL DEFAULT 'full';

-- The audit log says from where (client address and user agent), and may name no record
-- (a failed login for an unknown e-mail).
ALTER TABLE audit_log ALTER COLUMN record_id DROP NOT NULL;
ALTER TABLE audit_log ADD COLUMN ip TEXT;
ALTER TABLE audit_log ADD COLUMN user_agent TEXT;
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_user ON audit_log(user_id, at);
CREATE INDEX audit_log_action ON audit_log(action, at);

-- Append-only: nothing, the application included, changes or removes an entry. (The
-- owner of a table can drop a trigger: give the application a role that does not own
-- the tables for protection against a compromised server too; see docs/operations.md.)
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
