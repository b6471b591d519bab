//! Subscriptions over `graphql-transport-ws` on `/graphql`: live screens. The token comes in
//! `connection_init` (`{"authorization": "Bearer <token>"}`); every event is read with the
//! subscriber's rules as they stand when it is sent (the subscriber is loaded again each time).
//! A subscriber who may no longer read the child gets a coded error and that subscription
//! ends; one whose token expires or who is deactivated loses the whole connection (4403).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Context, Data, Result, Subscription, ID};
use futures_util::Stream;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::db::activity::FeedPosition;
use crate::graphql::changes::ChangeEvent;
use crate::graphql::context::{Auth, ContextExt, RequestReader};
use crate::graphql::error::refusal;
use crate::service::error::ServiceError;
use crate::service::events::Event;
use crate::service::{live, parse_id, session};
use crate::state::AppState;

/// How often a quiet subscription checks that its subscriber may still have it.
const RECHECK: Duration = Duration::from_secs(5);

/// Who opened the connection, and until when their token holds.
#[derive(Clone, Debug)]
pub struct Session {
    pub practitioner: Uuid,
    pub expires_at: i64,
    pub hangup: Hangup,
}

/// The connection's end, for when its subscriber may no longer hold it (refused at
/// `connection_init`, token expired, deactivated): the transport closes the connection with
/// 4403 and the reason.
#[derive(Clone, Debug)]
pub struct Hangup(Arc<watch::Sender<Option<String>>>);

impl Hangup {
    /// A hangup, and what the transport watches for it.
    pub fn new() -> (Hangup, watch::Receiver<Option<String>>) {
        let (tx, rx) = watch::channel(None);
        (Hangup(Arc::new(tx)), rx)
    }

    pub fn hang_up(&self, why: &str) {
        self.0.send_replace(Some(why.to_owned()));
    }
}

impl Session {
    /// Hangs up when `e` says the subscriber's session is over.
    fn ended_by(&self, e: &ServiceError) {
        if matches!(e, ServiceError::Unauthenticated) {
            self.hangup.hang_up(SESSION_ENDED);
        }
    }
}

const SESSION_ENDED: &str = "not signed in, or the session has ended";

/// `connection_init`: the bearer token in the payload's `authorization`, checked as a
/// request's would be. A refusal hangs up (4403).
pub async fn connection_init(
    state: AppState,
    payload: serde_json::Value,
    hangup: Hangup,
) -> Result<Data> {
    let session = signed_in(&state, &payload, hangup.clone()).await;
    if let Err(e) = &session {
        hangup.hang_up(&e.message);
    }
    session
}

async fn signed_in(state: &AppState, payload: &serde_json::Value, hangup: Hangup) -> Result<Data> {
    let token = ["authorization", "Authorization"]
        .iter()
        .find_map(|k| payload.get(*k).and_then(|v| v.as_str()))
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_owned())
        })
        .ok_or_else(|| {
            async_graphql::Error::new(
                "connection_init needs {\"authorization\": \"Bearer <token>\"}",
            )
        })?;
    let claims = state
        .tokens
        .verify(&token)
        .ok_or_else(|| async_graphql::Error::new(SESSION_ENDED))?;
    let reader = session::load_caller(state, claims.sub)
        .await
        .map_err(|_| async_graphql::Error::new(SESSION_ENDED))?;
    let mut data = Data::default();
    data.insert(Auth::Actor(reader.actor));
    data.insert(Arc::new(RequestReader::new(
        Auth::Actor(reader.actor),
        Some(reader),
    )));
    data.insert(crate::auth::RequestMeta::default());
    data.insert(Session {
        practitioner: claims.sub,
        expires_at: claims.exp,
        hangup,
    });
    Ok(data)
}

/// One subscriber's stream of a child's changes.
struct Follow {
    state: AppState,
    session: Session,
    child: Uuid,
    place: FeedPosition,
    news: broadcast::Receiver<Uuid>,
    ready: VecDeque<Event>,
    ended: bool,
}

impl Follow {
    /// Waits for news of the child (or the recheck), then reads what the subscriber may see.
    async fn next(mut self) -> Option<(Result<ChangeEvent>, Follow)> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some((Ok(ChangeEvent::from(event)), self));
            }
            if self.ended {
                return None;
            }
            tokio::select! {
                news = self.news.recv() => match news {
                    Ok(child) if child != self.child => continue,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = tokio::time::sleep(RECHECK) => {}
            }
            match self.read().await {
                Ok(()) => {}
                Err(e) => {
                    self.ended = true;
                    self.session.ended_by(&e);
                    return Some((Err(refusal(e)), self));
                }
            }
        }
    }

    /// The subscriber as they are now: still signed in, still allowed to read the child; then
    /// the changes since the last read, as they may see them.
    async fn read(&mut self) -> Result<(), ServiceError> {
        if chrono::Utc::now().timestamp() >= self.session.expires_at {
            return Err(ServiceError::Unauthenticated);
        }
        let reader = session::load_caller(&self.state, self.session.practitioner).await?;
        if !live::may_read(&self.state, reader.clone(), self.child).await? {
            return Err(ServiceError::NotFound);
        }
        let (events, place) = live::changes_to(&self.state, reader, self.child, self.place).await?;
        self.place = place;
        self.ready.extend(events);
        Ok(())
    }
}

