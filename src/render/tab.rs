//! One render in one tab: a tab whose every request is paused and
//! answered by us (kept from render to render), navigated to the page; the document is the body we
//! fetched, a navigation the page makes is fetched like a redirect, other
//! requests go through [`Policy`]. Once the page has loaded and the network
//! has been quiet for `settle`, its title and links are read. Dialogs are
//! dismissed, pop-ups closed; a tab that fails is closed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use async_std::task::JoinHandle;
use futures_lite::future;
use serde_json::{Value, json};
use url::Url;

use super::RenderError;
use super::cdp::{CdpError, Connection, Event};
use super::requests::{Policy, fail, fulfillment};
use crate::fetch::{FetchOptions, Page};
use crate::urls::shorten;

/// How often the loop looks at the clock while no event comes.
const TICK: Duration = Duration::from_millis(10);

/// Tracks what the page still has to do; see [`IDLE_PAGE`].
const IDLE_TRACKER: &str = include_str!("idle.js");

/// Whether the page has nothing left to do within the settle window (the
/// milliseconds left are appended as the call's argument).
const IDLE_PAGE: &str = "(remaining) => { const idle = window[Symbol.for('crawler.idle')]; \
                         return !!idle && idle.idle(remaining); }";

/// How long the network must be quiet before the page is asked whether it
/// is idle, and how long between two questions.
const PROBE_AFTER: Duration = Duration::from_millis(50);

/// How long after a script arrives once the page has loaded (a module of
/// `import()`, which the page cannot see coming) it is not asked: time for
/// the script to be compiled and run.
const SCRIPT_GRACE: Duration = Duration::from_millis(200);

/// What the page says once it has settled.
const READ_PAGE: &str = r"(() => {
  const links = [];
  for (const a of document.links) {
    let text = (a.textContent || '').slice(0, 400);
    if (!text.trim()) {
      const img = a.querySelector && a.querySelector('img[alt]');
      text = img ? img.getAttribute('alt') : '';
    }
    links.push([a.href, !!(a.relList && a.relList.contains('nofollow')), text]);
  }
  const meta = [];
  for (const m of document.querySelectorAll('meta[name][content]')) {
    meta.push([m.getAttribute('name'), m.getAttribute('content')]);
  }
  const title = document.querySelector('title') ? document.title : null;
  const titles = document.getElementsByTagNameNS('http://www.w3.org/1999/xhtml', 'title').length;
  return {title, url: location.href, links, meta, titles};
})()";

/// The page as fetched, handed to the browser for the navigation.
pub struct Document<'a> {
    /// Where it came from (after redirects).
    pub url: &'a Url,
    /// Its HTTP status.
    pub status: u16,
    /// The headers a browser needs ([`crate::fetch::BROWSER_HEADERS`]).
    pub headers: &'a [(String, String)],
    /// Its body.
    pub body: &'a [u8],
}

/// How navigations the page makes are judged, besides what [`Policy`] says.
pub struct Navigations {
    /// Answers the page's other requests; its fetcher fetches navigations.
    pub policy: Arc<Policy>,
    /// Navigations followed at most (`max_redirects`).
    pub max_redirects: u32,
    /// `Err(why)` when the crawl's scope keeps the page from going there.
    pub scope: super::NavigationScope,
}

/// What the settled page says.
pub struct Read {
    /// `document.title`; `None` without a `<title>`.
    pub title: Option<String>,
    /// `location.href`.
    pub url: String,
    /// `document.links`: each resolved `href`, whether its `rel` says
    /// `nofollow`, and its text.
    pub links: Vec<crate::extract::links::BrowserHref>,
    /// The document's HTML `title` elements.
    pub titles: u32,
    /// `(name, content)` of each `meta` with both.
    pub meta: Vec<(String, String)>,
    /// Why a navigation the page tried was not followed.
    pub navigation_error: Option<String>,
    /// `idle` when read as soon as nothing was left for the page to do,
    /// `quiet` after the whole settle window.
    pub settled: &'static str,
}

