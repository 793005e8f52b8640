//! The in-memory `LICENSES` table and how ORDS renders its rows.
//!
//! The columns mirror `deploy/ords/schema.sql`:
//!
//! | column           | Oracle type    | JSON                                   |
//! |------------------|----------------|----------------------------------------|
//! | `customer_id`    | NUMBER         | number                                 |
//! | `product`        | VARCHAR2(64)   | string or `null`                       |
//! | `license_status` | VARCHAR2(16)   | `"ACTIVE"`, `"SUSPENDED"`, `"REVOKED"` |
//! | `expires_at`     | DATE           | `"2026-01-01T00:00:00Z"` or `null`     |
//! | `updated_at`     | TIMESTAMP      | `"2025-01-01T00:00:00.000Z"` or `null` |
//! | `max_machines`   | NUMBER         | number, or `null` (no machine limit)   |
//! | `entitlements`   | VARCHAR2(512)  | `"export,sync"` or `null` (none)       |
//! | `expiry_strategy`| VARCHAR2(16)   | `"MAINTAIN_ACCESS"`, `"REVOKE_ACCESS"` or `null` (= `REVOKE_ACCESS`) |
//! | `key_serial`     | NUMBER         | number, or `null` (= 0, the first key) |
//!
//! `max_machines`, `entitlements`, `expiry_strategy` and `key_serial` are not fields of [`License`]:
//! crates outside this one build `License` values with struct literals, and a new
//! field would break them. The table keeps them beside each row in a [`Record`].
//!
//! ORDS lower-cases column names, prints DATE without fraction and TIMESTAMP with
//! milliseconds, both in UTC with a `Z`; rows keep the SELECT list's column order,
//! which is why [`Row`] is an ordered list and not a map. Two options change how
//! values print ([`Render`]): the ORDS JVM's time zone shifts DATE and TIMESTAMP
//! values, and NUMBERs of more than 10 digits can print in exponent form.

use serde::ser::{Error as _, SerializeMap as _};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;
use time::macros::format_description;
use time::OffsetDateTime;

use crate::number::{to_number, Number};

/// The values the table's CHECK constraint allows in `license_status`.
pub const LICENSE_STATUSES: [&str; 3] = ["ACTIVE", "SUSPENDED", "REVOKED"];

/// The values the table's CHECK constraint allows in `expiry_strategy` (NULL means
/// `REVOKE_ACCESS`). `MAINTAIN_ACCESS`: builds released before the expiry keep
/// working, Keygen's expiration strategy of that name
/// (https://keygen.sh/docs/api/policies/#policies-object-attrs-expirationStrategy).
pub const EXPIRY_STRATEGIES: [&str; 2] = ["REVOKE_ACCESS", "MAINTAIN_ACCESS"];

/// The largest `max_machines` the table's CHECK constraint allows: a whole number from
/// 0 to this, the range of the broker's unsigned 32-bit reading.
pub const MAX_MACHINES_LIMIT: i64 = 4_294_967_295;

/// The largest `key_serial` the table's CHECK constraint allows: a whole number from
/// 0 to this, the range of the broker's unsigned 32-bit reading.
pub const KEY_SERIAL_LIMIT: i64 = 4_294_967_295;

/// The values the CHECK constraint of `seats.sql` allows in `license_model`; the
/// column defaults to the first.
pub const LICENSE_MODELS: [&str; 2] = ["NODE_LOCKED", "FLOATING"];

/// The largest `max_borrow_days` (and product `trial_days`) the CHECK constraints of
/// `seats.sql` allow: ten years.
pub const MAX_DAYS: i64 = 3650;

/// The longest entitlement name (`[a-z0-9][a-z0-9._-]{0,63}`).
pub const MAX_ENTITLEMENT_CHARS: usize = 64;

/// The width of the `entitlements` column, `VARCHAR2(512)`.
pub const MAX_ENTITLEMENTS_CHARS: usize = 512;

/// The `entitlements` CHECK constraint of `deploy/ords/schema.sql`, as the Oracle
/// regular expression it passes to `REGEXP_LIKE` (case-sensitive): what
/// [`entitlements_are_valid`] checks.
pub const ENTITLEMENTS_PATTERN: &str = "^[a-z0-9][a-z0-9._-]{0,63}(,[a-z0-9][a-z0-9._-]{0,63})*$";

/// Whether `list` is what the `entitlements` CHECK constraint allows: names matching
/// `[a-z0-9][a-z0-9._-]{0,63}`, separated by single commas, at most 512 characters.
pub fn entitlements_are_valid(list: &str) -> bool {
    list.len() <= MAX_ENTITLEMENTS_CHARS
        && list.split(',').all(|name| {
            let mut bytes = name.bytes();
            bytes
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && name.len() <= MAX_ENTITLEMENT_CHARS
                && bytes
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        })
}

