-- One table of family links. The links between children kept since the foundation (no
-- recorder, no parents or carers) become sibling links of family_links; a link recorded before
-- recorders were kept has none, and hides no service from anyone.
ALTER TABLE family_links ALTER COLUMN recorded_by DROP NOT NULL;

INSERT INTO family_links (id, child_id, relation, sibling_id, description, recorded_by, recorded_at)
SELECT DISTINCT ON (least(child_id, related_id), greatest(child_id, related_id))
       gen_random_uuid(), least(child_id, related_id), 'SIBLING', greatest(child_id, related_id),
       CASE relationship WHEN 'HALF_SIBLING' THEN 'half-siblings'
                         WHEN 'STEP_SIBLING' THEN 'step-siblings' END,
       NULL, created_at
  FROM child_links
 ORDER BY least(child_id, related_id), greatest(child_id, related_id), created_at;

DROP TABLE child_links;
