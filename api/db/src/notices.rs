//! PostgreSQL's LISTEN/NOTIFY: a connection of its own that hears one channel.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::{Connection, ConnectionResult, QueryResult};

/// A connection listening on one channel.
pub struct Listener {
    conn: PgConnection,
}

impl Listener {
    /// Connects to `url` and listens on `channel` (a fixed name, never from input).
    pub fn connect(url: &str, channel: &'static str) -> ConnectionResult<Listener> {
        let mut conn = PgConnection::establish(url)?;
        conn.batch_execute(&format!("LISTEN {channel}"))
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
        Ok(Listener { conn })
    }

    /// The payloads of the notices received so far, without waiting; an error when the
    /// connection is lost (notices may then have been missed).
    pub fn received(&mut self) -> QueryResult<Vec<String>> {
        self.conn
            .notifications_iter()
            .map(|n| n.map(|n| n.payload))
            .collect()
    }
}
