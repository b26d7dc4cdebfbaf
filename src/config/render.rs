//! The `[render]` table: which pages are rendered in headless Chromium,
//! with which browser, how many at once and for how long; as written, and
//! as resolved (patterns compiled).

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytesize::ByteSize;
use regex::Regex;
use serde::{Deserialize, Serialize};
use url::Url;

/// Default pages rendered at once: most pages are read as soon as they are
/// idle, but a page that waits the whole `settle` window (500 ms) holds its
/// tab without work, so two cores want several tabs each; tabs of one site
/// share a renderer (a few MB each).
pub const DEFAULT_TABS: usize = 8;
/// The most tabs accepted; beyond it a typo is likelier than intent.
pub const MAX_TABS: usize = 64;
/// Default limit on a whole render (navigation, scripts, settling, reading).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// Default quiet network time after `load` before a page is read.
pub const DEFAULT_SETTLE: Duration = Duration::from_millis(500);
/// Default renders after which the browser is restarted (leaks, fragmentation).
pub const DEFAULT_RESTART_AFTER: u64 = 1000;
/// Default memory of the browser's processes after which it is restarted.
pub const DEFAULT_MAX_MEMORY: ByteSize = ByteSize::gib(1);
/// The binaries looked for on `PATH` when `browser` is not set, in order.
pub const BROWSER_NAMES: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome-stable",
    "google-chrome",
];

/// When pages are rendered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RenderMode {
    /// Never: titles and links come from the HTML (no browser needed).
    #[default]
    Never,
    /// When the HTML says scripts may change the title or the links.
    Auto,
    /// Every HTML page.
    Always,
}

impl RenderMode {
    /// The name used in config and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Never => "never",
            Self::Auto => "auto",
            Self::Always => "always",
        }
    }
}

/// A kind of request a page makes, as Chromium names it (lowercase).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    /// `<img>`, CSS backgrounds, favicons.
    Image,
    /// `<video>`, `<audio>`.
    Media,
    /// Web fonts.
    Font,
    /// Style sheets.
    Stylesheet,
    /// Scripts.
    Script,
    /// `fetch()` calls.
    Fetch,
    /// `XMLHttpRequest`.
    Xhr,
    /// `<iframe>` documents.
    Document,
    /// Anything else (manifests, pings, text tracks, …).
    Other,
}

impl ResourceKind {
    /// The kind of Chromium's `Network.ResourceType` name.
    pub fn of_chromium(name: &str) -> Self {
        match name {
            "Image" => Self::Image,
            "Media" => Self::Media,
            "Font" => Self::Font,
            "Stylesheet" => Self::Stylesheet,
            "Script" => Self::Script,
            "Fetch" => Self::Fetch,
            "XHR" => Self::Xhr,
            "Document" => Self::Document,
            _ => Self::Other,
        }
    }
}

fn default_block() -> Vec<ResourceKind> {
    vec![ResourceKind::Image, ResourceKind::Media, ResourceKind::Font]
}
const fn default_tabs() -> usize {
    DEFAULT_TABS
}
const fn default_timeout() -> Duration {
    DEFAULT_TIMEOUT
}
const fn default_settle() -> Duration {
    DEFAULT_SETTLE
}
const fn default_restart_after() -> u64 {
    DEFAULT_RESTART_AFTER
}
const fn default_max_memory() -> ByteSize {
    DEFAULT_MAX_MEMORY
}

/// The `[render]` table as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderSettings {
    /// `never`, `auto` or `always`.
    #[serde(default)]
    pub mode: RenderMode,
    /// In `auto`, a URL matching one of these regexes is always rendered.
    #[serde(default)]
    pub include: Vec<String>,
    /// A URL matching one of these regexes is never rendered (wins over `include`).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// The Chromium binary (restart to change); unset: the first of
    /// [`BROWSER_NAMES`] on `PATH`.
    #[serde(default)]
    pub browser: Option<PathBuf>,
    /// Pages rendered at once.
    #[serde(default = "default_tabs")]
    pub tabs: usize,
    /// Limit on one whole render.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Quiet network time after `load` before the page is read.
    #[serde(default = "default_settle", with = "humantime_serde")]
    pub settle: Duration,
    /// Request kinds answered without a request.
    #[serde(default = "default_block")]
    pub block: Vec<ResourceKind>,
    /// Renders after which the browser is restarted; 0 never restarts it for that.
    #[serde(default = "default_restart_after")]
    pub restart_after: u64,
    /// Memory of the browser's processes after which it is restarted.
    #[serde(default = "default_max_memory")]
    pub max_memory: ByteSize,
}

