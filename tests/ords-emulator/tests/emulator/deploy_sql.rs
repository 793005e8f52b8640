//! `deploy/ords/*.sql` and the default seed name the same objects, so the emulator
//! keeps standing in for what a real ORDS gets.

use std::path::PathBuf;

use ords_emulator::seats::{
    LOCK_WAIT, MAX_RELEASE_BUDGET, MAX_SECONDS, MAX_TEXT_CHARS, MIN_FLOATING_LEASE_SECONDS,
    MIN_LEASE_SECONDS, SECONDS_PER_DAY,
};
use ords_emulator::{
    Column, Outcome, Procedure, Seed, SourceType, ENTITLEMENTS_PATTERN, EXPIRY_STRATEGIES,
    KEY_SERIAL_LIMIT, LICENSE_MODELS, LICENSE_STATUSES, MAX_DAYS, MAX_MACHINES_LIMIT,
};

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

/// The values of a SQL list (`1, 'a,b', TRUNC(d, 'MI') + 365, NULL`), split at
/// the commas outside quotes and parentheses, trimmed.
fn sql_values(list: &str) -> Vec<String> {
    let (mut out, mut current, mut depth, mut in_quote) = (Vec::new(), String::new(), 0, false);
    for c in list.chars() {
        match c {
            '\'' => in_quote = !in_quote,
            '(' if !in_quote => depth += 1,
            ')' if !in_quote => depth -= 1,
            ',' if !in_quote && depth == 0 => {
                out.push(current.trim().to_owned());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current.trim().to_owned());
    out
}

/// `'text'` → `Some("text")`, `NULL` → `None`.
fn sql_text(value: &str) -> Option<String> {
    (value != "NULL").then(|| value.trim_matches('\'').to_owned())
}

/// Every column definition's CHECK constraint: `CONSTRAINT <name> CHECK (<condition>)`
/// with the condition.
fn check_of<'a>(sql: &'a str, constraint: &str) -> &'a str {
    let needle = format!("CONSTRAINT {constraint} CHECK (");
    let at = sql.find(&needle).unwrap_or_else(|| panic!("{needle}")) + needle.len();
    let mut depth = 1;
    let end = sql[at..]
        .char_indices()
        .find(|&(_, c)| {
            depth += match c {
                '(' => 1,
                ')' => -1,
                _ => 0,
            };
            depth == 0
        })
        .map(|(i, _)| at + i)
        .expect("end of CHECK");
    &sql[at..end]
}

/// The current UTC time, and the current UTC minute as a DATE: the samples store UTC
/// wall-clock times (SYSDATE and SYSTIMESTAMP follow the database host's zone).
const UTC_NOW: &str = "SYS_EXTRACT_UTC(SYSTIMESTAMP)";
const UTC_MINUTE: &str = "TRUNC(CAST(SYS_EXTRACT_UTC(SYSTIMESTAMP) AS DATE), 'MI')";

/// Where `statement` starts in `sql`, or a panic naming it.
fn at(sql: &str, statement: &str) -> usize {
    sql.find(statement)
        .unwrap_or_else(|| panic!("no {statement}"))
}

#[test]
fn a_rerun_looks_every_object_up_before_creating_it() {
    let schema = read("schema.sql");
    let seats = read("seats.sql");
    // ORDS role names are unique per schema: CREATE_ROLE runs only for a missing role.
    let lookup = at(
        &schema,
        "FROM user_ords_roles\n   WHERE name = 'license_role';",
    );
    let guard = at(&schema, "IF l_role_found = 0 THEN");
    let create = at(&schema, "ORDS.CREATE_ROLE(");
    assert!(
        lookup < guard && guard < create,
        "the role is looked up first"
    );
    // Tables, columns and indexes: each DDL statement comes after a dictionary lookup
    // of its object, in the same block.
    for (sql, lookup, ddl) in [
        (
            &schema,
            "WHERE table_name = 'LICENSES';",
            "q'[CREATE TABLE licenses (",
        ),
        (
            &schema,
            "AND column_name = l_columns(i);",
            "EXECUTE IMMEDIATE l_add_columns(i);",
        ),
        (
            &seats,
            "AND column_name = 'MAX_MACHINES';",
            "q'[ALTER TABLE licenses ADD (max_machines",
        ),
        (
            &seats,
            "WHERE table_name = 'LICENSE_ACTIVATIONS';",
            "q'[CREATE TABLE license_activations (",
        ),
        (
            &seats,
            "WHERE index_name = 'LICENSE_ACTIVATIONS_LIVE_UK';",
            "q'[CREATE UNIQUE INDEX license_activations_live_uk",
        ),
        (
            &seats,
            "WHERE index_name = 'LICENSE_ACTIVATIONS_STATUS_IX';",
            "q'[CREATE INDEX license_activations_status_ix",
        ),
    ] {
        let (looked, created) = (at(sql, lookup), at(sql, ddl));
        assert!(looked < created, "{ddl} is looked up first");
        assert!(
            !sql[looked..created].contains("\n/\n"),
            "{ddl}: lookup in another block"
        );
    }
    // ALTER TABLE … ADD (…) columns are named as user_tab_columns lists them.
    assert!(schema.contains(
        "l_columns t_statements := t_statements('MAX_MACHINES', 'ENTITLEMENTS', 'EXPIRY_STRATEGY', 'KEY_SERIAL');"
    ));
}

