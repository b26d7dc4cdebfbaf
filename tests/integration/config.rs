//! Configuration through the real binary: `check`, bad configs, the example file.

use std::path::Path;

use crate::support::{Workspace, crawler, run_once};

/// Runs `crawler check --config <path>`; returns (exit code, stdout, stderr).
fn check(path: &Path, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut command = crawler();
    command.args(["check", "--config"]).arg(path);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run crawler check");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn check_accepts_a_good_config_and_summarizes_it() {
    let workspace = Workspace::new();
    workspace.write(
        "seeds.txt",
        "http://127.0.0.1:9/a\n# comment\n\nhttp://127.0.0.1:9/b\nhttp://127.0.0.1:9/a\n",
    );
    let path = workspace.write(
        "crawler.toml",
        "seeds = [\"http://127.0.0.1:9/a\", \"http://127.0.0.1:9/c\"]\nseeds_file = \"seeds.txt\"\n",
    );
    let (code, stdout, stderr) = check(&path, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("ok: 3 seeds"), "{stdout}");
}

/// Each bad config exits 2 and names the file and the key.
#[test]
fn bad_configs_exit_2_naming_file_and_key() {
    let cases = [
        (
            "unknown key",
            "seeds = [\"http://127.0.0.1/\"]\nwrokers = 4\n",
            "`wrokers`: unknown key",
        ),
        (
            "bad url",
            "seeds = [\n  \"http://127.0.0.1/\",\n  \"htp:/nope\",\n]\n",
            "`seeds[1]`",
        ),
        (
            "zero workers",
            "seeds = [\"http://127.0.0.1/\"]\nworkers = 0\n",
            "`workers`: must be between 1",
        ),
        (
            "syntax error",
            "seeds = [\"http://127.0.0.1/\"\nworkers = \n",
            "crawler.toml",
        ),
        (
            "bad duration",
            "seeds = [\"http://127.0.0.1/\"]\nrequest_timeout = \"soon\"\n",
            "request_timeout",
        ),
        ("no seeds", "workers = 2\n", "no seeds"),
    ];
    for (name, text, expected) in cases {
        let workspace = Workspace::new();
        let path = workspace.write("crawler.toml", text);
        let (code, _, stderr) = check(&path, &[]);
        assert_eq!(code, Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{name}: expected {expected:?} in {stderr}"
        );
        assert!(
            stderr.contains("crawler.toml"),
            "{name}: file not named in {stderr}"
        );
        // The daemon refuses the same config with the same code.
        assert_eq!(run_once(&path).status.code(), Some(2), "{name}: run");
    }
}

#[test]
fn a_bad_url_in_the_seeds_file_names_its_line() {
    let workspace = Workspace::new();
    workspace.write(
        "seeds.txt",
        "http://127.0.0.1/\n\n# c\nmailto:someone@example.com\n",
    );
    let path = workspace.write("crawler.toml", "seeds_file = \"seeds.txt\"\n");
    let (code, _, stderr) = check(&path, &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("seeds.txt line 4"), "{stderr}");
    assert!(stderr.contains("mailto"), "{stderr}");
}

#[test]
fn a_missing_file_exits_2() {
    let workspace = Workspace::new();
    let (code, _, stderr) = check(&workspace.path("nope.toml"), &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("nope.toml"), "{stderr}");
}

