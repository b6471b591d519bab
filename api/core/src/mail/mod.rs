//! Email notifications: what they say (`compose`), how they are queued in the change's own
//! transaction (`outbox`), and how they are delivered (`worker`, `transport`, `daily`).

pub mod compose;
pub mod daily;
pub mod notify;
pub mod outbox;
pub mod transport;
pub mod worker;
