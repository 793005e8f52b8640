use ed25519_dalek::SigningKey;
use proptest::prelude::*;

use super::text::GROUP_DATA;
use super::*;
use crate::license_key::ALPHABET;

fn request() -> OfflineRequest {
    OfflineRequest {
        license_key: "0412C-AAAAA-BBBBB-CCCCC".into(),
        fingerprint: "fp-0123456789abcdef".into(),
        app: Some(AppInfo {
            id: "com.example.editor".into(),
            version: "2.3.1".into(),
        }),
        product: Some("desktop-pro".into()),
        nonce: [7; OFFLINE_NONCE_BYTES],
        created_at: 1_767_261_600,
        device_key: SigningKey::from_bytes(&[9; 32]).verifying_key().to_bytes(),
    }
}

fn deactivation() -> OfflineDeactivation {
    let device = SigningKey::from_bytes(&[9; 32]);
    OfflineDeactivation::signed(
        "0412C-AAAAA",
        "fp-1",
        Some("desktop-pro"),
        [3; 16],
        1_767_261_700,
        &device,
    )
}

#[test]
fn a_request_reads_back_from_sloppy_text() {
    let code = request().to_code();
    assert!(code
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-'));
    assert!(code.split('-').all(|g| g.len() <= GROUP_DATA + 1));
    assert_eq!(OfflineRequest::from_code(&code).unwrap(), request());
    // Lower case, line breaks, spaces, and O/I/L for 0/1.
    let sloppy: String = code
        .to_lowercase()
        .replace('0', "o")
        .replace('1', "l")
        .replace('-', " \n");
    assert_eq!(OfflineRequest::from_code(&sloppy).unwrap(), request());
}

#[test]
fn a_response_carries_the_envelope_exactly() {
    let envelope = crate::Envelope::sign(&SigningKey::from_bytes(&[5; 32]), "kid-1", b"{\"a\":1}");
    let code = OfflineResponse {
        envelope: envelope.clone(),
    }
    .to_code()
    .unwrap();
    assert_eq!(
        OfflineResponse::from_code(&code).unwrap().envelope,
        envelope
    );
}

#[test]
fn a_deactivation_verifies_only_as_signed() {
    let code = deactivation().to_code();
    let read = OfflineDeactivation::from_code(&code).unwrap();
    assert_eq!(read, deactivation());
    assert_eq!(read.verify(), Ok(()));
    let mut altered = read.clone();
    altered.fingerprint = "fp-2".into();
    assert_eq!(altered.verify(), Err(CodeError::Signature));
    // Re-encoded with valid check characters, an altered code is still refused.
    let reencoded = OfflineDeactivation::from_code(&altered.to_code()).unwrap();
    assert_eq!(reencoded.verify(), Err(CodeError::Signature));
    // Signed by another key than the one it names.
    let mut forged = deactivation();
    forged.device_key = SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes();
    assert_eq!(forged.verify(), Err(CodeError::Signature));
}

#[test]
fn a_code_in_the_wrong_place_is_named() {
    let error = OfflineRequest::from_code(&deactivation().to_code()).unwrap_err();
    assert_eq!(
        error,
        CodeError::Kind {
            found: CodeKind::Deactivation,
            expected: CodeKind::Request
        }
    );
    assert!(error.to_string().contains("deactivation code"), "{error}");
}

#[test]
fn errors_name_the_group_and_what_to_do() {
    let code = request().to_code();
    let mut groups: Vec<String> = code.split('-').map(str::to_owned).collect();
    let third = &mut groups[2];
    let first = third.chars().next().unwrap();
    let other = if first == 'A' { 'B' } else { 'A' };
    third.replace_range(0..1, &other.to_string());
    let error = OfflineRequest::from_code(&groups.join("-")).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, CodeError::Group { group: 3, .. }),
        "{message}"
    );
    assert!(
        message.contains("group 3 of") && message.contains("typo"),
        "{message}"
    );
    let error = OfflineRequest::from_code(&code.replace('-', "").replacen('A', "U", 1));
    assert!(matches!(error, Err(CodeError::Character { ch: 'U', .. })));
    assert_eq!(OfflineRequest::from_code(" \n"), Err(CodeError::Empty));
    let cut = &code[..code.len() - 1];
    assert!(OfflineRequest::from_code(cut).is_err());
    let doubled = format!("{code}-{}", code.split('-').next().unwrap());
    assert!(OfflineRequest::from_code(&doubled).is_err());
}

