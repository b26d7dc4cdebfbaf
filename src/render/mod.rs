//! Rendering pages in headless Chromium, so titles and links are what a
//! person sees once scripts have run.
//!
//! The page is fetched once, by our fetch; the browser is handed those
//! bytes for the navigation and every other request the page makes is
//! answered by us (`requests.rs`). `decide.rs` says, from the HTML alone,
//! whether scripts may change the answer (`auto`); `browser.rs` runs the
//! browser, `cdp.rs` speaks the DevTools protocol over its pipe, `tab.rs`
//! renders one page.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use async_std::sync::Mutex as AsyncMutex;
use url::Url;

use crate::config::render::RenderRules;
use crate::extract::links::{PageLinks, browser_links};
use crate::fetch::{Fetcher, HopGate, Page};
use crate::observe::metrics::Metrics;

mod browser;
mod cdp;
pub mod decide;
mod requests;
mod tab;

use browser::Browser;
pub use browser::{BROWSER_OF_VAR, is_root};
use requests::{Cache, Policy};
use tab::{Document, Navigations};

/// How long a hung browser may take to answer before it is restarted.
const HANG_CHECK: Duration = Duration::from_secs(5);
/// Renders between two looks at the browser's memory.
const MEMORY_CHECK_EVERY: u64 = 20;

/// How long past `render.timeout` a render waits for a browser that does
/// not answer (reading the page, opening a tab) before giving up on it.
const UNANSWERED_GRACE: Duration = Duration::from_secs(2);

/// Why a render failed: `"kind: message"` in the record's `render_error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    /// `timeout`, `crash`, `browser`, `navigation`, `script`.
    pub kind: &'static str,
    /// What happened, for a person.
    pub message: String,
}

impl RenderError {
    fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

/// A rendered page.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// `document.title` once the page settled; `None` without a `<title>`.
    pub title: Option<String>,
    /// Where the page ended (after navigations it made).
    pub final_url: Url,
    /// `document.links`, normalized as the crawl's links are.
    pub links: PageLinks,
    /// Why a navigation the page tried was not followed.
    pub navigation_error: Option<String>,
}

/// `Err(why)` when the crawl's scope keeps a page from navigating to a URL.
pub type NavigationScope = Arc<dyn Fn(&Url) -> Result<(), String> + Send + Sync>;

/// What a render needs besides the page.
pub struct Request<'a> {
    /// The page as fetched (a 2xx HTML page).
    pub page: &'a Page,
    /// Our client, for the page's requests.
    pub fetcher: &'a Fetcher,
    /// robots.txt of the hosts the page's requests go to.
    pub robots: Option<Arc<dyn HopGate>>,
    /// The page came from a public address, or a public page led to it.
    pub is_public_only: bool,
    /// Navigations followed at most.
    pub max_redirects: u32,
    /// `Err(why)` when the crawl's scope keeps a navigation from a URL.
    pub scope: NavigationScope,
}

/// The browser, started at the first render and restarted when it
/// crashes, hangs, or reaches its bound; shared by every worker.
pub struct Renderer {
    rules: RwLock<Arc<RenderRules>>,
    binary: RwLock<Option<PathBuf>>,
    browser: AsyncMutex<Option<Arc<Browser>>>,
    tabs: Tabs,
    cache: Arc<Cache>,
    round: Duration,
    metrics: Arc<Metrics>,
}

