//! Fuzzing [`read`] on arbitrary bytes and on item/collection bodies with every column
//! value near and far from valid: never a panic, and the result is exactly what an
//! independent reading of the body says (a row only with a configured status and a
//! NULL or RFC 3339 expiry; anything else an error). The bodies and that reading are
//! shared with the broker's end-to-end fuzz over HTTP (`license_testkit::ords_bodies`).
//!
//! Cases: `PROPTEST_CASES` (default 256 here).

use proptest::prelude::*;

use super::{read, LicenseStatus, Lookup};
use crate::ords::{Columns, StatusValues};

use license_testkit::ords_bodies::{body, oracle, Reading, Status};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn columns() -> Columns {
    Columns::default()
}

/// The reader's answer in the independent reading's terms.
fn reading(lookup: &Lookup) -> Reading {
    match lookup {
        Lookup::NoRow => Reading::NoRow,
        Lookup::Row(row) => Reading::Row {
            status: match row.status {
                LicenseStatus::Active => Status::Active,
                LicenseStatus::Suspended => Status::Suspended,
                LicenseStatus::Revoked => Status::Revoked,
            },
            expires_at: row.expires_at,
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn read_agrees_with_an_independent_reading(body in body()) {
        let id = license_shared::CustomerId::parse("1").unwrap();
        let got = read(&body, &columns(), &StatusValues::default(), &id);
        match oracle(&body, "1") {
            Some(expected) => prop_assert_eq!(got.ok().as_ref().map(reading), Some(expected)),
            None => prop_assert!(got.is_err(), "read {:?} from {:?}", got, String::from_utf8_lossy(&body)),
        }
    }
}
