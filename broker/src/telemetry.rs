//! Logging set-up for the binary: an env filter from `LICENSE_BROKER_LOG` (else
//! `RUST_LOG`, else a default the command picks) and text or JSON lines on stderr.
//!
//! JSON lines are flat: `ts` (RFC 3339, UTC), `level`, `msg`, `target`, then the
//! event's fields and those of its spans (the request's `request_id`) at the top
//! level, so `jq .status` or a log shipper's field mapping needs no nesting.

use std::fmt;
use std::io::IsTerminal as _;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

use crate::config::vars;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    /// `LICENSE_BROKER_LOG_FORMAT`, when the command line gave none.
    pub fn from_env() -> Result<Option<Self>, String> {
        match std::env::var(vars::LOG_FORMAT) {
            Err(_) => Ok(None),
            Ok(v) if v.trim().eq_ignore_ascii_case("json") => Ok(Some(Self::Json)),
            Ok(v) if v.trim().eq_ignore_ascii_case("text") => Ok(Some(Self::Text)),
            Ok(v) => Err(format!(
                "{}: {:?} is not a log format; use text or json",
                vars::LOG_FORMAT,
                v.trim()
            )),
        }
    }
}

/// The filter from `LICENSE_BROKER_LOG`, else `RUST_LOG`, else `default_filter`. A
/// filter that does not parse is an error naming its variable, not a silent default.
pub fn filter_from(
    log: Option<&str>,
    rust_log: Option<&str>,
    default_filter: &str,
) -> Result<EnvFilter, String> {
    let pick = [(vars::LOG, log), ("RUST_LOG", rust_log)]
        .into_iter()
        .find_map(|(name, value)| Some((name, value?.trim())).filter(|(_, v)| !v.is_empty()));
    match pick {
        None => Ok(EnvFilter::new(default_filter)),
        Some((name, value)) => EnvFilter::try_new(value).map_err(|e| {
            format!("{name}: {value:?} is not a log filter ({e}); use e.g. info or license_broker=debug,info")
        }),
    }
}

/// Installs the global subscriber. Call once, first thing in `main`. `default_filter`
/// applies when neither variable is set; a bad filter is an error.
pub fn init(format: LogFormat, default_filter: &str) -> Result<(), String> {
    let filter = filter_from(
        std::env::var(vars::LOG).ok().as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
        default_filter,
    )?;
    // Colour only on a terminal: escape codes in a log file are noise, and colouring
    // costs more than the rest of the request log line.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        // tracing-subscriber's own text format: `name=value` with the value's `Debug`,
        // the message first, its terminal control characters escaped.
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .init(),
    }
    Ok(())
}

/// One flat JSON object per event (see the module docs).
pub struct FlatJson;

impl<S, N> FormatEvent<S, N> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let ts = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let mut fields = Fields::default();
        event.record(&mut fields);
        // Span fields (outermost first), then the event's own, which win on a clash.
        let mut rest = Map::new();
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(formatted) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(formatted) {
                    rest.extend(map);
                }
            }
        }
        rest.extend(fields.values);
        // `ts`, `level`, `msg` and `target` first, in that order, for a human reading.
        let mut text = String::with_capacity(256);
        let head = [
            ("ts", Value::from(ts)),
            ("level", Value::from(meta.level().as_str())),
            ("msg", Value::from(fields.message.unwrap_or_default())),
            ("target", Value::from(meta.target())),
        ];
        // A field with one of those names is kept as `field.<name>`, never a duplicate key.
        let rest = rest.into_iter().map(|(key, value)| match key.as_str() {
            "ts" | "level" | "msg" | "target" => (format!("field.{key}"), value),
            _ => (key, value),
        });
        let head = head.into_iter().map(|(k, v)| (k.to_owned(), v));
        for (key, value) in head.chain(rest) {
            text.push(if text.is_empty() { '{' } else { ',' });
            text.push_str(&serde_json::to_string(&key).map_err(|_| fmt::Error)?);
            text.push(':');
            text.push_str(&serde_json::to_string(&value).map_err(|_| fmt::Error)?);
        }
        text.push('}');
        writeln!(writer, "{text}")
    }
}

/// An event's fields as JSON values; `message` kept apart as `msg`.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    values: Map<String, Value>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(text);
        } else {
            self.values.insert(field.name().into(), text.into());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        } else {
            self.values.insert(field.name().into(), value.into());
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.values.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.values.insert(field.name().into(), value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.values.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.values.insert(field.name().into(), value.into());
    }
}

#[cfg(test)]
mod tests {
    use license_testkit::LogCapture;

    use super::*;

