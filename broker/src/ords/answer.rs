//! Reading an ORDS answer into a license row, or refusing to.
//!
//! ORDS answers a `json/item` handler with one flat object (columns plus `links`) and a
//! `json/collection` handler with `{"items":[…], "hasMore":…, "links":[…]}`. Both are
//! read; anything that does not fit exactly (no status, an unknown status value, an
//! unparseable date, more than one row) is a [`UpstreamError::BadResponse`]. A guessed
//! verdict would either lock out a paying customer or unlock a revoked one.

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use license_shared::{CustomerId, ExpiryStrategy};

use super::config::{Columns, StatusValues};
use super::error::UpstreamError;
use super::strict_json;
use crate::config::vars as var;

/// What ORDS knows about one customer id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// No row: an empty collection, or (when the item reading is on) a `404` that is
    /// ORDS's own `NotFound` problem JSON; see [`classify_404`].
    NoRow,
    /// Exactly one row, read with confidence.
    Row(LicenseRow),
}

/// The columns a verdict depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LicenseRow {
    pub status: LicenseStatus,
    /// Unix seconds; `None` is a NULL expiry (a perpetual license).
    pub expires_at: Option<i64>,
    /// How many machines may hold a seat; `None` (a NULL) is unlimited.
    pub max_machines: Option<u32>,
    /// The product the license is for; `None` (a NULL): any.
    pub product: Option<String>,
    /// What the license lets the app do; empty for a NULL.
    pub entitlements: Vec<String>,
    /// What expiry means; REVOKE_ACCESS for a NULL.
    pub expiry_strategy: ExpiryStrategy,
    /// The serial of the license's current key; 0 for a NULL. A key of another serial
    /// licenses nothing.
    pub key_serial: u32,
}

/// The status column, mapped through the configured values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LicenseStatus {
    Active,
    Suspended,
    Revoked,
}

/// Reads the body of a `200` answer to the lookup of `id`.
pub(super) fn read(
    body: &[u8],
    columns: &Columns,
    statuses: &StatusValues,
    id: &CustomerId,
) -> Result<Lookup, UpstreamError> {
    let value = strict_json::parse(body)?;
    let Value::Object(object) = value else {
        return Err(UpstreamError::BadResponse(
            "the answer is not a JSON object".into(),
        ));
    };
    match object.get("items") {
        // json/collection: zero rows is "no such license", two or more is ambiguous.
        Some(Value::Array(items)) => {
            match object.get("hasMore") {
                None | Some(Value::Bool(false)) => {}
                Some(Value::Bool(true)) => {
                    return Err(UpstreamError::BadResponse(
                        "the collection has more than one page of rows".into(),
                    ))
                }
                Some(_) => {
                    return Err(UpstreamError::BadResponse(
                        "the collection's hasMore is not true or false".into(),
                    ))
                }
            }
            match items.as_slice() {
                [] => Ok(Lookup::NoRow),
                [Value::Object(row)] => read_row(row, columns, statuses, id).map(Lookup::Row),
                [_] => Err(UpstreamError::BadResponse(
                    "the collection's row is not an object".into(),
                )),
                more => Err(UpstreamError::BadResponse(format!(
                    "the collection has {} rows for one customer id",
                    more.len()
                ))),
            }
        }
        Some(_) => Err(UpstreamError::BadResponse("`items` is not an array".into())),
        // json/item: the object is the row.
        None => read_row(&object, columns, statuses, id).map(Lookup::Row),
    }
}

/// What a `404` from ORDS means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotFoundKind {
    /// ORDS's own `NotFound` problem JSON: the handler ran and found no row (or the
    /// template under a mapped schema does not exist, which looks the same).
    NoRow,
    /// ORDS's "could not be mapped to any database" 404: the schema alias in the URL
    /// is unknown (renamed alias, wrong base URL). Never a customer's answer.
    Unmapped,
    /// Not ORDS problem JSON at all (an HTML page, a proxy's or another server's 404,
    /// an empty body, JSON with another `code`): the request did not reach a handler.
    NotOrds,
}