/// A message Patchwork queued for the subscriber: what their mail says (initials, never a
/// name), for an app to show at once.
#[derive(async_graphql::SimpleObject)]
#[graphql(name = "NotificationEvent")]
pub struct NotificationEvent {
    pub id: ID,
    pub kind: crate::graphql::enums::NotificationKind,
    pub child_id: Option<ID>,
    pub subject: String,
    pub created_at: crate::graphql::scalars::Timestamp,
}

/// How far back each look at the outbox reaches: a message from a transaction that began
/// before the last look but committed after it is still found.
const LOOK_BACK: chrono::Duration = chrono::Duration::seconds(60);

/// One subscriber's stream of their own messages.
struct Inbox {
    state: AppState,
    session: Session,
    looked_at: chrono::DateTime<chrono::Utc>,
    sent: std::collections::HashMap<Uuid, chrono::DateTime<chrono::Utc>>,
    news: broadcast::Receiver<Uuid>,
    ready: VecDeque<crate::db::notifications::Received>,
    ended: bool,
}

impl Inbox {
    async fn next(mut self) -> Option<(Result<NotificationEvent>, Inbox)> {
        loop {
            if let Some(m) = self.ready.pop_front() {
                let event = NotificationEvent {
                    id: ID(m.id.to_string()),
                    kind: match m.kind.parse::<crate::graphql::enums::NotificationKind>() {
                        Ok(kind) => kind,
                        Err(_) => continue,
                    },
                    child_id: m.child_id.map(|c| ID(c.to_string())),
                    subject: m.subject,
                    created_at: crate::graphql::scalars::Timestamp(m.created_at),
                };
                return Some((Ok(event), self));
            }
            if self.ended {
                return None;
            }
            tokio::select! {
                news = self.news.recv() => {
                    if let Err(broadcast::error::RecvError::Closed) = news {
                        return None;
                    }
                }
                _ = tokio::time::sleep(RECHECK) => {}
            }
            if let Err(e) = self.read().await {
                self.ended = true;
                self.session.ended_by(&e);
                return Some((Err(refusal(e)), self));
            }
        }
    }

    /// The subscriber as they are now, then their messages not yet sent.
    async fn read(&mut self) -> Result<(), ServiceError> {
        if chrono::Utc::now().timestamp() >= self.session.expires_at {
            return Err(ServiceError::Unauthenticated);
        }
        session::load_caller(&self.state, self.session.practitioner).await?;
        let now = chrono::Utc::now();
        let since = self.looked_at - LOOK_BACK;
        let found = live::messages_since(&self.state, self.session.practitioner, since).await?;
        self.looked_at = now;
        for m in found {
            if self.sent.insert(m.id, m.created_at).is_none() {
                self.ready.push_back(m);
            }
        }
        self.sent.retain(|_, at| *at >= since);
        Ok(())
    }
}

#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// The child's team, tasks, contacts or lead changed, as the subscriber may see it: each
    /// change as the change feed describes it, from now on. A child the subscriber may not
    /// read is NOT_FOUND, like `child`.
    async fn team_changed(
        &self,
        ctx: &Context<'_>,
        child_id: ID,
    ) -> Result<impl Stream<Item = Result<ChangeEvent>>> {
        let state = ctx.state().clone();
        let reader = crate::graphql::context::reader(ctx).map_err(refusal)?;
        let session = ctx
            .data_opt::<Session>()
            .ok_or(ServiceError::Unauthenticated)
            .map_err(refusal)?
            .clone();
        let child = parse_id("childId", &child_id).map_err(refusal)?;
        if !live::may_read(&state, reader, child)
            .await
            .map_err(refusal)?
        {
            return Err(refusal(ServiceError::NotFound));
        }
        let news = state.live.subscribe(&state);
        let place = live::start(&state).await.map_err(refusal)?;
        let follow = Follow {
            state,
            session,
            child,
            place,
            news,
            ready: VecDeque::new(),
            ended: false,
        };
        Ok(futures_util::stream::unfold(follow, Follow::next))
    }

    /// Each message Patchwork queues for the subscriber from now on, to be mailed at once or in
    /// their digest (what the mail says: initials, never a name), so an app can show it at once.
    async fn my_notifications(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<NotificationEvent>>> {
        let state = ctx.state().clone();
        let session = ctx
            .data_opt::<Session>()
            .ok_or(ServiceError::Unauthenticated)
            .map_err(refusal)?
            .clone();
        let news = state.live.subscribe(&state);
        let now = chrono::Utc::now();
        // What was queued before now is not news.
        let sent = live::messages_since(&state, session.practitioner, now - LOOK_BACK)
            .await
            .map_err(refusal)?
            .into_iter()
            .map(|m| (m.id, m.created_at))
            .collect();
        let inbox = Inbox {
            state,
            session,
            looked_at: now,
            sent,
            news,
            ready: VecDeque::new(),
            ended: false,
        };
        Ok(futures_util::stream::unfold(inbox, Inbox::next))
    }
}
