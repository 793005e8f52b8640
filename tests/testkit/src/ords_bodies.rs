//! ORDS answer bodies for proptest, and this side's own reading of them: shared by the
//! unit proptest of the broker's reader (`broker/src/ords/answer/proptests.rs`) and
//! the end-to-end fuzz of the broker over HTTP (`broker/tests/it/ords_fuzz.rs`), so
//! both hold the broker to the same independent reading.

use proptest::prelude::*;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A status value, as this side reads the configured defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Suspended,
    Revoked,
}

/// What a 200 body says: no row, or a row with a status and an expiry (unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    NoRow,
    Row {
        status: Status,
        expires_at: Option<i64>,
    },
}

/// This side's reading of a 200 body: `Some(lookup)` or `None` for "cannot be read".
pub fn oracle(body: &[u8], id: &str) -> Option<Reading> {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let row = match object.get("items") {
        None => object,
        Some(Value::Array(items)) => {
            match object.get("hasMore") {
                None | Some(Value::Bool(false)) => {}
                _ => return None,
            }
            match items.as_slice() {
                [] => return Some(Reading::NoRow),
                [Value::Object(row)] => row.clone(),
                _ => return None,
            }
        }
        Some(_) => return None,
    };
    // A row for another customer never decides this one.
    match row.get("customer_id") {
        None => {}
        Some(Value::String(s)) if s == id => {}
        Some(Value::Number(n)) if n.as_u64().map(|n| n.to_string()).as_deref() == Some(id) => {}
        Some(_) => return None,
    }
    // Every configured column is a member, NULL or not: a missing one is a setting or a
    // query that does not match, never "no limit" or "any product". NULL is the only
    // value this reading knows for these (a seat-limited row needs a seat call the
    // stand-in cannot answer).
    for column in OPTIONAL_COLUMNS {
        if row.get(column)? != &Value::Null {
            return None;
        }
    }
    let status = match row.get("license_status")? {
        Value::String(s) if s == "ACTIVE" => Status::Active,
        Value::String(s) if s == "SUSPENDED" => Status::Suspended,
        Value::String(s) if s == "REVOKED" => Status::Revoked,
        _ => return None,
    };
    let expires_at = match row.get("expires_at")? {
        Value::Null => None,
        Value::String(s) => Some(OffsetDateTime::parse(s, &Rfc3339).ok()?.unix_timestamp()),
        _ => return None,
    };
    Some(Reading::Row { status, expires_at })
}

/// The default columns besides status and expiry, which the bodies hold as NULL.
const OPTIONAL_COLUMNS: [&str; 5] = [
    "max_machines",
    "product",
    "entitlements",
    "expiry_strategy",
    "key_serial",
];

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "\\PC{0,24}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{0,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn status_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop_oneof![Just("ACTIVE"), Just("SUSPENDED"), Just("REVOKED")].prop_map(|s| json!(s)),
        1 => prop_oneof![Just("active"), Just("ACTIVE "), Just(""), Just("EXPIRED"), Just("VALID")].prop_map(|s| json!(s)),
        1 => any_json(),
    ]
}

/// Expiry values: years far from now (so the oracle and the broker agree on "past"),
/// in DATE and TIMESTAMP form, NULL, and garbage.
fn expiry_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => Just(Value::Null),
        3 => (prop_oneof![1990i32..2020, 2040i32..2100], 1u8..13, 1u8..29, 0u8..24, any::<bool>()).prop_map(
            |(y, m, d, h, millis)| if millis {
                json!(format!("{y:04}-{m:02}-{d:02}T{h:02}:00:00.000Z"))
            } else {
                json!(format!("{y:04}-{m:02}-{d:02}T{h:02}:00:00Z"))
            }
        ),
        1 => prop_oneof![Just("2030-02-30T00:00:00Z"), Just("01/01/2030"), Just("2030-01-01"), Just("2030-01-01T00:00:00+02:00"), Just("2030-01-01t00:00:00z")].prop_map(|s| json!(s)),
        1 => any_json(),
    ]
}

fn row() -> impl Strategy<Value = Value> {
    (
        proptest::option::weighted(0.9, status_value()),
        proptest::option::weighted(0.9, expiry_value()),
        proptest::option::of(("[a-z_]{1,10}", any_json())),
        proptest::collection::vec(proptest::bool::weighted(0.9), OPTIONAL_COLUMNS.len()),
    )
        .prop_map(|(status, expiry, extra, present)| {
            let mut row = serde_json::Map::new();
            row.insert("customer_id".into(), json!(1));
            if let Some((k, v)) = extra {
                if !OPTIONAL_COLUMNS.contains(&k.as_str()) {
                    row.insert(k, v);
                }
            }
            for (column, present) in OPTIONAL_COLUMNS.iter().zip(present) {
                if present {
                    row.insert((*column).into(), Value::Null);
                }
            }
            if let Some(s) = status {
                row.insert("license_status".into(), s);
            }
            if let Some(e) = expiry {
                row.insert("expires_at".into(), e);
            }
            row.insert(
                "links".into(),
                json!([{"rel": "self", "href": "https://internal/x"}]),
            );
            Value::Object(row)
        })
}

pub fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => row().prop_map(|r| serde_json::to_vec(&r).unwrap()),
        3 => (proptest::collection::vec(prop_oneof![4 => row(), 1 => any_json()], 0..3), proptest::option::of(any::<bool>()))
            .prop_map(|(items, more)| {
                let mut c = json!({"items": items, "limit": 25, "offset": 0, "links": []});
                if let Some(m) = more {
                    c["hasMore"] = json!(m);
                }
                serde_json::to_vec(&c).unwrap()
            }),
        1 => any_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => proptest::collection::vec(any::<u8>(), 0..200),
    ]
}
