//! Where settings come from: an optional TOML file and the environment, the
//! environment winning. Every value is looked up by its environment variable name (see
//! [`crate::config::vars`]), so an error can always name the exact knob to fix.
//!
//! Hand-written rather than `figment`: figment merges into one typed struct and its
//! errors name the struct's key path (`ords.base_url`), while an operator sets and
//! greps `LICENSE_BROKER_ORDS_BASE_URL`; and each domain here reads its own settings
//! from the one table in `vars`, which the README table and `deploy/broker.toml` are
//! rendered from. What is left to merge is a lookup in two maps.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::vars::{self, toml_key, TABLE};

/// One configuration problem: which variable or field, and what to do about it. Its
/// `Display` is one line and never contains a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct ConfigError {
    /// The environment variable, or `field in FILE`, or a file path.
    pub name: String,
    /// What is wrong and how to fix it.
    pub problem: String,
}

impl ConfigError {
    pub fn new(name: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            problem: problem.into(),
        }
    }
}

/// A looked-up value and where it came from, so errors point at the right place.
#[derive(Debug, Clone)]
pub struct Setting {
    pub value: String,
    /// `LICENSE_BROKER_X` or `x in /etc/broker.toml`.
    pub origin: String,
}

/// Looks an environment variable up.
type EnvLookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The merged sources. The environment is a function so tests need not touch the
/// process environment (which is shared by every test thread).
pub struct Sources {
    file: HashMap<String, String>,
    file_name: Option<PathBuf>,
    env: EnvLookup,
}

impl Sources {
    /// Reads `file` (if any) now; environment lookups happen on demand.
    pub fn new(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Result<Self, ConfigError> {
        let table = match file {
            None => HashMap::new(),
            Some(path) => read_toml(path)?,
        };
        Ok(Self {
            file: table,
            file_name: file.map(Path::to_path_buf),
            env: Box::new(env),
        })
    }

    /// The process environment plus `file`.
    pub fn from_process(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::new(file, |name| std::env::var(name).ok())
    }

    /// The value of `var`: the environment if set and not empty, else the file.
    pub fn get(&self, var: &str) -> Option<Setting> {
        if let Some(value) = (self.env)(var).filter(|v| !v.trim().is_empty()) {
            return Some(Setting {
                value,
                origin: var.to_owned(),
            });
        }
        let key = toml_key(var);
        let value = self.file.get(&key)?;
        Some(Setting {
            value: self.resolve(var, value),
            origin: match &self.file_name {
                Some(path) => format!("{key} in {}", path.display()),
                None => key,
            },
        })
    }

    /// Where `var` was set (the variable, or its key in the file), or the variable's name
    /// when it is unset: what an error about its value names.
    pub fn origin(&self, var: &str) -> String {
        self.get(var).map_or_else(|| var.to_owned(), |s| s.origin)
    }

    /// A relative `*_file` path in the TOML file is relative to the file's own
    /// directory, not to the working directory (which under systemd is `/`): the
    /// file and its keys can then move together. Paths from the environment are taken
    /// as they are.
    fn resolve(&self, var: &str, value: &str) -> String {
        let dir = self.file_name.as_deref().and_then(Path::parent);
        match dir {
            Some(dir) if is_path_setting(var) && Path::new(value.trim()).is_relative() => {
                dir.join(value.trim()).display().to_string()
            }
            _ => value.to_owned(),
        }
    }

    /// Like [`Sources::get`] but missing is an error that says how to set it.
    pub fn require(&self, var: &str) -> Result<Setting, ConfigError> {
        self.get(var).ok_or_else(|| {
            ConfigError::new(
                var,
                format!(
                    "is required; set the environment variable or `{}` in the config file",
                    toml_key(var)
                ),
            )
        })
    }

    /// Whole seconds, or `default` when unset.
    pub fn secs_or(&self, var: &str, default: Duration) -> Result<Duration, ConfigError> {
        self.parse_or(var, default.as_secs(), "a whole number of seconds")
            .map(Duration::from_secs)
    }

    /// [`Sources::secs_or`] for a duration where zero makes no sense.
    pub fn positive_secs_or(&self, var: &str, default: Duration) -> Result<Duration, ConfigError> {
        let value = self.secs_or(var, default)?;
        if value.is_zero() {
            return Err(ConfigError::new(var, "must be at least 1 second"));
        }
        Ok(value)
    }

    /// Parses a number-like setting, or returns `default` when unset.
    pub fn parse_or<T: std::str::FromStr>(
        &self,
        var: &str,
        default: T,
        what: &str,
    ) -> Result<T, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(s) => s.value.trim().parse().map_err(|_| {
                ConfigError::new(s.origin, format!("{:?} is not {what}", s.value.trim()))
            }),
        }
    }
}

/// Settings whose value is a file path.
pub(super) fn is_path_setting(var: &str) -> bool {
    var.ends_with("_FILE")
}

