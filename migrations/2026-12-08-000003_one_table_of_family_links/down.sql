CREATE TABLE child_links (
    child_id        uuid NOT NULL REFERENCES children (id),
    related_id      uuid NOT NULL REFERENCES children (id),
    relationship    text NOT NULL CHECK (relationship IN ('SIBLING', 'HALF_SIBLING', 'STEP_SIBLING', 'OTHER')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (child_id, related_id),
    CHECK (child_id <> related_id)
);
CREATE INDEX child_links_related_idx ON child_links (related_id);
INSERT INTO child_links (child_id, related_id, relationship, created_at)
SELECT child_id, sibling_id,
       CASE description WHEN 'half-siblings' THEN 'HALF_SIBLING'
                        WHEN 'step-siblings' THEN 'STEP_SIBLING' ELSE 'SIBLING' END,
       recorded_at
  FROM family_links WHERE relation = 'SIBLING' AND removed_at IS NULL AND recorded_by IS NULL;
DELETE FROM family_links WHERE recorded_by IS NULL;
ALTER TABLE family_links ALTER COLUMN recorded_by SET NOT NULL;
