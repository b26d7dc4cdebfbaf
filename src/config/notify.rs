//! The `[[notify]]` targets: where title changes (and failures,
//! recoveries) are sent, as written and as resolved (secret read, patterns
//! compiled). A secret never appears in `Debug`, in serialized settings, or
//! in a message: targets are named by their `name` and a redacted URL.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};
use url::Url;

/// `confirm` accepted at most: more fetches in a row than this is a typo.
pub const MAX_CONFIRM: u32 = 100;
/// Default time a target may keep failing before `/healthz` says `degraded`.
pub const DEFAULT_DEGRADED_AFTER: Duration = Duration::from_secs(300);

/// The shape of a notification's body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyFormat {
    /// Our documented JSON payload (signed when a secret is set).
    #[default]
    Json,
    /// A Slack incoming webhook (`{"text": …}`).
    Slack,
    /// A Discord webhook (`{"content": …}`).
    Discord,
    /// ntfy's plain-text publish API.
    Ntfy,
}

/// What a target is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyEvent {
    /// A page's title changed (confirmed by `confirm` fetches in a row).
    TitleChanged,
    /// A URL that worked now fails (`confirm` failures in a row).
    Failed,
    /// A URL that was failing works again.
    Recovered,
}

impl NotifyEvent {
    /// The name used in payloads, config and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TitleChanged => "title_changed",
            Self::Failed => "failed",
            Self::Recovered => "recovered",
        }
    }
}

/// A secret string: shown as `***` by `Debug`, never serialized.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for signing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

fn default_events() -> Vec<NotifyEvent> {
    vec![NotifyEvent::TitleChanged]
}
const fn default_confirm() -> u32 {
    1
}
const fn default_degraded_after() -> Duration {
    DEFAULT_DEGRADED_AFTER
}

/// One `[[notify]]` table as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyTarget {
    /// The target's name in logs, metrics and the outbox; default: the
    /// URL's host and a digest of the URL.
    #[serde(default)]
    pub name: Option<String>,
    /// Where notifications are POSTed (http or https). Its path may hold a
    /// token (Slack, Discord), so only its scheme and host are ever shown.
    #[serde(skip_serializing)]
    pub url: String,
    /// The body's shape.
    #[serde(default)]
    pub format: NotifyFormat,
    /// The HMAC-SHA256 key signing `json` bodies.
    #[serde(default, skip_serializing)]
    pub secret: Option<Secret>,
    /// A file holding the secret (its first line), relative to the config file.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// An environment variable holding the secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// What the target is told about.
    #[serde(default = "default_events")]
    pub events: Vec<NotifyEvent>,
    /// With any, a URL must match one of these regexes to be notified.
    #[serde(default)]
    pub include: Vec<String>,
    /// A URL matching one of these regexes is never notified.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Fetches in a row that must agree before a change (or failure) is notified.
    #[serde(default = "default_confirm")]
    pub confirm: u32,
    /// How long deliveries may keep failing before `/healthz` says `degraded`.
    #[serde(default = "default_degraded_after", with = "humantime_serde")]
    pub degraded_after: Duration,
}

/// A target ready to use: URL parsed, secret read, patterns compiled.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its name (unique among targets).
    pub name: String,
    /// Where notifications are POSTed.
    pub url: Url,
    /// The body's shape.
    pub format: NotifyFormat,
    /// The signing key, for `json`.
    pub secret: Option<Secret>,
    /// What it is told about.
    pub events: Vec<NotifyEvent>,
    include: Vec<Regex>,
    exclude: Vec<Regex>,
    /// Fetches in a row that must agree.
    pub confirm: u32,
    /// Failing this long makes `/healthz` `degraded`.
    pub degraded_after: Duration,
}

impl PartialEq for Target {
    fn eq(&self, other: &Self) -> bool {
        let patterns = |regexes: &[Regex]| -> Vec<String> {
            regexes.iter().map(|r| r.as_str().to_owned()).collect()
        };
        (
            &self.name,
            &self.url,
            self.format,
            &self.secret,
            &self.events,
        ) == (
            &other.name,
            &other.url,
            other.format,
            &other.secret,
            &other.events,
        ) && (self.confirm, self.degraded_after) == (other.confirm, other.degraded_after)
            && patterns(&self.include) == patterns(&other.include)
            && patterns(&self.exclude) == patterns(&other.exclude)
    }
}

impl Target {
    /// Whether `event` on `url` is for this target.
    pub fn wants(&self, event: NotifyEvent, url: &str) -> bool {
        self.events.contains(&event)
            && (self.include.is_empty() || self.include.iter().any(|r| r.is_match(url)))
            && !self.exclude.iter().any(|r| r.is_match(url))
    }

    /// The URL as it may be shown: scheme, host and port (its path may be a token).
    pub fn shown_url(&self) -> String {
        redacted(&self.url)
    }
}