/// What the tasks of one render share.
struct Tab {
    connection: Arc<Connection>,
    target: String,
    session: String,
    navigations: Arc<Navigations>,
    in_flight: InFlight,
    last_activity: Mutex<Instant>,
    /// When the last script requested after the `load` event arrived.
    late_script: Mutex<Option<Instant>>,
    is_document_served: AtomicBool,
    navigated: AtomicU32,
    navigation_error: Mutex<Option<String>>,
    /// A navigation's page fetched after redirects, for the browser's next request.
    redirected: Mutex<Option<Page>>,
}

impl Tab {
    fn touch(&self) {
        *self
            .last_activity
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    fn quiet_for(&self) -> Duration {
        self.last_activity
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .elapsed()
    }

    /// Whether a script that arrived after `load` may not have run yet.
    fn is_script_due(&self) -> bool {
        self.late_script
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() < SCRIPT_GRACE)
    }

    fn refuse_navigation(&self, why: String) {
        log::debug!("render: {why}");
        let mut error = self
            .navigation_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        error.get_or_insert(why);
    }
}

/// The page's requests not answered yet, with their URLs.
#[derive(Default)]
struct InFlight {
    next: AtomicU64,
    requests: Mutex<BTreeMap<u64, String>>,
}

impl InFlight {
    /// Counts a request for `url` as unanswered; give the token to [`InFlight::end`].
    fn start(&self, url: &str) -> u64 {
        let token = self.next.fetch_add(1, Ordering::Relaxed);
        self.requests().insert(token, url.to_owned());
        token
    }

    /// The request of `token` was answered.
    fn end(&self, token: u64) {
        self.requests().remove(&token);
    }

    fn is_empty(&self) -> bool {
        self.requests().is_empty()
    }

    /// `N requests unanswered: `url`, …` (the first few), when there are any.
    fn describe(&self) -> Option<String> {
        const SHOWN: usize = 3;
        let requests = self.requests();
        if requests.is_empty() {
            return None;
        }
        let mut urls: Vec<String> = requests
            .values()
            .take(SHOWN)
            .map(|url| format!("`{}`", shorten(url)))
            .collect();
        if requests.len() > SHOWN {
            urls.push(format!("and {} more", requests.len() - SHOWN));
        }
        let noun = if requests.len() == 1 {
            "request"
        } else {
            "requests"
        };
        Some(format!(
            "{} {noun} unanswered: {}",
            requests.len(),
            urls.join(", ")
        ))
    }

