-- A deal's products: lines with quantity (thousandths), unit price (minor units of the
-- deal's currency), discount and VAT, and their amounts computed exactly (see
-- hamkor_domain::money). The deal's amount is their total. Keep in step with the other
-- engine's 0020.
ALTER TABLE deals ADD COLUMN vat_included BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE deal_lines (
    id UUID PRIMARY KEY,
    deal_id UUID NOT NULL REFERENCES deals(id),
    position BIGINT NOT NULL,
    product_id UUID REFERENCES products(id),
    name TEXT NOT NULL,
    unit TEXT,
    quantity BIGINT NOT NULL,
    unit_price BIGINT NOT NULL,
    discount_bp BIGINT,
    discount_amount BIGINT,
    vat_rate_bp BIGINT NOT NULL,
    gross BIGINT NOT NULL,
    discount BIGINT NOT NULL,
    net BIGINT NOT NULL,
    vat BIGINT NOT NULL,
    total BIGINT NOT NULL
);
CREATE INDEX deal_lines_deal ON deal_lines(deal_id, position);
CREATE INDEX deal_lines_product ON deal_lines(product_id);
