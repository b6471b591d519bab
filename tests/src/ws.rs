//! A `graphql-transport-ws` client over a real WebSocket, as an app's live screen speaks it.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/graphql` on the server at `port` as a WebSocket speaking `graphql-transport-ws`
/// (the server must choose it) and sends `connection_init` with `payload`.
pub async fn open(port: u16, payload: Value) -> Socket {
    let mut req = format!("ws://127.0.0.1:{port}/graphql")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, res) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        res.headers()["sec-websocket-protocol"],
        "graphql-transport-ws"
    );
    send(
        &mut ws,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    ws
}

/// [`open`] with the token as an app sends it, not yet acknowledged.
pub async fn connect(port: u16, token: &str) -> Socket {
    open(port, json!({ "authorization": format!("Bearer {token}") })).await
}

/// [`connect`], then waits for the server's `connection_ack`.
pub async fn connected(port: u16, token: &str) -> Socket {
    let mut ws = connect(port, token).await;
    assert_eq!(receive(&mut ws).await.unwrap()["type"], "connection_ack");
    ws
}

pub async fn send(ws: &mut Socket, message: Value) {
    ws.send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next protocol message (pings answered), `{"closed": code}` when the server closed, or
/// None when the connection was cut. Fails the test after 15 s without one.
pub async fn receive(ws: &mut Socket) -> Option<Value> {
    // One deadline for the message, however many WebSocket pings come first.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let next = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("a message within 15 s");
        match next {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "ping" {
                    send(ws, json!({ "type": "pong" })).await;
                    continue;
                }
                return Some(v);
            }
            Some(Ok(Message::Close(frame))) => {
                return Some(json!({ "closed": frame.map(|f| u16::from(f.code)) }))
            }
            Some(Ok(_)) => continue,
            _ => return None,
        }
    }
}
