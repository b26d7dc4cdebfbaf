//! TLS against a real server: `openssl s_server` on 127.0.0.1 with a
//! certificate from a private CA made for the test. `[tls] ca_file` trusts it;
//! without it the fetch fails with error kind `tls`.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{DEADLINE, Workspace, crawl_once, error_of};

/// Runs `openssl` with `args` in `dir`; false when it fails or is missing.
fn openssl(dir: &Path, args: &[&str]) -> bool {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Makes ca.pem and server.pem/server.key (SAN IP:127.0.0.1) in `dir`.
pub fn make_certificates(dir: &Path) -> bool {
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=crawler test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    ) && openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    ) && openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.pem",
        ],
    )
}

pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `openssl s_server -WWW` serving `dir` on a free port; waits until it accepts.
pub fn serve(dir: &Path) -> (Server, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("openssl")
        .args(["s_server", "-quiet", "-WWW", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-cert", "server.pem", "-key", "server.key"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start openssl s_server");
    let server = Server(child);
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < DEADLINE, "s_server did not start");
        thread::sleep(Duration::from_millis(20));
    }
    (server, port)
}

#[test]
fn ca_file_trusts_a_private_ca_and_its_absence_is_a_tls_error() {
    let workspace = Workspace::new();
    let dir = workspace.dir.path();
    if !make_certificates(dir) {
        eprintln!("openssl is not installed: skipping the TLS test");
        return;
    }
    std::fs::write(dir.join("page.html"), "<title>Private TLS</title>").unwrap();
    let (_server, port) = serve(dir);
    let url = format!("https://127.0.0.1:{port}/page.html");
    let ca_file = dir.join("ca.pem");

    let trusted = crawl_once(
        std::slice::from_ref(&url),
        &format!(
            "[tls]\nca_file = {:?}\n[retry]\nmax_retries = 0",
            ca_file.display().to_string()
        ),
    );
    assert_eq!(trusted[0]["title"], "Private TLS", "{:#}", trusted[0]);

    let untrusted = crawl_once(std::slice::from_ref(&url), "[retry]\nmax_retries = 0");
    assert!(
        error_of(&untrusted[0]).starts_with("tls: "),
        "{:#}",
        untrusted[0]
    );
    assert_eq!(untrusted[0]["title"], serde_json::Value::Null);
}