#[test]
fn the_compile_gate_counts_errors_not_warnings() {
    let seats = read("seats.sql");
    let gate = &seats[at(&seats, "FROM user_errors")..];
    let gate = &gate[..gate.find("RAISE_APPLICATION_ERROR").unwrap()];
    assert!(gate.contains("AND attribute = 'ERROR'"), "{gate}");
}

#[test]
fn answers_are_written_whole_never_cut_at_a_fixed_count() {
    let seats = read("seats.sql");
    // No fixed-size pieces of a CLOB, which could end inside a character.
    assert!(!seats.contains("DBMS_LOB.SUBSTR"));
    assert!(!seats.contains("to_clob()"));
    assert!(seats.contains("HTP.PRN(l_answer.to_string());"));
    assert!(seats.contains("HTP.PRN(l_element.to_string());"));
}

#[test]
fn the_client_scripts_say_what_a_rerun_does() {
    let sql = read("ords_security.sql");
    // When the client exists the script returns before GRANT_CLIENT_ROLE: the comment
    // must not promise the grant is repeated.
    assert!(!sql.contains("the role grant is repeated"));
    let early = at(&sql, "RETURN;");
    assert!(early < at(&sql, "ORDS_SECURITY.GRANT_CLIENT_ROLE("));
}

#[test]
fn the_table_matches_the_emulator_columns_and_rows() {
    let schema = read("schema.sql");
    let start = schema
        .find("EXECUTE IMMEDIATE q'[CREATE TABLE licenses (")
        .expect("CREATE TABLE licenses, guarded by ORA-00955")
        + "EXECUTE IMMEDIATE q'[".len();
    let body = &schema[start..start + schema[start..].find("\n)]';").expect("end of CREATE TABLE")];
    assert!(schema.contains("PRAGMA EXCEPTION_INIT(e_exists, -955);"));
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

    // The CHECK constraints the emulator enforces on seeds and PUTs.
    let status = check_of(body, "licenses_status_ck");
    assert!(status.starts_with("license_status IN ("), "{status}");
    assert_eq!(quoted(status), LICENSE_STATUSES);
    // A whole number within the broker's unsigned 32-bit reading.
    let whole = format!(
        "max_machines = TRUNC(max_machines) AND max_machines BETWEEN 0 AND {MAX_MACHINES_LIMIT}"
    );
    assert_eq!(check_of(body, "licenses_max_machines_ck"), whole);
    // A table from before the rule gets the constraint replaced.
    assert!(schema.contains(&format!(
        "ALTER TABLE licenses ADD CONSTRAINT licenses_max_machines_ck CHECK ({whole})"
    )));
    assert_eq!(
        check_of(body, "licenses_entitlements_ck"),
        format!("REGEXP_LIKE(entitlements, '{ENTITLEMENTS_PATTERN}', 'c')")
    );
    let strategy = check_of(body, "licenses_expiry_strategy_ck");
    assert!(strategy.starts_with("expiry_strategy IN ("), "{strategy}");
    assert_eq!(quoted(strategy), EXPIRY_STRATEGIES);
    assert_eq!(
        check_of(body, "licenses_key_serial_ck"),
        format!("key_serial = TRUNC(key_serial) AND key_serial BETWEEN 0 AND {KEY_SERIAL_LIMIT}")
    );

    // A table from before the newer columns gets each of them, with the same type and
    // constraint, and a column that exists already is skipped (ORA-01430).
    assert!(schema.contains("PRAGMA EXCEPTION_INIT(e_column_exists, -1430);"));
    assert!(schema.contains("WHEN e_column_exists THEN"));
    let added: Vec<&str> = schema
        .match_indices("q'[ALTER TABLE licenses ADD (")
        .map(|(i, _)| {
            let rest = &schema[i + 3..];
            &rest[..rest.find("]'").unwrap()]
        })
        .collect();
    let newer = [
        (Column::MaxMachines, "licenses_max_machines_ck"),
        (Column::Entitlements, "licenses_entitlements_ck"),
        (Column::ExpiryStrategy, "licenses_expiry_strategy_ck"),
        (Column::KeySerial, "licenses_key_serial_ck"),
    ];
    let expected_adds: Vec<String> = newer
        .iter()
        .map(|(c, ck)| {
            format!(
                "ALTER TABLE licenses ADD ({} {} CONSTRAINT {ck} CHECK ({}))",
                c.name(),
                c.sql_type(),
                check_of(body, ck)
            )
        })
        .collect();
    assert_eq!(added, expected_adds);
    // seats.sql adds max_machines the same way.
    assert!(read("seats.sql").contains(&expected_adds[0]));

    // Each sample row, inserted when its customer_id is free, in table column order.
    let insert = format!(
        "INSERT INTO licenses ({})",
        Column::ALL.map(Column::name).join(", ")
    );
    let lines: Vec<&str> = schema.lines().map(str::trim).collect();
    let mut inserted = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !line.starts_with("INSERT INTO licenses") {
            continue;
        }
        assert_eq!(*line, insert);
        let values = lines[i + 1]
            .strip_prefix("SELECT ")
            .and_then(|v| v.strip_suffix(" FROM dual"))
            .expect("SELECT … FROM dual");
        let values = sql_values(values);
        assert_eq!(
            lines[i + 2],
            format!(
                "WHERE NOT EXISTS (SELECT NULL FROM licenses WHERE customer_id = {});",
                values[0]
            )
        );
        inserted.push(values);
    }
    let date = |spec: Option<String>| match spec.as_deref() {
        Some("+365d") => format!("{UTC_MINUTE} + 365"),
        Some("-30d") => format!("{UTC_MINUTE} - 30"),
        other => panic!("no SQL for the seed's expires_at {other:?}"),
    };
    let seeded: Vec<Vec<String>> = Seed::article_default()
        .licenses
        .iter()
        .map(|l| {
            let text =
                |v: &Option<String>| v.as_ref().map_or("NULL".to_owned(), |s| format!("'{s}'"));
            assert_eq!(
                l.updated_at.as_ref().map(|t| t.to_string()).as_deref(),
                Some("now")
            );
            vec![
                l.customer_id.to_string(),
                text(&l.product),
                format!("'{}'", l.license_status),
                date(l.expires_at.as_ref().map(|t| t.to_string())),
                UTC_NOW.to_owned(),
                l.max_machines.map_or("NULL".to_owned(), |m| m.to_string()),
                text(&l.entitlements),
                text(&l.expiry_strategy),
                l.key_serial.map_or("NULL".to_owned(), |n| n.to_string()),
            ]
        })
        .collect();
    assert_eq!(inserted, seeded);
    // The literals are what the CHECK constraints allow.
    for row in &inserted {
        if let Some(list) = sql_text(&row[6]) {
            assert!(
                ords_emulator::license::entitlements_are_valid(&list),
                "{list}"
            );
        }
        if let Some(strategy) = sql_text(&row[7]) {
            assert!(EXPIRY_STRATEGIES.contains(&strategy.as_str()), "{strategy}");
        }
    }
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
        // Re-runnable: the client is looked up by name before it is created.
        let guard = format!("WHERE name = '{}'", client.name);
        let looked_up = sql
            .find(&guard)
            .unwrap_or_else(|| panic!("{file}: {guard}"));
        assert!(
            looked_up < sql.find(create).unwrap(),
            "{file} checks before creating"
        );
    }
    // ORDS_SECURITY.REGISTER_CLIENT registers no secret unless it is given one
    // (p_client_secret defaults to ords_constants.oauth_client_secret_skip): every
    // token request would then get 401. The script must pass a generated one.
    let secret = args(&read("ords_security.sql"), "p_client_secret");
    assert_eq!(secret.len(), 1, "{secret:?}");
    assert!(
        secret[0]
            .to_ascii_uppercase()
            .starts_with("ORDS_TYPES.OAUTH_CLIENT_SECRET("),
        "{secret:?}"
    );
}

