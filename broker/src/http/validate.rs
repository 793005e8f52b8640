//! `POST /v1/license/{validate,activate,deactivate,machines,checkout,checkin}`: one
//! body, one order of checks, one verdict service; only the [`Operation`] differs. The offline
//! endpoints (`/v1/license/offline/{activate,deactivate}`) take their request as a
//! code instead of JSON members (`offline` reads it) and then go the same way.
//!
//! Order matters: the per-address limit (before the body is read, so a flood costs
//! one map lookup each), content type, size, a concurrency slot (once the body is in),
//! JSON shape, field bounds, key format, the per-key limit, then the MAC. Only a key the broker itself minted ever leads to a
//! lookup; a forged one gets the same signed `NOT_FOUND` as an unknown customer,
//! without touching ORDS, and spends the address's `NOT_FOUND` budget like one (once
//! that is spent, the address's forged keys get a 429 and no signature).
//!
//! The response carries [`RequestFacts`] as an extension for the request log line
//! (the logging layer takes it out again).

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt as _;
use license_shared::{LicenseKey, ValidateRequest, VerdictCode, VerdictRequest};

use super::error::ApiError;
use super::offline;
use super::state::AppState;
use crate::guard::KeyId;
use crate::http::request_log::RequestFacts;
use crate::ords::check_id_segment;
use crate::verdict::{Echo, Operation, Signed};

/// Largest request body accepted. A real request is a few hundred bytes.
pub(super) const BODY_LIMIT: usize = 16 * 1024;

/// Which endpoint was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Validate,
    Activate,
    Deactivate,
    Machines,
    /// `POST /v1/license/offline/activate`: a request code, answered by a response code.
    OfflineActivate,
    /// `POST /v1/license/offline/deactivate`: a deactivation code.
    OfflineDeactivate,
    Checkout,
    Checkin,
}

impl Endpoint {
    /// The endpoint's last path segment, the `request.op` its verdicts name.
    fn op(self) -> &'static str {
        match self {
            Self::Validate => "validate",
            Self::Activate | Self::OfflineActivate => "activate",
            Self::Deactivate | Self::OfflineDeactivate => "deactivate",
            Self::Machines => "machines",
            Self::Checkout => "checkout",
            Self::Checkin => "checkin",
        }
    }
}

// The handlers return `handle`'s future itself rather than an `async fn` around it:
// one level of nesting less, so one move less of the request's future per request.
pub(super) fn validate(
    State(state): State<AppState>,
    request: Request,
) -> impl Future<Output = Response> {
    handle(state, request, Endpoint::Validate)
}

pub(super) fn activate(
    State(state): State<AppState>,
    request: Request,
) -> impl Future<Output = Response> {
    handle(state, request, Endpoint::Activate)
}

pub(super) fn deactivate(
    State(state): State<AppState>,
    request: Request,
) -> impl Future<Output = Response> {
    handle(state, request, Endpoint::Deactivate)
}

pub(super) fn machines(
    State(state): State<AppState>,
    request: Request,
) -> impl Future<Output = Response> {
    handle(state, request, Endpoint::Machines)
}

pub(super) fn offline_activate(
    State(state): State<AppState>,
    request: Request,
) -> impl Future<Output = Response> {
    handle(state, request, Endpoint::OfflineActivate)
}

pub(super) fn offline_deactivate(
    State(state): State<AppState>,
    request: Request,
) -> impl Future<Output = Response> {
    handle(state, request, Endpoint::OfflineDeactivate)
}

pub(super) fn checkout(
    State(state): State<AppState>,
    request: Request,
) -> impl Future<Output = Response> {
    handle(state, request, Endpoint::Checkout)
}

pub(super) fn checkin(
    State(state): State<AppState>,
    request: Request,
) -> impl Future<Output = Response> {
    handle(state, request, Endpoint::Checkin)
}