    fn requests(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, String>> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An open tab whose every request is paused for us; closed when dropped
/// (a render that timed out, a crash), or kept for the next render.
pub struct OpenTab {
    connection: Arc<Connection>,
    target: String,
    session: String,
}

impl Drop for OpenTab {
    fn drop(&mut self) {
        self.connection.forget(&self.session);
        let target = json!({"targetId": self.target});
        self.connection.send(None, "Target.closeTarget", target);
    }
}

/// Opens a blank tab in `connection`'s browser, ready to render.
///
/// # Errors
/// The browser failed (crashed, closed) or refused a command.
pub async fn open(connection: &Arc<Connection>) -> Result<OpenTab, RenderError> {
    let created = connection
        .call(None, "Target.createTarget", json!({"url": "about:blank"}))
        .await
        .map_err(browser_failed)?;
    let target = created["targetId"].as_str().unwrap_or_default().to_owned();
    let attach = json!({"targetId": target, "flatten": true});
    let attached = connection.call(None, "Target.attachToTarget", attach).await;
    let mut tab = OpenTab {
        connection: Arc::clone(connection),
        target,
        session: String::new(),
    };
    attached.map_err(browser_failed)?["sessionId"]
        .as_str()
        .unwrap_or_default()
        .clone_into(&mut tab.session);
    prepare(&tab).await?;
    Ok(tab)
}

impl OpenTab {
    /// Parks the tab between renders: a request its page makes meanwhile is
    /// refused (it reaches no server) and a dialog dismissed, until the next
    /// render takes the tab's events.
    pub fn park(&self) {
        let (sender, events) = async_channel::unbounded::<Event>();
        self.connection.subscribe(&self.session, sender);
        let connection = Arc::clone(&self.connection);
        async_std::task::spawn(async move {
            while let Ok(event) = events.recv().await {
                let session = event.session.unwrap_or_default();
                match event.method.as_str() {
                    "Fetch.requestPaused" => {
                        let id = event.params["requestId"].as_str().unwrap_or_default();
                        fail(&connection, &session, id, "Aborted").await;
                    }
                    "Page.javascriptDialogOpening" => dismiss_dialog(&connection, &session),
                    _ => {}
                }
            }
        });
    }

    /// Leaves the last page (so none of its scripts runs on); whether the
    /// tab can render the next one.
    pub async fn blank(&self) -> bool {
        // Its events are waited for here, so none reaches the next render.
        let (sender, events) = async_channel::unbounded::<Event>();
        self.connection.subscribe(&self.session, sender);
        let blanked = async {
            let navigate = json!({"url": "about:blank"});
            self.connection
                .call(Some(&self.session), "Page.navigate", navigate)
                .await
                .ok()?;
            while let Ok(event) = events.recv().await {
                if event.method == "Page.loadEventFired" {
                    return Some(());
                }
            }
            None
        };
        let blanked = async_std::future::timeout(Duration::from_secs(2), blanked).await;
        self.connection.forget(&self.session);
        matches!(blanked, Ok(Some(())))
    }
}

/// How long one render waits for its page.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Quiet time after which the page counts as settled (`render.settle`).
    pub settle: Duration,
    /// How long the render may take in all (`render.timeout`).
    pub timeout: Duration,
    /// When the render began.
    pub started: Instant,
}

/// Renders `document` in `tab`.
///
/// # Errors
/// The browser failed (crashed, closed), the page did not settle within
/// the window's timeout (the error says what it still waited for), or the
/// page could not be read.
pub async fn render(
    tab: &OpenTab,
    document: Document<'_>,
    navigations: Arc<Navigations>,
    window: Window,
) -> Result<Read, RenderError> {
    let connection = &tab.connection;
    let (sender, events) = async_channel::unbounded();
    connection.subscribe(&tab.session, sender.clone());
    let sessions = Sessions {
        connection: Arc::clone(connection),
        ids: Mutex::new(vec![tab.session.clone()]),
    };
    let tab = Arc::new(Tab {
        connection: Arc::clone(connection),
        target: tab.target.clone(),
        session: tab.session.clone(),
        navigations,
        in_flight: InFlight::default(),
        last_activity: Mutex::new(Instant::now()),
        late_script: Mutex::new(None),
        is_document_served: AtomicBool::new(false),
        navigated: AtomicU32::new(0),
        navigation_error: Mutex::new(None),
        redirected: Mutex::new(None),
    });
    let navigate = {
        let connection = Arc::clone(connection);
        let session = tab.session.clone();
        let url = document.url.to_string();
        async_std::task::spawn(async move {
            connection
                .call(Some(&session), "Page.navigate", json!({"url": url}))
                .await
        })
    };
    let mut loop_state = Loop {
        tab: &tab,
        document: &document,
        sender: &sender,
        sessions: &sessions,
        is_loaded: false,
    };
    let started = Instant::now();
    let settled = loop_state.until_settled(&events, window).await?;
    log::debug!(
        "render: {}: settled ({settled}) after {} ms",
        shorten(document.url.as_str()),
        started.elapsed().as_millis()
    );
    if let Ok(navigated) = navigate.await
        && let Some(error) = navigated["errorText"].as_str().map(str::to_owned)
    {
        return Err(RenderError::new(
            "navigation",
            format!("the browser could not load the page: {error}"),
        ));
    }
    let mut read = loop_state.read(&events).await?;
    read.settled = settled;
    Ok(read)
}

/// Turns on what the render needs in the tab: every request paused, page
/// events, crash events, and new targets (pop-ups, workers) held at start.
async fn prepare(tab: &OpenTab) -> Result<(), RenderError> {
    let session = Some(tab.session.as_str());
    let calls = [
        (
            "Fetch.enable",
            json!({"patterns": [{"urlPattern": "*", "requestStage": "Request"}]}),
        ),
        ("Page.enable", json!({})),
        (
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": IDLE_TRACKER}),
        ),
        ("Inspector.enable", json!({})),
        (
            "Emulation.setFocusEmulationEnabled",
            json!({"enabled": true}),
        ),
        (
            "Target.setAutoAttach",
            json!({"autoAttach": true, "waitForDebuggerOnStart": true, "flatten": true}),
        ),
    ];
    for (method, params) in calls {
        tab.connection
            .call(session, method, params)
            .await
            .map_err(browser_failed)?;
    }
    Ok(())
}

/// The sessions of one render, forgotten when it ends.
struct Sessions {
    connection: Arc<Connection>,
    ids: Mutex<Vec<String>>,
}

impl Sessions {
    fn add(&self, id: String) {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(id);
    }
}

impl Drop for Sessions {
    fn drop(&mut self) {
        for id in self
            .ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            self.connection.forget(id);
        }
    }
}

