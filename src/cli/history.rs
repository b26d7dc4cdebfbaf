//! `crawler history URL`: a URL's title changes, newest first.

use std::path::Path;

use super::{ExitCode, load_optional, report_config_error};
use crate::frontier::{self, Access, TitleChange};
use crate::urls;

/// Prints the title changes of `url` in the crawl `path` configures: one
/// line each (`when  "from" -> "to"`), or a JSON array.
pub fn print(url: &str, path: &Path, json: bool) -> ExitCode {
    let config = match load_optional(path) {
        Ok(config) => config,
        Err(err) => return report_config_error(&err),
    };
    let url = match urls::parse_seed(url) {
        Ok(url) => url,
        Err(message) => {
            eprintln!("crawler: {message}");
            return ExitCode::Usage;
        }
    };
    let history =
        frontier::open(&config, Access::Inspect).and_then(|mut store| store.history(&url));
    let changes = match history {
        Ok(changes) => changes,
        Err(err) if !err.is_unusable_file() => {
            eprintln!("crawler: {err}");
            return ExitCode::Runtime;
        }
        Err(err) => {
            eprintln!("crawler: state error: {err}");
            return ExitCode::Usage;
        }
    };
    if json {
        println!("{}", as_json(&changes));
    } else if changes.is_empty() {
        println!("{url}: no title change recorded");
    } else {
        for change in &changes {
            println!("{}", as_line(change));
        }
    }
    ExitCode::Ok
}

/// `2026-12-07T10:00:00Z  "Old" -> "New"` (a missing title is `null`).
fn as_line(change: &TitleChange) -> String {
    let quoted = |title: &Option<String>| {
        title
            .as_deref()
            .map_or_else(|| "null".to_owned(), |title| format!("{title:?}"))
    };
    format!(
        "{}  {} -> {}",
        humantime::format_rfc3339_seconds(change.at),
        quoted(&change.from),
        quoted(&change.to)
    )
}

/// `[{"at": "…", "from": …, "to": …}, …]`, newest first.
fn as_json(changes: &[TitleChange]) -> String {
    let list: Vec<serde_json::Value> = changes
        .iter()
        .map(|change| {
            serde_json::json!({
                "at": humantime::format_rfc3339_millis(change.at).to_string(),
                "from": change.from,
                "to": change.to,
            })
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_one_line_with_quoted_titles() {
        let change = TitleChange {
            at: std::time::SystemTime::UNIX_EPOCH,
            from: Some("Old \"one\"".to_owned()),
            to: None,
        };
        assert_eq!(
            as_line(&change),
            "1970-01-01T00:00:00Z  \"Old \\\"one\\\"\" -> null"
        );
        let json: serde_json::Value = serde_json::from_str(&as_json(&[change])).unwrap();
        assert_eq!(json[0]["from"], "Old \"one\"");
        assert!(json[0]["to"].is_null());
    }
}
