//! Seed and option parsing: bad input is an error that names the field.

use ords_emulator::seed::config_from_toml_str;
use ords_emulator::{EmulatorOptions, Seed, SeedError, TokenErrorStyle};

fn error(toml: &str) -> String {
    match Seed::from_toml_str(toml) {
        Ok(_) => panic!("accepted: {toml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn errors_name_the_field() {
    assert!(error("").contains("`schemas`"));
    assert!(error("[[schemas]]\nalias = \"page\"\n[[licenses]]\ncustomer_id = 1\nlicense_status = \"EXPIRED\"\n").contains("`licenses[0].license_status`"));
    assert!(error(
        "[[schemas]]\nalias = \"page\"\n[[privileges]]\nname = \"p\"\nmodules = [\"nope\"]\n"
    )
    .contains("`privileges[0].modules[0]`"));
    assert!(error(
        "[[schemas]]\nalias = \"a\"\n[[schemas]]\nalias = \"b\"\n[[roles]]\nname = \"r\"\n"
    )
    .contains("`roles[0].schema`"));
    assert!(error(
        "[[schemas]]\nalias = \"page\"\n[[clients]]\nname = \"c\"\ngrant_type = \"password\"\n"
    )
    .contains("`clients[0].grant_type`"));
    let typo = error("[[schemas]]\nalias = \"page\"\nalais = \"x\"\n");
    assert!(typo.contains("unknown field `alais`"), "{typo}");
    let time = error("[[schemas]]\nalias = \"page\"\n[[licenses]]\ncustomer_id = 1\nlicense_status = \"ACTIVE\"\nexpires_at = \"+1y\"\n");
    assert!(
        time.contains("expires_at") || time.contains("+1y"),
        "{time}"
    );
    let handler = error("[[schemas]]\nalias = \"page\"\n[[modules]]\nname = \"m\"\nbase_path = \"m/\"\n[[modules.templates]]\npattern = \"x/:id\"\n[[modules.templates.handlers]]\nsource_type = \"json/item\"\nfilter_column = \"nope\"\n");
    assert!(
        handler.contains("`modules[0].templates[0].handlers[0].filter_column`"),
        "{handler}"
    );
}

#[test]
fn a_config_with_only_options_keeps_the_article() {
    let (seed, options) =
        config_from_toml_str("[options]\ntoken_error_style = \"rfc6749\"\n").unwrap();
    assert_eq!(seed, Seed::article_default());
    assert_eq!(options.token_error_style, TokenErrorStyle::Rfc6749);
    let bad = config_from_toml_str("[options]\ntoken_get_status = 42\n").unwrap_err();
    assert!(
        matches!(&bad, SeedError::Invalid { field, .. } if field == "options.token_get_status"),
        "{bad}"
    );
    let unknown = config_from_toml_str("[options]\nlifetime = 5\n").unwrap_err();
    assert!(unknown.to_string().contains("lifetime"), "{unknown}");
}

#[test]
fn defaults_are_the_documented_guesses() {
    let o = EmulatorOptions::default();
    assert_eq!(
        (o.token_lifetime_secs, o.items_per_page, o.token_get_status),
        (3600, 25, 405)
    );
    assert!(!o.allow_client_secret_post);
    assert_eq!(o.context_root, "/ords");
}

#[test]
fn the_default_seed_is_the_article() {
    let seed = Seed::article_default();
    assert_eq!(seed.schemas[0].alias, "page");
    assert_eq!(seed.modules[0].name, "customers");
    assert_eq!(seed.modules[0].templates[0].pattern, "validation/:id");
    assert_eq!(seed.roles[0].name, "license_role");
    assert_eq!(
        (
            seed.privileges[0].name.as_str(),
            seed.privileges[0].modules.as_slice()
        ),
        ("license_priv", &["customers".to_owned()][..])
    );
    assert_eq!(
        (
            seed.clients[0].name.as_str(),
            seed.clients[0].grant_type.as_str()
        ),
        ("license_backend_client", "client_credentials")
    );
    assert_eq!(seed.clients[0].roles, ["license_role"]);
    let ids: Vec<(i64, &str)> = seed
        .licenses
        .iter()
        .map(|l| (l.customer_id, l.license_status.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            (1, "ACTIVE"),
            (2, "ACTIVE"),
            (3, "SUSPENDED"),
            (4, "ACTIVE"),
            (5, "ACTIVE"),
            (6, "ACTIVE"),
            (7, "ACTIVE")
        ]
    );
    let limits: Vec<Option<i64>> = seed.licenses.iter().map(|l| l.max_machines).collect();
    assert_eq!(limits, [None, None, None, Some(2), None, None, Some(2)]);
    let products: Vec<Option<&str>> = seed.licenses.iter().map(|l| l.product.as_deref()).collect();
    let pro = Some("desktop-pro");
    assert_eq!(
        products,
        [pro, pro, pro, pro, Some("desktop-lite"), pro, pro]
    );
    let entitlements: Vec<Option<&str>> = seed
        .licenses
        .iter()
        .map(|l| l.entitlements.as_deref())
        .collect();
    assert_eq!(
        entitlements,
        [
            Some("export,sync"),
            None,
            None,
            None,
            None,
            Some("export"),
            None
        ]
    );
    let strategies: Vec<Option<&str>> = seed
        .licenses
        .iter()
        .map(|l| l.expiry_strategy.as_deref())
        .collect();
    assert_eq!(
        strategies,
        [None, None, None, None, None, Some("MAINTAIN_ACCESS"), None]
    );
    // Floating licenses and trials: customer 7 only; desktop-pro has a 14-day trial.
    let models: Vec<(Option<&str>, Option<i64>)> = seed
        .licenses
        .iter()
        .map(|l| (l.license_model.as_deref(), l.max_borrow_days))
        .collect();
    let node_locked = (None, None);
    assert_eq!(
        models,
        [
            node_locked,
            node_locked,
            node_locked,
            node_locked,
            node_locked,
            node_locked,
            (Some("FLOATING"), Some(7))
        ]
    );
    let trials: Vec<(&str, Option<i64>)> = seed
        .products
        .iter()
        .map(|p| (p.product.as_str(), p.trial_days))
        .collect();
    assert_eq!(trials, [("desktop-pro", Some(14)), ("desktop-lite", None)]);
}