/// `LICENSE_BROKER_*` names in `names` that are no setting, each with a one-line
/// warning naming the closest known variable: a typo such as
/// `LICENSE_BROKER_CLIENTID` would otherwise be silently ignored.
pub fn unknown_variables<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out = Vec::new();
    for name in names {
        if !name.starts_with("LICENSE_BROKER_") || TABLE.iter().any(|v| v.name == name) {
            continue;
        }
        let closest = TABLE
            .iter()
            .map(|v| (edit_distance(name, v.name), v.name))
            .min()
            .map(|(_, known)| known);
        out.push(match closest {
            Some(known) => format!("{name} is not a setting and is ignored; did you mean {known}?"),
            None => format!("{name} is not a setting and is ignored"),
        });
    }
    out.sort();
    out
}

/// Levenshtein distance over bytes (the names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Reads the TOML file into `key → text`. Numbers become their decimal text and arrays
/// of strings become comma-joined, the same shapes the environment uses.
fn read_toml(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(&name, format!("cannot read the config file: {e}")))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        ConfigError::new(&name, format!("is not valid TOML: {}", e.message()))
    })?;
    let known: Vec<String> = TABLE
        .iter()
        .filter(|v| v.in_file)
        .map(|v| toml_key(v.name))
        .collect();
    let mut out = HashMap::new();
    for (key, value) in table {
        if key == toml_key(vars::CLIENT_SECRET) {
            return Err(ConfigError::new(
                format!("client_secret in {name}"),
                "the OAuth secret is not read from the config file; put it in the file named by client_secret_file or in LICENSE_BROKER_CLIENT_SECRET",
            ));
        }
        if !known.contains(&key) {
            return Err(ConfigError::new(
                format!("{key} in {name}"),
                format!("unknown setting; known ones are {}", known.join(", ")),
            ));
        }
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => {
                let mut parts = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        toml::Value::String(s) => parts.push(s),
                        _ => {
                            return Err(ConfigError::new(
                                format!("{key} in {name}"),
                                "must be a list of strings",
                            ))
                        }
                    }
                }
                parts.join(",")
            }
            _ => {
                return Err(ConfigError::new(
                    format!("{key} in {name}"),
                    "must be a string, a whole number, true/false or a list of strings",
                ))
            }
        };
        out.insert(key, text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;

/// `deploy/broker.toml`: every setting of [`TABLE`], documented and commented out at
/// its default (or an example value where there is none), so an operator uncomments
/// what they need. A test compares the file with this, so the two cannot drift.
pub fn example_toml() -> String {
    let mut out = String::from(
        "# license-broker configuration: every setting, commented out at its default (or at an\n\
         # example value where there is none). Generated from broker/src/config/vars.rs; a test\n\
         # keeps the two in step (rewrite it: WRITE_DEPLOY_EXAMPLE=1 cargo test -p license-broker --lib example_toml).\n\
         #\n\
         # Use: license-broker serve --config /etc/license-broker/broker.toml (and check, the same).\n\
         # Each key is a LICENSE_BROKER_* environment variable in lower case without the prefix;\n\
         # the environment wins over this file. A relative *_file path is relative to the\n\
         # directory of this file. Unknown keys are refused.\n",
    );
    for var in TABLE {
        out.push('\n');
        for line in wrap(var.doc, 86) {
            out.push_str("# ");
            out.push_str(&line);
            out.push('\n');
        }
        let key = toml_key(var.name);
        if !var.in_file {
            out.push_str(&format!(
                "# ({}: environment only, never read from this file.)\n",
                var.name
            ));
            continue;
        }
        let default = var.default.trim();
        out.push_str(&format!("# ({}; default: {default})\n", var.name));
        let value = example_value(var.name).map_or_else(|| toml_literal(default), str::to_owned);
        out.push_str(&format!("#{key} = {value}\n"));
    }
    out
}

/// Values to show for settings whose default is not a value.
fn example_value(name: &str) -> Option<&'static str> {
    Some(match name {
        vars::ORDS_BASE_URL => "\"https://ords.example.com/ords/page\"",
        vars::CLIENT_ID => "\"license_backend_client\"",
        vars::CLIENT_SECRET_FILE => "\"credentials/client_secret\"",
        vars::SIGNING_KEY_FILE => "\"credentials/signing_key.pem\"",
        vars::KEY_SECRET_FILE => "\"credentials/key_secret\"",
        vars::TOKEN_URL => "\"https://ords.example.com/ords/page/oauth/token\"",
        vars::SEAT_LEASE_SECS => "604800",
        vars::TRUSTED_PROXIES => "[\"127.0.0.1/32\", \"::1/128\"]",
        vars::TLS_CERT_FILE => "\"credentials/tls_cert.pem\"",
        vars::TLS_KEY_FILE => "\"credentials/tls_key.pem\"",
        vars::METRICS_LISTEN => "\"127.0.0.1:9090\"",
        _ => return None,
    })
}

/// The first backticked value of a documented default as TOML: a number or boolean
/// as is, anything else as a string.
fn toml_literal(default: &str) -> String {
    let value = default
        .split('`')
        .nth(1)
        .unwrap_or(default)
        .trim()
        .to_owned();
    if value.parse::<u64>().is_ok() || value == "true" || value == "false" {
        value
    } else {
        format!("{value:?}")
    }
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}