/// What woke the settle loop.
enum Step {
    Event(Result<Event, async_channel::RecvError>),
    Probe(bool),
    Tick,
}

/// The event loop of one render.
struct Loop<'a> {
    tab: &'a Arc<Tab>,
    document: &'a Document<'a>,
    sender: &'a Sender<Event>,
    sessions: &'a Sessions,
    is_loaded: bool,
}

impl Loop<'_> {
    /// Handles events until the page has loaded and been quiet for `settle`,
    /// or, sooner, until the page says nothing can happen before then.
    async fn until_settled(
        &mut self,
        events: &Receiver<Event>,
        window: Window,
    ) -> Result<&'static str, RenderError> {
        let settle = window.settle;
        let mut probe: Option<JoinHandle<bool>> = None;
        let mut last_probe: Option<Instant> = None;
        loop {
            if window.started.elapsed() >= window.timeout {
                return Err(self.timed_out(window));
            }
            let is_network_quiet = self.tab.in_flight.is_empty();
            let quiet_for = self.tab.quiet_for();
            if self.is_loaded && is_network_quiet && quiet_for >= settle {
                return Ok("quiet");
            }
            let may_probe = self.is_loaded
                && is_network_quiet
                && quiet_for >= PROBE_AFTER
                && probe.is_none()
                && !self.tab.is_script_due()
                && last_probe.is_none_or(|at| at.elapsed() >= PROBE_AFTER);
            if may_probe {
                last_probe = Some(Instant::now());
                probe = Some(self.probe(settle.saturating_sub(quiet_for)));
            }
            let next = async { Step::Event(events.recv().await) };
            let tick = async {
                async_std::task::sleep(TICK).await;
                Step::Tick
            };
            let answered = async {
                match probe.as_mut() {
                    Some(handle) => Step::Probe(handle.await),
                    None => future::pending().await,
                }
            };
            match future::or(next, future::or(answered, tick)).await {
                Step::Tick if self.tab.connection.is_closed() => {
                    return Err(browser_failed(CdpError::Closed));
                }
                Step::Tick => {}
                Step::Probe(is_idle) => {
                    probe = None;
                    let asked_for = last_probe.map_or(Duration::ZERO, |at| at.elapsed());
                    let is_still_quiet =
                        self.tab.in_flight.is_empty() && self.tab.quiet_for() >= asked_for;
                    if is_idle && is_still_quiet && self.is_loaded {
                        return Ok("idle");
                    }
                }
                Step::Event(Ok(event)) => self.handle(event)?,
                Step::Event(Err(_)) => return Err(browser_failed(CdpError::Closed)),
            }
        }
    }

    /// The timeout, with what the page was still waited for.
    fn timed_out(&self, window: Window) -> RenderError {
        let mut waited_for = Vec::new();
        if !self.is_loaded {
            waited_for.push("its load event had not fired".to_owned());
        }
        waited_for.extend(self.tab.in_flight.describe());
        if waited_for.is_empty() {
            waited_for.push(format!(
                "it was never quiet for {} (render.settle)",
                humantime::format_duration(window.settle)
            ));
        }
        RenderError::new(
            "timeout",
            format!(
                "the page did not settle within {} (render.timeout): {}",
                humantime::format_duration(window.timeout),
                waited_for.join("; ")
            ),
        )
    }

    /// Asks the page whether anything can happen in the `remaining` time.
    fn probe(&self, remaining: Duration) -> JoinHandle<bool> {
        let connection = Arc::clone(&self.tab.connection);
        let session = self.tab.session.clone();
        let expression = format!("({IDLE_PAGE})({})", remaining.as_millis());
        async_std::task::spawn(async move {
            let params = json!({"expression": expression, "returnByValue": true});
            connection
                .call(Some(&session), "Runtime.evaluate", params)
                .await
                .is_ok_and(|answer| answer["result"]["value"] == true)
        })
    }

    /// Reads the page, still answering events (a dialog would block it).
    async fn read(&mut self, events: &Receiver<Event>) -> Result<Read, RenderError> {
        let evaluate = async {
            let params = json!({"expression": READ_PAGE, "returnByValue": true});
            let value = self
                .tab
                .connection
                .call(Some(&self.tab.session), "Runtime.evaluate", params)
                .await
                .map_err(browser_failed)?;
            Ok::<_, RenderError>(value)
        };
        let tab = Arc::clone(self.tab);
        let document = self.document;
        let sender = self.sender;
        let sessions = self.sessions;
        let mut others = Loop {
            tab: &tab,
            document,
            sender,
            sessions,
            is_loaded: true,
        };
        let meanwhile = async {
            loop {
                match events.recv().await {
                    Ok(event) => others.handle(event)?,
                    Err(_) => return Err(browser_failed(CdpError::Closed)),
                }
            }
        };
        let value = future::or(evaluate, meanwhile).await?;
        let navigation_error = self
            .tab
            .navigation_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        read_of(&value, navigation_error)
    }

    fn handle(&mut self, event: Event) -> Result<(), RenderError> {
        log::trace!("render: event {} {}", event.method, event.params);
        let session = event.session.clone().unwrap_or_default();
        let params = &event.params;
        match event.method.as_str() {
            "Fetch.requestPaused" => self.paused(session, event.params),
            "Page.loadEventFired"
                if session == self.tab.session
                    && self.tab.is_document_served.load(Ordering::SeqCst) =>
            {
                self.is_loaded = true;
                self.tab.touch();
            }
            "Page.frameStartedLoading" if params["frameId"] == self.tab.target.as_str() => {
                self.is_loaded = false;
                self.tab.touch();
            }
            "Page.javascriptDialogOpening" => {
                dismiss_dialog(&self.tab.connection, &session);
            }
            "Target.attachedToTarget" => self.attached(params),
            "Inspector.targetCrashed" if session == self.tab.session => {
                return Err(RenderError::new("crash", "the page's renderer crashed"));
            }
            _ => {}
        }
        Ok(())
    }

    /// A target the page started: a pop-up is closed; a worker or frame
    /// gets its requests paused too, then runs.
    fn attached(&self, params: &Value) {
        let info = &params["targetInfo"];
        let connection = &self.tab.connection;
        if info["type"] == "page" {
            let target = json!({"targetId": info["targetId"]});
            connection.send(None, "Target.closeTarget", target);
            return;
        }
        let Some(child) = params["sessionId"].as_str().map(str::to_owned) else {
            return;
        };
        connection.subscribe(&child, self.sender.clone());
        self.sessions.add(child.clone());
        let connection = Arc::clone(connection);
        async_std::task::spawn(async move {
            let pattern = json!({"patterns": [{"urlPattern": "*", "requestStage": "Request"}]});
            let _ = connection.call(Some(&child), "Fetch.enable", pattern).await;
            let _ = connection
                .call(Some(&child), "Runtime.runIfWaitingForDebugger", json!({}))
                .await;
        });
    }

    /// A paused request: our document, a navigation, or another request.
    fn paused(&self, session: String, params: Value) {
        let tab = Arc::clone(self.tab);
        let url = params["request"]["url"].as_str().unwrap_or_default();
        let request = tab.in_flight.start(url);
        tab.touch();
        let is_main_document =
            params["resourceType"] == "Document" && params["frameId"] == tab.target.as_str();
        let id = params["requestId"].as_str().unwrap_or_default().to_owned();
        let is_ours = || is_main_document && is_same_document(url, self.document.url);
        if !tab.is_document_served.load(Ordering::SeqCst) && !is_ours() {
            // The tab's previous page, still there until ours commits.
            log::trace!("render: a request of the previous page refused: {url}");
            async_std::task::spawn(async move {
                fail(&tab.connection, &session, &id, "Aborted").await;
                tab.in_flight.end(request);
            });
            return;
        }
        if is_main_document && !tab.is_document_served.swap(true, Ordering::SeqCst) {
            let document = self.document;
            let answer = fulfillment(&id, document.status, document.headers, document.body);
            async_std::task::spawn(async move {
                let _ = tab
                    .connection
                    .call(Some(&session), "Fetch.fulfillRequest", answer)
                    .await;
                tab.in_flight.end(request);
                tab.touch();
            });
            return;
        }
        let is_late_script = self.is_loaded && params["resourceType"] == "Script";
        async_std::task::spawn(async move {
            if is_main_document {
                navigate(&tab, &session, &id, &params).await;
            } else {
                let policy = &tab.navigations.policy;
                policy.answer(&tab.connection, &session, &params).await;
            }
            if is_late_script {
                *tab.late_script
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
            }
            tab.in_flight.end(request);
            tab.touch();
        });
    }
}