async fn handle(state: AppState, request: Request, endpoint: Endpoint) -> Response {
    let mut seen = RequestFacts::default();
    // The broker's own deadline (a 504) covers everything the request does, reading the
    // body as well as ORDS. (The other guard, a concurrency slot, is taken in `answer`
    // once the body is in.)
    let deadline = state.edge().request_timeout;
    let answered = tokio::time::timeout(deadline, answer(&state, request, endpoint, &mut seen))
        .await
        .unwrap_or(Err(ApiError::DeadlineExceeded));
    respond(&state, answered, seen)
}

/// The response for an endpoint's outcome (a deadline passed is
/// `ApiError::DeadlineExceeded`), carrying what the request log shows of it.
pub(super) fn respond(
    state: &AppState,
    answered: Result<Response, ApiError>,
    seen: RequestFacts,
) -> Response {
    let mut response = match answered {
        Ok(response) => response,
        Err(err) => {
            if let ApiError::RateLimited(limited) = &err {
                state.metrics().rate_limited(limited.kind);
            }
            err.into_response()
        }
    };
    response.extensions_mut().insert(seen);
    response
}

/// A JSON answer that no cache may keep: every one is signed over its own nonce.
pub(super) fn json_no_store(body: impl Into<Body>) -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body.into(),
    )
        .into_response()
}

/// A signed answer: the envelope's JSON and its code, and whether it answers an
/// offline request a second time.
pub(super) struct Decided {
    pub(super) envelope: Vec<u8>,
    pub(super) code: VerdictCode,
    pub(super) repeated: bool,
}

/// What a request asks, whichever endpoint and encoding it came in.
pub(super) struct Asked {
    pub(super) request: ValidateRequest,
    pub(super) operation: Operation,
    /// An offline request's device key (base64url), signed into the verdict's `request`.
    pub(super) device_key: Option<String>,
}

async fn answer(
    state: &AppState,
    request: Request,
    endpoint: Endpoint,
    seen: &mut RequestFacts,
) -> Result<Response, ApiError> {
    let (ip, body) = admit(state, request, seen).await?;
    // A slot among the broker's `max_concurrent` for the work (none free: a quick 503
    // with `Retry-After`, never a queue), held until the answer is ready. Taken only
    // now: a client that sends its body slowly, or never, must not hold one of them to
    // the deadline, or a few hundred addresses sending bodies a byte at a time would
    // keep every slot taken and every real validation refused.
    let _slot = state
        .capacity()
        .try_acquire()
        .map_err(|_| ApiError::Overloaded)?;
    let asked = match endpoint {
        Endpoint::OfflineActivate => offline::activation(&body)?,
        Endpoint::OfflineDeactivate => offline::deactivation(&body)?,
        _ => asked_online(endpoint, &body)?,
    };
    let decided = decide(state, endpoint, asked, ip, seen).await?;
    if endpoint == Endpoint::OfflineActivate {
        return offline::response_code(&decided);
    }
    let envelope = decided.envelope;
    // The envelope is signed as the JSON of the body (the same bytes `Json` would make
    // of it, without serde's pass over the base64 and a growing buffer).
    Ok(json_no_store(envelope))
}

/// The per-address limit (before the body is read, so a flood costs one map lookup
/// each), the content type and the body under its size limit.
pub(super) async fn admit(
    state: &AppState,
    request: Request,
    seen: &mut RequestFacts,
) -> Result<(IpAddr, Bytes), ApiError> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)), |c| c.0);
    let ip = state.trusted_proxies().client_ip(peer, request.headers());
    seen.client = Some(ip);
    state.limits().check_ip(ip).map_err(ApiError::RateLimited)?;
    if !is_json(request.headers()) {
        return Err(ApiError::UnsupportedMediaType);
    }
    // A declared length over the limit is refused before a byte is read: waiting for
    // a body that will be refused anyway would hold the connection to the deadline.
    if declared_length(request.headers()).is_some_and(|len| len > BODY_LIMIT as u64) {
        return Err(ApiError::PayloadTooLarge(BODY_LIMIT));
    }
    Ok((ip, read_body(request.into_body()).await?))
}

