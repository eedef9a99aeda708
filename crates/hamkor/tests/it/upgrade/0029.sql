-- Rows of what migration 0029 (the access model) added, loaded once the database is at
-- schema 29: see 0027.sql. Team Beta goes under team Alpha, a contact is shared with a
-- user to edit and with a team to read, and a field is hidden and one made read-only.

UPDATE teams SET parent_id = '01900000-0000-7000-8000-000200000001' WHERE id = '01900000-0000-7000-8000-000200000002';

INSERT INTO record_shares (id, object, record_id, user_id, team_id, access, created_by, created_at) VALUES
('01900000-0000-7000-8000-002900000001', 'contact', '01900000-0000-7000-8000-000400000001', '01900000-0000-7000-8000-000100000001', NULL, 'edit', '01900000-0000-7000-8000-000100000002', '2026-04-13T09:00:00.000000Z'),
('01900000-0000-7000-8000-002900000002', 'contact', '01900000-0000-7000-8000-000400000002', NULL, '01900000-0000-7000-8000-000200000002', 'read', '01900000-0000-7000-8000-000100000001', '2026-04-13T09:05:00.000000Z');

INSERT INTO field_rules (role, object, field, mode) VALUES
('sales', 'account', 'tax_id', 'hidden'),
('marketer', 'deal', 'amount', 'read_only');
