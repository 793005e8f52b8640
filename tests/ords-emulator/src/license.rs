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
//!
//! `max_machines` is not a field of [`License`]: crates outside this one build
//! `License` values with struct literals, and a new field would break them. The table
//! keeps it beside each row in a [`Record`].
//!
//! ORDS lower-cases column names, prints DATE without fraction and TIMESTAMP with
//! milliseconds, both in UTC with a `Z`; rows keep the SELECT list's column order,
//! which is why [`Row`] is an ordered list and not a map.

use serde::ser::SerializeMap as _;
use serde::{Serialize, Serializer};
use serde_json::Value;
use time::macros::format_description;
use time::OffsetDateTime;

/// The values the table's CHECK constraint allows in `license_status`.
pub const LICENSE_STATUSES: [&str; 3] = ["ACTIVE", "SUSPENDED", "REVOKED"];

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
}

/// A row as the table stores it: the [`License`] columns plus `max_machines`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub license: License,
    pub max_machines: Option<i64>,
}

impl Column {
    /// Every column in table order (the order of `SELECT *`).
    pub const ALL: [Column; 6] = [
        Column::CustomerId,
        Column::Product,
        Column::LicenseStatus,
        Column::ExpiresAt,
        Column::UpdatedAt,
        Column::MaxMachines,
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
        }
    }

    /// Looks a column up by name, case-insensitively like Oracle identifiers.
    pub fn parse(name: &str) -> Option<Column> {
        Column::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// The JSON value ORDS would print for this column of `record`.
    pub(crate) fn value(self, record: &Record) -> Value {
        let row = &record.license;
        match self {
            Column::CustomerId => Value::from(row.customer_id),
            Column::Product => row.product.clone().map_or(Value::Null, Value::String),
            Column::LicenseStatus => Value::String(row.license_status.clone()),
            Column::ExpiresAt => row
                .expires_at
                .map_or(Value::Null, |t| Value::String(date(t))),
            Column::UpdatedAt => row
                .updated_at
                .map_or(Value::Null, |t| Value::String(timestamp(t))),
            Column::MaxMachines => record.max_machines.map_or(Value::Null, Value::from),
        }
    }

    /// Whether `row`'s value in this column equals the bind value `bind` (a URI
    /// segment, so always text). `Err` carries the ORA error a real database raises
    /// when the text is not a number.
    pub(crate) fn matches(self, record: &Record, bind: &str) -> Result<bool, &'static str> {
        let row = &record.license;
        match self {
            Column::CustomerId | Column::MaxMachines => bind
                .trim()
                .parse::<i64>()
                .map(|n| {
                    if self == Column::CustomerId {
                        n == row.customer_id
                    } else {
                        record.max_machines == Some(n)
                    }
                })
                .map_err(|_| "ORA-01722: invalid number"),
            Column::Product => Ok(row.product.as_deref() == Some(bind)),
            Column::LicenseStatus => Ok(row.license_status == bind),
            Column::ExpiresAt | Column::UpdatedAt => {
                Ok(self.value(record).as_str().is_some_and(|v| v == bind))
            }
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
}

impl Row {
    /// The selected `columns` of `record`, in SELECT-list order.
    pub(crate) fn select(record: &Record, columns: &[Column]) -> Row {
        Row(columns
            .iter()
            .map(|c| (c.name().to_owned(), Cell::Value(c.value(record))))
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
        }
    }
}
