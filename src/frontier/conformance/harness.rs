//! The backends under test, opened through the one door from a config: a
//! state file in a temp folder, or a cluster of one node on a
//! `redis-server` of its own on a free loopback port.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::{Config, Need};
use crate::frontier::{Access, Frontier, open};

/// A backend under test: a folder for its files, and the `crawler.toml`
/// lines that name it.
pub struct Harness {
    dir: tempfile::TempDir,
    store_lines: String,
    _server: Option<RedisServer>,
}

impl Harness {
    /// The embedded store, in a state file of a temp folder.
    pub fn sqlite() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            store_lines: "state_file = \"state.db\"\n".to_owned(),
            _server: None,
        }
    }

    /// A cluster of one node on a `redis-server` of its own.
    pub fn redis() -> Self {
        let server = RedisServer::start();
        Self {
            dir: tempfile::tempdir().unwrap(),
            store_lines: format!(
                "[cluster]\nredis = \"redis://127.0.0.1:{}/0\"\nname = \"conformance\"\nnode = \"n1\"\n",
                server.port
            ),
            _server: Some(server),
        }
    }

    /// Opens the store as a starting daemon does, with `interval` between
    /// fetches of a URL.
    pub fn open(&self, interval: Duration) -> Box<dyn Frontier> {
        let path = self.dir.path().join("crawler.toml");
        let text = format!(
            "recrawl_interval = \"{}ms\"\n{}",
            interval.as_millis(),
            self.store_lines
        );
        let config = Config::from_toml(&path, &text, Need::ClientOnly).unwrap();
        open(&config, Access::Crawl).unwrap()
    }
}

/// A `redis-server` on a free loopback port, killed on drop.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/test installs it)");
        let server = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        server
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
