-- Sales scripts: per stage, the text to read on a call and the steps a manager must
-- complete (some required; some become tasks for the deal's owner on entering the
-- stage), and which steps each deal has done. Keep in step with the other engine's 0017.
ALTER TABLE stages ADD COLUMN script TEXT;
CREATE TABLE stage_steps (
    id TEXT PRIMARY KEY,
    stage_id TEXT NOT NULL REFERENCES stages(id),
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    required INTEGER NOT NULL DEFAULT 0,
    -- Entering the stage gives the deal's owner a task for this step, due this many days
    -- later (NULL: no task).
    task_days INTEGER,
    created_at TEXT NOT NULL
);
CREATE INDEX stage_steps_stage ON stage_steps(stage_id, position);
CREATE TABLE deal_steps (
    deal_id TEXT NOT NULL REFERENCES deals(id),
    step_id TEXT NOT NULL REFERENCES stage_steps(id),
    done_at TEXT NOT NULL,
    done_by TEXT REFERENCES users(id),
    PRIMARY KEY (deal_id, step_id)
);