#[test]
fn debug_hides_the_license_key() {
    let shown = format!("{:?} {:?}", request(), deactivation());
    assert!(!shown.contains("0412C"), "{shown}");
}

#[test]
fn activation_refs_differ_per_device_key() {
    let a = activation_ref(&[1; 32]);
    assert_eq!(a.len(), 22);
    assert_ne!(a, activation_ref(&[2; 32]));
}

/// Any code, made of any bytes, as its text.
fn any_code() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 0..300)
        .prop_map(|body| text::encode(CodeKind::Request, &body))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_single_character_substitution_is_rejected(
        code in any_code(),
        at in any::<prop::sample::Index>(),
        symbol in 0usize..32,
    ) {
        let positions: Vec<usize> = code
            .char_indices()
            .filter(|(_, c)| *c != '-')
            .map(|(i, _)| i)
            .collect();
        let i = positions[at.index(positions.len())];
        let replacement = char::from(ALPHABET[symbol]);
        prop_assume!(code.as_bytes()[i] != ALPHABET[symbol]);
        let mut typo = code.clone();
        typo.replace_range(i..=i, &replacement.to_string());
        let read = text::decode(&typo, CodeKind::Request);
        prop_assert!(
            matches!(read, Err(CodeError::Group { .. })),
            "{typo} read as {read:?}"
        );
    }

    #[test]
    fn any_request_and_deactivation_round_trip(
        key in "[ -~]{1,128}",
        fingerprint in "[!-~]{1,128}",
        app in proptest::option::of(("[!-~]{1,64}", "[!-~]{1,64}")),
        product in proptest::option::of("[A-Za-z0-9._-]{1,64}"),
        nonce in any::<[u8; OFFLINE_NONCE_BYTES]>(),
        created_at in any::<i64>(),
        secret in any::<[u8; 32]>(),
    ) {
        let device = SigningKey::from_bytes(&secret);
        let request = OfflineRequest {
            license_key: key.clone(),
            fingerprint: fingerprint.clone(),
            app: app.map(|(id, version)| AppInfo { id, version }),
            product: product.clone(),
            nonce,
            created_at,
            device_key: device.verifying_key().to_bytes(),
        };
        prop_assert_eq!(OfflineRequest::from_code(&request.to_code()), Ok(request));
        let gone = OfflineDeactivation::signed(&key, &fingerprint, product.as_deref(), nonce, created_at, &device);
        let read = OfflineDeactivation::from_code(&gone.to_code());
        prop_assert_eq!(read.as_ref(), Ok(&gone));
        prop_assert_eq!(read.unwrap().verify(), Ok(()));
    }

    #[test]
    fn any_body_round_trips(body in prop::collection::vec(any::<u8>(), 0..600)) {
        let code = text::encode(CodeKind::Response, &body);
        prop_assert_eq!(text::decode(&code, CodeKind::Response), Ok(body));
    }
}

#[test]
fn a_real_key_and_fingerprint_travel_in_their_short_form() {
    let key = crate::LicenseKey::with_serial(
        crate::CustomerId::parse("4711").unwrap(),
        3,
        [7; crate::MAC_LEN],
    )
    .encode();
    let fingerprint = crate::base64url_encode(&[9; 32]);
    let mut compact = request();
    compact.license_key = key.clone();
    compact.fingerprint = fingerprint.clone();
    let read = OfflineRequest::from_code(&compact.to_code()).unwrap();
    assert_eq!(
        (read.license_key, read.fingerprint),
        (key.clone(), fingerprint.clone())
    );
    // Text of the same lengths (no key, no base64) takes longer: bytes are the short form.
    let mut long = compact.clone();
    long.license_key = "x".repeat(key.len());
    long.fingerprint = "y".repeat(fingerprint.len());
    assert!(compact.to_code().len() + 30 < long.to_code().len());
    assert_eq!(
        OfflineRequest::from_code(&long.to_code())
            .unwrap()
            .license_key,
        long.license_key
    );
    // A key typed in any spelling travels as its printed form.
    let mut sloppy = compact.clone();
    sloppy.license_key = key.to_lowercase().replace('-', " ");
    let read = OfflineRequest::from_code(&sloppy.to_code()).unwrap();
    assert_eq!(read.license_key, key);
}
