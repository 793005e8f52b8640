//! Behaviours 15-19: Collection Query, Collection Query Item, PL/SQL OUT parameters,
//! and how column values are printed.

use ords_emulator::{License, Seed, SourceType};
use reqwest::header::ACCEPT;
use time::macros::datetime;

use crate::{start, start_toml, start_with, NOT_FOUND};

fn paged_seed(rows: i64, items_per_page: Option<u32>) -> String {
    let mut seed = String::from(
        r#"
        [[schemas]]
        alias = "page"
        [[modules]]
        name = "customers"
        base_path = "customers/"
        "#,
    );
    if let Some(n) = items_per_page {
        seed.push_str(&format!("items_per_page = {n}\n"));
    }
    seed.push_str(
        r#"
        [[modules.templates]]
        pattern = "licenses/"
        [[modules.templates.handlers]]
        source_type = "json/collection"
        columns = ["customer_id", "license_status"]
        "#,
    );
    for id in 1..=rows {
        seed.push_str(&format!(
            "[[licenses]]\ncustomer_id = {id}\nlicense_status = \"ACTIVE\"\n"
        ));
    }
    seed
}

#[tokio::test]
async fn b15_collection_pages_with_links_in_order() {
    let env = start_toml(&paged_seed(3, Some(2))).await;
    let base = format!("{}/ords/page/customers/licenses/", env.ords.base_url);
    let first = env.get("customers/licenses/", None).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert_eq!(
        first.body,
        format!(
            r#"{{"items":[{{"customer_id":1,"license_status":"ACTIVE"}},{{"customer_id":2,"license_status":"ACTIVE"}}],"hasMore":true,"limit":2,"offset":0,"count":2,"links":[{{"rel":"self","href":"{base}"}},{{"rel":"describedby","href":"{root}/ords/page/metadata-catalog/customers/licenses/"}},{{"rel":"first","href":"{base}"}},{{"rel":"next","href":"{base}?offset=2"}}]}}"#,
            root = env.ords.base_url
        )
    );
    let second = env.get("customers/licenses/?offset=2", None).await;
    assert_eq!(
        second.body,
        format!(
            r#"{{"items":[{{"customer_id":3,"license_status":"ACTIVE"}}],"hasMore":false,"limit":2,"offset":2,"count":1,"links":[{{"rel":"self","href":"{base}?offset=2"}},{{"rel":"describedby","href":"{root}/ords/page/metadata-catalog/customers/licenses/"}},{{"rel":"first","href":"{base}"}},{{"rel":"prev","href":"{base}?offset=0"}}]}}"#,
            root = env.ords.base_url
        )
    );
    // ?limit= is honoured and carried into the paging links.
    let one = env.get("customers/licenses/?limit=1&offset=1", None).await;
    assert!(one.body.starts_with(r#"{"items":[{"customer_id":2,"license_status":"ACTIVE"}],"hasMore":true,"limit":1,"offset":1,"count":1,"#), "{}", one.body);
    assert!(
        one.body.ends_with(&format!(
            r#"{{"rel":"next","href":"{base}?limit=1&offset=2"}}]}}"#
        )),
        "{}",
        one.body
    );
}

#[tokio::test]
async fn b15_the_default_page_is_25_rows() {
    let env = start_toml(&paged_seed(30, None)).await;
    let page: serde_json::Value =
        serde_json::from_str(&env.get("customers/licenses/", None).await.body).unwrap();
    assert_eq!(
        (
            page["limit"].as_u64(),
            page["count"].as_u64(),
            page["hasMore"].as_bool()
        ),
        (Some(25), Some(25), Some(true))
    );
    let last: serde_json::Value =
        serde_json::from_str(&env.get("customers/licenses/?offset=25", None).await.body).unwrap();
    assert_eq!(
        (last["count"].as_u64(), last["hasMore"].as_bool()),
        (Some(5), Some(false))
    );
    // items_per_page = 0 switches paging off.
    let env = start_toml(&paged_seed(30, Some(0))).await;
    let all: serde_json::Value =
        serde_json::from_str(&env.get("customers/licenses/", None).await.body).unwrap();
    assert_eq!(
        (
            all["limit"].as_u64(),
            all["count"].as_u64(),
            all["hasMore"].as_bool()
        ),
        (Some(0), Some(30), Some(false))
    );
}

#[tokio::test]
async fn b16_collection_with_no_row_is_200_with_empty_items() {
    let seed = Seed::article_default().with_source_type(
        "customers",
        "validation/:id",
        SourceType::Collection,
    );
    let env = start_with(seed, Default::default()).await;
    let token = env.token().await;
    let none = env.get("customers/validation/99", Some(&token)).await;
    let url = format!("{}/ords/page/customers/validation/99", env.ords.base_url);
    assert_eq!(none.status, 200);
    assert_eq!(
        none.body,
        format!(
            r#"{{"items":[],"hasMore":false,"limit":25,"offset":0,"count":0,"links":[{{"rel":"self","href":"{url}"}},{{"rel":"describedby","href":"{root}/ords/page/metadata-catalog/customers/validation/item"}},{{"rel":"first","href":"{url}"}}]}}"#,
            root = env.ords.base_url
        )
    );
    let one = env.get("customers/validation/3", Some(&token)).await;
    assert!(one.body.starts_with(r#"{"items":[{"customer_id":3,"product":"desktop-pro","license_status":"SUSPENDED","expires_at":"2026-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00.000Z","max_machines":null,"entitlements":null,"expiry_strategy":null,"key_serial":null}],"hasMore":false,"limit":25,"offset":0,"count":1,"#), "{}", one.body);
}

#[tokio::test]
async fn b17_item_is_the_flat_row_with_a_collection_link_and_404_without_a_row() {
    let env = start().await;
    let token = env.token().await;
    let parent = format!("{}/ords/page/customers/validation/", env.ords.base_url);
    for (id, product, status, expires, max_machines, entitlements, strategy) in [
        (
            1,
            "desktop-pro",
            "ACTIVE",
            "2026-01-01T00:00:00Z",
            "null",
            r#""export,sync""#,
            "null",
        ),
        (
            2,
            "desktop-pro",
            "ACTIVE",
            "2024-12-02T00:00:00Z",
            "null",
            "null",
            "null",
        ),
        (
            3,
            "desktop-pro",
            "SUSPENDED",
            "2026-01-01T00:00:00Z",
            "null",
            "null",
            "null",
        ),
        (
            4,
            "desktop-pro",
            "ACTIVE",
            "2026-01-01T00:00:00Z",
            "2",
            "null",
            "null",
        ),
        (
            5,
            "desktop-lite",
            "ACTIVE",
            "2026-01-01T00:00:00Z",
            "null",
            "null",
            "null",
        ),
        (
            6,
            "desktop-pro",
            "ACTIVE",
            "2024-12-02T00:00:00Z",
            "null",
            r#""export""#,
            r#""MAINTAIN_ACCESS""#,
        ),
    ] {
        let answer = env
            .get(&format!("customers/validation/{id}"), Some(&token))
            .await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("content-type"), Some("application/json"));
        assert_eq!(
            answer.body,
            format!(
                r#"{{"customer_id":{id},"product":"{product}","license_status":"{status}","expires_at":"{expires}","updated_at":"2025-01-01T00:00:00.000Z","max_machines":{max_machines},"entitlements":{entitlements},"expiry_strategy":{strategy},"key_serial":null,"links":[{{"rel":"collection","href":"{parent}"}}]}}"#
            )
        );
    }
    let missing = env.get("customers/validation/99", Some(&token)).await;
    assert_eq!(
        (missing.status, missing.masked()),
        (404, NOT_FOUND.to_owned())
    );
    assert_eq!(
        missing.header("content-type"),
        Some("application/problem+json")
    );
    // `:id` binds one segment only.
    assert_eq!(
        env.get("customers/validation/1/extra", Some(&token))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn b17_success_carries_an_etag_that_conditional_gets_honour() {
    let env = start().await;
    let token = env.token().await;
    let first = env.get("customers/validation/1", Some(&token)).await;
    let etag = first.header("etag").expect("etag").to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 20,
        "{etag}"
    );
    let again = env
        .http
        .get(env.ords.url("customers/validation/1"))
        .bearer_auth(&token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    // A changed row is a new version.
    let mut row = env.ords.license(1).unwrap();
    row.license_status = "SUSPENDED".into();
    env.ords.upsert_license(row);
    let changed = env.get("customers/validation/1", Some(&token)).await;
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
    assert!(changed.body.contains(r#""license_status":"SUSPENDED""#));
}

#[tokio::test]
async fn b17_a_non_numeric_id_is_the_database_error_555() {
    let env = start().await;
    let token = env.token().await;
    let answer = env.get("customers/validation/abc", Some(&token)).await;
    assert_eq!(answer.status, 555);
    assert!(
        answer
            .masked()
            .starts_with("{\n    \"code\": \"UserDefinedResourceError\",\n"),
        "{}",
        answer.body
    );
    assert!(answer.body.contains("ORA-01722: invalid number"));
    assert!(
        answer.body.contains(r#""o:errorCode": "ORDS-25001""#),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn b17_an_id_oracle_converts_to_a_number_finds_its_row_or_none() {
    let env = start().await;
    let token = env.token().await;
    // Implicit TO_NUMBER: `1.0` and `1e0` are 1, `+1` is 1.
    for one in ["1.0", "1e0", "+1", "01.00"] {
        let answer = env
            .get(&format!("customers/validation/{one}"), Some(&token))
            .await;
        assert_eq!(answer.status, 200, "{one}: {}", answer.body);
        assert!(
            answer.body.contains(r#""customer_id":1,"#),
            "{}",
            answer.body
        );
    }
    // `1e3` is 1000 and `1.5` equals no integer id: no row, ORDS's 404.
    for none in ["1e3", "1.5"] {
        let answer = env
            .get(&format!("customers/validation/{none}"), Some(&token))
            .await;
        assert_eq!(answer.status, 404, "{none}: {}", answer.body);
        assert!(
            answer.body.contains(r#""code": "NotFound""#),
            "{}",
            answer.body
        );
    }
}

#[tokio::test]
async fn b18_plsql_out_parameters_are_top_level_members_named_as_declared() {
    let env = start_toml(
        r#"
        [[schemas]]
        alias = "page"
        [[modules]]
        name = "customers"
        base_path = "customers/"
        [[modules.templates]]
        pattern = "status/:id"
        [[modules.templates.handlers]]
        source_type = "plsql/block"
        columns = ["customer_id", "license_status"]
        filter_column = "customer_id"
        [[modules.templates.handlers.parameters]]
        name = "licenseStatus"
        column = "license_status"
        [[modules.templates.handlers.parameters]]
        name = "metadata.desc"
        value = "from a PL/SQL block"
        [[modules.templates.handlers.parameters]]
        name = "seats"
        param_type = "INT"
        value = 5
        [[modules.templates.handlers.parameters]]
        name = "rows"
        param_type = "RESULTSET"
        [[licenses]]
        customer_id = 7
        license_status = "REVOKED"
        "#,
    )
    .await;
    let found = env.get("customers/status/7", None).await;
    assert_eq!(
        (found.status, found.body.as_str()),
        (
            200,
            r#"{"licenseStatus":"REVOKED","metadata.desc":"from a PL/SQL block","seats":5,"rows":[{"customer_id":7,"license_status":"REVOKED"}]}"#
        )
    );
    let empty = env.get("customers/status/8", None).await;
    assert_eq!(
        empty.body,
        r#"{"licenseStatus":null,"metadata.desc":"from a PL/SQL block","seats":5,"rows":[]}"#
    );
}

#[tokio::test]
async fn b19_keys_are_lowercase_and_values_are_formatted_like_ords() {
    let env = start().await;
    env.ords.upsert_license(License {
        customer_id: 42,
        product: None,
        license_status: "REVOKED".into(),
        expires_at: None,
        updated_at: Some(datetime!(2025-03-04 05:06:07.891234 +02:00)),
    });
    let token = env.token().await;
    let answer = env
        .http
        .get(env.ords.url("customers/validation/42"))
        .header(ACCEPT, "application/json")
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        answer,
        format!(
            r#"{{"customer_id":42,"product":null,"license_status":"REVOKED","expires_at":null,"updated_at":"2025-03-04T03:06:07.891Z","max_machines":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"links":[{{"rel":"collection","href":"{}/ords/page/customers/validation/"}}]}}"#,
            env.ords.base_url
        )
    );
}