/// The message ORDS puts in the 404 for a URL that matches no schema alias.
const NOT_MAPPED: &str = "could not be mapped";

/// The `type` of ORDS's own NotFound problem (ORDS 20.4 and later). Other servers'
/// 404 problem bodies look alike (ASP.NET's `{"title":"Not Found","status":404}`,
/// Spring's `{"title":"Not Found","detail":"No static resource …"}`) but never carry it.
const ORDS_NOT_FOUND_TYPE: &str = "tag:oracle.com,2020:error/NotFound";

/// Reads the body of a `404`: only ORDS's own `NotFound` problem JSON (`code`
/// `NotFound` and `type` [`ORDS_NOT_FOUND_TYPE`]) whose message is not the "could not
/// be mapped" one counts as "no row". Anything else, however much it looks like a
/// problem body, is a proxy or another server, and a deny signed on it would replace
/// every customer's cached lease.
pub(super) fn classify_404(body: &[u8]) -> NotFoundKind {
    let Ok(Value::Object(problem)) = serde_json::from_slice::<Value>(body) else {
        return NotFoundKind::NotOrds;
    };
    let says = |member: &str| match problem.get(member) {
        Some(Value::String(text)) => text.to_ascii_lowercase().contains(NOT_MAPPED),
        _ => false,
    };
    if says("message") || says("title") || says("detail") {
        return NotFoundKind::Unmapped;
    }
    let is = |member: &str, expected: &str| matches!(problem.get(member), Some(Value::String(text)) if text == expected);
    if is("code", "NotFound") && is("type", ORDS_NOT_FOUND_TYPE) {
        NotFoundKind::NoRow
    } else {
        NotFoundKind::NotOrds
    }
}

/// Text from ORDS as a log line may carry it: quoted, with control and invisible
/// characters escaped (a body cannot forge or break log lines), and cut to
/// `max_chars`. It is database data, never a token: the bearer token is only ever
/// sent, and no ORDS answer echoes it.
pub(super) fn shown(text: &str, max_chars: usize) -> String {
    let mut kept: String = text.chars().take(max_chars).collect();
    if kept.len() < text.len() {
        kept.push('…');
    }
    format!("{kept:?}")
}

/// One row, read column by column; any column that cannot be read with confidence
/// makes the whole row an error.
///
/// Every configured column must be a member of the row, NULL or not. ORDS prints every
/// column a query selects, a NULL as `null` ("NULL → null", ORDS database type
/// mappings: <https://docs.oracle.com/en/database/oracle/oracle-rest-data-services/19.2/aelig/ords-database-type-mappings.html>),
/// so a missing member is a column the query does not select or a setting with a typo.
/// Reading that as a NULL would fail open: no seat limit, any product.
fn read_row<'a>(
    row: &'a Map<String, Value>,
    columns: &'a Columns,
    statuses: &StatusValues,
    id: &CustomerId,
) -> Result<LicenseRow, UpstreamError> {
    check_id(row.get(&columns.id), &columns.id, id)?;
    let column = |name: &'a String, setting: &'static str| -> Result<Column<'a>, UpstreamError> {
        match row.get(name) {
            Some(value) => Ok((value, name)),
            None => Err(missing(name, setting)),
        }
    };
    Ok(LicenseRow {
        status: read_status(column(&columns.status, var::STATUS_COLUMN)?, statuses)?,
        expires_at: read_expiry(column(&columns.expiry, var::EXPIRY_COLUMN)?)?,
        max_machines: read_max_machines(column(&columns.max_machines, var::MAX_MACHINES_COLUMN)?)?,
        product: read_product(column(&columns.product, var::PRODUCT_COLUMN)?)?,
        entitlements: read_entitlements(column(&columns.entitlements, var::ENTITLEMENTS_COLUMN)?)?,
        expiry_strategy: read_expiry_strategy(column(
            &columns.expiry_strategy,
            var::EXPIRY_STRATEGY_COLUMN,
        )?)?,
        key_serial: read_key_serial(column(&columns.key_serial, var::KEY_SERIAL_COLUMN)?)?,
    })
}

