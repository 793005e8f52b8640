//! Tests for `metrics`: the text format parses line by line, the named series are
//! there, label values are escaped, and families cannot grow without bound.

use std::collections::BTreeMap;

use super::*;

/// One parsed sample: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// A strict reader of the text format's three line kinds; panics naming the line.
fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut typed = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, _) = rest.split_once(' ').expect(line);
            assert!(valid_name(name), "{line}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect(line);
            assert!(valid_name(name), "{line}");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            assert!(typed.insert(name.to_owned()), "TYPE twice: {line}");
        } else {
            let (series, value) = line.rsplit_once(' ').expect(line);
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("value in {line}"));
            let (name, labels) = match series.split_once('{') {
                None => (series, BTreeMap::new()),
                Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}').expect(line))),
            };
            assert!(valid_name(name), "{line}");
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|f| typed.contains(*f)))
                .unwrap_or(name);
            assert!(typed.contains(family), "sample before its TYPE: {line}");
            samples.push((name.to_owned(), labels, value));
        }
    }
    samples
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `a="x",b="y\"z"` with the format's escapes undone.
fn parse_labels(mut rest: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").expect(rest);
        assert!(valid_name(name), "label name {name}");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("unterminated label value") {
                (i, '"') => break i,
                (_, '\\') => match chars.next().expect("dangling escape").1 {
                    'n' => value.push('\n'),
                    c @ ('\\' | '"') => value.push(c),
                    c => panic!("bad escape \\{c}"),
                },
                (_, c) => value.push(c),
            }
        };
        labels.insert(name.to_owned(), value);
        rest = after[end + 1..]
            .strip_prefix(',')
            .unwrap_or(&after[end + 1..]);
    }
    labels
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && l.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.2)
}

#[test]
fn an_empty_registry_shows_every_named_family() {
    let text = Metrics::new().render();
    for name in [
        "broker_requests_total",
        "broker_request_duration_seconds",
        "broker_upstream_requests_total",
        "broker_upstream_duration_seconds",
        "broker_token_fetch_total",
        "broker_token_seconds_to_expiry",
        "broker_token_generation",
        "broker_ratelimited_total",
        "broker_inflight",
        "broker_verdicts_total",
    ] {
        assert!(text.contains(&format!("# HELP {name} ")), "{name}");
        assert!(text.contains(&format!("# TYPE {name} ")), "{name}");
    }
    let samples = parse(&text);
    assert_eq!(
        value(
            &samples,
            "broker_token_fetch_total",
            &[("result", "permanent")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &samples,
            "broker_ratelimited_total",
            &[("key_type", "not_found")]
        ),
        Some(0.0)
    );
    for code in license_shared::VerdictCode::ALL {
        assert_eq!(
            value(
                &samples,
                "broker_verdicts_total",
                &[("code", code.as_str())]
            ),
            Some(0.0),
            "{code}"
        );
    }
    assert_eq!(
        value(&samples, "broker_token_seconds_to_expiry", &[]),
        Some(0.0)
    );
}

#[test]
fn observations_show_up_with_cumulative_buckets() {
    let m = Metrics::new();
    let route = "/v1/license/validate";
    m.observe_request(route, 200, Duration::from_millis(3));
    m.observe_request(route, 200, Duration::from_millis(30));
    m.observe_request(route, 429, Duration::from_secs(20));
    m.observe_upstream("200", Duration::from_millis(40));
    m.observe_upstream("timeout", Duration::from_secs(10));
    m.set_token_fetches(1, 2, 0);
    m.set_token_generation(7);
    m.rate_limited(LimitKind::Ip);
    m.verdict(license_shared::VerdictCode::Valid);
    m.verdict(license_shared::VerdictCode::WrongProduct);
    m.verdict(license_shared::VerdictCode::WrongProduct);
    let guard = m.inflight();
    let samples = parse(&m.render());
    drop(guard);

    let r = ("route", route);
    assert_eq!(
        value(&samples, "broker_requests_total", &[r, ("status", "200")]),
        Some(2.0)
    );
    assert_eq!(
        value(&samples, "broker_requests_total", &[r, ("status", "429")]),
        Some(1.0)
    );
    let bucket = "broker_request_duration_seconds_bucket";
    assert_eq!(value(&samples, bucket, &[r, ("le", "0.005")]), Some(1.0));
    assert_eq!(value(&samples, bucket, &[r, ("le", "0.05")]), Some(2.0));
    assert_eq!(value(&samples, bucket, &[r, ("le", "10")]), Some(2.0));
    assert_eq!(value(&samples, bucket, &[r, ("le", "+Inf")]), Some(3.0));
    assert_eq!(
        value(&samples, "broker_request_duration_seconds_count", &[r]),
        Some(3.0)
    );
    let sum = value(&samples, "broker_request_duration_seconds_sum", &[r]).unwrap();
    assert!((sum - 20.033).abs() < 1e-9, "{sum}");
    let timeout = [("status", "timeout")];
    assert_eq!(
        value(&samples, "broker_upstream_requests_total", &timeout),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "broker_upstream_duration_seconds_count", &timeout),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "broker_token_fetch_total",
            &[("result", "transient")]
        ),
        Some(2.0)
    );
    assert_eq!(value(&samples, "broker_token_generation", &[]), Some(7.0));
    assert_eq!(
        value(&samples, "broker_ratelimited_total", &[("key_type", "ip")]),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "broker_verdicts_total", &[("code", "VALID")]),
        Some(1.0)
    );
    // Each code counts in its own series only.
    assert_eq!(
        value(
            &samples,
            "broker_verdicts_total",
            &[("code", "WRONG_PRODUCT")]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &samples,
            "broker_verdicts_total",
            &[("code", "NOT_ACTIVATED")]
        ),
        Some(0.0)
    );
    assert_eq!(value(&samples, "broker_inflight", &[]), Some(1.0));
    assert_eq!(
        value(&parse(&m.render()), "broker_inflight", &[]),
        Some(0.0)
    );
}

