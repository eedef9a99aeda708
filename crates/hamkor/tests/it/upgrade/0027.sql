-- Rows of every table at schema 27, as Hamkor wrote them: the database an earlier release
-- left, for the upgrade test (../upgrade.rs). One text for both engines: ids, moments and
-- dates as text, JSON as text, flags as TRUE/FALSE, bytes as X'…' (the test writes them
-- '\x…' for PostgreSQL). Statements end with a semicolon at the end of a line.
-- Ids: 01900000-0000-7000-8000-TTTT0000000N, TTTT naming the table.

UPDATE document_settings SET company = 'Bahor Textile MChJ', details = 'STIR 301234567
Toshkent, Chilonzor 5', header = '{company.name} · {document.number}', footer = 'Rahmat, {client.name}!', accent = '#0a7d3b', logo = X'89504e470d0a1a0a0000000d49484452', invoice_days = 14, updated_at = '2026-03-01T09:00:00.000000Z' WHERE id = 1;

INSERT INTO settings (key, value) VALUES
('default_country_code', '998'),
('search_key_version', '3'),
('demo_password', 'demo-abcdef1234');

INSERT INTO teams (id, name, created_at, updated_at) VALUES
('01900000-0000-7000-8000-000200000001', 'Savdo Alpha', '2026-01-05T08:00:00.000000Z', '2026-01-05T08:00:00.000000Z'),
('01900000-0000-7000-8000-000200000002', 'Отдел Бета', '2026-01-05T08:00:01.000000Z', '2026-02-01T10:30:00.123456Z');

INSERT INTO users (id, email, name, role, team_id, language, time_zone, password_hash, setup_token_hash, setup_expires_at, disabled, created_at, updated_at, version) VALUES
('01900000-0000-7000-8000-000100000001', 'admin@firma.uz', 'Dilnoza Karimova', 'administrator', NULL, 'uz', 'Asia/Tashkent', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo', NULL, NULL, FALSE, '2026-01-05T08:00:00.000000Z', '2026-01-05T08:00:00.000000Z', 1),
('01900000-0000-7000-8000-000100000002', 'aziz@firma.uz', 'Азиз Турсунов', 'sales', '01900000-0000-7000-8000-000200000001', 'ru', 'Asia/Samarkand', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdDI$aGFzaDI', 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90', '2026-01-08T08:00:00.000000Z', FALSE, '2026-01-05T08:10:00.000000Z', '2026-01-06T12:00:00.000000Z', 3),
('01900000-0000-7000-8000-000100000003', 'old@firma.uz', 'Former Employee', 'head', '01900000-0000-7000-8000-000200000002', 'en', 'UTC', NULL, NULL, NULL, TRUE, '2026-01-05T08:20:00.000000Z', '2026-04-01T08:00:00.000000Z', 2);

INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES
('5e551011a0000000000000000000000000000000000000000000000000000001', '01900000-0000-7000-8000-000100000001', 'csrf-token-one', '2026-04-10T09:00:00.000000Z', '2026-04-24T09:00:00.000000Z'),
('5e551011a0000000000000000000000000000000000000000000000000000002', '01900000-0000-7000-8000-000100000002', 'csrf-token-two', '2026-04-10T09:05:00.000000Z', '2026-04-24T09:05:00.000000Z');

INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, last_used_at, revoked_at) VALUES
('01900000-0000-7000-8000-003200000001', '01900000-0000-7000-8000-000100000001', '1C exchange', 'ab0000000000000000000000000000000000000000000000000000000000001c', '2026-02-01T08:00:00.000000Z', '2026-04-10T07:59:59.999999Z', NULL),
('01900000-0000-7000-8000-003200000002', '01900000-0000-7000-8000-000100000002', 'old script', 'ab0000000000000000000000000000000000000000000000000000000000002c', '2026-02-01T08:00:00.000000Z', NULL, '2026-03-01T08:00:00.000000Z');

INSERT INTO role_permissions (role, object, action, scope) VALUES
('sales', 'account', 'read', 'all'),
('support', 'deal', 'write', 'none');

INSERT INTO custom_fields (id, object, key, label, kind, required, options, link_object, position, created_at, key_date) VALUES
('01900000-0000-7000-8000-003100000001', 'account', 'budget', 'Byudjet', 'money', FALSE, '[]', NULL, 0, '2026-01-06T08:00:00.000000Z', FALSE),
('01900000-0000-7000-8000-003100000002', 'contact', 'anniversary', 'Годовщина', 'date', FALSE, '[]', NULL, 1, '2026-01-06T08:01:00.000000Z', TRUE),
('01900000-0000-7000-8000-003100000003', 'account', 'segment', 'Segment', 'picklist', TRUE, '["retail","wholesale"]', NULL, 2, '2026-01-06T08:02:00.000000Z', FALSE),
('01900000-0000-7000-8000-003100000004', 'contact', 'referrer', 'Referrer', 'link', FALSE, '[]', 'contact', 3, '2026-01-06T08:03:00.000000Z', FALSE);

