-- Exchange rates by date: how many units of the company's base currency (the setting
-- `base_currency`, UZS unless set) one unit of `currency` costs from `on_date` on, entered
-- by hand or imported (the Central Bank of Uzbekistan's feed, a CSV). Six decimals, as
-- integer millionths. The rate of a day is the latest one on or before it: the primary
-- key answers that in one index seek. Keep in step with the other engine's 0018.
CREATE TABLE currency_rates (
    currency TEXT NOT NULL,
    on_date DATE NOT NULL,
    rate_micros BIGINT NOT NULL CHECK (rate_micros > 0),
    source TEXT NOT NULL CHECK (source IN ('manual', 'import')),
    created_by UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (currency, on_date)
);
-- Every currency's rates of a period, newest first.
CREATE INDEX currency_rates_date ON currency_rates(on_date DESC, currency);