/// A column's value in the row and its name.
type Column<'a> = (&'a Value, &'a str);

/// `column NAME PROBLEM`, the error of a column that holds what it should not.
fn bad(name: &str, problem: &str) -> UpstreamError {
    UpstreamError::BadResponse(format!("column {name} {problem}"))
}

/// The error of a configured column the row lacks: it names the column and the setting
/// that names it, and says how to mend either side.
fn missing(name: &str, setting: &str) -> UpstreamError {
    UpstreamError::BadResponse(format!(
        "the row has no column {name} (named by {setting}): correct {setting}, or select \
         {name} in the ORDS handler's query (NULL AS {name} when the table has no such column)"
    ))
}

/// A row for another customer (a handler bound to the wrong parameter, a cache in
/// front of ORDS keyed without the id) must never decide this customer's verdict.
fn check_id(value: Option<&Value>, name: &str, id: &CustomerId) -> Result<(), UpstreamError> {
    match value {
        None => Ok(()),
        Some(value) if is_same_id(value, id.as_str()) => Ok(()),
        Some(_) => Err(UpstreamError::BadResponse(format!(
            "the row's {name} is not the customer id that was looked up"
        ))),
    }
}

/// Required: one of the configured status values.
fn read_status(
    (value, name): Column<'_>,
    statuses: &StatusValues,
) -> Result<LicenseStatus, UpstreamError> {
    match value {
        Value::String(text) => status(text, statuses).ok_or_else(|| {
            let problem = format!(
                "holds {}, which is none of the configured status values",
                shown(text, 32)
            );
            bad(name, &problem)
        }),
        _ => Err(bad(name, "is not a string")),
    }
}

/// Required, may be null (no expiry): a DATE or TIMESTAMP.
fn read_expiry((value, name): Column<'_>) -> Result<Option<i64>, UpstreamError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => parse_time(text)
            .map(Some)
            .ok_or_else(|| bad(name, "is not a DATE or TIMESTAMP in RFC 3339 form")),
        _ => Err(bad(name, "is neither a date string nor null")),
    }
}

/// A whole number of machines, or null (unlimited).
fn read_max_machines((value, name): Column<'_>) -> Result<Option<u32>, UpstreamError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| bad(name, "is not a whole number of machines")),
        _ => Err(bad(name, "is neither a number nor null")),
    }
}

/// A product code, or null (any product).
fn read_product((value, name): Column<'_>) -> Result<Option<String>, UpstreamError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) if license_shared::is_product_code(text) => Ok(Some(text.clone())),
        _ => Err(bad(
            name,
            "is not a product code (A-Z, a-z, 0-9, '.', '_', '-', at most 64)",
        )),
    }
}

/// A comma-separated list of entitlement names, or null (none).
fn read_entitlements((value, name): Column<'_>) -> Result<Vec<String>, UpstreamError> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::String(text) => entitlement_list(text)
            .ok_or_else(|| bad(name, "is not a comma-separated list of entitlement names")),
        _ => Err(bad(name, "is neither a string nor null")),
    }
}

/// A whole number from 0 to 4294967295, or null (0, the first key).
fn read_key_serial((value, name): Column<'_>) -> Result<u32, UpstreamError> {
    match value {
        Value::Null => Ok(0),
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| bad(name, "is not a whole number from 0 to 4294967295")),
        _ => Err(bad(name, "is neither a number nor null")),
    }
}

/// `REVOKE_ACCESS`, `MAINTAIN_ACCESS`, or null (revoke access at expiry).
fn read_expiry_strategy((value, name): Column<'_>) -> Result<ExpiryStrategy, UpstreamError> {
    match value {
        Value::Null => Ok(ExpiryStrategy::RevokeAccess),
        Value::String(text) if text == "REVOKE_ACCESS" => Ok(ExpiryStrategy::RevokeAccess),
        Value::String(text) if text == "MAINTAIN_ACCESS" => Ok(ExpiryStrategy::MaintainAccess),
        _ => Err(bad(
            name,
            "is neither REVOKE_ACCESS, MAINTAIN_ACCESS nor null",
        )),
    }
}

