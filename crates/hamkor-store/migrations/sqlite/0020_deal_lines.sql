-- A deal's products: lines with quantity (thousandths), unit price (minor units of the
-- deal's currency), discount and VAT, and their amounts computed exactly (see
-- hamkor_domain::money). The deal's amount is their total. Keep in step with the other
-- engine's 0020.
ALTER TABLE deals ADD COLUMN vat_included INTEGER NOT NULL DEFAULT 0;
CREATE TABLE deal_lines (
    id TEXT PRIMARY KEY,
    deal_id TEXT NOT NULL REFERENCES deals(id),
    position INTEGER NOT NULL,
    product_id TEXT REFERENCES products(id),
    name TEXT NOT NULL,
    unit TEXT,
    quantity INTEGER NOT NULL,
    unit_price INTEGER NOT NULL,
    discount_bp INTEGER,
    discount_amount INTEGER,
    vat_rate_bp INTEGER NOT NULL,
    gross INTEGER NOT NULL,
    discount INTEGER NOT NULL,
    net INTEGER NOT NULL,
    vat INTEGER NOT NULL,
    total INTEGER NOT NULL
);
CREATE INDEX deal_lines_deal ON deal_lines(deal_id, position);
CREATE INDEX deal_lines_product ON deal_lines(product_id);
