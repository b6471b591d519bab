//! `GET /graphql` with `Upgrade: websocket`: subscriptions over `graphql-transport-ws` (and the
//! older `graphql-ws`). async-graphql speaks the protocol; this drives the socket, closes it
//! with 4403 when the subscriber may no longer hold it (refused at `connection_init`, token
//! expired, deactivated), and runs only subscriptions, under the persisted-query rules.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason};
use async_graphql::futures_util::stream::BoxStream;
use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage};
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{Data, Executor, Request, Response};
use futures_util::{FutureExt, StreamExt};

use crate::graphql::error::code;
use crate::graphql::live::{connection_init, Hangup, Session};
use crate::graphql::PatchworkSchema;
use crate::http::graphql::{resolve_persisted, PersistedRefusal};
use crate::http::MAX_BODY_BYTES;
use crate::state::AppState;

/// How often the server pings, and how long a silent client is kept.
const HEARTBEAT: Duration = Duration::from_secs(5);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(15);
/// graphql-transport-ws: the subscriber may not hold this connection.
const FORBIDDEN: u16 = 4403;

pub async fn subscribe(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    schema: web::Data<PatchworkSchema>,
) -> actix_web::Result<HttpResponse> {
    let protocol = req
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|list| {
            list.split(',')
                .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
        })
        .ok_or_else(|| {
            actix_web::error::ErrorBadRequest(
                "a subscription needs the graphql-transport-ws subprotocol",
            )
        })?;
    let (mut response, session, messages) = actix_ws::handle(&req, payload)?;
    response.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(protocol.sec_websocket_protocol()),
    );
    let state = state.get_ref().clone();
    let gate = Gate {
        schema: schema.get_ref().clone(),
        state: state.clone(),
    };
    actix_web::rt::spawn(drive(gate, state, protocol, session, messages));
    Ok(response)
}

/// Relays between the socket and the protocol until either side ends, or the subscriber's
/// session does.
async fn drive(
    gate: Gate,
    state: AppState,
    protocol: WebSocketProtocols,
    mut session: actix_ws::Session,
    messages: actix_ws::MessageStream,
) {
    let (hangup, mut hung_up) = Hangup::new();
    let (to_protocol, from_client) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let incoming = futures_util::stream::unfold(from_client, |mut rx| async move {
        rx.recv().await.map(|m| (m, rx))
    });
    let mut protocol_out = WebSocket::new(gate, incoming, protocol)
        .on_connection_init(move |payload| connection_init(state, payload, hangup))
        .boxed();
    let mut messages = messages
        .aggregate_continuations()
        .max_continuation_size(MAX_BODY_BYTES);
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    let mut heard = Instant::now();
    let forbidden = |why: Option<String>| {
        Some((
            FORBIDDEN,
            why.unwrap_or_else(|| "the session has ended".into()),
        ))
    };
    let close: Option<(u16, String)> = loop {
        tokio::select! {
            incoming = messages.next() => match incoming {
                Some(Ok(AggregatedMessage::Text(text))) => {
                    heard = Instant::now();
                    if to_protocol.send(text.as_bytes().to_vec()).is_err() {
                        break None;
                    }
                }
                Some(Ok(AggregatedMessage::Binary(bytes))) => {
                    heard = Instant::now();
                    if to_protocol.send(bytes.to_vec()).is_err() {
                        break None;
                    }
                }
                Some(Ok(AggregatedMessage::Ping(bytes))) => {
                    heard = Instant::now();
                    if session.pong(&bytes).await.is_err() {
                        break None;
                    }
                }
                Some(Ok(AggregatedMessage::Pong(_))) => heard = Instant::now(),
                Some(Ok(AggregatedMessage::Close(_))) | Some(Err(_)) | None => break None,
            },
            outgoing = protocol_out.next() => match outgoing {
                Some(WsMessage::Text(text)) => {
                    if session.text(text).await.is_err() {
                        break None;
                    }
                }
                // A refused `connection_init` hangs up before the protocol closes (with 1002).
                Some(WsMessage::Close(code, why)) => match hung_up.borrow().clone() {
                    Some(reason) => break forbidden(Some(reason)),
                    None => break Some((code, why)),
                },
                None => break None,
            },
            changed = hung_up.changed() => {
                let reason = changed.ok().and_then(|()| hung_up.borrow().clone());
                break forbidden(reason);
            }
            _ = heartbeat.tick() => {
                if heard.elapsed() > CLIENT_TIMEOUT || session.ping(b"").await.is_err() {
                    break None;
                }
            }
        }
    };
    let reason = close.map(|(code, description)| CloseReason {
        code: CloseCode::from(code),
        description: Some(description),
    });
    let _ = session.close(reason).await;
}

/// What runs over a WebSocket: subscriptions only (queries and mutations go by HTTP, where
/// each request is authenticated, limited and audited as its own), each named by a persisted
/// document where the server asks for one.
#[derive(Clone)]
struct Gate {
    schema: PatchworkSchema,
    state: AppState,
}

impl Executor for Gate {
    async fn execute(&self, request: Request) -> Response {
        let mut stream = self.execute_stream(request, None);
        stream.next().await.unwrap_or_default()
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let gate = self.clone();
        async move {
            let mut requests = [request];
            let to_remember = match resolve_persisted(&gate.state, &mut requests).await {
                Ok(documents) => documents,
                Err(refused) => return futures_util::stream::once(async move { refused.answer() }).boxed(),
            };
            let [request] = requests;
            if !is_subscription(&request) {
                let answer = PersistedRefusal {
                    status: StatusCode::BAD_REQUEST,
                    message: "only subscriptions run over a WebSocket; send queries and mutations by HTTP",
                    code: code::GRAPHQL_VALIDATION_FAILED,
                }
                .answer();
                return futures_util::stream::once(async move { answer }).boxed();
            }
            let signed_in = session_data
                .as_deref()
                .and_then(|d| d.get(&std::any::TypeId::of::<Session>()))
                .is_some();
            if signed_in && !to_remember.is_empty() {
                if let Err(e) =
                    crate::service::persisted::remember(&gate.state, to_remember, false).await
                {
                    tracing::warn!(error = ?e, "persisted queries: could not remember a document");
                }
            }
            Executor::execute_stream(&gate.schema, request, session_data)
        }
        .flatten_stream()
        .boxed()
    }
}

/// Whether the operation the request names is a subscription (a document that does not
/// parse is left to the schema, which reports it).
fn is_subscription(request: &Request) -> bool {
    let Ok(doc) = async_graphql::parser::parse_query(&request.query) else {
        return true;
    };
    let ty = match (&doc.operations, request.operation_name.as_deref()) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| op.node.ty)
        }
        _ => None,
    };
    ty.is_none_or(|ty| ty == OperationType::Subscription)
}