/// `export,sync` as names. Read with confidence: a name that is empty or holds
/// anything but `a-z 0-9 . _ -` makes the whole list unreadable, never a shorter list
/// (an app would silently lose a paid feature, or a typo grant one). An empty string
/// is Oracle's NULL and means none.
fn entitlement_list(text: &str) -> Option<Vec<String>> {
    if text.trim().is_empty() {
        return Some(Vec::new());
    }
    let mut names = Vec::new();
    for name in text.split(',').map(str::trim) {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            });
        if !ok {
            return None;
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    Some(names)
}

/// The id column as ORDS prints it: a string, or a NUMBER (above 10 digits ORDS may
/// print it in exponent form, `1.2345678901E10`, which is still exactly that integer).
fn is_same_id(value: &Value, id: &str) -> bool {
    match value {
        Value::String(text) => text == id,
        Value::Number(n) => match (n.as_u64(), id.parse::<u64>()) {
            (Some(a), Ok(b)) => a == b,
            _ => {
                let (Some(a), Ok(b)) = (n.as_f64(), id.parse::<u64>()) else {
                    return false;
                };
                // Exact only while the integer fits f64's 53-bit mantissa.
                a.fract() == 0.0 && b < (1 << 53) && a == b as f64
            }
        },
        _ => false,
    }
}

fn status(text: &str, statuses: &StatusValues) -> Option<LicenseStatus> {
    let is = |list: &[String]| list.iter().any(|v| v == text);
    if is(&statuses.revoked) {
        Some(LicenseStatus::Revoked)
    } else if is(&statuses.suspended) {
        Some(LicenseStatus::Suspended)
    } else if is(&statuses.active) {
        Some(LicenseStatus::Active)
    } else {
        None
    }
}

