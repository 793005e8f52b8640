//! Fuzzing license keys against the broker's secret: no mutation of a minted key
//! verifies unless it still reads as the very same key, and a MAC flipped in any bit
//! or moved to another customer never verifies. (Parsing alone is fuzzed in
//! `license-shared`.)
//!
//! Cases: `PROPTEST_CASES` (default 512 here; the standalone figure in
//! RELIABILITY.md uses 100000).

use license_broker::LicenseKeys;
use license_shared::{CustomerId, LicenseKey, MAC_LEN};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

fn keys() -> LicenseKeys {
    LicenseKeys::new(
        (0..32u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(11))
            .collect(),
    )
    .unwrap()
}

/// One edit of the printed key.
#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, char),
    Insert(usize, char),
    Delete(usize),
    Swap(usize),
    Truncate(usize),
    Lowercase,
}

fn edit() -> impl Strategy<Value = Edit> {
    let ch = prop_oneof![
        proptest::char::range('0', '9'),
        proptest::char::range('A', 'Z'),
        proptest::char::range('a', 'z'),
        Just('-'),
        Just(' '),
        any::<char>(),
    ];
    prop_oneof![
        (any::<usize>(), ch.clone()).prop_map(|(i, c)| Edit::Replace(i, c)),
        (any::<usize>(), ch).prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Swap),
        any::<usize>().prop_map(Edit::Truncate),
        Just(Edit::Lowercase),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let n = chars.len().max(1);
    match edit {
        Edit::Replace(i, c) => {
            if !chars.is_empty() {
                chars[i % n] = *c;
            }
        }
        Edit::Insert(i, c) => chars.insert(i % (chars.len() + 1), *c),
        Edit::Delete(i) => {
            if !chars.is_empty() {
                chars.remove(i % n);
            }
        }
        Edit::Swap(i) => {
            if chars.len() >= 2 {
                let i = i % (chars.len() - 1);
                chars.swap(i, i + 1);
            }
        }
        Edit::Truncate(i) => chars.truncate(i % n),
        Edit::Lowercase => return text.to_lowercase(),
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn mutations_of_a_minted_key_never_verify_unless_unchanged(
        id in "[A-Za-z0-9_-]{1,32}",
        edits in proptest::collection::vec(edit(), 1..4),
    ) {
        let keys = keys();
        let original = LicenseKey::parse(&keys.mint(&CustomerId::parse(&id).unwrap())).unwrap();
        let mut text = original.encode();
        for e in &edits {
            text = apply(&text, e);
        }
        if let Ok(parsed) = LicenseKey::parse(&text) {
            if keys.verify(&parsed) {
                prop_assert_eq!(parsed, original, "a mutated key verified: {}", text);
            }
        }
    }

    #[test]
    fn a_mac_moved_or_flipped_never_verifies(
        id in "[A-Za-z0-9_-]{1,32}",
        other in "[A-Za-z0-9_-]{1,32}",
        bit in 0usize..(MAC_LEN * 8),
    ) {
        let keys = keys();
        let original = LicenseKey::parse(&keys.mint(&CustomerId::parse(&id).unwrap())).unwrap();
        let mut mac = *original.mac();
        mac[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(!keys.verify(&LicenseKey::new(original.customer_id().clone(), mac)));
        if other != id {
            let moved = LicenseKey::new(CustomerId::parse(&other).unwrap(), *original.mac());
            prop_assert!(!keys.verify(&moved));
        }
    }
}
