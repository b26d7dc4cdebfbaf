//! Test harness: a hand-rolled HTTP server on 127.0.0.1 and helpers that run the
//! real `crawler` binary.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long any wait in a test may take before it fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// What the server does for one path.
#[derive(Clone)]
pub enum Reply {
    /// A normal response: status, raw header lines, body.
    Page {
        status: u16,
        headers: Vec<Vec<u8>>,
        body: Vec<u8>,
    },
    /// Accept the request and then say nothing for this long before closing.
    Stall(Duration),
    /// Send headers, then this many body bytes in 64 KiB chunks (no Content-Length).
    Endless { chunks: usize },
    /// The n-th request gets the n-th reply; the last one repeats.
    Sequence(Vec<Reply>),
    /// Anything at all, written by hand on the socket (after the request was read).
    Custom(Arc<dyn Fn(&mut TcpStream) + Send + Sync>),
    /// Wait this long, then give the reply.
    Slow(Duration, Box<Reply>),
}

impl Reply {
    /// A reply written by `write` on the raw socket.
    pub fn custom(write: impl Fn(&mut TcpStream) + Send + Sync + 'static) -> Self {
        Self::Custom(Arc::new(write))
    }
}

impl Reply {
    /// `200 text/html` with `body`.
    pub fn html(body: &str) -> Self {
        Self::with_type("text/html", body.as_bytes())
    }

    /// `200` with the given Content-Type and body.
    pub fn with_type(content_type: &str, body: &[u8]) -> Self {
        Self::Page {
            status: 200,
            headers: vec![format!("Content-Type: {content_type}").into_bytes()],
            body: body.to_vec(),
        }
    }

    /// A response with no Content-Type header at all.
    pub fn untyped(body: &str) -> Self {
        Self::Page {
            status: 200,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    /// A status with an empty HTML body.
    pub fn status(status: u16) -> Self {
        Self::Page {
            status,
            headers: vec![b"Content-Type: text/html".to_vec()],
            body: Vec::new(),
        }
    }

    /// `200 text/html` with `body` and one more raw header line.
    pub fn html_with_header(header: &str, body: &str) -> Self {
        Self::Page {
            status: 200,
            headers: vec![
                b"Content-Type: text/html".to_vec(),
                header.as_bytes().to_vec(),
            ],
            body: body.as_bytes().to_vec(),
        }
    }

    /// A redirect to `location`.
    pub fn redirect(status: u16, location: &str) -> Self {
        Self::Page {
            status,
            headers: vec![format!("Location: {location}").into_bytes()],
            body: Vec::new(),
        }
    }
}

/// Requests being answered now, and the most at once so far.
#[derive(Default)]
struct Concurrency {
    now: usize,
    most: usize,
}

/// A test HTTP server on loopback that serves fixed replies and counts requests.
pub struct TestServer {
    addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    hits: Arc<Mutex<HashMap<String, Vec<Instant>>>>,
    concurrency: Arc<Mutex<Concurrency>>,
    heads: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

impl TestServer {
    /// Starts serving `routes` (path → reply) on 127.0.0.1; unknown paths get 404.
    pub fn start(routes: Vec<(&str, Reply)>) -> Self {
        Self::start_on("127.0.0.1", routes)
    }

    /// Starts serving `routes` on the loopback address `ip` (127.0.0.2, … are
    /// all loopback on Linux, so each is another host for the crawler).
    pub fn start_on(ip: &str, routes: Vec<(&str, Reply)>) -> Self {
        let listener = TcpListener::bind((ip, 0)).expect("bind a loopback address");
        let addr = listener.local_addr().expect("local addr");
        let routes: Arc<Mutex<HashMap<String, Reply>>> = Arc::new(Mutex::new(
            routes
                .into_iter()
                .map(|(path, reply)| (path.to_owned(), reply))
                .collect(),
        ));
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let concurrency = Arc::new(Mutex::new(Concurrency::default()));
        let heads = Arc::new(Mutex::new(HashMap::new()));
        let (server_routes, server_hits) = (Arc::clone(&routes), Arc::clone(&hits));
        let server_concurrency = Arc::clone(&concurrency);
        let server_heads = Arc::clone(&heads);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let routes = Arc::clone(&server_routes);
                let hits = Arc::clone(&server_hits);
                let concurrency = Arc::clone(&server_concurrency);
                let heads = Arc::clone(&server_heads);
                thread::spawn(move || serve(stream, &routes, &hits, &concurrency, &heads));
            }
        });
        Self {
            addr,
            routes,
            hits,
            concurrency,
            heads,
        }
    }