/// One row of the license table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    /// `customer_id NUMBER`, the primary key; the `:id` of `validation/:id`.
    pub customer_id: i64,
    /// `product VARCHAR2(64)`.
    pub product: Option<String>,
    /// `license_status VARCHAR2(16)`: normally one of [`LICENSE_STATUSES`]. Not
    /// enforced here, so a client can be tested against unexpected data.
    pub license_status: String,
    /// `expires_at DATE`; `None` is a NULL (a perpetual license).
    pub expires_at: Option<OffsetDateTime>,
    /// `updated_at TIMESTAMP`.
    pub updated_at: Option<OffsetDateTime>,
}

/// A column of the license table, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// `customer_id NUMBER`
    CustomerId,
    /// `product VARCHAR2(64)`
    Product,
    /// `license_status VARCHAR2(16)`
    LicenseStatus,
    /// `expires_at DATE`
    ExpiresAt,
    /// `updated_at TIMESTAMP`
    UpdatedAt,
    /// `max_machines NUMBER`: how many machines may hold a seat at once; NULL = no limit.
    MaxMachines,
    /// `entitlements VARCHAR2(512)`: comma-separated entitlement names; NULL = none.
    Entitlements,
    /// `expiry_strategy VARCHAR2(16)`: `REVOKE_ACCESS` or `MAINTAIN_ACCESS`; NULL =
    /// `REVOKE_ACCESS`.
    ExpiryStrategy,
    /// `key_serial NUMBER`: the serial of the license's current key; NULL = 0. A key
    /// issued for another serial licenses nothing.
    KeySerial,
}

/// A row as the table stores it: the [`License`] columns plus the columns added since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub license: License,
    pub max_machines: Option<i64>,
    pub entitlements: Option<String>,
    pub expiry_strategy: Option<String>,
    pub key_serial: Option<i64>,
    /// `license_model = 'FLOATING'` (`seats.sql`); not in the validation handler's
    /// SELECT list: only the seats package reads it.
    pub floating: bool,
    /// `max_borrow_days` (`seats.sql`, default 0), read by checkout only.
    pub max_borrow_days: i64,
}

/// How ORDS prints values, from the options that change it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Render {
    /// The ORDS JVM's offset from UTC in minutes (`EmulatorOptions::jvm_utc_offset_minutes`).
    pub jvm_utc_offset_minutes: i32,
    /// NUMBERs of more than 10 digits in exponent form.
    pub numbers_in_exponent_form: bool,
}

impl Render {
    pub fn of(options: &crate::EmulatorOptions) -> Render {
        Render {
            jvm_utc_offset_minutes: options.jvm_utc_offset_minutes,
            numbers_in_exponent_form: options.numbers_in_exponent_form,
        }
    }

    /// A DATE or TIMESTAMP as ORDS converts it: the stored wall-clock value read in the
    /// JVM's zone, then turned to UTC.
    fn shift(self, t: OffsetDateTime) -> OffsetDateTime {
        t - time::Duration::minutes(i64::from(self.jvm_utc_offset_minutes))
    }

    fn number(self, n: i64) -> Cell {
        if self.numbers_in_exponent_form {
            if let Some(text) = exponent_form(n) {
                return Cell::Number(text);
            }
        }
        Cell::Value(Value::from(n))
    }
}

/// `12345678901` → `1.2345678901e10`: all significant digits, an exponent once the
/// number has more than 10 digits, as ORDS's type mapping shows
/// (https://docs.oracle.com/database/ords-17.3/AELIG/GUID-4F7FA58A-1C29-4B7E-819F-21DB4B68FFE1.htm).
/// `None` for 10 digits or fewer. A mantissa with one significant digit keeps one
/// zero (`1.0e10`); that detail is a guess.
pub fn exponent_form(n: i64) -> Option<String> {
    let digits = n.unsigned_abs().to_string();
    if digits.len() <= 10 {
        return None;
    }
    let exponent = digits.len() - 1;
    let fraction = digits[1..].trim_end_matches('0');
    let fraction = if fraction.is_empty() { "0" } else { fraction };
    let sign = if n < 0 { "-" } else { "" };
    Some(format!("{sign}{}.{fraction}e{exponent}", &digits[..1]))
}

impl Column {
    /// Every column in table order (the order of `SELECT *`).
    pub const ALL: [Column; 9] = [
        Column::CustomerId,
        Column::Product,
        Column::LicenseStatus,
        Column::ExpiresAt,
        Column::UpdatedAt,
        Column::MaxMachines,
        Column::Entitlements,
        Column::ExpiryStrategy,
        Column::KeySerial,
    ];

