//! Who the callers are, kept by each process between requests: the practitioner's agency and
//! role and the agreements in force for their agency (one statement per request otherwise).
//!
//! Every change to a practitioner or an agreement notifies `patchwork_callers` at commit
//! (triggers), and each process forgets what it kept for it. The notices are read before any
//! kept caller is trusted (a non-blocking read of the listening connection, no round trip), so
//! a deactivation or a revoked agreement made through any process takes effect at the next
//! request PostgreSQL has told this process about. Nothing is kept while the listening
//! connection is down, and everything kept is dropped when it comes back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use chrono::NaiveDate;
use uuid::Uuid;

use crate::db::notices::Listener;
use crate::policy::Reader;

const CHANNEL: &str = "patchwork_callers";
/// How often an idle process drains its notices, and retries a lost connection.
const IDLE_POLL: Duration = Duration::from_millis(100);
const RECONNECT: Duration = Duration::from_secs(1);
/// Callers kept at most; past it, everything is dropped and kept afresh.
const MAX_KEPT: usize = 100_000;

#[derive(Default)]
pub struct Callers {
    kept: Mutex<HashMap<Uuid, Reader>>,
    /// Bumped by every notice: a caller read before a notice is not kept after it.
    generation: AtomicU64,
    listener: Mutex<Option<Listener>>,
    listening: AtomicBool,
    started: OnceLock<()>,
}

pub type SharedCallers = Arc<Callers>;

impl Callers {
    /// The caller kept for `id` on `today`, after reading any notice received.
    pub fn get(self: &Arc<Self>, url: &str, id: Uuid, today: NaiveDate) -> Option<Reader> {
        self.start(url);
        self.drain();
        if !self.listening.load(Ordering::Acquire) {
            return None;
        }
        let kept = self.kept.lock().ok()?;
        kept.get(&id).filter(|r| r.today == today).cloned()
    }

    /// Where the caller read now stands in the notices: pass it back to [`Callers::keep`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps `reader`, read from the database since `generation`, unless a notice came since.
    pub fn keep(&self, reader: &Reader, generation: u64) {
        if !self.listening.load(Ordering::Acquire) {
            return;
        }
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        // Checked under the lock that notices take too, so no notice slips in between.
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if kept.len() >= MAX_KEPT {
            kept.clear();
        }
        kept.insert(reader.actor.practitioner_id, reader.clone());
    }

    /// Reads the notices received so far and forgets what they name.
    fn drain(&self) {
        let Ok(mut listener) = self.listener.lock() else {
            return;
        };
        let Some(l) = listener.as_mut() else {
            return;
        };
        match l.received() {
            Ok(notices) if notices.is_empty() => {}
            Ok(notices) => self.forget(&notices),
            Err(e) => {
                tracing::warn!(error = %e, "callers: the listening connection was lost");
                *listener = None;
                self.listening.store(false, Ordering::Release);
                self.forget(&["*".to_owned()]);
            }
        }
    }

    fn forget(&self, notices: &[String]) {
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        self.generation.fetch_add(1, Ordering::AcqRel);
        for notice in notices {
            match notice.parse::<Uuid>() {
                Ok(id) => {
                    kept.remove(&id);
                }
                Err(_) => kept.clear(),
            }
        }
    }

    /// Starts, once, the thread that keeps the listening connection up and drains notices
    /// while no request does. It ends with the last handle on the cache.
    pub fn start(self: &Arc<Self>, url: &str) {
        self.started.get_or_init(|| {
            let weak = Arc::downgrade(self);
            let url = url.to_owned();
            let spawned = std::thread::Builder::new()
                .name("callers".into())
                .spawn(move || listen(weak, url));
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "callers: could not start the listener");
            }
        });
    }
}

fn listen(weak: Weak<Callers>, url: String) {
    loop {
        let Some(callers) = weak.upgrade() else {
            return;
        };
        let connected = callers
            .listener
            .lock()
            .map(|l| l.is_some())
            .unwrap_or(false);
        let pause = if connected {
            callers.drain();
            IDLE_POLL
        } else {
            match Listener::connect(&url, CHANNEL) {
                Ok(listener) => {
                    if let Ok(mut slot) = callers.listener.lock() {
                        *slot = Some(listener);
                        // Anything kept before now may have missed a notice.
                        callers.forget(&["*".to_owned()]);
                        callers.listening.store(true, Ordering::Release);
                    }
                    IDLE_POLL
                }
                Err(e) => {
                    tracing::warn!(error = %e, "callers: cannot listen for changes; not keeping callers");
                    RECONNECT
                }
            }
        };
        drop(callers);
        std::thread::sleep(pause);
    }
}
