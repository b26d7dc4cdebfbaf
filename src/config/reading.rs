//! Reading the sources: the file merged with `CRAWLER_*` variables, and the
//! problems found before validation (unknown keys, wrong types), each
//! named by its origin and key.

use config::{Environment, Map, Value, ValueKind};

use super::{ConfigError, ENV_PREFIX, Problem, Settings};

/// The environment source: `CRAWLER_WORKERS=64`, `CRAWLER_OUTPUT__JSONL=…`,
/// `CRAWLER_SEEDS="url1 url2"`.
pub(super) fn environment() -> Environment {
    Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("_")
        .separator("__")
        .try_parsing(true)
        .list_separator(" ")
        .with_list_parse_key("seeds")
}

/// Names the environment variable behind a dotted key.
fn env_var_for(key: &str) -> String {
    format!("{ENV_PREFIX}_{}", key.replace('.', "__").to_uppercase())
}

/// The origin to report for a value: the file, or the environment variable that set it.
pub(super) fn origin_of(value: &Value, key: &str, file: &str) -> String {
    match value.origin() {
        Some(_) => format!("environment variable `{}`", env_var_for(key)),
        None => file.to_owned(),
    }
}

/// Finds every key whose value has the wrong type, by deserializing each
/// top-level key alone (the others take their defaults). serde stops at the
/// first error; this reports them all, each with its key and origin.
pub(super) fn type_errors(
    tree: &Map<String, Value>,
    file: &str,
    first: &config::ConfigError,
) -> ConfigError {
    let mut keys: Vec<&String> = tree.keys().collect();
    keys.sort();
    let mut problems = Vec::new();
    for key in keys {
        let alone = config::Config::builder()
            .set_override(key.as_str(), tree[key].clone())
            .and_then(|builder| builder.build())
            .and_then(config::Config::try_deserialize::<Settings>);
        if let Err(err) = alone {
            let message = err.to_string();
            problems.push(Problem {
                origin: origin_of(&tree[key], key, file),
                key: Some(nested_key(&message, key).unwrap_or_else(|| key.clone())),
                message: explain_type_error(&message),
            });
        }
    }
    if problems.is_empty() {
        problems.push(Problem {
            origin: file.to_owned(),
            key: None,
            message: explain_type_error(&first.to_string()),
        });
    }
    ConfigError::Invalid(problems)
}

/// The dotted key the config crate names in `message` ("… for key
/// `crawl.scope`"), when it lies under `top`.
fn nested_key(message: &str, top: &str) -> Option<String> {
    let named = message.split(" for key `").nth(1)?.split('`').next()?;
    named
        .strip_prefix(top)
        .is_some_and(|rest| rest.starts_with('.'))
        .then(|| named.to_owned())
}

/// The values an enum-valued key takes, by the enum's name in serde's message.
const ENUM_VALUES: [(&str, &str); 3] = [
    ("ScopeSetting", "\"host\", \"domain\" or \"any\""),
    ("RenderMode", "\"never\", \"auto\" or \"always\""),
    (
        "ResourceKind",
        "one of \"image\", \"media\", \"font\", \"stylesheet\", \"script\", \"fetch\", \"xhr\", \"document\", \"other\"",
    ),
];

/// Drops the config crate's trailing "for key …" (we name the key) and adds a hint.
fn explain_type_error(message: &str) -> String {
    let message = message.split(" for key `").next().unwrap_or(message);
    for (name, values) in ENUM_VALUES {
        if let Some(got) =
            message.strip_prefix(&format!("enum {name} does not have variant constructor "))
        {
            return format!("must be {values}, got \"{got}\"");
        }
    }
    let hint = if message.contains("expected a duration") {
        "; write a quoted duration such as \"30s\" or \"500ms\""
    } else if message.contains("expected parsable string") {
        "; write a quoted size such as \"4MiB\" or \"512KiB\""
    } else {
        ""
    };
    format!("{message}{hint}")
}

