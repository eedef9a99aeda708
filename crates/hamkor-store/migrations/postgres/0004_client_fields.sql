-- Client base fields: company size and source, several addresses per account (the old
-- single address becomes the first, as the "actual" address), messengers, preferred
-- channel and dated consents per contact. Keep in step with ../sqlite/0004_client_fields.sql.
ALTER TABLE accounts ADD COLUMN size TEXT;
ALTER TABLE accounts ADD COLUMN source TEXT;
ALTER TABLE accounts ADD COLUMN addresses JSONB;
UPDATE accounts SET addresses = jsonb_build_array(jsonb_build_object('address', address, 'kind', 'actual'))
    WHERE address IS NOT NULL AND trim(address) <> '';
ALTER TABLE accounts DROP COLUMN address;

ALTER TABLE contacts ADD COLUMN messengers JSONB;
ALTER TABLE contacts ADD COLUMN preferred_channel TEXT;
ALTER TABLE contacts ADD COLUMN email_consent TEXT;
ALTER TABLE contacts ADD COLUMN email_consent_at DATE;
ALTER TABLE contacts ADD COLUMN sms_consent TEXT;
ALTER TABLE contacts ADD COLUMN sms_consent_at DATE;