/// The text of `FUNCTION name(` … `END name;` in the package body.
fn function_body<'a>(sql: &'a str, name: &str) -> &'a str {
    let body = &sql[sql
        .find("CREATE OR REPLACE PACKAGE BODY")
        .expect("package body")..];
    let start = body
        .find(&format!("FUNCTION {name}("))
        .unwrap_or_else(|| panic!("FUNCTION {name}"));
    let end = body[start..]
        .find(&format!("END {name};"))
        .unwrap_or_else(|| panic!("END {name};"));
    &body[start..start + end]
}

/// The first quoted argument of every `call(` in `text`, in order.
fn first_args(text: &str, call: &str) -> Vec<String> {
    text.match_indices(call)
        .filter_map(|(i, _)| quoted(&text[i..]).into_iter().next())
        .collect()
}

/// The binds a seats handler passes to its function.
fn binds(p: Procedure) -> &'static str {
    match p {
        Procedure::List => ":id",
        Procedure::StartTrial => ":body_text",
        _ => ":id, :body_text",
    }
}

/// `name CONSTANT PLS_INTEGER := value;`
fn constant(sql: &str, name: &str) -> i64 {
    let needle = format!("{name} CONSTANT PLS_INTEGER := ");
    let at = sql.find(&needle).unwrap_or_else(|| panic!("{needle}")) + needle.len();
    sql[at..sql[at..].find(';').unwrap() + at].parse().unwrap()
}