/// `url` without what may be secret: `https://hooks.slack.com/…`.
pub fn redacted(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{}://{host}:{port}/…", url.scheme()),
        None => format!("{}://{host}/…", url.scheme()),
    }
}

/// The name of a target without one: its host and a digest of its whole
/// URL (`hooks.slack.com-3fa9c1`), so two targets on one host differ and a
/// name never shows a token.
fn default_name(url: &Url) -> String {
    let digest = xxhash_rust::xxh3::xxh3_64(url.as_str().as_bytes()) & 0xff_ffff;
    format!("{}-{digest:06x}", url.host_str().unwrap_or_default())
}

/// A problem with one target: its key (`notify[0].url`) and why.
pub type TargetProblem = (String, String);

/// Resolves every target; the problems name the key of each that is wrong.
/// Without `needs_secrets`, a secret that cannot be read is left out (the
/// target is unsigned) rather than a problem.
pub fn resolve_targets(
    targets: &[NotifyTarget],
    base: &Path,
    needs_secrets: bool,
) -> (Vec<Target>, Vec<TargetProblem>) {
    let mut resolved = Vec::new();
    let mut problems = Vec::new();
    for (index, target) in targets.iter().enumerate() {
        let key = |name: &str| format!("notify[{index}].{name}");
        match resolve(target, base, needs_secrets) {
            Ok(target) => {
                if resolved
                    .iter()
                    .any(|other: &Target| other.name == target.name)
                {
                    problems.push((
                        key("name"),
                        format!(
                            "two targets are named `{}`: give each a distinct `name`",
                            target.name
                        ),
                    ));
                }
                resolved.push(target);
            }
            Err(found) => problems.extend(found.into_iter().map(|(name, why)| (key(name), why))),
        }
    }
    (resolved, problems)
}

fn resolve(
    target: &NotifyTarget,
    base: &Path,
    needs_secrets: bool,
) -> Result<Target, Vec<(&'static str, String)>> {
    let mut problems = Vec::new();
    let url = match Url::parse(&target.url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Some(url),
        Ok(url) => {
            let why = format!("must be an http or https URL, got `{}`", redacted(&url));
            problems.push(("url", why));
            None
        }
        // The text may hold a token: the parser's reason, not the text.
        Err(err) => {
            problems.push(("url", format!("is not a valid URL ({err})")));
            None
        }
    };
    let secret = read_secret(target, base).unwrap_or_else(|(key, why)| {
        if needs_secrets || key == "secret" {
            problems.push((key, why));
        }
        None
    });
    if secret.is_some() && target.format != NotifyFormat::Json {
        let why = "a secret signs `json` bodies only; Slack, Discord and ntfy carry their token in the URL".to_owned();
        problems.push(("secret", why));
    }
    if target.events.is_empty() {
        problems.push((
            "events",
            "lists no event: name at least one of \"title_changed\", \"failed\", \"recovered\""
                .to_owned(),
        ));
    }
    if target.confirm == 0 || target.confirm > MAX_CONFIRM {
        let why = format!(
            "must be between 1 and {MAX_CONFIRM}, got {}",
            target.confirm
        );
        problems.push(("confirm", why));
    }
    let include = compile(&target.include, "include", &mut problems);
    let exclude = compile(&target.exclude, "exclude", &mut problems);
    if let Some(name) = &target.name
        && (name.is_empty() || name.chars().any(char::is_control))
    {
        problems.push((
            "name",
            "must be a non-empty name without control characters".to_owned(),
        ));
    }
    match url {
        Some(url) if problems.is_empty() => Ok(Target {
            name: target.name.clone().unwrap_or_else(|| default_name(&url)),
            url,
            format: target.format,
            secret,
            events: target.events.clone(),
            include,
            exclude,
            confirm: target.confirm,
            degraded_after: target.degraded_after,
        }),
        _ => Err(problems),
    }
}

/// The secret from `secret`, `secret_file` or `secret_env` (at most one of them).
fn read_secret(
    target: &NotifyTarget,
    base: &Path,
) -> Result<Option<Secret>, (&'static str, String)> {
    let given = [
        target.secret.is_some(),
        target.secret_file.is_some(),
        target.secret_env.is_some(),
    ];
    if given.iter().filter(|given| **given).count() > 1 {
        return Err((
            "secret",
            "set only one of `secret`, `secret_file` and `secret_env`".to_owned(),
        ));
    }
    if let Some(file) = &target.secret_file {
        let path = base.join(file);
        let text = std::fs::read_to_string(&path).map_err(|err| {
            (
                "secret_file",
                format!("cannot read `{}`: {err}", path.display()),
            )
        })?;
        let secret = text.lines().next().unwrap_or_default().trim().to_owned();
        if secret.is_empty() {
            return Err(("secret_file", format!("`{}` is empty", path.display())));
        }
        return Ok(Some(Secret(secret)));
    }
    if let Some(name) = &target.secret_env {
        return match std::env::var(name) {
            Ok(secret) if !secret.trim().is_empty() => Ok(Some(Secret(secret.trim().to_owned()))),
            _ => Err((
                "secret_env",
                format!("the environment variable `{name}` is not set (or empty)"),
            )),
        };
    }
    match &target.secret {
        Some(secret) if secret.0.is_empty() => Err(("secret", "is empty".to_owned())),
        other => Ok(other.clone()),
    }
}