/// The JSON body of an online endpoint.
fn asked_online(endpoint: Endpoint, body: &[u8]) -> Result<Asked, ApiError> {
    let request: ValidateRequest = serde_json::from_slice(body)
        .map_err(|e| ApiError::InvalidRequest(format!("request body: {e}")))?;
    let operation = operation(endpoint, &request)?;
    Ok(Asked {
        request,
        operation,
        device_key: None,
    })
}

/// From a checked request to its signed verdict: the key's format and limits, its MAC,
/// and the verdict service.
async fn decide(
    state: &AppState,
    endpoint: Endpoint,
    asked: Asked,
    ip: IpAddr,
    seen: &mut RequestFacts,
) -> Result<Decided, ApiError> {
    let Asked {
        request,
        operation,
        device_key,
    } = asked;
    request
        .check()
        .map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    let key = LicenseKey::parse(&request.license_key)
        .map_err(|e| ApiError::InvalidRequest(format!("license_key: {e}")))?;
    // One key, one identity: the parser accepts any case, I/L for 1, O for 0 and
    // dashes or spaces anywhere, so the limit and the log fingerprint use the digest
    // of the key's data that the parser made for the check symbols, never the text as
    // sent (one hash of the key per request).
    let key_id = KeyId::of_key(&key);
    seen.key = Some(key_id.fingerprint());
    let limited = match (endpoint, &request.fingerprint) {
        (Endpoint::Checkout | Endpoint::Checkin, Some(fingerprint)) => {
            key_id.on_machine(fingerprint)
        }
        _ => key_id,
    };
    state
        .limits()
        .check_key(&limited)
        .map_err(ApiError::RateLimited)?;
    if matches!(endpoint, Endpoint::Activate | Endpoint::OfflineActivate) {
        state
            .limits()
            .check_activation(&key_id)
            .map_err(ApiError::RateLimited)?;
    }
    let id = key.customer_id();
    // Defence in depth: CustomerId already limits the alphabet, but the URL builder's
    // segment check has the final word on what may become a path segment. Only the
    // check runs here; the URL itself is built once, by the lookup.
    check_id_segment(id.as_str())
        .map_err(|e| ApiError::InvalidRequest(format!("license_key: {e}")))?;
    let mut asked = VerdictRequest::new(
        endpoint.op(),
        &request.license_key,
        request.product.as_deref(),
    );
    asked.device_key = device_key;
    let echo = Echo {
        request: asked,
        nonce: request.nonce,
        fingerprint: request.fingerprint,
    };
    let verified = state.license_keys().verify(&key);
    if !verified {
        state
            .limits()
            .check_not_found_budget(ip)
            .map_err(ApiError::RateLimited)?;
    }
    let decided = if verified {
        let answered = state
            .verdicts()
            .answer(
                &operation,
                id,
                key.serial(),
                request.product.as_deref(),
                echo,
            )
            .await;
        seen.upstream_status = answered.upstream_status;
        verdict(answered.result?)?
    } else {
        tracing::info!(customer_id = %id, "license key MAC does not verify; answering NOT_FOUND");
        Decided {
            envelope: state.verdicts().not_found(id, echo),
            code: VerdictCode::NotFound,
            repeated: false,
        }
    };
    let code = decided.code;
    state.metrics().verdict(code);
    seen.code = Some(code.as_str());
    if code == VerdictCode::NotFound {
        state.limits().record_not_found(ip);
    }
    Ok(decided)
}

