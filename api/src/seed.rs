//! Loads the demo town from `fixtures/` (see [`crate::db::fixtures`] for its rows).

use std::path::Path;

use diesel::{Connection, PgConnection};

use crate::auth::password;
use crate::db::fixtures;

pub use crate::db::fixtures::{fixture_id, SeedReport, Town};

/// Reads every `*.json` file in `dir` as a town.
pub fn load_dir(dir: &Path) -> anyhow::Result<Vec<(String, Town)>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)?;
            let town: Town = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Ok((path.display().to_string(), town))
        })
        .collect()
}

/// Inserts the town in one transaction; rows that exist already are left alone.
pub fn seed(conn: &mut PgConnection, town: &Town) -> anyhow::Result<SeedReport> {
    // Hash the demo password once per run, only when an account is missing.
    let hash = if fixtures::missing_practitioners(conn, town)? > 0 {
        Some(password::hash(&town.demo_password)?)
    } else {
        None
    };
    conn.transaction(|conn| fixtures::insert_town(conn, town, hash.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Sensitivity;

    #[test]
    fn the_report_is_a_sentence() {
        let report = SeedReport {
            agencies: 15,
            children: 1,
            sharing_agreements: 2,
            ..SeedReport::default()
        };
        assert_eq!(
            report.to_string(),
            "added 15 agencies, 1 child and 2 sharing agreements"
        );
        assert_eq!(
            SeedReport::default().to_string(),
            "already loaded, nothing to add"
        );
    }

    #[test]
    fn ids_are_stable() {
        assert_eq!(fixture_id("agency:x"), fixture_id("agency:x"));
        assert_ne!(fixture_id("agency:x"), fixture_id("agency:y"));
    }

    #[test]
    fn the_demo_town_parses_and_hangs_together() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        for (path, town) in load_dir(&dir).unwrap() {
            let keys = |v: Vec<&String>| {
                v.into_iter()
                    .cloned()
                    .collect::<std::collections::HashSet<_>>()
            };
            let agencies = keys(town.agencies.iter().map(|a| &a.key).collect());
            let people = keys(town.practitioners.iter().map(|p| &p.key).collect());
            let children = keys(town.children.iter().map(|c| &c.key).collect());
            let involvements = keys(town.involvements.iter().map(|i| &i.key).collect());
            for p in &town.practitioners {
                assert!(
                    agencies.contains(&p.agency),
                    "{path}: {} has unknown agency",
                    p.key
                );
            }
            for i in &town.involvements {
                assert!(
                    children.contains(&i.child),
                    "{path}: {} unknown child",
                    i.key
                );
                assert!(
                    people.contains(&i.practitioner),
                    "{path}: {} unknown practitioner",
                    i.key
                );
                assert!(
                    !(i.is_lead && i.sensitivity == Sensitivity::Restricted),
                    "{path}: {} restricted lead",
                    i.key
                );
            }
            for c in &town.contacts {
                assert!(
                    involvements.contains(&c.involvement),
                    "{path}: {} unknown involvement",
                    c.key
                );
            }
            for t in &town.tasks {
                assert!(
                    children.contains(&t.child),
                    "{path}: {} unknown child",
                    t.key
                );
                assert!(
                    people.contains(&t.created_by),
                    "{path}: {} unknown creator",
                    t.key
                );
            }
            for s in &town.sharing_agreements {
                assert!(
                    agencies.contains(&s.from_agency) && agencies.contains(&s.to_agency),
                    "{path}: {}",
                    s.key
                );
            }
            assert!(
                town.agencies.len() >= 10
                    && town.practitioners.len() >= 30
                    && town.children.len() >= 25
            );
        }
    }
}
