-- Family links (rule 11): a child's siblings, and the parents or carers around them. A carer
-- is a name and a relationship, never contact details. A sibling pair is stored once, the
-- lower child id first; the same pair may be recorded again by someone who cannot see an
-- earlier record of it (a refusal would betray who recorded it), and readers see one.
CREATE TABLE family_links (
  id          uuid PRIMARY KEY,
  child_id    uuid NOT NULL REFERENCES children (id),
  relation    text NOT NULL CHECK (relation IN ('SIBLING', 'PARENT', 'CARER')),
  sibling_id  uuid REFERENCES children (id),
  name        text CHECK (char_length(name) BETWEEN 1 AND 200),
  description text CHECK (char_length(description) BETWEEN 1 AND 200),
  recorded_by uuid NOT NULL REFERENCES practitioners (id),
  recorded_at timestamptz NOT NULL DEFAULT now(),
  removed_at  timestamptz,
  removed_by  uuid REFERENCES practitioners (id),
  CHECK ((relation = 'SIBLING') = (sibling_id IS NOT NULL)),
  CHECK ((relation = 'SIBLING') = (name IS NULL)),
  CHECK (sibling_id IS NULL OR child_id < sibling_id),
  CHECK ((removed_at IS NULL) = (removed_by IS NULL))
);

CREATE INDEX family_links_by_child ON family_links (child_id) WHERE removed_at IS NULL;
CREATE INDEX family_links_by_sibling ON family_links (sibling_id)
  WHERE removed_at IS NULL AND sibling_id IS NOT NULL;