    /// The lower-case name ORDS uses as the JSON key.
    pub fn name(self) -> &'static str {
        match self {
            Column::CustomerId => "customer_id",
            Column::Product => "product",
            Column::LicenseStatus => "license_status",
            Column::ExpiresAt => "expires_at",
            Column::UpdatedAt => "updated_at",
            Column::MaxMachines => "max_machines",
            Column::Entitlements => "entitlements",
            Column::ExpiryStrategy => "expiry_strategy",
            Column::KeySerial => "key_serial",
        }
    }

    /// The Oracle type as written in `schema.sql`.
    pub fn sql_type(self) -> &'static str {
        match self {
            Column::CustomerId => "NUMBER",
            Column::Product => "VARCHAR2(64)",
            Column::LicenseStatus => "VARCHAR2(16)",
            Column::ExpiresAt => "DATE",
            Column::UpdatedAt => "TIMESTAMP",
            Column::MaxMachines => "NUMBER",
            Column::Entitlements => "VARCHAR2(512)",
            Column::ExpiryStrategy => "VARCHAR2(16)",
            Column::KeySerial => "NUMBER",
        }
    }

    /// Looks a column up by name, case-insensitively like Oracle identifiers.
    pub fn parse(name: &str) -> Option<Column> {
        Column::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// The JSON value ORDS prints for this column of `record` with `render`'s options.
    pub(crate) fn cell(self, record: &Record, render: Render) -> Cell {
        let row = &record.license;
        let text = |v: &Option<String>| Cell::Value(v.clone().map_or(Value::Null, Value::String));
        match self {
            Column::CustomerId => render.number(row.customer_id),
            Column::Product => text(&row.product),
            Column::LicenseStatus => Cell::Value(Value::String(row.license_status.clone())),
            Column::ExpiresAt => Cell::Value(
                row.expires_at
                    .map_or(Value::Null, |t| Value::String(date(render.shift(t)))),
            ),
            Column::UpdatedAt => Cell::Value(
                row.updated_at
                    .map_or(Value::Null, |t| Value::String(timestamp(render.shift(t)))),
            ),
            Column::MaxMachines => record
                .max_machines
                .map_or(Cell::Value(Value::Null), |n| render.number(n)),
            Column::Entitlements => text(&record.entitlements),
            Column::ExpiryStrategy => text(&record.expiry_strategy),
            Column::KeySerial => record
                .key_serial
                .map_or(Cell::Value(Value::Null), |n| render.number(n)),
        }
    }

    /// Whether `row`'s value in this column equals the bind value `bind` (a URI
    /// segment, so always text). `Err` carries the ORA error a real database raises
    /// when the text is not a number.
    pub(crate) fn matches(self, record: &Record, bind: &str) -> Result<bool, &'static str> {
        let row = &record.license;
        match self {
            // Oracle converts the text to a NUMBER (`1e3` is 1000, `4.0` is 4); a number
            // with a fraction equals no integer; text that is no number raises.
            Column::CustomerId | Column::MaxMachines | Column::KeySerial => match to_number(bind) {
                None => Err("ORA-01722: invalid number"),
                Some(Number::Other) => Ok(false),
                Some(Number::Integer(n)) => Ok(match self {
                    Column::CustomerId => n == row.customer_id,
                    Column::MaxMachines => record.max_machines == Some(n),
                    _ => record.key_serial == Some(n),
                }),
            },
            Column::Product => Ok(row.product.as_deref() == Some(bind)),
            Column::LicenseStatus => Ok(row.license_status == bind),
            Column::Entitlements => Ok(record.entitlements.as_deref() == Some(bind)),
            Column::ExpiryStrategy => Ok(record.expiry_strategy.as_deref() == Some(bind)),
            // The database compares stored values; the JVM's zone only changes printing.
            Column::ExpiresAt | Column::UpdatedAt => Ok(matches!(
                self.cell(record, Render::default()),
                Cell::Value(Value::String(v)) if v == bind
            )),
        }
    }
}

/// DATE: seconds precision, UTC, `Z`.
pub fn date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .unwrap_or_default()
}

/// TIMESTAMP: milliseconds, UTC, `Z`.
pub fn timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .unwrap_or_default()
}

/// A JSON object whose members keep their insertion order (serde_json's own map
/// sorts keys unless a workspace-wide feature is switched on, and ORDS keeps the
/// SELECT list's order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row(pub Vec<(String, Cell)>);

/// A member value of a [`Row`]: plain JSON, or nested ordered objects.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A scalar (or any JSON whose member order does not matter).
    Value(Value),
    /// An ordered object.
    Row(Row),
    /// An array of ordered objects.
    Rows(Vec<Row>),
    /// A JSON number written exactly as this text (`1.2345678901e10`).
    Number(String),
}

impl Row {
    /// The selected `columns` of `record`, in SELECT-list order.
    pub(crate) fn select(record: &Record, columns: &[Column], render: Render) -> Row {
        Row(columns
            .iter()
            .map(|c| (c.name().to_owned(), c.cell(record, render)))
            .collect())
    }

    /// `{"rel": rel, "href": href}`, in that order.
    pub fn link(rel: &str, href: String) -> Row {
        Row(vec![
            ("rel".to_owned(), Cell::Value(Value::String(rel.to_owned()))),
            ("href".to_owned(), Cell::Value(Value::String(href))),
        ])
    }

    /// Appends one member.
    pub fn push(&mut self, key: impl Into<String>, value: Cell) {
        self.0.push((key.into(), value));
    }
}

impl Serialize for Row {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Value(v) => v.serialize(serializer),
            Cell::Row(r) => r.serialize(serializer),
            Cell::Rows(rs) => rs.serialize(serializer),
            Cell::Number(text) => RawValue::from_string(text.clone())
                .map_err(S::Error::custom)?
                .serialize(serializer),
        }
    }
}