impl Default for RenderSettings {
    fn default() -> Self {
        Self {
            mode: RenderMode::default(),
            include: Vec::new(),
            exclude: Vec::new(),
            browser: None,
            tabs: default_tabs(),
            timeout: default_timeout(),
            settle: default_settle(),
            block: default_block(),
            restart_after: default_restart_after(),
            max_memory: default_max_memory(),
        }
    }
}

/// Why a page is rendered or not, before its HTML is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlVerdict {
    /// `exclude` matched: never rendered.
    Excluded,
    /// `include` matched: rendered.
    Included,
    /// `mode = "always"`: rendered.
    Always,
    /// `auto` decides from the HTML.
    Auto,
    /// `mode = "never"`.
    Never,
}

/// The `[render]` table resolved: patterns compiled.
#[derive(Debug, Clone, Default)]
pub struct RenderRules {
    /// The settings as written.
    pub settings: RenderSettings,
    include: Vec<Regex>,
    exclude: Vec<Regex>,
}

impl RenderRules {
    /// Compiles `settings`' patterns; each problem is `(key, message)`.
    pub fn new(settings: &RenderSettings) -> (Self, Vec<(String, String)>) {
        let mut problems = Vec::new();
        let include = compile(&settings.include, "render.include", &mut problems);
        let exclude = compile(&settings.exclude, "render.exclude", &mut problems);
        if settings.tabs == 0 || settings.tabs > MAX_TABS {
            let message = format!("must be between 1 and {MAX_TABS}, got {}", settings.tabs);
            problems.push(("render.tabs".to_owned(), message));
        }
        if settings.timeout.is_zero() {
            let message = "must be longer than 0s, e.g. \"15s\"".to_owned();
            problems.push(("render.timeout".to_owned(), message));
        }
        if settings.settle >= settings.timeout && !settings.timeout.is_zero() {
            let message = format!(
                "{} is not shorter than render.timeout ({}): no page would ever be read",
                humantime::format_duration(settings.settle),
                humantime::format_duration(settings.timeout)
            );
            problems.push(("render.settle".to_owned(), message));
        }
        if settings.max_memory.as_u64() < ByteSize::mib(64).as_u64() {
            let message = "must be at least 64MiB: Chromium alone takes about that".to_owned();
            problems.push(("render.max_memory".to_owned(), message));
        }
        let rules = Self {
            settings: settings.clone(),
            include,
            exclude,
        };
        (rules, problems)
    }

    /// Whether pages may be rendered at all.
    pub fn is_on(&self) -> bool {
        self.settings.mode != RenderMode::Never
    }

    /// What `url` gets before its HTML is read.
    pub fn verdict(&self, url: &Url) -> UrlVerdict {
        let text = url.as_str();
        if self.settings.mode == RenderMode::Never {
            UrlVerdict::Never
        } else if self.exclude.iter().any(|regex| regex.is_match(text)) {
            UrlVerdict::Excluded
        } else if self.include.iter().any(|regex| regex.is_match(text)) {
            UrlVerdict::Included
        } else if self.settings.mode == RenderMode::Always {
            UrlVerdict::Always
        } else {
            UrlVerdict::Auto
        }
    }
}

fn compile(patterns: &[String], key: &str, problems: &mut Vec<(String, String)>) -> Vec<Regex> {
    let mut compiled = Vec::with_capacity(patterns.len());
    for (index, pattern) in patterns.iter().enumerate() {
        match Regex::new(pattern) {
            Ok(regex) => compiled.push(regex),
            Err(err) => problems.push((
                format!("{key}[{index}]"),
                format!("is not a valid regex: {err}"),
            )),
        }
    }
    compiled
}