/// DATE `2026-01-01T00:00:00Z` and TIMESTAMP `2026-01-01T00:00:00.000Z`, as unix seconds.
fn parse_time(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> Columns {
        Columns::default()
    }

    /// An ACTIVE, perpetual row with every default column, NULL unless `members` (raw
    /// JSON values) says otherwise; a member whose value is empty is left out.
    fn row_with(members: &[(&str, &str)]) -> String {
        let mut row: Vec<(String, String)> = [
            ("license_status", r#""ACTIVE""#),
            ("expires_at", "null"),
            ("max_machines", "null"),
            ("product", "null"),
            ("entitlements", "null"),
            ("expiry_strategy", "null"),
            ("key_serial", "null"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        for (name, value) in members {
            row.retain(|(k, _)| k != name);
            if !value.is_empty() {
                row.push(((*name).to_owned(), (*value).to_owned()));
            }
        }
        let members: Vec<String> = row.iter().map(|(k, v)| format!(r#""{k}":{v}"#)).collect();
        format!("{{{}}}", members.join(","))
    }

    #[test]
    fn a_configured_column_missing_from_the_row_is_an_error_naming_it_and_its_setting() {
        for (column, setting) in [
            ("license_status", var::STATUS_COLUMN),
            ("expires_at", var::EXPIRY_COLUMN),
            ("max_machines", var::MAX_MACHINES_COLUMN),
            ("product", var::PRODUCT_COLUMN),
            ("entitlements", var::ENTITLEMENTS_COLUMN),
            ("expiry_strategy", var::EXPIRY_STRATEGY_COLUMN),
            ("key_serial", var::KEY_SERIAL_COLUMN),
        ] {
            let body = row_with(&[(column, "")]);
            let Err(UpstreamError::BadResponse(message)) = read_str(&body) else {
                panic!("a row without {column} was read: {body}");
            };
            assert!(
                message.contains(&format!("no column {column}")) && message.contains(setting),
                "{message}"
            );
        }
        // A typo in a setting (max_machine for max_machines) is the same error, never
        // "no limit" or "any product".
        let typo = Columns {
            max_machines: "max_machine".into(),
            ..Columns::default()
        };
        let id = CustomerId::parse("1").unwrap();
        let limited = row_with(&[("max_machines", "2")]);
        let read_typo = read(limited.as_bytes(), &typo, &StatusValues::default(), &id);
        assert!(
            matches!(&read_typo, Err(UpstreamError::BadResponse(m)) if m.contains("max_machine ")),
            "{read_typo:?}"
        );
        let typo = Columns {
            product: "prodcut".into(),
            ..Columns::default()
        };
        let bound = row_with(&[("product", r#""desktop-lite""#)]);
        let read_typo = read(bound.as_bytes(), &typo, &StatusValues::default(), &id);
        assert!(matches!(read_typo, Err(UpstreamError::BadResponse(_))));
        // A NULL is a value, not a missing column: all NULL reads as the defaults.
        assert_eq!(
            read_str(&row_with(&[])).unwrap(),
            row(LicenseStatus::Active, None)
        );
    }

    #[test]
    fn product_entitlements_and_strategy_are_read_with_confidence() {
        let Ok(Lookup::Row(row)) = read_str(
            r#"{"customer_id":1,"product":"desktop-pro","license_status":"ACTIVE","expires_at":null,"max_machines":null,"entitlements":"export, sync,export","expiry_strategy":"MAINTAIN_ACCESS","key_serial":null}"#,
        ) else {
            panic!("a readable row")
        };
        assert_eq!(row.product.as_deref(), Some("desktop-pro"));
        assert_eq!(row.entitlements, ["export", "sync"]);
        assert_eq!(row.expiry_strategy, ExpiryStrategy::MaintainAccess);
        // NULL in each: any product, no entitlements, revoke at expiry.
        let Ok(Lookup::Row(plain)) = read_str(&row_with(&[])) else {
            panic!("a readable row")
        };
        assert_eq!(
            (
                plain.product,
                plain.entitlements.len(),
                plain.expiry_strategy
            ),
            (None, 0, ExpiryStrategy::RevokeAccess)
        );
        for broken in [
            ("entitlements", r#""export,,sync""#),
            ("entitlements", r#""Export""#),
            ("entitlements", r#""export;sync""#),
            ("entitlements", r#"["export"]"#),
            ("expiry_strategy", r#""RESTRICT_ACCESS""#),
            ("product", r#""desktop pro""#),
            ("product", "7"),
        ] {
            let body = row_with(&[broken]);
            assert!(
                matches!(read_str(&body), Err(UpstreamError::BadResponse(_))),
                "{broken:?}"
            );
        }
    }

    #[test]
    fn the_key_serial_is_read_with_confidence() {
        let serial = |value: &str| match read_str(&row_with(&[("key_serial", value)])) {
            Ok(Lookup::Row(row)) => Some(row.key_serial),
            _ => None,
        };
        assert_eq!(serial("null"), Some(0), "NULL is the first key");
        assert_eq!(serial("0"), Some(0));
        assert_eq!(serial("3"), Some(3));
        assert_eq!(serial("4294967295"), Some(u32::MAX));
        for broken in ["-1", "2.5", "\"2\"", "4294967296", "1e20", "true"] {
            assert_eq!(serial(broken), None, "{broken}");
        }
    }

    #[test]
    fn the_machine_limit_is_read_with_confidence() {
        let limited = read_str(&row_with(&[("max_machines", "2")]));
        assert!(matches!(
            limited,
            Ok(Lookup::Row(LicenseRow {
                max_machines: Some(2),
                ..
            }))
        ));
        assert!(matches!(
            read_str(&row_with(&[("max_machines", "null")])),
            Ok(Lookup::Row(LicenseRow {
                max_machines: None,
                ..
            }))
        ));
        for broken in ["-1", "2.5", "\"2\"", "1e20"] {
            let body = row_with(&[("max_machines", broken)]);
            assert!(
                matches!(read_str(&body), Err(UpstreamError::BadResponse(_))),
                "{broken}"
            );
        }
    }

    fn read_str(body: &str) -> Result<Lookup, UpstreamError> {
        let id = CustomerId::parse("1").unwrap();
        read(body.as_bytes(), &columns(), &StatusValues::default(), &id)
    }

    #[test]
    fn duplicate_members_odd_has_more_and_foreign_rows_are_never_read() {
        for ambiguous in [
            r#"{"license_status":"REVOKED","license_status":"ACTIVE","expires_at":null,"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null}"#,
            r#"{"items":[{"license_status":"ACTIVE","expires_at":null,"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null}],"items":[]}"#,
            r#"{"items":[{"license_status":"ACTIVE","expires_at":null,"expires_at":"2020-01-01T00:00:00Z"}]}"#,
            r#"{"items":[{"license_status":"ACTIVE","expires_at":null,"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null}],"hasMore":"true"}"#,
            r#"{"items":[{"license_status":"ACTIVE","expires_at":null,"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null}],"hasMore":1}"#,
            r#"{"customer_id":2,"license_status":"ACTIVE","expires_at":null,"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null}"#,
            r#"{"customer_id":"2","license_status":"ACTIVE","expires_at":null,"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null}"#,
            r#"{"items":[{"customer_id":11,"license_status":"ACTIVE","expires_at":null,"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null}]}"#,
        ] {
            assert!(
                matches!(read_str(ambiguous), Err(UpstreamError::BadResponse(_))),
                "{ambiguous}"
            );
        }
        for own in [
            r#"{"customer_id":1,"license_status":"ACTIVE","expires_at":null,"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null}"#,
            r#"{"customer_id":"1","license_status":"ACTIVE","expires_at":null,"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null}"#,
            r#"{"items":[{"customer_id":1,"license_status":"ACTIVE","expires_at":null,"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null}],"hasMore":false}"#,
        ] {
            assert!(matches!(read_str(own), Ok(Lookup::Row(_))), "{own}");
        }
    }

    #[test]
    fn ids_over_ten_digits_in_exponent_form_are_the_same_id() {
        let id = CustomerId::parse("12345678901").unwrap();
        let body =
            br#"{"customer_id":1.2345678901E10,"license_status":"ACTIVE","expires_at":null,"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null}"#;
        assert!(matches!(
            read(body, &columns(), &StatusValues::default(), &id),
            Ok(Lookup::Row(_))
        ));
        let other =
            br#"{"customer_id":1.2345678902E10,"license_status":"ACTIVE","expires_at":null,"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null}"#;
        assert!(read(other, &columns(), &StatusValues::default(), &id).is_err());
    }

    fn row(status: LicenseStatus, expires_at: Option<i64>) -> Lookup {
        Lookup::Row(LicenseRow {
            status,
            expires_at,
            max_machines: None,
            product: None,
            entitlements: Vec::new(),
            expiry_strategy: ExpiryStrategy::RevokeAccess,
            key_serial: 0,
        })
    }

    #[test]
    fn reads_item_and_collection_shapes() {
        let item = r#"{"customer_id":1,"license_status":"ACTIVE","expires_at":"2030-01-01T00:00:00Z","max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"links":[{"rel":"self","href":"https://internal/ords/page/customers/validation/1"}]}"#;
        assert_eq!(
            read_str(item).unwrap(),
            row(LicenseStatus::Active, Some(1_893_456_000))
        );
        let collection = r#"{"items":[{"customer_id":1,"license_status":"SUSPENDED","expires_at":"2030-01-01T00:00:00.000Z","max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null}],"hasMore":false,"limit":25,"offset":0,"count":1,"links":[]}"#;
        assert_eq!(
            read_str(collection).unwrap(),
            row(LicenseStatus::Suspended, Some(1_893_456_000))
        );
        let empty = r#"{"items":[],"hasMore":false,"limit":25,"offset":0,"count":0,"links":[]}"#;
        assert_eq!(read_str(empty).unwrap(), Lookup::NoRow);
        let perpetual = row_with(&[("license_status", r#""REVOKED""#)]);
        assert_eq!(
            read_str(&perpetual).unwrap(),
            row(LicenseStatus::Revoked, None)
        );
    }

    #[test]
    fn what_cannot_be_read_with_confidence_is_an_error() {
        let bad = [
            "<html>503</html>",
            "[]",
            r#"{"license_status":"active","expires_at":null}"#,
            r#"{"license_status":"MAYBE","expires_at":null}"#,
            r#"{"license_status":1,"expires_at":null}"#,
            r#"{"expires_at":null}"#,
            r#"{"license_status":"ACTIVE"}"#,
            r#"{"license_status":"ACTIVE","expires_at":"01/01/2030"}"#,
            r#"{"license_status":"ACTIVE","expires_at":1893456000}"#,
            r#"{"items":[{"license_status":"ACTIVE","expires_at":null,"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null},{"license_status":"REVOKED","expires_at":null}]}"#,
            r#"{"items":[],"hasMore":true}"#,
            r#"{"items":{}}"#,
            r#"{"items":[1]}"#,
        ];
        for body in bad {
            assert!(
                matches!(read_str(body), Err(UpstreamError::BadResponse(_))),
                "{body}"
            );
        }
    }

    #[test]
    fn only_ords_not_found_problem_json_is_a_missing_row() {
        let ords = r#"{
    "code": "NotFound",
    "message": "Not Found",
    "type": "tag:oracle.com,2020:error/NotFound",
    "instance": "tag:oracle.com,2020:ecid/w4UbuYdZgYcyPtP86tRUrg"
}
"#;
        assert_eq!(classify_404(ords.as_bytes()), NotFoundKind::NoRow);
        let unmapped = r#"{"code":"NotFound","message":"The request could not be mapped to any database. Check the request URL is correct, and that URL to database mappings have been correctly configured","type":"tag:oracle.com,2020:error/NotFound"}"#;
        assert_eq!(classify_404(unmapped.as_bytes()), NotFoundKind::Unmapped);
        let not_ords: [&[u8]; 10] = [
            b"<html><body>404 Not Found</body></html>",
            b"",
            b"{}",
            br#"{"code":"Unauthorized"}"#,
            br#"["NotFound"]"#,
            // Plain JSON from any server that happens to say NotFound.
            br#"{"code":"NotFound"}"#,
            br#"{"code":"NotFound","type":"about:blank"}"#,
            // ASP.NET Core's and Spring's problem bodies (a misrouted gateway).
            br#"{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.5","title":"Not Found","status":404,"traceId":"00-1"}"#,
            br#"{"type":"about:blank","title":"Not Found","status":404,"detail":"No static resource customers/validation/1.","instance":"/customers/validation/1"}"#,
            br#"{"code":"NotFound","type":"tag:oracle.com,2020:error/Unauthorized"}"#,
        ];
        for body in not_ords {
            assert_eq!(
                classify_404(body),
                NotFoundKind::NotOrds,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn column_names_and_values_are_configurable() {
        let columns = Columns {
            id: "id".into(),
            expiry: "valid_to".into(),
            status: "state".into(),
            max_machines: "seats".into(),
            product: "sku".into(),
            entitlements: "features".into(),
            expiry_strategy: "on_expiry".into(),
            key_serial: "key_generation".into(),
        };
        let statuses = StatusValues {
            active: vec!["A".into(), "ACTIVE".into()],
            suspended: vec!["S".into()],
            revoked: vec!["R".into()],
        };
        let body = br#"{"state":"A","valid_to":null,"seats":null,"sku":null,"features":null,"on_expiry":null,"key_generation":null}"#;
        assert_eq!(
            read(body, &columns, &statuses, &CustomerId::parse("1").unwrap()).unwrap(),
            row(LicenseStatus::Active, None)
        );
    }
}
