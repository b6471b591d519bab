//! Cursor pagination: opaque cursors holding the sort key of the last row returned.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::service::error::{ServiceError, ServiceResult};

/// The largest page a client may ask for.
pub const MAX_PAGE: i32 = 100;

/// One page of rows, each with its cursor.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub has_next_page: bool,
}

impl<T> Page<T> {
    pub fn end_cursor(&self) -> Option<String> {
        self.items.last().map(|(c, _)| c.clone())
    }
}

/// Checks `first`, naming the argument when it is out of range.
pub fn check_first(first: i32) -> ServiceResult<i64> {
    if (1..=MAX_PAGE).contains(&first) {
        Ok(i64::from(first))
    } else {
        Err(ServiceError::invalid(
            "first",
            format!("must be 1 to {MAX_PAGE}"),
        ))
    }
}

pub fn encode<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

/// Reads a cursor this server issued, naming the argument when it is not one.
pub fn decode<K: DeserializeOwned>(cursor: Option<&str>) -> ServiceResult<Option<K>> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .map(Some)
        .ok_or_else(|| ServiceError::invalid("after", "is not a cursor this server issued"))
}

/// Builds a page from up to `first + 1` rows.
pub fn paginate<T, K: Serialize>(mut rows: Vec<T>, first: i64, key: impl Fn(&T) -> K) -> Page<T> {
    let has_next_page = rows.len() as i64 > first;
    rows.truncate(first as usize);
    Page {
        items: rows.into_iter().map(|r| (encode(&key(&r)), r)).collect(),
        has_next_page,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let c = encode(&("Smith", 3));
        let back: Option<(String, i32)> = decode(Some(&c)).unwrap();
        assert_eq!(back, Some(("Smith".to_owned(), 3)));
        assert!(decode::<(String, i32)>(Some("!!")).is_err());
    }

    #[test]
    fn pages() {
        let p = paginate(vec![1, 2, 3], 2, |n| *n);
        assert!(p.has_next_page);
        assert_eq!(p.items.len(), 2);
        assert!(check_first(0).is_err() && check_first(101).is_err() && check_first(50).is_ok());
    }
}