#[test]
fn environment_overrides_are_applied_and_checked() {
    let workspace = Workspace::new();
    let path = workspace.write("crawler.toml", "seeds = [\"http://127.0.0.1/\"]\n");
    let (code, stdout, _) = check(&path, &[("CRAWLER_WORKERS", "64")]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("64 workers"), "{stdout}");

    let (code, _, stderr) = check(&path, &[("CRAWLER_WORKERS", "0")]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("environment variable `CRAWLER_WORKERS`"),
        "{stderr}"
    );

    let (code, _, stderr) = check(&path, &[("CRAWLER_OUTPUT__JSNOL", "x")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("CRAWLER_OUTPUT__JSNOL"), "{stderr}");
}

#[test]
fn usage_errors_exit_2() {
    let output = crawler().arg("--no-such-flag").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

/// The example config loads, and documents every key the settings know.
#[test]
fn example_config_loads_and_names_every_key() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("crawler.toml");
    let config = crawler::config::Config::load(&example, crawler::config::Need::Seeds)
        .unwrap_or_else(|err| panic!("crawler.toml does not load: {err}"));
    assert!(config.seed_count > 0);
    let text = std::fs::read_to_string(&example).unwrap();
    let defaults = serde_json::to_value(crawler::config::Settings::default()).unwrap();
    let mut missing = Vec::new();
    for (key, value) in defaults.as_object().unwrap() {
        if let Some(table) = value.as_object() {
            if !text.contains(&format!("[{key}]")) {
                missing.push(format!("[{key}]"));
            }
            for inner in table.keys() {
                if !text.contains(&format!("{inner} =")) {
                    missing.push(format!("{key}.{inner}"));
                }
            }
        } else if !text.contains(&format!("{key} =")) && !text.contains(&format!("[[{key}]]")) {
            missing.push(key.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "crawler.toml does not mention: {missing:?}"
    );
}

/// `crawler check` as the unprivileged user that would run the service:
/// `nobody` through `runuser` when the tests run as root, else this user.
/// `None` (said) when neither can be arranged.
fn check_unprivileged(config: &Path) -> Option<(Option<i32>, String)> {
    // SAFETY: geteuid has no preconditions and touches no memory of ours.
    let is_root = unsafe { libc::geteuid() } == 0;
    let mut command = if is_root {
        if !Path::new("/usr/sbin/runuser").exists() && !Path::new("/sbin/runuser").exists() {
            eprintln!(
                "skipped: running as root without runuser, so no unprivileged user to check as"
            );
            return None;
        }
        let as_nobody = || {
            let mut command = std::process::Command::new("runuser");
            command
                .args(["-u", "nobody", "--"])
                .arg(env!("CARGO_BIN_EXE_crawler"));
            command
        };
        let runs = as_nobody()
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success());
        if !runs {
            eprintln!("skipped: `nobody` cannot run the test binary here (its folder is private)");
            return None;
        }
        as_nobody()
    } else {
        crawler()
    };
    let output = command
        .args(["check", "--config"])
        .arg(config)
        .env_remove("RUST_LOG")
        .output()
        .expect("run crawler check");
    Some((
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

#[test]
fn check_names_what_the_start_would_fail_on() {
    use std::os::unix::fs::PermissionsExt;
    let workspace = Workspace::new();
    let open = std::fs::Permissions::from_mode(0o755);
    std::fs::set_permissions(workspace.dir.path(), open).unwrap();
    let state = workspace.path("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o555)).unwrap();
    let config = workspace.write(
        "crawler.toml",
        "seeds = [\"http://127.0.0.1:9/\"]\nstate_file = \"state/crawler.db\"\n\
         [output]\njsonl = \"state/out.jsonl\"\n",
    );
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let Some((code, stderr)) = check_unprivileged(&config) else {
        return;
    };
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot start")
            && stderr.contains("`state_file`")
            && stderr.contains(&format!("folder `{}`", state.display())),
        "{stderr}"
    );
    assert!(stderr.contains("`output.jsonl`"), "{stderr}");
    assert!(
        std::fs::read_dir(&state).unwrap().next().is_none(),
        "check leaves nothing behind"
    );

    // Writable again: the same config passes and still leaves nothing behind.
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (code, stderr) = check_unprivileged(&config).expect("ran above");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(std::fs::read_dir(&state).unwrap().next().is_none());
}

#[test]
fn check_lists_an_unknown_key_with_the_other_problems() {
    let workspace = Workspace::new();
    let path = workspace.write(
        "crawler.toml",
        "wrokers = 3\nseeds = [\"ftp://127.0.0.1/\"]\n[crawl]\nscoop = \"host\"\nmax_url_length = 3\n",
    );
    let (code, _, stderr) = check(&path, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    let problems: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("config error"))
        .collect();
    assert_eq!(problems.len(), 4, "{stderr}");
    for expected in [
        "`wrokers`",
        "`crawl.scoop`",
        "scheme `ftp`",
        "`crawl.max_url_length`",
    ] {
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
}

#[test]
fn a_seeds_file_may_start_with_a_byte_order_mark() {
    let workspace = Workspace::new();
    workspace.write(
        "seeds.txt",
        "\u{feff}http://127.0.0.1:9/a\nhttp://127.0.0.1:9/b\n",
    );
    let path = workspace.write("crawler.toml", "seeds_file = \"seeds.txt\"\n");
    let (code, stdout, stderr) = check(&path, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("ok: 2 seeds"), "{stdout}");
}