INSERT INTO accounts (id, name, kind, legal_name, tax_id, parent_id, phones, emails, website, industry, tags, custom, search, owner_id, created_by, created_at, updated_at, version, deleted_at, size, source, addresses, interests) VALUES
('01900000-0000-7000-8000-000300000001', 'Bahor Textile', 'client', 'Bahor Textile MChJ', '301234567', NULL, '[{"number":"+998 71 200 00 01","e164":"+998712000001","kind":"work"}]', '[{"address":"info@bahor.uz","kind":"work"}]', 'https://bahor.uz', 'Textile', '["vip","export"]', '{"budget":{"amount":"150000000.00","currency":"UZS"},"segment":"wholesale"}', 'bahor textile bahor textile mchj textile 301234567 info@bahor.uz 998712000001', '01900000-0000-7000-8000-000100000002', '01900000-0000-7000-8000-000100000001', '2026-01-10T09:00:00.000000Z', '2026-03-15T14:30:00.654321Z', 4, NULL, 'medium', 'exhibition', '[{"address":"Toshkent, Chilonzor 5","kind":"legal"}]', '["cotton","dyes"]'),
('01900000-0000-7000-8000-000300000002', 'Бахор Самарканд', 'branch', NULL, NULL, '01900000-0000-7000-8000-000300000001', NULL, NULL, NULL, NULL, NULL, '{}', 'baxor samarkand', '01900000-0000-7000-8000-000100000002', '01900000-0000-7000-8000-000100000002', '2026-01-11T09:00:00.000000Z', '2026-01-11T09:00:00.000000Z', 1, '2026-04-01T00:00:00.000000Z', NULL, NULL, NULL, NULL);