impl Renderer {
    /// A renderer that starts `binary` when first needed (none found: a
    /// render fails until a reload finds one).
    pub fn new(
        rules: &RenderRules,
        binary: Option<PathBuf>,
        round: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            rules: RwLock::new(Arc::new(rules.clone())),
            binary: RwLock::new(binary),
            browser: AsyncMutex::new(None),
            tabs: Tabs::new(rules.settings.tabs),
            cache: Arc::new(Cache::default()),
            round: if round.is_zero() {
                Duration::from_secs(3600)
            } else {
                round
            },
            metrics,
        }
    }

    /// The rules now.
    pub fn rules(&self) -> Arc<RenderRules> {
        Arc::clone(&self.rules.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The browser binary, when one was found.
    pub fn binary(&self) -> Option<PathBuf> {
        self.binary
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sets the browser binary, found by a reload that turns rendering on.
    pub fn set_binary(&self, binary: PathBuf) {
        *self.binary.write().unwrap_or_else(PoisonError::into_inner) = Some(binary);
    }

    /// Follows a reload (the browser binary is restart-only).
    pub fn set_rules(&self, rules: &RenderRules) {
        self.tabs.resize(rules.settings.tabs);
        *self.rules.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(rules.clone());
    }

    /// Renders `request.page`; a failure says why.
    pub async fn render(&self, request: Request<'_>) -> Result<Rendered, RenderError> {
        let rules = self.rules();
        let settings = &rules.settings;
        let _tab = self.tabs.take().await;
        self.metrics.render.tab(1);
        let started = Instant::now();
        // The page's own wait ends at `timeout` and says what it waited
        // for; this bound is for a browser that stops answering.
        let bound = settings.timeout + UNANSWERED_GRACE;
        let outcome = async_std::future::timeout(bound, self.render_now(request, &rules, started))
            .await
            .unwrap_or_else(|_| {
                Err(RenderError::new(
                    "timeout",
                    format!(
                        "the page did not settle within {} (render.timeout): the browser did not answer",
                        humantime::format_duration(settings.timeout)
                    ),
                ))
            });
        self.metrics.render.tab(-1);
        let result = outcome.as_ref().map_or_else(|err| err.kind, |_| "ok");
        self.metrics
            .render
            .rendered(result, started.elapsed().as_secs_f64());
        if matches!(result, "timeout" | "crash") {
            self.check_alive().await;
        }
        outcome
    }

    async fn render_now(
        &self,
        request: Request<'_>,
        rules: &RenderRules,
        started: Instant,
    ) -> Result<Rendered, RenderError> {
        let browser = self.browser().await?;
        let page = request.page;
        let policy = Arc::new(Policy {
            fetcher: request.fetcher.clone(),
            robots: request.robots,
            is_public_only: request.is_public_only || page.is_from_public,
            block: rules.settings.block.clone(),
            round: self.round,
            cache: Arc::clone(&self.cache),
            metrics: Arc::clone(&self.metrics),
        });
        let navigations = Arc::new(Navigations {
            policy,
            max_redirects: request.max_redirects,
            scope: request.scope,
        });
        let document = Document {
            url: &page.final_url,
            status: page.status.unwrap_or(200),
            headers: &page.browser_headers,
            body: &page.body,
        };
        let tab = match browser.take_tab() {
            Some(tab) => tab,
            None => tab::open(&browser.connection).await?,
        };
        let window = tab::Window {
            settle: rules.settings.settle,
            timeout: rules.settings.timeout,
            started,
        };
        let read = tab::render(&tab, document, navigations, window).await;
        let is_tab_sound = match &read {
            Ok(_) => true,
            Err(error) => matches!(error.kind, "navigation" | "script"),
        };
        let most = rules.settings.tabs;
        match &read {
            // Nothing is left for the page to do: the next render's
            // navigation replaces it (a navigation less for the browser).
            Ok(read) if read.settled == "idle" => {
                tab.park();
                browser.keep_tab(tab, most);
            }
            // A page that may still be busy is left first, off the page's
            // path: the record need not wait for it.
            _ if is_tab_sound => {
                let keeper = Arc::clone(&browser);
                async_std::task::spawn(async move {
                    if tab.blank().await {
                        tab.park();
                        keeper.keep_tab(tab, most);
                    }
                });
            }
            _ => {}
        }
        let read = read?;
        browser.renders.fetch_add(1, Ordering::Relaxed);
        self.metrics.render.settled(read.settled);
        let final_url = Url::parse(&read.url).unwrap_or_else(|_| page.final_url.clone());
        let links = browser_links(read.links, read.meta, read.titles);
        Ok(Rendered {
            title: read.title,
            final_url,
            links,
            navigation_error: read.navigation_error,
        })
    }

    /// The running browser, started (or restarted) when needed.
    async fn browser(&self) -> Result<Arc<Browser>, RenderError> {
        let rules = self.rules();
        let mut current = self.browser.lock().await;
        if let Some(browser) = current.as_ref() {
            match self.needs_restart(browser, &rules) {
                None => return Ok(Arc::clone(browser)),
                Some(why) => {
                    log::info!("render: restarting the browser: {why}");
                    self.metrics.render.restarted();
                    *current = None;
                }
            }
        }
        let binary = self.binary().ok_or_else(|| {
            RenderError::new("browser", "no browser was found when the daemon started")
        })?;
        let browser = Browser::launch(&binary)
            .await
            .map_err(|why| RenderError::new("browser", why))?;
        let browser = Arc::new(browser);
        *current = Some(Arc::clone(&browser));
        Ok(browser)
    }

    /// Why `browser` must be replaced before the next render, if it must.
    fn needs_restart(&self, browser: &Browser, rules: &RenderRules) -> Option<String> {
        if browser.connection.is_closed() {
            return Some("it exited or crashed".to_owned());
        }
        let renders = browser.renders.load(Ordering::Relaxed);
        let bound = rules.settings.restart_after;
        if bound > 0 && renders >= bound {
            return Some(format!("{renders} pages rendered (render.restart_after)"));
        }
        if renders > 0 && renders.is_multiple_of(MEMORY_CHECK_EVERY) {
            let memory = browser.memory();
            self.metrics.render.set_memory(memory);
            if memory > rules.settings.max_memory.as_u64() {
                return Some(format!(
                    "it holds {} (render.max_memory {})",
                    bytesize::ByteSize::b(memory),
                    rules.settings.max_memory
                ));
            }
        }
        None
    }

    /// After a timeout or crash: a browser that does not answer at once is
    /// dropped (killed), so the next render starts a new one.
    async fn check_alive(&self) {
        let mut current = self.browser.lock().await;
        let Some(browser) = current.as_ref() else {
            return;
        };
        let answer = async_std::future::timeout(
            HANG_CHECK,
            browser
                .connection
                .call(None, "Browser.getVersion", serde_json::json!({})),
        )
        .await;
        if !matches!(answer, Ok(Ok(_))) {
            log::warn!("render: the browser does not answer; it is restarted");
            self.metrics.render.restarted();
            *current = None;
        }
    }

    /// Counts one `auto` decision (or `include`/`exclude` verdict).
    pub fn decided(&self, rendered: bool, reason: decide::Reason) {
        self.metrics.render.decided(rendered, reason.as_str());
    }

    /// Stops the browser and waits until it is gone (shutdown).
    pub async fn close(&self) {
        let Some(browser) = self.browser.lock().await.take() else {
            return;
        };
        match Arc::try_unwrap(browser) {
            Ok(browser) => browser.close(Duration::from_secs(5)).await,
            // A render still holds it; it is killed when that ends.
            Err(shared) => drop(shared),
        }
    }

    /// Memory of the browser's processes now (0 when none runs).
    pub async fn memory(&self) -> u64 {
        let current = self.browser.lock().await;
        let memory = current.as_ref().map_or(0, |browser| browser.memory());
        self.metrics.render.set_memory(memory);
        memory
    }
}

/// The tabs: at most `tabs` renders at once; a reload may change it.
struct Tabs {
    limit: AtomicUsize,
    in_use: std::sync::Mutex<usize>,
    freed: async_channel::Sender<()>,
    waiting: async_channel::Receiver<()>,
}

/// A tab taken; given back when dropped.
struct TabToken<'a>(&'a Tabs);

impl Tabs {
    fn new(limit: usize) -> Self {
        // One wakeup at most waits; a waiter that takes a tab passes it on while tabs are free.
        let (freed, waiting) = async_channel::bounded(1);
        Self {
            limit: AtomicUsize::new(limit.max(1)),
            in_use: std::sync::Mutex::new(0),
            freed,
            waiting,
        }
    }

    fn resize(&self, limit: usize) {
        self.limit.store(limit.max(1), Ordering::SeqCst);
        let _ = self.freed.try_send(());
    }

    async fn take(&self) -> TabToken<'_> {
        loop {
            {
                let mut in_use = self.in_use.lock().unwrap_or_else(PoisonError::into_inner);
                let limit = self.limit.load(Ordering::SeqCst);
                if *in_use < limit {
                    *in_use += 1;
                    if *in_use < limit {
                        let _ = self.freed.try_send(());
                    }
                    return TabToken(self);
                }
            }
            let _ = self.waiting.recv().await;
        }
    }
}

impl Drop for TabToken<'_> {
    fn drop(&mut self) {
        let mut in_use = self.0.in_use.lock().unwrap_or_else(PoisonError::into_inner);
        *in_use = in_use.saturating_sub(1);
        let _ = self.0.freed.try_send(());
    }
}