#[test]
fn label_values_are_escaped_and_read_back_intact() {
    let m = Metrics::new();
    let nasty = "a\"b\\c\nd}";
    m.observe_request(nasty, 500, Duration::ZERO);
    let text = m.render();
    assert!(text.contains(r#"route="a\"b\\c\nd}""#), "{text}");
    let samples = parse(&text);
    assert_eq!(
        value(
            &samples,
            "broker_requests_total",
            &[("route", nasty), ("status", "500")]
        ),
        Some(1.0)
    );
}

#[test]
fn a_family_folds_excess_series_into_other() {
    let m = Metrics::new();
    for i in 0..(MAX_SERIES + 50) {
        m.observe_request(&format!("/raw/{i}"), 404, Duration::ZERO);
    }
    let samples = parse(&m.render());
    let series = samples
        .iter()
        .filter(|s| s.0 == "broker_requests_total")
        .count();
    assert_eq!(series, MAX_SERIES + 1);
    let other = [("route", "other"), ("status", "other")];
    assert_eq!(value(&samples, "broker_requests_total", &other), Some(50.0));
}

#[tokio::test(start_paused = true)]
async fn seconds_to_expiry_counts_down_between_fetches() {
    let m = Metrics::new();
    m.set_token_expiry(Some(Instant::now() + Duration::from_secs(3600)));
    let expiry =
        |m: &Metrics| value(&parse(&m.render()), "broker_token_seconds_to_expiry", &[]).unwrap();
    assert_eq!(expiry(&m), 3600.0);
    tokio::time::advance(Duration::from_secs(3000)).await;
    assert_eq!(expiry(&m), 600.0);
    tokio::time::advance(Duration::from_secs(700)).await;
    assert_eq!(expiry(&m), -100.0);
    m.set_token_expiry(None);
    assert_eq!(expiry(&m), 0.0);
}

#[test]
fn build_info_and_process_series_are_rendered() {
    let samples = parse(&Metrics::new().render());
    assert_eq!(
        value(
            &samples,
            "broker_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );
    let start = value(&samples, "process_start_time_seconds", &[]).unwrap();
    assert!(start > 1.6e9, "{start}");
    if cfg!(target_os = "linux") {
        assert!(value(&samples, "process_resident_memory_bytes", &[]).unwrap() > 0.0);
        assert!(value(&samples, "process_open_fds", &[]).unwrap() >= 3.0);
    }
}
