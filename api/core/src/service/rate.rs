//! Request counters in fixed windows, kept in PostgreSQL so that every server process counts
//! the same requests.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::{PgConnection, QueryResult};

use crate::db::rate_windows;

/// Start of the fixed window `now` falls in.
pub fn window_start(now: DateTime<Utc>, window: Duration) -> DateTime<Utc> {
    let secs = window.as_secs().max(1) as i64;
    let start = now.timestamp().div_euclid(secs) * secs;
    DateTime::from_timestamp(start, 0).unwrap_or(now)
}

/// Whole seconds from `now` until the window it falls in ends (at least one).
pub fn seconds_left(now: DateTime<Utc>, window: Duration) -> u64 {
    let end = window_start(now, window) + chrono::Duration::seconds(window.as_secs().max(1) as i64);
    (end - now).num_seconds().max(1) as u64
}

/// Counts one request in `bucket`'s current window and returns the window's count so far,
/// this one included. Older windows of the bucket are dropped in the same statement.
pub fn hit(
    conn: &mut PgConnection,
    bucket: &str,
    window: Duration,
    now: DateTime<Utc>,
) -> QueryResult<i32> {
    rate_windows::hit(conn, bucket, window_start(now, window))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_aligned() {
        let t = DateTime::from_timestamp(1_000_000_123, 0).unwrap();
        let w = window_start(t, Duration::from_secs(900));
        assert_eq!(w.timestamp() % 900, 0);
        assert!(w <= t && t.timestamp() - w.timestamp() < 900);
    }
}