/// A navigation the page makes (script, `<meta http-equiv=refresh>`,
/// `Refresh`), followed like a redirect: `max_redirects`, the crawl's
/// scope, robots.txt and the address guard; fetched by us.
async fn navigate(tab: &Tab, session: &str, id: &str, params: &Value) {
    let connection = &tab.connection;
    let target = params["request"]["url"].as_str().unwrap_or_default();
    let stashed = {
        let mut redirected = tab
            .redirected
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match redirected.take() {
            Some(page) if page.final_url.as_str() == target => Some(page),
            other => {
                *redirected = other;
                None
            }
        }
    };
    if let Some(page) = stashed {
        let answer = fulfillment(
            id,
            page.status.unwrap_or(200),
            &page.browser_headers,
            &page.body,
        );
        let _ = connection
            .call(Some(session), "Fetch.fulfillRequest", answer)
            .await;
        return;
    }
    match fetch_navigation(tab, target, params).await {
        Ok(page) if page.final_url.as_str() != target => {
            let location = page.final_url.to_string();
            *tab.redirected
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(page);
            let answer = json!({
                "requestId": id,
                "responseCode": 302,
                "responseHeaders": [{"name": "location", "value": location}],
            });
            let _ = connection
                .call(Some(session), "Fetch.fulfillRequest", answer)
                .await;
        }
        Ok(page) => {
            let status = page.status.unwrap_or(200);
            let answer = fulfillment(id, status, &page.browser_headers, &page.body);
            let _ = connection
                .call(Some(session), "Fetch.fulfillRequest", answer)
                .await;
        }
        Err(why) => {
            tab.refuse_navigation(why);
            fail(connection, session, id, "BlockedByClient").await;
        }
    }
}