/// `tree` without the keys of `unknown` (dotted, nested ones included),
/// so that the rest can be checked too.
pub(super) fn without_unknown(
    tree: &Map<String, Value>,
    unknown: &[Problem],
) -> Map<String, Value> {
    let mut tree = tree.clone();
    for key in unknown.iter().filter_map(|problem| problem.key.as_deref()) {
        remove_dotted(&mut tree, key);
    }
    tree
}

fn remove_dotted(tree: &mut Map<String, Value>, dotted: &str) {
    match dotted.split_once('.') {
        None => {
            tree.remove(dotted);
        }
        Some((top, rest)) => {
            if let Some(Value {
                kind: ValueKind::Table(table),
                ..
            }) = tree.get_mut(top)
            {
                remove_dotted(table, rest);
            }
        }
    }
}

/// `tree` without the `CRAWLER_*` variables a `[[notify]]` target names
/// as its `secret_env`: they hold a secret, not a setting.
pub(super) fn without_secret_variables(mut tree: Map<String, Value>) -> Map<String, Value> {
    let Some(ValueKind::Array(targets)) = tree.get("notify").map(|value| &value.kind) else {
        return tree;
    };
    let prefix = format!("{ENV_PREFIX}_");
    let keys: Vec<String> = targets
        .iter()
        .filter_map(|target| match &target.kind {
            ValueKind::Table(table) => table.get("secret_env")?.clone().into_string().ok(),
            _ => None,
        })
        .filter_map(|name| {
            let key = name.strip_prefix(&prefix)?;
            Some(key.to_lowercase().replace("__", "."))
        })
        .collect();
    for key in keys {
        remove_dotted(&mut tree, &key);
    }
    tree
}

/// The settings `tree` holds (keys it lacks take their defaults).
///
/// # Errors
/// A value has the wrong type.
pub(super) fn settings_of(tree: &Map<String, Value>) -> Result<Settings, config::ConfigError> {
    let mut builder = config::Config::builder();
    for (key, value) in tree {
        builder = builder.set_override(key.as_str(), value.clone())?;
    }
    builder.build()?.try_deserialize()
}

/// Lists every key in `tree` that `Settings` does not know, with its origin.
pub(super) fn unknown_keys(tree: &Map<String, Value>, file: &str) -> Vec<Problem> {
    let known = match serde_json::to_value(Settings::default()) {
        Ok(value) => value,
        Err(err) => {
            return vec![Problem {
                origin: file.to_owned(),
                key: None,
                message: format!("internal error listing known keys: {err}"),
            }];
        }
    };
    let mut problems = Vec::new();
    collect_unknown(tree, &known, "", file, &mut problems);
    problems
}

fn collect_unknown(
    tree: &Map<String, Value>,
    known: &serde_json::Value,
    prefix: &str,
    file: &str,
    problems: &mut Vec<Problem>,
) {
    let mut keys: Vec<&String> = tree.keys().collect();
    keys.sort();
    for key in keys {
        let value = &tree[key];
        let dotted = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (known.get(key), &value.kind) {
            (None, _) => problems.push(Problem {
                origin: origin_of(value, &dotted, file),
                key: Some(dotted),
                message: unknown_key_message(key, known),
            }),
            (Some(serde_json::Value::Object(_)), ValueKind::Table(table)) => {
                collect_unknown(table, &known[key.as_str()], &dotted, file, problems);
            }
            _ => {}
        }
    }
}

fn unknown_key_message(key: &str, known: &serde_json::Value) -> String {
    let names: Vec<&str> = known
        .as_object()
        .map(|map| map.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let closest = names
        .iter()
        .map(|name| (strsim::levenshtein(key, name), *name))
        .filter(|(distance, _)| *distance <= 3)
        .min();
    match closest {
        Some((_, name)) => format!("unknown key; did you mean `{name}`?"),
        None => format!("unknown key; known keys here: {}", names.join(", ")),
    }
}
