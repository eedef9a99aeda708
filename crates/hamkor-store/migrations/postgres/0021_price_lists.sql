-- Price lists: several, each in one currency and valid between two dates (either open),
-- with a price per product. A deal's line takes its product's price from the list valid
-- on the day in the deal's currency, else from the catalog. Keep in step with the other
-- engine's 0021.
CREATE TABLE price_lists (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    currency TEXT NOT NULL,
    valid_from DATE,
    valid_to DATE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE price_list_items (
    price_list_id UUID NOT NULL REFERENCES price_lists(id),
    product_id UUID NOT NULL REFERENCES products(id),
    price BIGINT NOT NULL,
    PRIMARY KEY (price_list_id, product_id)
);
CREATE INDEX price_list_items_product ON price_list_items(product_id);
