//! Products and entitlements: the `entitlements` and `expiry_strategy` columns, their
//! CHECK constraints on seeds and `PUT /__emulator/licenses/{id}`, and the library
//! setters that skip them.

use ords_emulator::{License, Seed};

use crate::{start, Answer};

async fn put(env: &crate::Env, path: &str, json: &str) -> Answer {
    let response = env
        .http
        .put(format!("{}/__emulator/licenses/{path}", env.ords.base_url))
        .body(json.to_owned())
        .send()
        .await
        .unwrap();
    Answer::from(response).await
}

#[tokio::test]
async fn entitlements_and_expiry_strategy_are_served_put_and_checked() {
    let env = start().await;
    let token = env.token().await;
    let row = put(
        &env,
        "7",
        r#"{"license_status":"ACTIVE","product":"desktop-pro","expires_at":"2030-01-01T00:00:00Z","updated_at":"now","entitlements":"export,sync.v2,team-5","expiry_strategy":"MAINTAIN_ACCESS","key_serial":null}"#,
    )
    .await;
    assert_eq!(
        (row.status, row.body.as_str()),
        (
            200,
            r#"{"customer_id":7,"product":"desktop-pro","license_status":"ACTIVE","expires_at":"2030-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00.000Z","max_machines":null,"entitlements":"export,sync.v2,team-5","expiry_strategy":"MAINTAIN_ACCESS","key_serial":null}"#
        )
    );
    let served = env.get("customers/validation/7", Some(&token)).await;
    assert_eq!(
        served.body,
        format!(
            r#"{{"customer_id":7,"product":"desktop-pro","license_status":"ACTIVE","expires_at":"2030-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00.000Z","max_machines":null,"entitlements":"export,sync.v2,team-5","expiry_strategy":"MAINTAIN_ACCESS","key_serial":null,"links":[{{"rel":"collection","href":"{}/ords/page/customers/validation/"}}]}}"#,
            env.ords.base_url
        )
    );

    // '' is NULL in Oracle; columns left out are NULL.
    let empty = put(
        &env,
        "7",
        r#"{"license_status":"ACTIVE","entitlements":"","expiry_strategy":"","key_serial":null}"#,
    )
    .await;
    assert_eq!(
        empty.body,
        r#"{"customer_id":7,"product":null,"license_status":"ACTIVE","expires_at":null,"updated_at":null,"max_machines":null,"entitlements":null,"expiry_strategy":null,"key_serial":null}"#
    );

    // The CHECK constraints.
    for (json, message) in [
        (
            r#"{"license_status":"ACTIVE","entitlements":"Export"}"#,
            r#"{"error":"invalid_request","message":"license.entitlements: \"Export\" violates the CHECK constraint: NULL or comma-separated names matching [a-z0-9][a-z0-9._-]{0,63}, at most 512 characters"}"#,
        ),
        (
            r#"{"license_status":"ACTIVE","entitlements":"export,,sync"}"#,
            r#"{"error":"invalid_request","message":"license.entitlements: \"export,,sync\" violates the CHECK constraint: NULL or comma-separated names matching [a-z0-9][a-z0-9._-]{0,63}, at most 512 characters"}"#,
        ),
        (
            r#"{"license_status":"ACTIVE","expiry_strategy":"KEEP","key_serial":null}"#,
            r#"{"error":"invalid_request","message":"license.expiry_strategy: \"KEEP\" violates the CHECK constraint: NULL or one of [\"REVOKE_ACCESS\", \"MAINTAIN_ACCESS\"]"}"#,
        ),
    ] {
        let refused = put(&env, "7", json).await;
        assert_eq!((refused.status, refused.body.as_str()), (400, message));
    }
    let long = "a".repeat(65);
    let refused = put(
        &env,
        "7",
        &format!(r#"{{"license_status":"ACTIVE","entitlements":"{long}"}}"#),
    )
    .await;
    assert_eq!(refused.status, 400);
    // 64 characters is the longest name.
    let longest = "a".repeat(64);
    let ok = put(
        &env,
        "7",
        &format!(r#"{{"license_status":"ACTIVE","entitlements":"{longest},b"}}"#),
    )
    .await;
    assert_eq!(ok.status, 200);

    // max_machines: a whole number from 0 to 4294967295, what the broker can read.
    for bad in ["-1", "4294967296"] {
        let refused = put(
            &env,
            "7",
            &format!(r#"{{"license_status":"ACTIVE","max_machines":{bad}}}"#),
        )
        .await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
        assert!(
            refused.body.contains("license.max_machines"),
            "{}",
            refused.body
        );
    }
    for good in ["0", "4294967295"] {
        let ok = put(
            &env,
            "7",
            &format!(r#"{{"license_status":"ACTIVE","max_machines":{good}}}"#),
        )
        .await;
        assert_eq!(ok.status, 200, "{good}: {}", ok.body);
    }

    // `?unchecked=true` stores what a real table would refuse, to test a client.
    let unchecked = put(
        &env,
        "7?unchecked=true",
        r#"{"license_status":"ACTIVE","entitlements":" Export,,x ","expiry_strategy":"KEEP","key_serial":null}"#,
    )
    .await;
    assert_eq!(
        unchecked.body,
        r#"{"customer_id":7,"product":null,"license_status":"ACTIVE","expires_at":null,"updated_at":null,"max_machines":null,"entitlements":" Export,,x ","expiry_strategy":"KEEP","key_serial":null}"#
    );
}

#[tokio::test]
async fn the_library_keeps_the_columns_beside_each_row() {
    let env = start().await;
    assert_eq!(
        env.ords.entitlements(1),
        Some(Some("export,sync".to_owned()))
    );
    assert_eq!(
        env.ords.expiry_strategy(6),
        Some(Some("MAINTAIN_ACCESS".to_owned()))
    );
    assert_eq!(env.ords.entitlements(99), None);
    // Replacing a row keeps them, as it keeps max_machines.
    let mut one = env.ords.license(1).unwrap();
    one.license_status = "SUSPENDED".to_owned();
    env.ords.upsert_license(one);
    assert_eq!(
        env.ords.entitlements(1),
        Some(Some("export,sync".to_owned()))
    );
    // A new row has NULLs.
    env.ords.upsert_license(License {
        customer_id: 8,
        product: None,
        license_status: "ACTIVE".to_owned(),
        expires_at: None,
        updated_at: None,
    });
    assert_eq!(env.ords.entitlements(8), Some(None));
    assert_eq!(env.ords.expiry_strategy(8), Some(None));
    // The setters are not checked.
    assert!(env.ords.set_entitlements(8, Some("Not Valid")));
    assert!(env.ords.set_expiry_strategy(8, Some("")));
    assert!(!env.ords.set_entitlements(99, None));
    let token = env.token().await;
    let served = env.get("customers/validation/8", Some(&token)).await;
    assert!(
        served.body.contains(
            r#""max_machines":null,"entitlements":"Not Valid","expiry_strategy":null,"key_serial":null,"links""#
        ),
        "{}",
        served.body
    );
}

#[test]
fn seeds_are_checked_like_the_table() {
    let row = |extra: &str| {
        format!("[[schemas]]\nalias = \"page\"\n[[licenses]]\ncustomer_id = 1\nlicense_status = \"ACTIVE\"\n{extra}\n")
    };
    let bad = Seed::from_toml_str(&row("entitlements = \"export,\"")).unwrap_err();
    assert_eq!(
        bad.to_string(),
        r#"invalid `licenses[0].entitlements`: "export," violates the CHECK constraint: NULL or comma-separated names matching [a-z0-9][a-z0-9._-]{0,63}, at most 512 characters"#
    );
    let bad = Seed::from_toml_str(&row("expiry_strategy = \"maintain_access\"")).unwrap_err();
    assert_eq!(
        bad.to_string(),
        r#"invalid `licenses[0].expiry_strategy`: "maintain_access" violates the CHECK constraint: NULL or one of ["REVOKE_ACCESS", "MAINTAIN_ACCESS"]"#
    );
    let seed = Seed::from_toml_str(&row(
        "entitlements = \"export,sync\"\nexpiry_strategy = \"REVOKE_ACCESS\"",
    ))
    .unwrap();
    assert_eq!(
        seed.licenses[0].entitlements.as_deref(),
        Some("export,sync")
    );
}