    /// The request heads (header lines, lowercased) received for `path`, in order.
    pub fn heads(&self, path: &str) -> Vec<String> {
        self.heads
            .lock()
            .expect("heads")
            .get(path)
            .cloned()
            .unwrap_or_default()
    }

    /// The most requests this server was answering at the same time.
    pub fn max_concurrent(&self) -> usize {
        self.concurrency.lock().expect("concurrency").most
    }

    /// When each request for any path but `/robots.txt` arrived, in order.
    pub fn page_arrivals(&self) -> Vec<Instant> {
        let hits = self.hits.lock().expect("hits");
        let mut all: Vec<Instant> = hits
            .iter()
            .filter(|(path, _)| path.as_str() != "/robots.txt")
            .flat_map(|(_, arrivals)| arrivals.iter().copied())
            .collect();
        all.sort();
        all
    }

    /// Replaces what `path` answers from now on.
    pub fn set(&self, path: &str, reply: Reply) {
        self.routes
            .lock()
            .expect("routes")
            .insert(path.to_owned(), reply);
    }

    /// The absolute URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// How many requests arrived for each path requested at all.
    pub fn all_hits(&self) -> HashMap<String, usize> {
        self.hits
            .lock()
            .expect("hits")
            .iter()
            .map(|(path, arrivals)| (path.clone(), arrivals.len()))
            .collect()
    }

    /// How many requests arrived for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.arrivals(path).len()
    }

    /// When each request for `path` arrived, measured on the server.
    pub fn arrivals(&self, path: &str) -> Vec<Instant> {
        self.hits
            .lock()
            .expect("hits")
            .get(path)
            .cloned()
            .unwrap_or_default()
    }
}

fn serve(
    mut stream: TcpStream,
    routes: &Mutex<HashMap<String, Reply>>,
    hits: &Mutex<HashMap<String, Vec<Instant>>>,
    concurrency: &Mutex<Concurrency>,
    heads: &Mutex<HashMap<String, Vec<String>>>,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some((path, head)) = read_request_head(&mut stream) else {
        return;
    };
    heads
        .lock()
        .expect("heads")
        .entry(path.clone())
        .or_default()
        .push(head);
    {
        let mut concurrency = concurrency.lock().expect("concurrency");
        concurrency.now += 1;
        concurrency.most = concurrency.most.max(concurrency.now);
    }
    // A request stops counting as running before its last bytes are sent:
    // the client may start the next one as soon as it has them.
    let mut is_counted = true;
    let mut done = || {
        if std::mem::take(&mut is_counted) {
            concurrency.lock().expect("concurrency").now -= 1;
        }
    };
    answer(&mut stream, &path, routes, hits, &mut done);
    done();
}

