//! `deploy/ords/*.sql` and the default seed name the same objects, so the emulator
//! keeps standing in for what a real ORDS gets.

use std::path::PathBuf;

use ords_emulator::{Column, Seed, SourceType, LICENSE_STATUSES};

fn read(file: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/ords")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every literal passed as `param => 'value'`, in order (names case-insensitive).
fn args(sql: &str, param: &str) -> Vec<String> {
    let lower = sql.to_ascii_lowercase();
    let needle = param.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find(&needle) {
        let after = from + i + needle.len();
        from = after;
        let rest = sql[after..].trim_start();
        let Some(rest) = rest.strip_prefix("=>") else {
            continue;
        };
        let rest = rest.trim_start();
        if let Some(q) = rest.strip_prefix("q'[") {
            out.push(q[..q.find("]'").unwrap_or(q.len())].to_owned());
        } else if let Some(q) = rest.strip_prefix('\'') {
            out.push(q[..q.find('\'').unwrap_or(q.len())].to_owned());
        } else {
            out.push(
                rest.split([',', ')', ';'])
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_owned(),
            );
        }
    }
    out
}

fn quoted(s: &str) -> Vec<String> {
    s.split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn names_match_the_default_seed() {
    let seed = Seed::article_default();
    let schema = read("schema.sql");
    let module = &seed.modules[0];
    let template = &module.templates[0];
    let handler = &template.handlers[0];

    assert_eq!(
        args(&schema, "p_url_mapping_pattern"),
        [seed.schemas[0].alias.as_str()]
    );
    assert_eq!(args(&schema, "p_module_name"), vec![module.name.clone(); 3]);
    assert_eq!(args(&schema, "p_base_path"), [module.base_path.as_str()]);
    assert_eq!(
        args(&schema, "p_items_per_page"),
        [module.items_per_page.unwrap().to_string()]
    );
    assert_eq!(
        args(&schema, "p_pattern"),
        vec![template.pattern.clone(); 2]
    );
    assert_eq!(args(&schema, "p_method"), [handler.method.as_str()]);
    let source_type = match handler.source_type {
        SourceType::Item => "ORDS.source_type_collection_item",
        SourceType::Collection => "ORDS.source_type_collection_feed",
        SourceType::PlsqlBlock => "ORDS.source_type_plsql",
    };
    assert_eq!(args(&schema, "p_source_type"), [source_type]);
    assert_eq!(args(&schema, "p_role_name"), [seed.roles[0].name.as_str()]);
    assert_eq!(
        args(&schema, "p_privilege_name"),
        [seed.privileges[0].name.as_str()]
    );
    assert!(schema.contains(&format!(
        "l_roles(1)   := '{}';",
        seed.privileges[0].roles[0]
    )));
    assert!(schema.contains(&format!(
        "l_modules(1) := '{}';",
        seed.privileges[0].modules[0]
    )));

    // The handler query selects the seed's columns and binds the seed's parameter.
    let source = &args(&schema, "p_source")[0];
    let columns = handler.columns.clone().unwrap();
    let bind = handler.bind.clone().unwrap();
    let filter = handler.filter_column.clone().unwrap();
    assert_eq!(
        source,
        &format!(
            "SELECT {} FROM licenses WHERE {filter} = :{bind}",
            columns.join(", ")
        )
    );
    assert!(template.pattern.ends_with(&format!(":{bind}")));
}

#[test]
fn the_table_matches_the_emulator_columns_and_rows() {
    let schema = read("schema.sql");
    let start = schema
        .find("CREATE TABLE licenses (")
        .expect("CREATE TABLE licenses");
    let body = &schema[start..start + schema[start..].find(");").expect("end of CREATE TABLE")];
    let columns: Vec<(String, String)> = body
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("CONSTRAINT"))
        .map(|l| {
            let mut words = l.split_whitespace();
            (
                words.next().unwrap().to_owned(),
                words.next().unwrap().trim_end_matches(',').to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = Column::ALL
        .iter()
        .map(|c| (c.name().to_owned(), c.sql_type().to_owned()))
        .collect();
    assert_eq!(columns, expected);

    let check = &body[body
        .find("CHECK (license_status IN (")
        .expect("status CHECK")..];
    assert_eq!(
        quoted(&check[..check.find("))").unwrap()]),
        LICENSE_STATUSES
    );

    let inserted: Vec<(i64, String)> = schema
        .lines()
        .filter_map(|l| l.trim().strip_prefix("VALUES ("))
        .map(|v| {
            let id = v.split(',').next().unwrap().trim().parse().unwrap();
            (id, quoted(v)[1].clone())
        })
        .collect();
    let seeded: Vec<(i64, String)> = Seed::article_default()
        .licenses
        .iter()
        .map(|l| (l.customer_id, l.license_status.clone()))
        .collect();
    assert_eq!(inserted, seeded);
}

#[test]
fn both_client_scripts_create_the_seeded_client() {
    let seed = Seed::article_default();
    let client = &seed.clients[0];
    for (file, create) in [
        ("ords_security.sql", "ORDS_SECURITY.REGISTER_CLIENT("),
        ("oauth_legacy.sql", "OAUTH.CREATE_CLIENT("),
    ] {
        let sql = read(file);
        assert!(sql.contains(create), "{file} uses {create}");
        assert_eq!(args(&sql, "p_name"), [client.name.as_str()], "{file}");
        assert_eq!(
            args(&sql, "p_grant_type"),
            [client.grant_type.as_str()],
            "{file}"
        );
        assert_eq!(
            args(&sql, "p_privilege_names"),
            [seed.privileges[0].name.as_str()],
            "{file}"
        );
        assert_eq!(
            args(&sql, "p_client_name"),
            [client.name.as_str()],
            "{file}"
        );
        assert_eq!(args(&sql, "p_role_name"), client.roles, "{file}");
        assert!(sql.contains("GRANT_CLIENT_ROLE("), "{file}");
    }
}