/// The `Content-Length` the request declares, if it is a number.
pub(super) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// The signed envelope and its code, or the refusal that is no verdict.
fn verdict(signed: Signed) -> Result<Decided, ApiError> {
    match signed {
        Signed::Verdict(envelope, code) => Ok(Decided {
            envelope,
            code,
            repeated: false,
        }),
        Signed::Repeated(envelope, code) => Ok(Decided {
            envelope,
            code,
            repeated: true,
        }),
        Signed::ReleaseBudgetSpent {
            budget,
            window_secs,
        } => Err(ApiError::ReleaseBudgetSpent {
            budget,
            window_secs,
        }),
        Signed::NoSuchMachine => Err(ApiError::InvalidRequest(
            "machine_id names no machine holding a seat of this license; `license-check machines` lists them".into(),
        )),
    }
}

/// The whole body, at most [`BODY_LIMIT`] bytes (a chunked body, which declares no
/// length, is held to the limit as it streams). Read here rather than through axum's
/// `Bytes` extractor, which boxes the body once more to apply the same limit, or
/// `http_body_util`'s `collect`, which queues every frame: a request's few hundred
/// bytes arrive as one frame, which is kept as it is, uncopied.
pub(super) async fn read_body(mut body: Body) -> Result<Bytes, ApiError> {
    let unreadable = || ApiError::InvalidRequest("the request body could not be read".into());
    let mut whole = Bytes::new();
    let mut joined: Option<BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|_| unreadable())?.into_data() else {
            continue; // trailers carry nothing a request needs
        };
        let len = joined.as_ref().map_or(whole.len(), BytesMut::len) + data.len();
        if len > BODY_LIMIT {
            return Err(ApiError::PayloadTooLarge(BODY_LIMIT));
        }
        match &mut joined {
            Some(joined) => joined.extend_from_slice(&data),
            None if whole.is_empty() => whole = data,
            None => {
                let mut both = BytesMut::with_capacity(len);
                both.extend_from_slice(&whole);
                both.extend_from_slice(&data);
                joined = Some(both);
            }
        }
    }
    Ok(joined.map_or(whole, BytesMut::freeze))
}

/// The operation an endpoint performs, refusing members that belong to another one
/// (so a client bug is a clear 400, not a silently ignored field).
fn operation(endpoint: Endpoint, request: &ValidateRequest) -> Result<Operation, ApiError> {
    let refuse = |member: &str, only: &str| {
        Err(ApiError::InvalidRequest(format!(
            "{member} is only accepted by /v1/license/{only}"
        )))
    };
    if request.machine_name.is_some()
        && !matches!(endpoint, Endpoint::Activate | Endpoint::Checkout)
    {
        return refuse("machine_name", "activate and /v1/license/checkout");
    }
    if request.borrow_days.is_some() && endpoint != Endpoint::Checkout {
        return refuse("borrow_days", "checkout");
    }
    if request.machine_id.is_some() && endpoint != Endpoint::Deactivate {
        return refuse("machine_id", "deactivate");
    }
    if endpoint != Endpoint::Validate && request.fingerprint.is_none() {
        return Err(ApiError::InvalidRequest(
            "fingerprint is required: a seat belongs to one machine".into(),
        ));
    }
    Ok(match endpoint {
        Endpoint::Validate => Operation::Validate,
        Endpoint::Activate => Operation::Activate {
            machine_name: request.machine_name.clone(),
            activation_ref: None,
        },
        Endpoint::Deactivate => Operation::Deactivate {
            machine_id: request.machine_id.clone(),
            activation_ref: None,
        },
        Endpoint::Machines => Operation::Machines,
        Endpoint::OfflineActivate | Endpoint::OfflineDeactivate => {
            return Err(ApiError::Internal(
                "an offline request was read as an online one".into(),
            ))
        }
        Endpoint::Checkout => Operation::Checkout {
            machine_name: request.machine_name.clone(),
            borrow_days: request.borrow_days.unwrap_or(0),
        },
        Endpoint::Checkin => Operation::Checkin,
    })
}

/// `application/json`, with or without parameters such as `charset=utf-8`.
pub(super) fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return false;
    };
    // What every client sends, checked first: one comparison instead of the split.
    value.as_bytes() == b"application/json"
        || value
            .to_str()
            .ok()
            .and_then(|v| v.split(';').next())
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}