fn answer(
    stream: &mut TcpStream,
    path: &str,
    routes: &Mutex<HashMap<String, Reply>>,
    hits: &Mutex<HashMap<String, Vec<Instant>>>,
    done: &mut dyn FnMut(),
) {
    let nth = {
        let mut hits = hits.lock().expect("hits");
        let arrivals = hits.entry(path.to_owned()).or_default();
        arrivals.push(Instant::now());
        arrivals.len() - 1
    };
    let reply = {
        let routes = routes.lock().expect("routes");
        // An exact route first, then the route of the path without its query.
        let without_query = path.split('?').next().unwrap_or(path);
        routes
            .get(path)
            .or_else(|| routes.get(without_query))
            .cloned()
            .unwrap_or(Reply::status(404))
    };
    let reply = match reply {
        Reply::Sequence(replies) => replies
            .get(nth)
            .or(replies.last())
            .cloned()
            .unwrap_or(Reply::status(404)),
        other => other,
    };
    let reply = match reply {
        Reply::Slow(wait, reply) => {
            thread::sleep(wait);
            *reply
        }
        other => other,
    };
    match reply {
        Reply::Page {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} Test\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            )
            .into_bytes();
            for header in headers {
                head.extend_from_slice(&header);
                head.extend_from_slice(b"\r\n");
            }
            head.extend_from_slice(b"\r\n");
            head.extend_from_slice(&body);
            done();
            let _ = stream.write_all(&head);
        }
        Reply::Stall(duration) => thread::sleep(duration),
        Reply::Sequence(_) | Reply::Slow(..) => {}
        Reply::Custom(write) => write(stream),
        Reply::Endless { chunks } => {
            let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n<title>big</title>";
            let _ = stream.write_all(head);
            let chunk = vec![b'x'; 64 * 1024];
            for _ in 0..chunks {
                if stream.write_all(&chunk).is_err() {
                    break;
                }
            }
        }
    }
    let _ = stream.flush();
}

/// Reads the request head; returns the path of the request line and the
/// header lines, lowercased, after a `:method: get` line.
fn read_request_head(stream: &mut TcpStream) -> Option<(String, String)> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line.to_ascii_lowercase());
    }
    let mut words = request_line.split_whitespace();
    let method = words.next()?.to_ascii_lowercase();
    let path = words.next()?.to_owned();
    // The method comes first, as a pseudo-header.
    Some((path, format!(":method: {method}\r\n{head}")))
}

/// Politeness off, for tests about other things: every test server is one
/// host, and robots.txt requests would show up in its counts.
pub const POLITENESS_OFF: &str = "[politeness]\nrespect_robots_txt = false\n\
                                  per_host_concurrency = 0\nper_host_delay = \"0s\"\n";

/// A temp folder holding a config file (and whatever else a test writes there).
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write file");
        path
    }

    /// Writes `crawler.toml` with `seeds`, the `extra` top-level lines,
    /// `[output] jsonl = "out.jsonl"`, and politeness off unless `extra` has
    /// a `[politeness]` table.
    pub fn config(&self, seeds: &[String], extra: &str) -> PathBuf {
        let quoted: Vec<String> = seeds.iter().map(|seed| format!("{seed:?}")).collect();
        let politeness = if extra.contains("[politeness]") {
            ""
        } else {
            POLITENESS_OFF
        };
        let text = format!(
            "seeds = [{}]\n{extra}\n[output]\njsonl = \"out.jsonl\"\n{politeness}",
            quoted.join(", ")
        );
        self.write("crawler.toml", &text)
    }

    /// The records of the JSON Lines output, one value per line.
    pub fn records(&self, name: &str) -> Vec<Value> {
        let text = std::fs::read_to_string(self.path(name)).unwrap_or_default();
        text.lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|err| panic!("bad line {line:?}: {err}"))
            })
            .collect()
    }
}

/// A `crawler` command with a cleared environment (only PATH kept).
///
/// Each command runs in a folder of its own, so that defaults relative to the
/// working directory (the state file when there is no JSONL output) never
/// land in the repository or meet another test's.
pub fn crawler() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crawler"));
    let folder = tempfile::tempdir().expect("temp dir").keep();
    command.current_dir(folder);
    command.env_clear();
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    command.env("RUST_LOG", "crawler=debug");
    command
}

/// Runs `crawler --once --config <config>` to completion, with a deadline.
pub fn run_once(config: &Path) -> Output {
    run_once_with(crawler(), config)
}

/// Runs `command` (a [`crawler`] with extra environment) as `--once
/// --config <config>` to completion, with a deadline.
pub fn run_once_with(mut command: Command, config: &Path) -> Output {
    let child = command
        .arg("--once")
        .arg("--config")
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn crawler");
    wait_with_deadline(child)
}