/// Fetches the target of a navigation, or says why it is not followed.
async fn fetch_navigation(tab: &Tab, target: &str, params: &Value) -> Result<Page, String> {
    let navigations = &tab.navigations;
    let shown = shorten(target);
    let count = tab.navigated.fetch_add(1, Ordering::SeqCst) + 1;
    if count > navigations.max_redirects {
        return Err(format!(
            "navigation: the page navigated more than {} times (max_redirects); last target `{shown}`",
            navigations.max_redirects
        ));
    }
    let method = params["request"]["method"].as_str().unwrap_or("GET");
    if !method.eq_ignore_ascii_case("GET") {
        return Err(format!(
            "navigation: the page sends a {method} to `{shown}`; only GET is followed"
        ));
    }
    let url = Url::parse(target)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some())
        .ok_or_else(|| {
            format!("navigation: the page navigates to `{shown}`, which is not http(s)")
        })?;
    (navigations.scope)(&url)
        .map_err(|why| format!("navigation: the page navigates to `{shown}`, which {why}"))?;
    let policy = &navigations.policy;
    if let Some(robots) = &policy.robots {
        robots
            .check(&policy.fetcher, &url)
            .await
            .map_err(|why| format!("navigation: the page navigates to `{shown}`, {why}"))?;
    }
    let options = FetchOptions {
        is_public_only: policy.is_public_only,
        hops: policy.robots.as_deref(),
        ..FetchOptions::default()
    };
    let page = policy.fetcher.fetch_with(&url, options).await;
    match &page.error {
        Some(error) => Err(format!("navigation: {}: {error}", error.kind())),
        None => Ok(page),
    }
}

