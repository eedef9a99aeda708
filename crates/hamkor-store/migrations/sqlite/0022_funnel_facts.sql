-- The funnel and the board at hundreds of thousands of deals. Keep in step with the other
-- engine's 0022.
--
-- A stage visit carries what the funnel counts and filters by, so a funnel reads index
-- ranges per stage instead of joining every visit to its deal:
--   live             the deal is in this stage's pipeline and not in the trash;
--   owner_id, status, amount, currency
--                    the deal's, kept equal to them by the trigger below;
--   entered_us, left_us
--                    entered_at and left_at as microseconds since 1970: an index entry a
--                    third smaller than with the text timestamps, compared as integers;
--   prev_entered_us  when the deal last entered this stage before (NULL: the first time),
--                    so a deal that came back is counted once a period;
--   further_us       when the deal first entered a later stage of the pipeline (NULL:
--                    never), so "went on" needs no look at its other visits.
-- The application fills the visit's own facts when it writes one (sales::after_write).
ALTER TABLE deal_stages ADD COLUMN live INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deal_stages ADD COLUMN owner_id TEXT REFERENCES users(id);
ALTER TABLE deal_stages ADD COLUMN status TEXT;
ALTER TABLE deal_stages ADD COLUMN amount INTEGER;
ALTER TABLE deal_stages ADD COLUMN currency TEXT;
ALTER TABLE deal_stages ADD COLUMN entered_us INTEGER;
ALTER TABLE deal_stages ADD COLUMN left_us INTEGER;
ALTER TABLE deal_stages ADD COLUMN prev_entered_us INTEGER;
ALTER TABLE deal_stages ADD COLUMN further_us INTEGER;

-- Timestamps are stored with six decimals: the seconds, then the microseconds.
UPDATE deal_stages SET
    owner_id = (SELECT d.owner_id FROM deals d WHERE d.id = deal_stages.deal_id),
    status = (SELECT d.status FROM deals d WHERE d.id = deal_stages.deal_id),
    amount = (SELECT d.amount FROM deals d WHERE d.id = deal_stages.deal_id),
    currency = (SELECT d.currency FROM deals d WHERE d.id = deal_stages.deal_id),
    live = (SELECT d.deleted_at IS NULL AND d.pipeline_id = s.pipeline_id FROM deals d, stages s
            WHERE d.id = deal_stages.deal_id AND s.id = deal_stages.stage_id),
    entered_us = unixepoch(entered_at) * 1000000 + CAST(substr(entered_at, 21, 6) AS INTEGER),
    left_us = unixepoch(left_at) * 1000000 + CAST(substr(left_at, 21, 6) AS INTEGER),
    prev_entered_us = (SELECT unixepoch(MAX(p.entered_at)) * 1000000 + CAST(substr(MAX(p.entered_at), 21, 6) AS INTEGER)
            FROM deal_stages p
            WHERE p.deal_id = deal_stages.deal_id AND p.stage_id = deal_stages.stage_id
            AND (p.entered_at < deal_stages.entered_at OR (p.entered_at = deal_stages.entered_at AND p.id < deal_stages.id))),
    further_us = (SELECT unixepoch(MIN(h.entered_at)) * 1000000 + CAST(substr(MIN(h.entered_at), 21, 6) AS INTEGER)
            FROM deal_stages h, stages a, stages b
            WHERE h.deal_id = deal_stages.deal_id AND a.id = h.stage_id AND b.id = deal_stages.stage_id
            AND a.pipeline_id = b.pipeline_id AND a.position > b.position);

-- Whatever changes a deal changes its visits' copies, in the same statement.
CREATE TRIGGER deal_stages_follow_deal AFTER UPDATE ON deals
WHEN NEW.owner_id IS NOT OLD.owner_id OR NEW.status IS NOT OLD.status OR NEW.amount IS NOT OLD.amount
    OR NEW.currency IS NOT OLD.currency OR NEW.pipeline_id IS NOT OLD.pipeline_id
    OR NEW.deleted_at IS NOT OLD.deleted_at
BEGIN
    UPDATE deal_stages SET owner_id = NEW.owner_id, status = NEW.status, amount = NEW.amount,
        currency = NEW.currency,
        live = (NEW.deleted_at IS NULL AND stage_id IN (SELECT id FROM stages WHERE pipeline_id = NEW.pipeline_id))
    WHERE deal_id = NEW.id;
END;

-- The funnel: the live visits of a stage that began in a period, per currency and owner
-- (one range each: a salesperson's funnel reads only their own), with all they are counted
-- by, so the index answers alone. SQLite takes an index as covering only when it holds
-- every column the query names: hence currency beside the expression on it. The old index
-- on (stage_id, entered_at) served only the funnel.
DROP INDEX deal_stages_stage;
CREATE INDEX deal_stages_entered ON deal_stages(stage_id, live, COALESCE(currency, ''), owner_id,
    entered_us, prev_entered_us, amount, status, further_us, currency);
-- Time in a stage: its live visits that ended in a period, per owner.
CREATE INDEX deal_stages_left ON deal_stages(stage_id, live, owner_id, left_us, entered_us)
    WHERE left_us IS NOT NULL;

-- The board: a column's cards skip others' deals inside the index (owner_id), and its
-- count and sums per currency read an index alone. The partial indexes carry status and
-- deleted_at too, the columns of their condition, for the same reason.
DROP INDEX deals_board;
CREATE INDEX deals_board ON deals(stage_id, COALESCE(expected_close, '9999-12-31'), id, owner_id)
    WHERE status = 'open' AND deleted_at IS NULL;
CREATE INDEX deals_board_sums ON deals(stage_id, COALESCE(currency, ''), owner_id, amount, currency,
    status, deleted_at) WHERE status = 'open' AND deleted_at IS NULL;
-- The forecast: a pipeline's open deals by expected close day and currency.
CREATE INDEX deals_forecast ON deals(pipeline_id, expected_close, currency, amount, probability,
    owner_id, status, deleted_at) WHERE status = 'open' AND deleted_at IS NULL;
-- Won and lost in a period, per reason.
CREATE INDEX deals_closed ON deals(pipeline_id, status, COALESCE(lost_reason, ''), closed_at,
    owner_id, deleted_at, lost_reason) WHERE closed_at IS NOT NULL;