/// The browser to start: `browser` when set (a name is looked up on
/// `PATH`), else the first of [`BROWSER_NAMES`] found on `PATH`.
///
/// # Errors
/// None is found or the one named cannot be run: the message says how to
/// install one.
pub fn find_browser(browser: Option<&Path>) -> Result<PathBuf, String> {
    const INSTALL: &str = "install Chromium (`apt-get install chromium` on Debian and Ubuntu) or set `render.browser` to a Chromium or Chrome binary";
    match browser {
        Some(named) if named.components().count() > 1 => {
            if is_executable(named) {
                Ok(named.to_owned())
            } else {
                Err(format!(
                    "`render.browser`: `{}` is not an executable file: {INSTALL}",
                    named.display()
                ))
            }
        }
        Some(named) => on_path(&named.to_string_lossy()).ok_or_else(|| {
            format!(
                "`render.browser`: `{}` is not on PATH: {INSTALL}",
                named.display()
            )
        }),
        None => BROWSER_NAMES
            .iter()
            .find_map(|name| on_path(name))
            .ok_or_else(|| {
                format!(
                    "`render.mode` renders pages, but no browser was found on PATH (looked for {}): {INSTALL}, or set `render.mode = \"never\"`",
                    BROWSER_NAMES.join(", ")
                )
            }),
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|folder| folder.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> (RenderRules, Vec<(String, String)>) {
        let settings: RenderSettings = toml_settings(text);
        RenderRules::new(&settings)
    }

    fn toml_settings(text: &str) -> RenderSettings {
        let source = config::File::from_str(text, config::FileFormat::Toml);
        config::Config::builder()
            .add_source(source)
            .build()
            .unwrap()
            .try_deserialize()
            .unwrap()
    }

    #[test]
    fn defaults_never_render() {
        let (rules, problems) = rules("");
        assert!(problems.is_empty());
        assert!(!rules.is_on());
        let url = Url::parse("http://127.0.0.1/").unwrap();
        assert_eq!(rules.verdict(&url), UrlVerdict::Never);
        assert_eq!(
            rules.settings.block,
            [ResourceKind::Image, ResourceKind::Media, ResourceKind::Font]
        );
    }

    #[test]
    fn exclude_wins_over_include_and_always() {
        let (rules, _) =
            rules("mode = \"always\"\ninclude = [\"/app/\"]\nexclude = [\"/app/static/\"]\n");
        let url = |path: &str| Url::parse(&format!("http://127.0.0.1{path}")).unwrap();
        assert_eq!(rules.verdict(&url("/app/static/x")), UrlVerdict::Excluded);
        assert_eq!(rules.verdict(&url("/other")), UrlVerdict::Always);
        let (auto, _) = self::rules("mode = \"auto\"\ninclude = [\"/app/\"]\n");
        assert_eq!(auto.verdict(&url("/app/x")), UrlVerdict::Included);
        assert_eq!(auto.verdict(&url("/other")), UrlVerdict::Auto);
    }

    #[test]
    fn every_problem_is_named_by_key() {
        let (_, problems) =
            rules("mode = \"auto\"\ninclude = [\"(\"]\ntabs = 0\nsettle = \"20s\"\n");
        let keys: Vec<&str> = problems.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys, ["render.include[0]", "render.tabs", "render.settle"]);
    }

    #[test]
    fn a_missing_browser_says_how_to_install_one() {
        let missing = find_browser(Some(Path::new("/nonexistent/chromium"))).unwrap_err();
        assert!(missing.contains("apt-get install chromium"), "{missing}");
        let not_on_path = find_browser(Some(Path::new("no-such-browser-here"))).unwrap_err();
        assert!(not_on_path.contains("not on PATH"), "{not_on_path}");
        assert_eq!(
            find_browser(Some(Path::new("/bin/sh"))).unwrap(),
            Path::new("/bin/sh")
        );
    }
}