/// Dismisses the dialog (`alert`, `confirm`, `prompt`) open in `session`.
fn dismiss_dialog(connection: &Arc<Connection>, session: &str) {
    let params = json!({"accept": false});
    connection.send(Some(session), "Page.handleJavaScriptDialog", params);
}

/// Whether the browser's request for `requested` is the navigation to
/// `ours`: the same URL, up to the fragment and percent-encoding (the
/// browser may escape a character the URL parser left as it was).
fn is_same_document(requested: &str, ours: &Url) -> bool {
    let without_fragment = |url: &str| -> String {
        let url = url.split_once('#').map_or(url, |(before, _)| before);
        percent_encoding::percent_decode_str(url)
            .decode_utf8_lossy()
            .into_owned()
    };
    without_fragment(requested) == without_fragment(ours.as_str())
}

/// The read page out of `Runtime.evaluate`'s answer.
fn read_of(value: &Value, navigation_error: Option<String>) -> Result<Read, RenderError> {
    if let Some(exception) = value.get("exceptionDetails") {
        let text = exception["exception"]["description"]
            .as_str()
            .or_else(|| exception["text"].as_str())
            .unwrap_or("an exception");
        return Err(RenderError::new(
            "script",
            format!("reading the page failed: {text}"),
        ));
    }
    let read = &value["result"]["value"];
    let pairs = |key: &str| -> Vec<(String, Value)> {
        read[key]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| {
                        let first = item.get(0)?.as_str()?.to_owned();
                        Some((first, item.get(1).cloned().unwrap_or(Value::Null)))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(Read {
        title: read["title"].as_str().map(str::to_owned),
        url: read["url"].as_str().unwrap_or_default().to_owned(),
        links: pairs("links")
            .into_iter()
            .map(|(href, rest)| (href, rest.as_bool().unwrap_or(false)))
            .zip(link_texts(read))
            .map(|((href, nofollow), text)| (href, nofollow, text))
            .collect(),
        titles: read["titles"]
            .as_u64()
            .map_or(0, |count| u32::try_from(count).unwrap_or(u32::MAX)),
        meta: pairs("meta")
            .into_iter()
            .map(|(name, content)| (name, content.as_str().unwrap_or_default().to_owned()))
            .collect(),
        navigation_error,
        settled: "quiet",
    })
}

/// The third item of each of the read page's links: its text.
fn link_texts(read: &Value) -> impl Iterator<Item = String> + '_ {
    read["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| item.get(0).and_then(Value::as_str).is_some())
        .map(|item| {
            item.get(2)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        })
}

/// A failed command as a render error: the browser is gone, or it refused.
fn browser_failed(error: CdpError) -> RenderError {
    match error {
        CdpError::Closed => RenderError::new("crash", "the browser exited or crashed"),
        CdpError::Protocol { method, message } => {
            RenderError::new("browser", format!("{method} failed: {message}"))
        }
    }
}