    #[test]
    fn a_bad_filter_names_its_variable_and_unset_means_the_default() {
        let err = filter_from(Some("info,[="), None, "info").unwrap_err();
        assert!(err.starts_with("LICENSE_BROKER_LOG: "), "{err}");
        let err = filter_from(None, Some("info,[="), "info").unwrap_err();
        assert!(err.starts_with("RUST_LOG: "), "{err}");
        assert!(filter_from(Some("debug"), Some("info,[="), "info").is_ok());
        assert!(filter_from(Some(" "), None, "warn").is_ok());
    }

    /// The text format: tracing-subscriber's own, one line per event, `name=value`,
    /// and a message's terminal control characters escaped unless sanitizing is off.
    #[test]
    fn text_lines_are_name_value_with_the_message_escaped() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer \u{1b}[31m")]
        struct Outer(#[source] Inner);
        #[derive(Debug, thiserror::Error)]
        #[error("inner")]
        struct Inner;
        fn events() {
            let span = tracing::info_span!("request", request_id = "00ab", n = 3u8);
            let _entered = span.enter();
            tracing::info!(
                request_id = "83eabc207a852596",
                method = %"POST",
                route = "/v1/license/validate",
                status = 200u16,
                code = Some(tracing::field::display("VALID")),
                error = None::<tracing::field::DisplayValue<&str>>,
                client = %"127.0.0.1",
                upstream_status = None::<u16>,
                key = %"254fd140",
                latency_ms = 0.649,
                "request"
            );
            tracing::warn!(
                r#type = "raw",
                flag = true,
                n = -4i64,
                whole = 2.0,
                "two\nlines \u{1b}[2J \u{7}\u{8}\u{c}\u{7f} \u{85}é \"quoted\""
            );
            tracing::info!(text = "a \"b\" \u{1b} \\ é", debug = ?vec![1, 2], "");
            tracing::info!(only = 1u64);
            tracing::error!(
                error = &Outer(Inner) as &(dyn std::error::Error + 'static),
                after = 1u8,
                "failed"
            );
            tracing::error!(error = &Inner as &(dyn std::error::Error + 'static));
        }
        let capture = |sanitize: bool| {
            let buffer = LogCapture::default();
            let writer = buffer.clone();
            let subscriber = tracing_subscriber::fmt()
                .without_time()
                .with_ansi(false)
                .with_ansi_sanitization(sanitize)
                .with_writer(move || writer.clone())
                .finish();
            tracing::subscriber::with_default(subscriber, events);
            buffer.text()
        };
        // What the broker writes (sanitizing is on by default): byte for byte.
        let at = r#"request{request_id="00ab" n=3}: license_broker::telemetry::tests:"#;
        let expected = [
            format!(r#" INFO {at} request request_id="83eabc207a852596" method=POST route="/v1/license/validate" status=200 code=VALID client=127.0.0.1 key=254fd140 latency_ms=0.649"#),
            format!(" WARN {at} two"),
            r#"lines \x1b[2J \x07\x08\x0c\x7f \u{85}é "quoted" type="raw" flag=true n=-4 whole=2.0"#.to_owned(),
            format!(r#" INFO {at}  text="a \"b\" \u{{1b}} \\ é" debug=[1, 2]"#),
            format!(" INFO {at} only=1"),
            format!(r"ERROR {at} failed error=outer \x1b[31m error.sources=[inner] after=1"),
            format!("ERROR {at} error=inner"),
        ];
        let text = capture(true);
        assert_eq!(text.lines().collect::<Vec<_>>(), expected, "{text}");
        // Without sanitizing, the message's control characters pass as they are.
        let raw = capture(false);
        assert_eq!(raw.lines().count(), 7, "{raw}");
        assert!(
            raw.contains("lines \u{1b}[2J \u{7}\u{8}\u{c}\u{7f} \u{85}é"),
            "{raw}"
        );
    }

    #[test]
    fn json_lines_are_flat_with_ts_level_msg_and_span_fields() {
        let buffer = LogCapture::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", request_id = "00ab");
            let _entered = span.enter();
            tracing::warn!(status = 503u16, latency_ms = 1.25, route = "/x", "request");
        });
        let line: Value = serde_json::from_str(buffer.text().trim()).unwrap();
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["msg"], "request");
        assert_eq!(line["status"], 503);
        assert_eq!(line["latency_ms"], 1.25);
        assert_eq!(line["route"], "/x");
        assert_eq!(line["request_id"], "00ab");
        assert!(line["ts"].as_str().unwrap().ends_with('Z'), "{line}");
        assert!(line.get("fields").is_none() && line.get("span").is_none());
    }
}