fn compile(
    patterns: &[String],
    key: &'static str,
    problems: &mut Vec<(&'static str, String)>,
) -> Vec<Regex> {
    let mut compiled = Vec::new();
    for (index, pattern) in patterns.iter().enumerate() {
        match Regex::new(pattern) {
            Ok(regex) => compiled.push(regex),
            Err(err) => {
                problems.push((key, format!("pattern {index} is not a valid regex: {err}")))
            }
        }
    }
    compiled
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> NotifyTarget {
        NotifyTarget {
            name: None,
            url: url.to_owned(),
            format: NotifyFormat::Json,
            secret: None,
            secret_file: None,
            secret_env: None,
            events: default_events(),
            include: Vec::new(),
            exclude: Vec::new(),
            confirm: 1,
            degraded_after: DEFAULT_DEGRADED_AFTER,
        }
    }

    #[test]
    fn a_target_is_named_by_its_host_and_shown_without_its_path() {
        let (targets, problems) = resolve_targets(
            &[target("https://hooks.example/T0/B1/token")],
            Path::new("."),
            true,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert!(
            targets[0].name.starts_with("hooks.example-"),
            "{}",
            targets[0].name
        );
        assert!(!targets[0].name.contains("token"));
        assert_eq!(targets[0].shown_url(), "https://hooks.example/…");
    }

    #[test]
    fn a_secret_is_never_in_debug_or_in_problems() {
        let mut with_secret = target("http://127.0.0.1:9/hook");
        with_secret.secret = Some(Secret("s3cr3t-value".to_owned()));
        with_secret.format = NotifyFormat::Slack;
        let (_, problems) = resolve_targets(&[with_secret.clone()], Path::new("."), true);
        assert_eq!(problems[0].0, "notify[0].secret");
        let shown = format!("{with_secret:?} {problems:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(
            !serde_json::to_string(&with_secret)
                .unwrap()
                .contains("s3cr3t")
        );
    }

    #[test]
    fn include_and_exclude_choose_urls_and_exclude_wins() {
        let mut watched = target("http://127.0.0.1:9/");
        watched.include = vec!["^http://a/".to_owned()];
        watched.exclude = vec!["/private".to_owned()];
        let (targets, _) = resolve_targets(&[watched], Path::new("."), true);
        let target = &targets[0];
        assert!(target.wants(NotifyEvent::TitleChanged, "http://a/x"));
        assert!(!target.wants(NotifyEvent::TitleChanged, "http://b/x"));
        assert!(!target.wants(NotifyEvent::TitleChanged, "http://a/private"));
        assert!(!target.wants(NotifyEvent::Failed, "http://a/x"));
    }

    #[test]
    fn each_wrong_key_is_named() {
        let mut bad = target("ftp://host/");
        bad.confirm = 0;
        bad.events = Vec::new();
        bad.include = vec!["(".to_owned()];
        let (_, problems) = resolve_targets(&[target("http://h/"), bad], Path::new("."), true);
        let keys: Vec<&str> = problems.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "notify[1].url",
                "notify[1].events",
                "notify[1].confirm",
                "notify[1].include"
            ]
        );
    }

    #[test]
    fn two_targets_on_one_host_get_distinct_names_and_a_name_given_twice_is_refused() {
        let (targets, problems) = resolve_targets(
            &[target("http://h/a"), target("http://h/b")],
            Path::new("."),
            true,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_ne!(targets[0].name, targets[1].name);
        let mut named = target("http://h/c");
        named.name = Some("ops".to_owned());
        let (_, problems) = resolve_targets(&[named.clone(), named], Path::new("."), true);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].1.contains("distinct `name`"), "{problems:?}");
    }

    #[test]
    fn a_secret_that_cannot_be_read_is_an_error_only_where_secrets_are_needed() {
        let mut signed = target("http://h/");
        signed.secret_env = Some("CRAWLER_TEST_NEVER_SET_SECRET".to_owned());
        let (_, problems) = resolve_targets(std::slice::from_ref(&signed), Path::new("."), true);
        assert_eq!(problems[0].0, "notify[0].secret_env");
        let (targets, problems) = resolve_targets(&[signed], Path::new("."), false);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(targets[0].secret.is_none());
    }

    #[test]
    fn a_secret_comes_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "from-file\n").unwrap();
        let mut signed = target("http://h/");
        signed.secret_file = Some(PathBuf::from("secret"));
        let (targets, problems) = resolve_targets(&[signed], dir.path(), true);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(targets[0].secret.as_ref().unwrap().expose(), "from-file");
    }
}
