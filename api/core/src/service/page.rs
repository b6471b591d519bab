//! Cursor pagination, as Relay's connections have it: `first`/`after` forwards,
//! `last`/`before` backwards. Cursors are opaque: each holds the sort key of its row, made only
//! of ids and times, never a name.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use crate::db::paging::Slice;
use crate::service::error::{ServiceError, ServiceResult};

/// The largest page a client may ask for.
pub const MAX_PAGE: i32 = 100;

/// What a client asked of a list. With `last`, the page is the last rows before `before` (or
/// of the whole list) and `first` is ignored: its default always comes with the request.
#[derive(Clone, Debug, Default)]
pub struct PageRequest {
    pub first: i32,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageRequest {
    /// The first `first` rows.
    pub fn first(first: i32) -> Self {
        PageRequest {
            first,
            ..Default::default()
        }
    }

    /// Checks the request and reads its cursors, naming the argument at fault.
    pub fn slice<K: DeserializeOwned>(&self) -> ServiceResult<Slice<K>> {
        let (field, size) = match self.last {
            Some(last) => ("last", last),
            None => ("first", self.first),
        };
        if !(1..=MAX_PAGE).contains(&size) {
            return Err(ServiceError::invalid(
                field,
                format!("must be 1 to {MAX_PAGE}"),
            ));
        }
        Ok(Slice {
            after: decode("after", self.after.as_deref())?,
            before: decode("before", self.before.as_deref())?,
            from_end: self.last.is_some(),
            limit: i64::from(size),
        })
    }
}

/// One page of rows in the list's order, each with its cursor.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl<T> Page<T> {
    pub fn start_cursor(&self) -> Option<String> {
        self.items.first().map(|(c, _)| c.clone())
    }

    pub fn end_cursor(&self) -> Option<String> {
        self.items.last().map(|(c, _)| c.clone())
    }
}

/// Checks `first`, naming the argument when it is out of range.
pub fn check_first(first: i32) -> ServiceResult<i64> {
    PageRequest::first(first)
        .slice::<()>()
        .map(|slice| slice.limit)
}

pub fn encode<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

/// Reads a cursor this server issued, naming the argument when it is not one.
fn decode<K: DeserializeOwned>(field: &str, cursor: Option<&str>) -> ServiceResult<Option<K>> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .map(Some)
        .ok_or_else(|| ServiceError::invalid(field, "is not a cursor this server issued"))
}

/// Builds a page from the rows a repository loaded for `slice` (up to one more than the page,
/// backwards when taken from the end). Going forwards, a page after a cursor has rows before
/// it (the cursor's own, at least when it was issued); going backwards, likewise after.
pub fn paginate<T, K: Serialize, C>(
    mut rows: Vec<T>,
    slice: &Slice<C>,
    key: impl Fn(&T) -> K,
) -> Page<T> {
    let more = rows.len() as i64 > slice.limit;
    rows.truncate(slice.limit as usize);
    if slice.from_end {
        rows.reverse();
    }
    let (has_previous_page, has_next_page) = if slice.from_end {
        (more, slice.before.is_some())
    } else {
        (slice.after.is_some(), more)
    };
    Page {
        items: rows.into_iter().map(|r| (encode(&key(&r)), r)).collect(),
        has_next_page,
        has_previous_page,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(first: i32, last: Option<i32>, after: Option<i32>, before: Option<i32>) -> Slice<i32> {
        PageRequest {
            first,
            last,
            after: after.map(|k| encode(&k)),
            before: before.map(|k| encode(&k)),
        }
        .slice()
        .unwrap()
    }

    #[test]
    fn cursors_round_trip() {
        let c = encode(&("2026-01-01T00:00:00Z", 3));
        let back: Option<(String, i32)> = decode("after", Some(&c)).unwrap();
        assert_eq!(back, Some(("2026-01-01T00:00:00Z".to_owned(), 3)));
        let err = decode::<(String, i32)>("before", Some("!!")).unwrap_err();
        assert!(matches!(err, ServiceError::Invalid(ref f) if f[0].field == "before"));
    }

    #[test]
    fn forward_pages() {
        let p = paginate(vec![1, 2, 3], &slice(2, None, None, None), |n| *n);
        assert!(p.has_next_page && !p.has_previous_page);
        assert_eq!(p.items.iter().map(|(_, n)| *n).collect::<Vec<_>>(), [1, 2]);
        let p = paginate(vec![3], &slice(2, None, Some(2), None), |n| *n);
        assert!(!p.has_next_page && p.has_previous_page);
        assert_eq!(p.start_cursor(), Some(encode(&3)));
    }

    #[test]
    fn backward_pages_come_back_in_the_lists_order() {
        // Loaded backwards from the end: 9, 8, 7.
        let p = paginate(vec![9, 8, 7], &slice(50, Some(2), None, None), |n| *n);
        assert!(p.has_previous_page && !p.has_next_page);
        assert_eq!(p.items.iter().map(|(_, n)| *n).collect::<Vec<_>>(), [8, 9]);
        let p = paginate(vec![6], &slice(50, Some(2), None, Some(7)), |n| *n);
        assert!(!p.has_previous_page && p.has_next_page);
    }

    #[test]
    fn sizes_are_checked_and_named() {
        assert!(check_first(0).is_err() && check_first(101).is_err() && check_first(50).is_ok());
        let err = PageRequest {
            first: 50,
            last: Some(0),
            ..Default::default()
        }
        .slice::<i32>()
        .unwrap_err();
        assert!(matches!(err, ServiceError::Invalid(ref f) if f[0].field == "last"));
    }
}