/// Waits for a child to exit while draining its output (so a chatty child
/// never blocks on a full pipe), killing it and failing after [`DEADLINE`].
pub fn wait_with_deadline(child: Child) -> Output {
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    match receiver.recv_timeout(DEADLINE) {
        Ok(output) => output.expect("wait for crawler"),
        Err(_) => {
            // SAFETY: killing our own child process.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let output = receiver.recv().expect("output after kill").expect("output");
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: String = stderr
                .chars()
                .rev()
                .take(4000)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            panic!("crawler did not exit within {DEADLINE:?}; stderr ends:\n{tail}");
        }
    }
}

/// A running daemon whose stderr lines can be awaited; killed on drop.
pub struct Daemon {
    pub child: Child,
    lines: Receiver<String>,
    pub seen: Vec<String>,
}

impl Daemon {
    pub fn start(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn crawler");
        let stderr = child.stderr.take().expect("stderr");
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for `count` more lines containing `needle`.
    pub fn wait_for_n(&mut self, needle: &str, count: usize) {
        for _ in 0..count {
            self.wait_for(needle);
        }
    }

    /// Waits until a stderr line contains `needle`; panics after [`DEADLINE`].
    pub fn wait_for(&mut self, needle: &str) -> String {
        let started = Instant::now();
        while let Some(left) = DEADLINE.checked_sub(started.elapsed()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "no line containing {needle:?}; saw:\n{}",
            self.seen.join("\n")
        );
    }

    /// Every line written so far (after the daemon exited: all of them).
    pub fn all_lines(&mut self) -> Vec<String> {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(line);
        }
        self.seen.clone()
    }

    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        // SAFETY: sending a signal to our own child process.
        let result = unsafe { libc::kill(pid, signal) };
        assert_eq!(result, 0, "kill failed");
    }

    /// Waits for exit with a deadline; returns the exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            assert!(
                started.elapsed() < DEADLINE,
                "daemon did not exit within {DEADLINE:?}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Crawls `seeds` once with `extra` settings; asserts exit 0, returns the records.
pub fn crawl_once(seeds: &[String], extra: &str) -> Vec<Value> {
    let workspace = Workspace::new();
    let output = run_once(&workspace.config(seeds, extra));
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    workspace.records("out.jsonl")
}

/// The `error` field of a record ("" when null).
pub fn error_of(record: &Value) -> &str {
    record["error"].as_str().unwrap_or_default()
}

/// The records keyed by their `url` field.
pub fn by_url(records: &[Value]) -> HashMap<String, Value> {
    records
        .iter()
        .map(|record| {
            (
                record["url"].as_str().expect("url").to_owned(),
                record.clone(),
            )
        })
        .collect()
}

/// A `redis-server` of a test's own, on a free loopback port, stopped on drop.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    appendonly: bool,
}

impl RedisServer {
    /// Starts one without persistence.
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// Starts one; with `appendonly` its data survives [`RedisServer::restart`].
    pub fn start_with(appendonly: bool) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind a free port")
            .local_addr()
            .expect("local addr")
            .port();
        let mut server = Self {
            child: None,
            port,
            dir: tempfile::tempdir().expect("temp dir"),
            appendonly,
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", if self.appendonly { "yes" } else { "no" }])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server (CI installs Debian's redis-server; install it to run these tests)");
        self.child = Some(child);
        let started = Instant::now();
        while self.query(&["PING"]).is_none() {
            assert!(started.elapsed() < DEADLINE, "redis-server did not answer");
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The address for `cluster.redis`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Runs one command; its reply as text, `None` when the server is away.
    pub fn query(&self, args: &[&str]) -> Option<String> {
        let client = redis::Client::open(self.url()).ok()?;
        let mut connection = client
            .get_connection_with_timeout(Duration::from_secs(1))
            .ok()?;
        let mut command = redis::cmd(args[0]);
        for arg in &args[1..] {
            command.arg(*arg);
        }
        let value: redis::Value = command.query(&mut connection).ok()?;
        Some(match value {
            redis::Value::BulkString(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            redis::Value::SimpleString(text) => text,
            redis::Value::Int(number) => number.to_string(),
            other => format!("{other:?}"),
        })
    }

    /// Stops the server (SIGTERM: with append-only on, it writes its log first).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = libc::pid_t::try_from(child.id()).expect("pid");
            // SAFETY: signalling our own child process.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and folder.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
