//! How closely a child's identity matches what a practitioner typed. Pure functions: the
//! candidates (same date of birth, findable by the searcher) come from the database.

use unicode_normalization::UnicodeNormalization;

/// Lower case, accents removed, letters only: "Okafor-Reid" and "okafor reid" agree, as do
/// "Zoë" and "zoe".
pub fn normalise(name: &str) -> String {
    name.nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The outward code of a UK postcode: "KB1" for "KB1 4AX".
pub fn postcode_district(postcode: &str) -> Option<String> {
    let compact: String = postcode
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    if compact.len() < 5 {
        return (!compact.is_empty()).then_some(compact);
    }
    // The inward code is always the last three characters.
    Some(compact[..compact.len() - 3].to_owned())
}

/// A family name typed against a stored one: 1 for equal, less for a typo, a missing part or a
/// close spelling; None when they are not the same name.
pub fn family_score(typed: &str, stored: &str) -> Option<f64> {
    let (a, b) = (normalise(typed), normalise(stored));
    if a.is_empty() || b.is_empty() {
        return None;
    }
    if a == b {
        return Some(1.0);
    }
    let distance = strsim::levenshtein(&a, &b);
    let longest = a.chars().count().max(b.chars().count());
    if distance == 1 {
        return Some(0.9);
    }
    if distance == 2 && longest >= 5 {
        return Some(0.8);
    }
    // One part of a double-barrelled name: "Okafor" for "Okafor-Reid".
    let parts = |s: &str| -> Vec<String> {
        s.split(|c: char| c == '-' || c.is_whitespace())
            .map(normalise)
            .filter(|p| p.chars().count() >= 3)
            .collect()
    };
    if parts(stored).contains(&a) || parts(typed).contains(&b) {
        return Some(0.75);
    }
    let jw = strsim::jaro_winkler(&a, &b);
    (jw >= 0.9).then_some(jw * 0.8)
}

/// A given name typed against a stored one; a prefix of three letters or more counts
/// ("Jon" for "Jonathan").
pub fn given_score(typed: &str, stored: &str) -> Option<f64> {
    let (a, b) = (normalise(typed), normalise(stored));
    if a.is_empty() || b.is_empty() {
        return None;
    }
    if a == b {
        return Some(1.0);
    }
    let shorter = a.chars().count().min(b.chars().count());
    if shorter >= 3 && (a.starts_with(&b) || b.starts_with(&a)) {
        return Some(0.9);
    }
    let distance = strsim::levenshtein(&a, &b);
    if distance == 1 {
        return Some(0.85);
    }
    if distance == 2 && shorter >= 5 {
        return Some(0.75);
    }
    let jw = strsim::jaro_winkler(&a, &b);
    (jw >= 0.9).then_some(jw * 0.75)
}

/// The overall score in (0, 1], or None when the child is not a match. A typed postcode in a
/// different district lowers the score (families move) rather than excluding the child.
pub fn score(
    family: &str,
    given: Option<&str>,
    postcode: Option<&str>,
    stored_family: &str,
    stored_given: &str,
    stored_postcode: Option<&str>,
) -> Option<f64> {
    let mut score = family_score(family, stored_family)?;
    if let Some(given) = given.filter(|g| !g.trim().is_empty()) {
        score *= given_score(given, stored_given)?;
    }
    if let (Some(typed), Some(stored)) =
        (postcode.filter(|p| !p.trim().is_empty()), stored_postcode)
    {
        let same_postcode = normalise(typed) == normalise(stored);
        let same_district = postcode_district(typed) == postcode_district(stored);
        if !same_postcode {
            score *= if same_district { 0.95 } else { 0.7 };
        }
    }
    Some((score * 1000.0).round() / 1000.0).filter(|s| *s > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerates_how_names_get_typed() {
        assert_eq!(family_score("Smith", "smith"), Some(1.0));
        assert_eq!(family_score("OkaforReid", "Okafor-Reid"), Some(1.0));
        assert_eq!(family_score("okafor reid", "Okafor-Reid"), Some(1.0));
        assert_eq!(family_score("zoe", "Zoë"), Some(1.0));
        assert_eq!(family_score("Okafro", "Okafor"), Some(0.8));
        assert_eq!(family_score("Smyth", "Smith"), Some(0.9));
        assert_eq!(family_score("Okafor", "Okafor-Reid"), Some(0.75));
        assert_eq!(family_score("Brown", "Okafor"), None);
        assert_eq!(given_score("Jon", "Jonathan"), Some(0.9));
        assert_eq!(given_score("Jo", "Jonathan"), None);
        assert_eq!(given_score("Alex", "Alexandra"), Some(0.9));
        assert_eq!(given_score("Chloe", "Chloé"), Some(1.0));
        assert_eq!(given_score("Ben", "Sara"), None);
    }

    #[test]
    fn scores_rank_exact_first() {
        let exact = score(
            "Marsh",
            Some("Leo"),
            Some("KB1 4AX"),
            "Marsh",
            "Leo",
            Some("KB1 4AX"),
        )
        .unwrap();
        let typo = score("Marhs", Some("Leo"), None, "Marsh", "Leo", Some("KB1 4AX")).unwrap();
        let moved = score(
            "Marsh",
            Some("Leo"),
            Some("KB7 1AA"),
            "Marsh",
            "Leo",
            Some("KB1 4AX"),
        )
        .unwrap();
        assert_eq!(exact, 1.0);
        assert!(typo < exact && moved < exact && typo > 0.0);
        assert_eq!(
            score("Marsh", Some("Tom"), None, "Marsh", "Leo", None),
            None
        );
    }

    #[test]
    fn districts() {
        assert_eq!(postcode_district("kb1 4ax").as_deref(), Some("KB1"));
        assert_eq!(postcode_district("KB10 4AX").as_deref(), Some("KB10"));
        assert_eq!(postcode_district("KB14AX").as_deref(), Some("KB1"));
    }
}
