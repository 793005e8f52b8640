//! `bench-ref`: the smallest axum server that answers JSON, the reference the broker's
//! `/healthz` and `/v1/license/validate` are compared with. Same runtime shape as the
//! broker (tokio multi-thread, axum 0.8, HTTP/1), nothing else: no middleware, no log.
//!
//! `bench-ref [ADDR]` (default `127.0.0.1:0`); prints `listening on http://ADDR`.

use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

async fn answer() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/json", get(answer))
        .route("/json", post(answer));
    axum::serve(listener, app).await?;
    Ok(())
}
