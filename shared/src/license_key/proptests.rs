//! Fuzzing license-key parsing: no panic on any text, parse∘encode is the identity
//! (also in lower case with spaces for dashes), and so is base32 decode∘encode. That no mutation of a minted
//! key verifies is the broker's to show (its tests hold the key secret).
//!
//! Cases: `PROPTEST_CASES` (default 512 here; the standalone figure in
//! RELIABILITY.md uses 100000).

use proptest::prelude::*;

use super::tests::base32_encode;
use super::{base32_decode, symbol_value, LicenseKey, MAC_LEN};
use crate::CustomerId;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,120}") {
        let _ = LicenseKey::parse(&text);
    }

    #[test]
    fn arbitrary_key_alphabet_text_never_panics(text in "[0-9A-Za-z -]{0,100}") {
        if let Ok(key) = LicenseKey::parse(&text) {
            // Whatever parses re-encodes to a key that parses to the same thing.
            prop_assert_eq!(LicenseKey::parse(&key.encode()).unwrap(), key);
        }
    }

    #[test]
    fn parse_of_encode_is_the_identity(id in "[A-Za-z0-9_-]{1,32}", mac in any::<[u8; MAC_LEN]>()) {
        let key = LicenseKey::new(CustomerId::parse(&id).unwrap(), mac);
        let text = key.encode();
        prop_assert_eq!(LicenseKey::parse(&text).unwrap(), key.clone());
        prop_assert_eq!(LicenseKey::parse(&text.to_lowercase().replace('-', " ")).unwrap(), key);
    }

    #[test]
    fn base32_round_trips(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        let symbols: Vec<u8> = base32_encode(&data).iter().map(|&c| symbol_value(c as char).unwrap()).collect();
        let mut out = [0u8; 64];
        let len = base32_decode(&symbols, &mut out).unwrap();
        prop_assert_eq!(&out[..len], &data[..]);
    }
}
