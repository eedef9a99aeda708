-- Managed lists of values (the interests a client can have): an administrator adds
-- values and retires them; retired values stay on the records that hold them but can no
-- longer be chosen. Keep in step with the other engine's 0008_picklists.sql.
CREATE TABLE picklist_values (
    list TEXT NOT NULL,
    value TEXT NOT NULL,
    position BIGINT NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (list, value)
);
ALTER TABLE accounts ADD COLUMN interests JSONB;
ALTER TABLE contacts ADD COLUMN interests JSONB;