INSERT INTO contacts (id, first_name, middle_name, last_name, phones, emails, birthday, tags, custom, search, owner_id, created_by, created_at, updated_at, version, deleted_at, messengers, preferred_channel, email_consent, email_consent_at, sms_consent, sms_consent_at, interests, source) VALUES
('01900000-0000-7000-8000-000400000001', 'Нодира', 'Бахтиёровна', 'Усмонова', '[{"number":"93 111 22 33","e164":"+998931112233","kind":"mobile"}]', '[{"address":"nodira@bahor.uz","kind":"work"}]', '1988-05-17', '["decision maker"]', '{"anniversary":"2015-06-01","referrer":"01900000-0000-7000-8000-000400000002"}', 'nodira baxtiyorovna usmonova nodira@bahor.uz 998931112233', '01900000-0000-7000-8000-000100000002', '01900000-0000-7000-8000-000100000002', '2026-01-12T10:00:00.000000Z', '2026-02-12T10:00:00.000000Z', 2, NULL, '[{"kind":"telegram","handle":"@nodira_u"}]', 'telegram', 'granted', '2026-01-12', 'refused', '2026-01-13', '["cotton"]', 'referral'),
('01900000-0000-7000-8000-000400000002', 'Ivan', NULL, 'Ivanov', NULL, NULL, NULL, NULL, '{}', 'ivan ivanov', '01900000-0000-7000-8000-000100000001', '01900000-0000-7000-8000-000100000001', '2026-01-12T11:00:00.000000Z', '2026-01-12T11:00:00.000000Z', 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

INSERT INTO contact_accounts (contact_id, account_id, position) VALUES
('01900000-0000-7000-8000-000400000001', '01900000-0000-7000-8000-000300000001', 'Bosh buxgalter'),
('01900000-0000-7000-8000-000400000002', '01900000-0000-7000-8000-000300000001', NULL);

INSERT INTO audit_log (id, object, record_id, action, user_id, at, changes) VALUES
('01900000-0000-7000-8000-003300000001', 'account', '01900000-0000-7000-8000-000300000001', 'create', '01900000-0000-7000-8000-000100000001', '2026-01-10T09:00:00.000000Z', '{"name":[null,"Bahor Textile"]}'),
('01900000-0000-7000-8000-003300000002', 'account', '01900000-0000-7000-8000-000300000001', 'update', '01900000-0000-7000-8000-000100000002', '2026-03-15T14:30:00.654321Z', '{"legal_name":["Bahor","Bahor Textile MChJ"]}'),
('01900000-0000-7000-8000-003300000003', 'contact', '01900000-0000-7000-8000-000400000002', 'create', NULL, '2026-01-12T11:00:00.000000Z', '{}');

INSERT INTO interactions (id, kind, occurred_at, subject, account_id, contact_id, direction, duration, result, recording_url, body, outcome, user_ids, contact_ids, custom, search, owner_id, created_by, created_at, updated_at, version, deleted_at) VALUES
('01900000-0000-7000-8000-000500000001', 'call', '2026-02-01T10:15:00.000000Z', 'Narxlar haqida muzokara', '01900000-0000-7000-8000-000300000001', '01900000-0000-7000-8000-000400000001', 'incoming', 420, 'reached', 'https://pbx.firma.uz/rec/1.mp3', 'Обсудили цены на хлопок.', 'Send the offer', '["01900000-0000-7000-8000-000100000002"]', '["01900000-0000-7000-8000-000400000002"]', '{}', 'narxlar haqida muzokara obsudili ceny na xlopok', '01900000-0000-7000-8000-000100000002', '01900000-0000-7000-8000-000100000002', '2026-02-01T10:22:00.000000Z', '2026-02-01T10:22:00.000000Z', 1, NULL),
('01900000-0000-7000-8000-000500000002', 'note', '2026-02-02T08:00:00.000000Z', NULL, NULL, '01900000-0000-7000-8000-000400000002', NULL, NULL, NULL, NULL, 'A note', NULL, NULL, NULL, '{}', 'a note', '01900000-0000-7000-8000-000100000001', '01900000-0000-7000-8000-000100000001', '2026-02-02T08:00:00.000000Z', '2026-02-03T08:00:00.000000Z', 2, '2026-02-03T08:00:00.000000Z');

INSERT INTO interaction_contacts (contact_id, interaction_id) VALUES
('01900000-0000-7000-8000-000400000001', '01900000-0000-7000-8000-000500000001'),
('01900000-0000-7000-8000-000400000002', '01900000-0000-7000-8000-000500000001');

INSERT INTO recent_items (user_id, object, record_id, viewed_at) VALUES
('01900000-0000-7000-8000-000100000002', 'account', '01900000-0000-7000-8000-000300000001', '2026-04-10T09:06:00.000000Z');

INSERT INTO needs (id, title, status, account_id, contact_id, budget, currency, needed_by, notes, custom, search, owner_id, created_by, created_at, updated_at, version, deleted_at) VALUES
('01900000-0000-7000-8000-000600000001', '20 t of dyed cotton', 'open', '01900000-0000-7000-8000-000300000001', '01900000-0000-7000-8000-000400000001', 25000000000, 'UZS', '2026-06-30', 'Before the season', '{}', '20 t of dyed cotton', '01900000-0000-7000-8000-000100000002', '01900000-0000-7000-8000-000100000002', '2026-02-05T09:00:00.000000Z', '2026-02-05T09:00:00.000000Z', 1, NULL);

INSERT INTO picklist_values (list, value, position, active, created_at) VALUES
('interests', 'cotton', 0, TRUE, '2026-01-06T09:00:00.000000Z'),
('interests', 'dyes', 1, FALSE, '2026-01-06T09:00:01.000000Z');

INSERT INTO saved_views (id, user_id, object, name, params, shared, created_at) VALUES
('01900000-0000-7000-8000-003500000001', '01900000-0000-7000-8000-000100000002', 'accounts', 'Mening VIP mijozlarim', 'tags=vip&sort=-updated_at&columns=name,tax_id', TRUE, '2026-02-10T09:00:00.000000Z');

INSERT INTO attachments (id, object, record_id, name, content_type, size, sha256, data, uploaded_by, created_at) VALUES
('01900000-0000-7000-8000-003400000001', 'account', '01900000-0000-7000-8000-000300000001', 'shartnoma.pdf', 'application/pdf', 16, 'a3f1d9a1c2e3f4a5b6c7d8e9f00112233445566778899aabbccddeeff0011223', X'255044462d312e340a25e2e3cfd30a00', '01900000-0000-7000-8000-000100000002', '2026-02-11T09:00:00.000000Z');

INSERT INTO search_numbers (object, key, record_id) VALUES
('account', 'f998712000001', '01900000-0000-7000-8000-000300000001'),
('contact', 'f931112233', '01900000-0000-7000-8000-000400000001');

INSERT INTO tasks (id, title, status, priority, due_at, remind_at, team_id, related, description, checklist, recurrence, series_id, occurrence, completed_at, custom, search, owner_id, created_by, created_at, updated_at, version, deleted_at) VALUES
('01900000-0000-7000-8000-000700000001', 'Taklif yuborish', 'done', 'high', '2026-02-03T12:00:00.000000Z', '2026-02-03T09:00:00.000000Z', '01900000-0000-7000-8000-000200000001', '{"object":"account","id":"01900000-0000-7000-8000-000300000001"}', 'Narxlar bilan', '[{"text":"Narxlar","done":true}]', '{"every":"week","interval":1}', '01900000-0000-7000-8000-000700000001', 1, '2026-02-03T11:00:00.000000Z', '{}', 'taklif yuborish', '01900000-0000-7000-8000-000100000002', '01900000-0000-7000-8000-000100000001', '2026-02-01T11:00:00.000000Z', '2026-02-03T11:00:00.000000Z', 3, NULL),
('01900000-0000-7000-8000-000700000002', 'Позвонить', 'open', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{}', 'pozvonit', '01900000-0000-7000-8000-000100000001', '01900000-0000-7000-8000-000100000001', '2026-02-01T12:00:00.000000Z', '2026-02-01T12:00:00.000000Z', 1, NULL);

INSERT INTO events (id, title, starts_at, ends_at, all_day, location, status, related, user_ids, contact_ids, remind_before, description, custom, search, owner_id, created_by, created_at, updated_at, version, deleted_at) VALUES
('01900000-0000-7000-8000-000800000001', 'Uchrashuv: Bahor', '2026-02-10T06:00:00.000000Z', '2026-02-10T07:00:00.000000Z', FALSE, 'Chilonzor 5', 'planned', '{"object":"account","id":"01900000-0000-7000-8000-000300000001"}', '["01900000-0000-7000-8000-000100000001"]', '["01900000-0000-7000-8000-000400000001"]', 15, 'Shartnoma', '{}', 'uchrashuv bahor', '01900000-0000-7000-8000-000100000002', '01900000-0000-7000-8000-000100000002', '2026-02-05T09:00:00.000000Z', '2026-02-05T09:00:00.000000Z', 1, NULL);

INSERT INTO event_users (event_id, user_id, starts_at, ends_at) VALUES
('01900000-0000-7000-8000-000800000001', '01900000-0000-7000-8000-000100000002', '2026-02-10T06:00:00.000000Z', '2026-02-10T07:00:00.000000Z'),
('01900000-0000-7000-8000-000800000001', '01900000-0000-7000-8000-000100000001', '2026-02-10T06:00:00.000000Z', '2026-02-10T07:00:00.000000Z');

INSERT INTO comments (id, object, record_id, author_id, kind, body, created_at) VALUES
('01900000-0000-7000-8000-000900000001', 'task', '01900000-0000-7000-8000-000700000001', '01900000-0000-7000-8000-000100000001', 'returned', 'Narxni tekshiring', '2026-02-02T09:00:00.000000Z');

INSERT INTO reminders (id, key, user_id, object, record_id, kind, due_at, title, at, claimed_by, claimed_until, attempts, last_error, sent_at) VALUES
('01900000-0000-7000-8000-001000000001', 'task_due:01900000-0000-7000-8000-000700000001:2026-02-03T09:00:00Z', '01900000-0000-7000-8000-000100000002', 'task', '01900000-0000-7000-8000-000700000001', 'task_due', '2026-02-03T09:00:00.000000Z', 'Taklif yuborish', '2026-02-03T12:00:00.000000Z', 'hamkor-1-abc', '2026-02-03T09:02:00.000000Z', 2, '451 Mailbox busy', '2026-02-03T09:01:00.000000Z'),
('01900000-0000-7000-8000-001000000002', 'birthday:01900000-0000-7000-8000-000400000001:2026', '01900000-0000-7000-8000-000100000002', 'contact', '01900000-0000-7000-8000-000400000001', 'birthday', '2026-05-17T04:00:00.000000Z', 'Нодира Усмонова', NULL, NULL, NULL, 0, NULL, NULL);

INSERT INTO notifications (id, user_id, reminder_id, kind, object, record_id, title, at, created_at, emailed_at, read_at) VALUES
('01900000-0000-7000-8000-001100000001', '01900000-0000-7000-8000-000100000002', '01900000-0000-7000-8000-001000000001', 'task_due', 'task', '01900000-0000-7000-8000-000700000001', 'Taklif yuborish', '2026-02-03T12:00:00.000000Z', '2026-02-03T09:01:00.000000Z', '2026-02-03T09:01:00.000000Z', '2026-02-03T09:30:00.000000Z');

INSERT INTO schedules (name, next_run_at) VALUES
('date_reminders', '2026-04-10T10:00:00.000000Z');

INSERT INTO calendar_feeds (user_id, token_hash, created_at) VALUES
('01900000-0000-7000-8000-000100000002', 'feed000000000000000000000000000000000000000000000000000000000001', '2026-02-06T09:00:00.000000Z');

INSERT INTO pipelines (id, name, position, enforce_steps, active, created_at, updated_at) VALUES
('01900000-0000-7000-8000-001200000001', 'Loyihalar', 1, FALSE, FALSE, '2026-01-07T09:00:00.000000Z', '2026-01-08T09:00:00.000000Z');

INSERT INTO stages (id, pipeline_id, name, position, probability, active, created_at, script) VALUES
('01900000-0000-7000-8000-001300000001', '01900000-0000-7000-8000-001200000001', 'Brif', 0, 20, TRUE, '2026-01-07T09:00:00.000000Z', 'Mijozdan brif oling.'),
('01900000-0000-7000-8000-001300000002', '01900000-0000-7000-8000-001200000001', 'Eski bosqich', 1, 40, FALSE, '2026-01-07T09:00:01.000000Z', NULL);

INSERT INTO stage_steps (id, stage_id, position, text, required, task_days, created_at) VALUES
('01900000-0000-7000-8000-001600000001', '01900000-0000-7000-8000-000000000011', 0, 'Qualify the budget', TRUE, 2, '2026-01-07T10:00:00.000000Z'),
('01900000-0000-7000-8000-001600000002', '01900000-0000-7000-8000-000000000011', 1, 'Send the brochure', FALSE, NULL, '2026-01-07T10:00:01.000000Z');

INSERT INTO products (id, code, name, unit, price, currency, vat_rate, active, category, description, custom, search, owner_id, created_by, created_at, updated_at, version, deleted_at) VALUES
('01900000-0000-7000-8000-001700000001', 'COT-01', 'Paxta ipi 30/1', 'kg', 4500000, 'UZS', 1200, TRUE, 'Yarn', 'Ring-spun', '{}', 'cot-01 paxta ipi 30/1', '01900000-0000-7000-8000-000100000001', '01900000-0000-7000-8000-000100000001', '2026-01-07T11:00:00.000000Z', '2026-01-07T11:00:00.000000Z', 1, NULL),
('01900000-0000-7000-8000-001700000002', 'OLD-9', 'Discontinued', NULL, NULL, NULL, NULL, FALSE, NULL, NULL, '{}', 'old-9 discontinued', '01900000-0000-7000-8000-000100000001', '01900000-0000-7000-8000-000100000001', '2026-01-07T11:00:01.000000Z', '2026-01-09T11:00:00.000000Z', 2, '2026-01-09T11:00:00.000000Z');

INSERT INTO leads (id, first_name, last_name, company, job_title, phones, emails, source, campaign, interest, status, status_reason, team_id, web_form, notes, converted_at, account_id, contact_id, deal_id, custom, search, owner_id, created_by, created_at, updated_at, version, deleted_at) VALUES
('01900000-0000-7000-8000-002000000001', 'Нодира', 'Усмонова', 'Bahor Textile', 'Buxgalter', '[{"number":"93 111 22 33","e164":"+998931112233","kind":"mobile"}]', '[{"address":"nodira@bahor.uz","kind":"work"}]', 'web_form', 'spring-2026', 'cotton', 'converted', 'Converted to a deal', '01900000-0000-7000-8000-000200000001', 'Site contact form', 'Wants a price list', '2026-01-12T10:00:00.000000Z', '01900000-0000-7000-8000-000300000001', '01900000-0000-7000-8000-000400000001', NULL, '{}', 'nodira usmonova bahor textile', '01900000-0000-7000-8000-000100000002', '01900000-0000-7000-8000-000100000001', '2026-01-11T18:00:00.000000Z', '2026-01-12T10:00:00.000000Z', 2, NULL);

INSERT INTO deals (id, title, pipeline_id, stage_id, status, account_id, contact_id, amount, currency, probability, expected_close, lost_reason, source, description, stage_entered_at, closed_at, custom, search, owner_id, created_by, created_at, updated_at, version, deleted_at, vat_included, lead_id) VALUES
('01900000-0000-7000-8000-001400000001', 'Paxta ipi: 20 t', '01900000-0000-7000-8000-000000000001', '01900000-0000-7000-8000-000000000012', 'open', '01900000-0000-7000-8000-000300000001', '01900000-0000-7000-8000-000400000001', 9000000000, 'UZS', 30, '2026-05-31', NULL, 'web_form', 'Yillik shartnoma', '2026-02-01T09:00:00.000000Z', NULL, '{}', 'paxta ipi: 20 t', '01900000-0000-7000-8000-000100000002', '01900000-0000-7000-8000-000100000002', '2026-01-12T10:00:00.000000Z', '2026-02-01T09:00:00.000000Z', 3, NULL, TRUE, '01900000-0000-7000-8000-002000000001'),
('01900000-0000-7000-8000-001400000002', 'Lost deal', '01900000-0000-7000-8000-000000000001', '01900000-0000-7000-8000-000000000013', 'lost', NULL, NULL, 100000, 'USD', NULL, NULL, 'Price too high', NULL, NULL, '2026-01-20T09:00:00.000000Z', '2026-01-25T09:00:00.000000Z', '{}', 'lost deal', '01900000-0000-7000-8000-000100000001', '01900000-0000-7000-8000-000100000001', '2026-01-15T09:00:00.000000Z', '2026-01-25T09:00:00.000000Z', 2, NULL, FALSE, NULL);

UPDATE leads SET deal_id = '01900000-0000-7000-8000-001400000001' WHERE id = '01900000-0000-7000-8000-002000000001';

INSERT INTO deal_stages (id, deal_id, stage_id, entered_at, entered_by, left_at, left_by, live, owner_id, status, amount, currency, entered_us, left_us, prev_entered_us, further_us) VALUES
('01900000-0000-7000-8000-001500000001', '01900000-0000-7000-8000-001400000001', '01900000-0000-7000-8000-000000000011', '2026-01-12T10:00:00.000000Z', '01900000-0000-7000-8000-000100000002', '2026-02-01T09:00:00.000000Z', '01900000-0000-7000-8000-000100000002', TRUE, '01900000-0000-7000-8000-000100000002', 'open', 9000000000, 'UZS', 1768212000000000, 1769936400000000, NULL, 1769936400000000),
('01900000-0000-7000-8000-001500000002', '01900000-0000-7000-8000-001400000001', '01900000-0000-7000-8000-000000000012', '2026-02-01T09:00:00.000000Z', '01900000-0000-7000-8000-000100000002', NULL, NULL, TRUE, '01900000-0000-7000-8000-000100000002', 'open', 9000000000, 'UZS', 1769936400000000, NULL, 1769000000000000, NULL);

INSERT INTO deal_steps (deal_id, step_id, done_at, done_by) VALUES
('01900000-0000-7000-8000-001400000001', '01900000-0000-7000-8000-001600000001', '2026-01-20T09:00:00.000000Z', '01900000-0000-7000-8000-000100000002');

INSERT INTO currency_rates (currency, on_date, rate_micros, source, created_by, created_at) VALUES
('USD', '2026-02-01', 12650000000, 'manual', '01900000-0000-7000-8000-000100000001', '2026-02-01T06:00:00.000000Z'),
('RUB', '2026-02-01', 140250000, 'import', '01900000-0000-7000-8000-000100000001', '2026-02-01T06:00:01.000000Z');

INSERT INTO deal_lines (id, deal_id, position, product_id, name, unit, quantity, unit_price, discount_bp, discount_amount, vat_rate_bp, gross, discount, net, vat, total) VALUES
('01900000-0000-7000-8000-001800000001', '01900000-0000-7000-8000-001400000001', 0, '01900000-0000-7000-8000-001700000001', 'Paxta ipi 30/1', 'kg', 20000000, 4500000, 500, NULL, 1200, 9000000000, 450000000, 8550000000, 1026000000, 9576000000),
('01900000-0000-7000-8000-001800000002', '01900000-0000-7000-8000-001400000001', 1, NULL, 'Yetkazib berish', NULL, 1000, 5000000, NULL, 100000, 0, 5000000, 100000, 4900000, 0, 4900000);

INSERT INTO price_lists (id, name, currency, valid_from, valid_to, active, created_at, updated_at) VALUES
('01900000-0000-7000-8000-001900000001', 'Ulgurji 2026', 'UZS', '2026-01-01', '2026-12-31', TRUE, '2026-01-07T12:00:00.000000Z', '2026-01-07T12:00:00.000000Z');

INSERT INTO price_list_items (price_list_id, product_id, price) VALUES
('01900000-0000-7000-8000-001900000001', '01900000-0000-7000-8000-001700000001', 4200000);

INSERT INTO web_forms (id, name, token, fields, required, source, campaign, owner_id, thank_you, redirect_url, language, active, created_by, created_at, updated_at) VALUES
('01900000-0000-7000-8000-002100000001', 'Site contact form', 'wf_0123456789abcdef', '["first_name","last_name","phones","company"]', '["phones"]', 'web_form', 'spring-2026', '01900000-0000-7000-8000-000100000002', 'Rahmat!', 'https://bahor.uz/thanks', 'uz', TRUE, '01900000-0000-7000-8000-000100000001', '2026-01-09T09:00:00.000000Z', '2026-01-09T09:00:00.000000Z');

INSERT INTO web_form_hits (form_id, ip, at) VALUES
('01900000-0000-7000-8000-002100000001', '203.0.113.7', '2026-01-11T18:00:00.000000Z');

INSERT INTO lead_rules (id, name, position, conditions, user_id, team_id, last_user_id, active, created_at, updated_at) VALUES
('01900000-0000-7000-8000-002200000001', 'Web leads to Alpha', 0, '{"source":"web_form"}', NULL, '01900000-0000-7000-8000-000200000001', '01900000-0000-7000-8000-000100000002', TRUE, '2026-01-09T09:10:00.000000Z', '2026-01-11T18:00:00.000000Z'),
('01900000-0000-7000-8000-002200000002', 'Everything else', 1, '{}', '01900000-0000-7000-8000-000100000001', NULL, NULL, FALSE, '2026-01-09T09:11:00.000000Z', '2026-01-09T09:11:00.000000Z');

INSERT INTO documents (id, kind, number, issued_on, due_on, status, account_id, contact_id, deal_id, source_id, currency, vat_included, net_total, vat_total, total, paid, shipped, notes, sent_at, custom, search, owner_id, created_by, created_at, updated_at, version, deleted_at) VALUES
('01900000-0000-7000-8000-002300000001', 'quote', 'Q-2026-00001', '2026-02-01', NULL, 'accepted', '01900000-0000-7000-8000-000300000001', '01900000-0000-7000-8000-000400000001', '01900000-0000-7000-8000-001400000001', NULL, 'UZS', TRUE, 8554900000, 1026000000, 9580900000, 0, 0, 'Narxlar 30 kun amal qiladi', '2026-02-01T10:00:00.000000Z', '{}', 'q-2026-00001 bahor textile', '01900000-0000-7000-8000-000100000002', '01900000-0000-7000-8000-000100000002', '2026-02-01T09:30:00.000000Z', '2026-02-02T09:00:00.000000Z', 3, NULL),
('01900000-0000-7000-8000-002300000002', 'invoice', 'INV-2026-00001', '2026-02-02', '2026-02-16', 'partly_paid', '01900000-0000-7000-8000-000300000001', NULL, '01900000-0000-7000-8000-001400000001', '01900000-0000-7000-8000-002300000001', 'UZS', TRUE, 8554900000, 1026000000, 9580900000, 5000000000, 9580900000, NULL, NULL, '{}', 'inv-2026-00001 bahor textile', '01900000-0000-7000-8000-000100000002', '01900000-0000-7000-8000-000100000002', '2026-02-02T09:00:00.000000Z', '2026-02-10T09:00:00.000000Z', 4, NULL);

INSERT INTO document_lines (id, document_id, position, product_id, name, unit, quantity, unit_price, discount_bp, discount_amount, vat_rate_bp, gross, discount, net, vat, total) VALUES
('01900000-0000-7000-8000-002400000001', '01900000-0000-7000-8000-002300000001', 0, '01900000-0000-7000-8000-001700000001', 'Paxta ipi 30/1', 'kg', 20000000, 4500000, 500, NULL, 1200, 9000000000, 450000000, 8550000000, 1026000000, 9576000000),
('01900000-0000-7000-8000-002400000002', '01900000-0000-7000-8000-002300000002', 0, NULL, 'Yetkazib berish', NULL, 1000, 5000000, NULL, 100000, 0, 5000000, 100000, 4900000, 0, 4900000);

INSERT INTO document_numbers (kind, year, last) VALUES
('quote', 2026, 1),
('invoice', 2026, 1);

INSERT INTO payments (id, document_id, account_id, on_date, amount, currency, method, reference, created_by, created_at) VALUES
('01900000-0000-7000-8000-002500000001', '01900000-0000-7000-8000-002300000002', '01900000-0000-7000-8000-000300000001', '2026-02-05', 5000000000, 'UZS', 'bank', 'PP 17', '01900000-0000-7000-8000-000100000002', '2026-02-05T09:00:00.000000Z');

INSERT INTO shipments (id, document_id, account_id, on_date, amount, currency, method, reference, created_by, created_at) VALUES
('01900000-0000-7000-8000-002600000001', '01900000-0000-7000-8000-002300000002', '01900000-0000-7000-8000-000300000001', '2026-02-04', 9580900000, 'UZS', 'truck', 'TTN 4411', '01900000-0000-7000-8000-000100000002', '2026-02-04T09:00:00.000000Z');

INSERT INTO dup_keys (object, kind, key, record_id) VALUES
('contact', 'phone', '+998931112233', '01900000-0000-7000-8000-000400000001'),
('account', 'tax_id', '301234567', '01900000-0000-7000-8000-000300000001');

INSERT INTO dup_scans (object, status, started_at, finished_at, started_by, records, pairs, groups_found, error) VALUES
('contact', 'done', '2026-03-01T09:00:00.000000Z', '2026-03-01T09:00:05.000000Z', '01900000-0000-7000-8000-000100000001', 2, 1, 1, NULL),
('account', 'failed', '2026-03-01T09:10:00.000000Z', NULL, NULL, 0, 0, 0, 'the server stopped');

INSERT INTO dup_groups (id, object, score, record_ids, pairs) VALUES
('01900000-0000-7000-8000-002700000001', 'contact', 82, '["01900000-0000-7000-8000-000400000001","01900000-0000-7000-8000-000400000002"]', '[{"a":0,"b":1,"score":82,"reasons":["similar_name"]}]');

INSERT INTO merges (id, object, survivor_id, merged_ids, user_id, created_at, undo, undone_at, undone_by) VALUES
('01900000-0000-7000-8000-002800000001', 'contact', '01900000-0000-7000-8000-000400000001', '["01900000-0000-7000-8000-000400000099"]', '01900000-0000-7000-8000-000100000001', '2026-03-02T09:00:00.000000Z', '{"moves":[],"survivor":{"first_name":"Nodira"}}', '2026-03-02T10:00:00.000000Z', '01900000-0000-7000-8000-000100000001');

INSERT INTO imports (id, object, file_name, format, encoding, delimiter, sheets, size, settings, status, total_rows, next_row, created, updated, skipped, rejected, report, error, cancel, lease_until, lease_owner, owner_id, created_at, updated_at, started_at, finished_at) VALUES
('01900000-0000-7000-8000-002900000001', 'contacts', 'mijozlar.csv', 'csv', 'windows-1251', ';', '[]', 84, '{"columns":["first_name","last_name","phones"],"on_duplicate":"skip"}', 'done', 2, 2, 1, 0, 0, 1, '{"counts":{"new":1,"error":1}}', NULL, 0, NULL, NULL, '01900000-0000-7000-8000-000100000001', '2026-03-05T09:00:00.000000Z', '2026-03-05T09:00:02.000000Z', '2026-03-05T09:00:01.000000Z', '2026-03-05T09:00:02.000000Z'),
('01900000-0000-7000-8000-002900000002', 'accounts', 'list.xlsx', 'xlsx', NULL, NULL, '["Sheet1","Arxiv"]', 4096, '{}', 'running', NULL, 2000, 2000, 0, 0, 0, '{}', 'stopped once', 1, '2026-03-06T09:01:00.000000Z', 'run-0190', '01900000-0000-7000-8000-000100000002', '2026-03-06T09:00:00.000000Z', '2026-03-06T09:00:40.000000Z', '2026-03-06T09:00:01.000000Z', NULL);

INSERT INTO import_chunks (import_id, seq, data) VALUES
('01900000-0000-7000-8000-002900000001', 0, X'cef2e0e2f1ea3b4e6f6469726131');

INSERT INTO import_batches (import_id, first_row, created, updated) VALUES
('01900000-0000-7000-8000-002900000001', 0, '[{"object":"contacts","id":"01900000-0000-7000-8000-000400000002"}]', '[{"object":"contacts","id":"01900000-0000-7000-8000-000400000001","version":2,"before":{"fields":{"last_name":"Usmonova"},"custom":{}}}]');

INSERT INTO import_rejects (import_id, row_no, cells, errors) VALUES
('01900000-0000-7000-8000-002900000001', 2, '["Ali","","12"]', '[{"column":"Mobile Phone","field":"phones[0]","key":"error-phone","args":{}}]');

INSERT INTO import_mappings (id, object, name, columns, owner_id, created_at) VALUES
('01900000-0000-7000-8000-003000000001', 'contacts', '1C export', '{"headers":["Имя","Телефон"],"columns":["first_name","phones"]}', '01900000-0000-7000-8000-000100000001', '2026-03-05T08:59:00.000000Z');

-- The trash: records deleted by users, kept with their deletion time.
UPDATE contacts SET deleted_at = '2026-04-02T08:00:00.000000Z', version = 2 WHERE id = '01900000-0000-7000-8000-000400000002';
UPDATE tasks SET deleted_at = '2026-04-02T08:00:01.000000Z', version = 2 WHERE id = '01900000-0000-7000-8000-000700000002';
UPDATE deals SET deleted_at = '2026-04-02T08:00:02.000000Z', version = 3 WHERE id = '01900000-0000-7000-8000-001400000002';

INSERT INTO events (id, title, starts_at, ends_at, all_day, location, status, related, user_ids, contact_ids, remind_before, description, custom, search, owner_id, created_by, created_at, updated_at, version, deleted_at) VALUES
('01900000-0000-7000-8000-000800000002', 'Ko''rgazma', '2026-03-10T00:00:00.000000Z', '2026-03-11T00:00:00.000000Z', TRUE, NULL, 'cancelled', NULL, NULL, NULL, NULL, NULL, '{}', 'ko''rgazma', '01900000-0000-7000-8000-000100000001', '01900000-0000-7000-8000-000100000001', '2026-02-06T09:00:00.000000Z', '2026-02-07T09:00:00.000000Z', 2, '2026-02-07T09:00:00.000000Z');

INSERT INTO needs (id, title, status, account_id, contact_id, budget, currency, needed_by, notes, custom, search, owner_id, created_by, created_at, updated_at, version, deleted_at) VALUES
('01900000-0000-7000-8000-000600000002', 'Бўёқлар', NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{}', 'boyoqlar', '01900000-0000-7000-8000-000100000001', '01900000-0000-7000-8000-000100000001', '2026-02-06T09:00:00.000000Z', '2026-02-07T09:00:00.000000Z', 2, '2026-02-07T09:00:00.000000Z');

INSERT INTO leads (id, first_name, last_name, company, job_title, phones, emails, source, campaign, interest, status, status_reason, team_id, web_form, notes, converted_at, account_id, contact_id, deal_id, custom, search, owner_id, created_by, created_at, updated_at, version, deleted_at) VALUES
('01900000-0000-7000-8000-002000000002', NULL, 'Spam', NULL, NULL, NULL, NULL, 'other', NULL, NULL, 'junk', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{}', 'spam', '01900000-0000-7000-8000-000100000001', '01900000-0000-7000-8000-000100000001', '2026-02-06T09:00:00.000000Z', '2026-02-07T09:00:00.000000Z', 2, '2026-02-07T09:00:00.000000Z');

INSERT INTO documents (id, kind, number, issued_on, due_on, status, account_id, contact_id, deal_id, source_id, currency, vat_included, net_total, vat_total, total, paid, shipped, notes, sent_at, custom, search, owner_id, created_by, created_at, updated_at, version, deleted_at) VALUES
('01900000-0000-7000-8000-002300000003', 'order', 'ORD-2026-00001', '2026-02-03', NULL, 'cancelled', '01900000-0000-7000-8000-000300000001', NULL, NULL, NULL, 'UZS', FALSE, 0, 0, 0, 0, 0, NULL, NULL, '{}', 'ord-2026-00001', '01900000-0000-7000-8000-000100000002', '01900000-0000-7000-8000-000100000002', '2026-02-03T09:00:00.000000Z', '2026-02-04T09:00:00.000000Z', 2, '2026-02-04T09:00:00.000000Z');

INSERT INTO document_numbers (kind, year, last) VALUES
('order', 2026, 1);