#[test]
fn seats_sql_defines_the_emulators_seat_handlers() {
    let sql = read("seats.sql");
    let seed = Seed::article_default();
    let module = &seed.modules[0];

    // Templates, methods and the one-line PL/SQL each handler runs.
    let patterns: Vec<&str> = Procedure::ALL.iter().map(|p| p.pattern()).collect();
    let twice: Vec<&str> = patterns.iter().flat_map(|p| [*p, *p]).collect();
    assert_eq!(args(&sql, "p_pattern"), twice);
    assert_eq!(
        args(&sql, "p_method"),
        Procedure::ALL.map(Procedure::method)
    );
    let n = Procedure::ALL.len();
    assert_eq!(
        args(&sql, "p_source_type"),
        vec!["ORDS.source_type_plsql"; n]
    );
    assert_eq!(
        args(&sql, "p_module_name"),
        vec![module.name.clone(); 2 * n]
    );
    let sources: Vec<String> = Procedure::ALL
        .iter()
        .map(|p| format!("BEGIN :status_code := {}({}); END;", p.call(), binds(*p)))
        .collect();
    assert_eq!(args(&sql, "p_source"), sources);

    // The default seed serves exactly these on the same module.
    let served: Vec<(String, String, String)> = module
        .templates
        .iter()
        .flat_map(|t| t.handlers.iter().map(move |h| (t, h)))
        .filter_map(|(t, h)| Some((t.pattern.clone(), h.method.clone(), h.call.clone()?)))
        .collect();
    let expected: Vec<(String, String, String)> = Procedure::ALL
        .iter()
        .map(|p| (p.pattern().into(), p.method().into(), p.call().into()))
        .collect();
    assert_eq!(served, expected);
    assert!(seed.privileges[0].modules.contains(&module.name));

    for p in Procedure::ALL {
        let name = p.call().trim_start_matches("license_seats.");
        // Declared in the spec with the parameters the handler passes.
        let params = match p {
            Procedure::List => "(p_customer_id IN NUMBER)",
            Procedure::StartTrial => "(p_body IN CLOB)",
            _ => "(p_customer_id IN NUMBER, p_body IN CLOB)",
        };
        assert!(
            sql.contains(&format!("FUNCTION {name}{params} RETURN PLS_INTEGER;")),
            "spec of {name}"
        );
        let body = function_body(&sql, name);
        // The JSON members it reads, in the order it checks them.
        let mut members = Vec::new();
        for (i, _) in body.match_indices("_member(l_body, ") {
            members.push(quoted(&body[i..])[0].clone());
        }
        assert_eq!(members, p.body_members(), "{name} reads");
        // Its 200 outcomes.
        let mut outcomes = first_args(body, "l_outcome := ");
        outcomes.extend(first_args(body, "seats_answer(p_customer_id, '"));
        outcomes.extend(first_args(body, "fail(c_ok, "));
        // CASE WHEN … THEN 'A' ELSE 'B' END
        for (i, _) in body.match_indices("l_outcome := CASE") {
            let case = &body[i..i + body[i..].find("END;").unwrap()];
            outcomes.extend(quoted(case));
        }
        outcomes.sort();
        outcomes.dedup();
        let mut expected: Vec<&str> = p.outcomes().iter().map(|o| o.as_str()).collect();
        expected.sort();
        assert_eq!(outcomes, expected, "{name} outcomes");
        // Its error answers, each with its status constant.
        let mut errors = vec![("c_no_license", Outcome::NoLicense)];
        if p == Procedure::StartTrial {
            // Per product: no license row to miss, the product row's lock instead.
            errors = vec![
                ("c_ok", Outcome::NoTrial),
                ("c_bad_request", Outcome::BadRequest),
                ("c_busy", Outcome::Busy),
            ];
            assert!(body.contains("FOR UPDATE WAIT 2;"), "{name} locks");
        } else if p != Procedure::List {
            errors.insert(0, ("c_bad_request", Outcome::BadRequest));
            errors.push(("c_busy", Outcome::Busy));
            assert!(
                body.contains("l_max := lock_license(p_customer_id);"),
                "{name} locks"
            );
            assert!(
                body.contains("COMMIT;") && body.contains("ROLLBACK;"),
                "{name}"
            );
        }
        let fails: Vec<String> = body
            .match_indices("RETURN fail(")
            .map(|(i, _)| body[i + 12..].split(',').next().unwrap().trim().to_owned())
            .collect();
        assert_eq!(
            fails,
            errors
                .iter()
                .map(|(c, _)| c.to_string())
                .collect::<Vec<_>>(),
            "{name} errors"
        );
        for (c, outcome) in &errors {
            assert!(
                body.contains(&format!("fail({c}, '{}'", outcome.as_str())),
                "{name}: {c} answers {}",
                outcome.as_str()
            );
        }
    }

    // Status codes and limits.
    assert_eq!(constant(&sql, "c_ok"), 200);
    for (c, o) in [
        ("c_bad_request", Outcome::BadRequest),
        ("c_no_license", Outcome::NoLicense),
        ("c_busy", Outcome::Busy),
    ] {
        assert_eq!(constant(&sql, c), i64::from(o.status()), "{c}");
    }
    assert_eq!(constant(&sql, "c_min_lease_seconds"), MIN_LEASE_SECONDS);
    assert_eq!(constant(&sql, "c_max_seconds"), MAX_SECONDS);
    assert_eq!(constant(&sql, "c_max_text_chars"), MAX_TEXT_CHARS as i64);
    assert_eq!(constant(&sql, "c_max_release_budget"), MAX_RELEASE_BUDGET);
    assert_eq!(
        constant(&sql, "c_min_floating_lease_seconds"),
        MIN_FLOATING_LEASE_SECONDS
    );
    assert_eq!(constant(&sql, "c_seconds_per_day"), SECONDS_PER_DAY);
    assert!(sql.contains(&format!("FOR UPDATE WAIT {};", LOCK_WAIT.as_secs())));
    assert!(sql.contains("PRAGMA EXCEPTION_INIT(e_busy, -30006);"));
    assert!(sql.contains("WHEN DUP_VAL_ON_INDEX THEN"));
    assert!(sql.contains("SYS_EXTRACT_UTC(SYSTIMESTAMP)"));
    // The 400 messages the emulator's tests pin.
    for message in [
        "'the body must be a JSON object'",
        "p_name || ': required'",
        "p_name || ': must be a string'",
        "p_name || ': must be at most ' || c_max_text_chars || ' characters'",
        "p_name || ': must be an integer from ' || p_min || ' to ' || p_max",
    ] {
        assert!(sql.contains(message), "{message}");
    }
    // The offline activation's name on a seat: a column (added to an older table too),
    // set by every activation, and matched by a release that names one.
    assert!(sql.contains("  activation_ref    VARCHAR2(64 CHAR),\n"));
    assert!(
        sql.contains("q'[ALTER TABLE license_activations ADD (activation_ref VARCHAR2(64 CHAR))]'")
    );
    assert!(sql.contains("SET activation_ref = l_activation_ref"));
    assert!(sql.contains("AND activation_ref = p_activation_ref"));
    // The live-pair index.
    assert!(sql.contains("CREATE UNIQUE INDEX license_activations_live_uk ON license_activations (CASE WHEN status = 'ACTIVE' THEN customer_id END, CASE WHEN status = 'ACTIVE' THEN machine_hash END)"));
    // Every outcome the emulator knows is one the package writes.
    for o in Outcome::ALL {
        assert!(sql.contains(&format!("'{}'", o.as_str())), "{}", o.as_str());
    }
}

#[test]
fn seats_sql_adds_the_floating_columns_and_trial_tables_the_emulator_serves() {
    let sql = read("seats.sql");
    let seed = Seed::article_default();
    // license_model: the emulator's values, NODE_LOCKED the default.
    let model = check_of(&sql, "licenses_license_model_ck");
    assert_eq!(quoted(model), LICENSE_MODELS);
    assert!(sql.contains(&format!(
        "license_model VARCHAR2(16) DEFAULT '{}' NOT NULL",
        LICENSE_MODELS[0]
    )));
    assert_eq!(
        check_of(&sql, "licenses_max_borrow_days_ck"),
        format!(
            "max_borrow_days = TRUNC(max_borrow_days) AND max_borrow_days BETWEEN 0 AND {MAX_DAYS}"
        )
    );
    assert_eq!(
        check_of(&sql, "license_products_trial_days_ck"),
        format!("trial_days = TRUNC(trial_days) AND trial_days BETWEEN 1 AND {MAX_DAYS}")
    );
    // Re-runnable: each object is looked up before it is created.
    for (lookup, ddl) in [
        (
            "AND column_name = l_columns(i);",
            "EXECUTE IMMEDIATE l_add_columns(i);",
        ),
        (
            "WHERE table_name = 'LICENSE_PRODUCTS';",
            "q'[CREATE TABLE license_products (",
        ),
        (
            "WHERE table_name = 'LICENSE_TRIALS';",
            "q'[CREATE TABLE license_trials (",
        ),
    ] {
        let (looked, created) = (at(&sql, lookup), at(&sql, ddl));
        assert!(looked < created, "{ddl} is looked up first");
        assert!(
            !sql[looked..created].contains("\n/\n"),
            "{ddl}: lookup in another block"
        );
    }
    // One trial per product and machine: the key of the table.
    assert!(sql.contains("CONSTRAINT license_trials_pk PRIMARY KEY (product, machine_key)"));
    // The sample products are the seed's, inserted when missing.
    let mut products = Vec::new();
    for (i, _) in sql.match_indices("INSERT INTO license_products (product, trial_days)") {
        let line = sql[i..].lines().nth(1).unwrap().trim();
        let values = line
            .strip_prefix("SELECT ")
            .and_then(|v| v.strip_suffix(" FROM dual"))
            .expect("SELECT … FROM dual");
        let values = sql_values(values);
        let product = sql_text(&values[0]).unwrap();
        let days = sql_text(&values[1]).map(|d| d.parse::<i64>().unwrap());
        assert!(sql[i..].lines().nth(2).unwrap().contains(&format!(
            "WHERE NOT EXISTS (SELECT NULL FROM license_products WHERE product = '{product}')"
        )));
        products.push((product, days));
    }
    let seeded: Vec<(String, Option<i64>)> = seed
        .products
        .iter()
        .map(|p| (p.product.clone(), p.trial_days))
        .collect();
    assert_eq!(products, seeded);
    // The floating sample licenses are the seed's.
    let floating: Vec<String> = seed
        .licenses
        .iter()
        .filter(|l| l.license_model.as_deref() == Some("FLOATING"))
        .map(|l| {
            format!(
                "UPDATE licenses\n   SET license_model = 'FLOATING', max_borrow_days = {}\n WHERE customer_id = {}\n",
                l.max_borrow_days.unwrap_or(0),
                l.customer_id
            )
        })
        .collect();
    assert_eq!(floating.len(), 1);
    for update in floating {
        assert!(sql.contains(&update), "{update}");
    }
    // Each model refuses the other's calls, in the database.
    assert!(sql.contains("IF is_floating(p_customer_id) THEN\n      l_outcome := 'FLOATING';"));
    assert!(
        sql.contains("IF NOT is_floating(p_customer_id) THEN\n      l_outcome := 'NOT_FLOATING';")
    );
    // A validation renews a floating seat with its own lease.
    let renew = function_body(&sql, "renew");
    assert!(renew.contains("IF renew_floating(p_customer_id, l_machine_hash, NULL, l_now,"));
    // A borrow is capped by the license and a renewal never shortens it.
    assert!(sql.contains(
        "GREATEST(l_lease_seconds, LEAST(l_borrow_seconds, l_borrow_days * c_seconds_per_day))"
    ));
    assert!(sql.contains("lease_until = GREATEST(lease_until, p_until)"));
    assert!(sql.contains("l_expires := l_now + NUMTODSINTERVAL(l_days, 'DAY');"));
}
