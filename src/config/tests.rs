//! Loading and validation, from TOML text and environment variables.

use super::*;

use bytesize::ByteSize;
use std::time::Duration;

fn load_text(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env_map: Map<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let env = environment().source(Some(env_map));
    Config::from_sources(Path::new("test.toml"), text, env, Need::Seeds)
}

fn problems(text: &str, vars: &[(&str, &str)]) -> String {
    match load_text(text, vars) {
        Ok(_) => panic!("expected an error"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn missing_keys_match_the_defaults() {
    let config = load_text("seeds = [\"http://127.0.0.1/\"]", &[]).unwrap();
    let expected = Settings {
        seeds: vec!["http://127.0.0.1/".to_owned()],
        ..Settings::default()
    };
    assert_eq!(config.settings, expected);
    assert_eq!(config.seed_count, 1);
}

#[test]
fn environment_overrides_the_file_with_nesting() {
    let vars = [
        ("CRAWLER_WORKERS", "64"),
        ("CRAWLER_OUTPUT__JSONL", "/tmp/titles.jsonl"),
        ("CRAWLER_REQUEST_TIMEOUT", "5s"),
    ];
    let config = load_text("seeds = [\"http://127.0.0.1/\"]\nworkers = 2", &vars).unwrap();
    assert_eq!(config.settings.workers, 64);
    assert_eq!(config.settings.request_timeout, Duration::from_secs(5));
    assert_eq!(config.jsonl, Some(PathBuf::from("/tmp/titles.jsonl")));
}

#[test]
fn seeds_from_the_environment_are_a_list() {
    let vars = [("CRAWLER_SEEDS", "http://127.0.0.1/a http://127.0.0.1/b")];
    let config = load_text("", &vars).unwrap();
    assert_eq!(config.seeds.len(), 2);
}

#[test]
fn unknown_keys_are_all_reported_with_origin() {
    let message = problems(
        "seeds = [\"http://127.0.0.1/\"]\nwrokers = 3\n[output]\njsnol = \"x\"",
        &[("CRAWLER_BOGUS", "1")],
    );
    assert!(
        message.contains("test.toml: `wrokers`: unknown key"),
        "{message}"
    );
    assert!(
        message.contains("test.toml: `output.jsnol`: unknown key"),
        "{message}"
    );
    assert!(
        message.contains("environment variable `CRAWLER_BOGUS`: `bogus`"),
        "{message}"
    );
}

#[test]
fn every_semantic_problem_is_reported_at_once() {
    let text = "seeds = [\"http://127.0.0.1/\", \"gopher://x/\"]\nworkers = 0\n\
                queue_capacity = 0\nrequest_timeout = \"0s\"\nmax_body_size = \"0B\"";
    let message = problems(text, &[]);
    for key in [
        "`workers`",
        "`queue_capacity`",
        "`request_timeout`",
        "`max_body_size`",
        "`seeds[1]`",
    ] {
        assert!(message.contains(key), "{key} missing from {message}");
    }
    assert!(message.contains("(line 1)"), "{message}");
}

#[test]
fn durations_and_sizes_are_human_strings() {
    let text = "seeds = [\"http://127.0.0.1/\"]\nconnect_timeout = \"1m 30s\"\n\
                max_body_size = \"512KiB\"";
    let config = load_text(text, &[]).unwrap();
    assert_eq!(config.settings.connect_timeout, Duration::from_secs(90));
    assert_eq!(config.settings.max_body_size, ByteSize::kib(512));
}

#[test]
fn every_wrong_type_is_reported_with_its_key() {
    let text = "seeds = [\"http://127.0.0.1/\"]\nworkers = \"many\"\n\
                request_timeout = 5\nmax_body_size = \"lots\"\n[output]\njsonl = 3";
    let message = problems(text, &[]);
    assert!(message.contains("test.toml: `workers`: "), "{message}");
    assert!(
        message.contains("`request_timeout`: ") && message.contains("\"30s\""),
        "{message}"
    );
    assert!(
        message.contains("`max_body_size`: ") && message.contains("\"4MiB\""),
        "{message}"
    );
    assert!(!message.contains("for key"), "{message}");
}

#[test]
fn render_enums_say_what_they_take() {
    let message = problems(
        "seeds = [\"http://127.0.0.1/\"]\n[render]\nmode = \"sometimes\"",
        &[],
    );
    assert!(
        message.contains(
            "`render.mode`: must be \"never\", \"auto\" or \"always\", got \"sometimes\""
        ),
        "{message}"
    );
    let message = problems(
        "seeds = [\"http://127.0.0.1/\"]\n[render]\nblock = [\"images\"]",
        &[],
    );
    assert!(
        message.contains("must be one of \"image\", \"media\""),
        "{message}"
    );
    assert!(message.contains("got \"images\""), "{message}");
}

#[test]
fn crawl_problems_name_the_nested_key() {
    let message = problems(
        "seeds = [\"http://127.0.0.1/\"]\n[crawl]\nscope = \"planet\"",
        &[],
    );
    assert!(
        message.contains("`crawl.scope`: must be \"host\", \"domain\" or \"any\", got \"planet\""),
        "{message}"
    );
    let message = problems(
        "seeds = [\"http://127.0.0.1/\"]\n[crawl]\nexclude = [\"(\"]\nmax_pages_per_host = 0",
        &[],
    );
    assert!(
        message.contains("`crawl.exclude[0]`: is not a valid regex"),
        "{message}"
    );
    assert!(
        message.contains("`crawl.max_pages_per_host`: must be at least 1"),
        "{message}"
    );
}

#[test]
fn no_seeds_is_an_error() {
    assert!(problems("", &[]).contains("no seeds"));
}

#[test]
fn user_agent_must_be_header_safe() {
    let message = problems("seeds = [\"http://127.0.0.1/\"]\nuser_agent = \"bé\"", &[]);
    assert!(message.contains("`user_agent`"), "{message}");
}

#[test]
fn metrics_listen_takes_an_address_or_localhost() {
    let config = load_text(
        "seeds = [\"http://127.0.0.1/\"]\n[metrics]\nlisten = \"127.0.0.1:9898\"\n",
        &[],
    )
    .unwrap();
    let address = config.settings.metrics.listen.unwrap().socket();
    assert_eq!(address.to_string(), "127.0.0.1:9898");
    let local = ListenAddress::parse("localhost:9898").unwrap().socket();
    assert!(local.ip().is_loopback() && local.port() == 9898, "{local}");
    let wrong = problems(
        "seeds = [\"http://127.0.0.1/\"]\n[metrics]\nlisten = \"example:80\"\n",
        &[],
    );
    assert!(
        wrong.contains("`metrics.listen`") && wrong.contains("such as 127.0.0.1:9898"),
        "{wrong}"
    );
}

#[test]
fn unknown_keys_are_listed_with_every_other_problem() {
    let text = "wrokers = 3\nseeds = [\"ftp://127.0.0.1/\"]\nuser_agent = \"bad\\nagent\"\n\
                [crawl]\nscoop = \"host\"\ninclude = [\"(\"]\n";
    let listed = problems(text, &[]);
    for expected in [
        "`wrokers`: unknown key; did you mean `workers`?",
        "`crawl.scoop`: unknown key; did you mean `scope`?",
        "scheme `ftp`",
        "`user_agent`",
        "crawl.include[0]",
    ] {
        assert!(
            listed.contains(expected),
            "{expected} missing in:\n{listed}"
        );
    }
}

#[test]
fn commands_that_read_the_store_do_not_read_the_seeds_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crawler.toml");
    let text = "seeds = [\"http://127.0.0.1/\"]\nseeds_file = \"missing.txt\"\n";
    let starting = Config::from_toml(&path, text, Need::Seeds);
    assert!(
        starting.is_err_and(|err| err.to_string().contains("missing.txt")),
        "a start reads the seeds file"
    );
    let reading = Config::from_toml(&path, text, Need::ClientOnly).unwrap();
    assert_eq!(reading.seed_count, 1, "the inline seed only");
    assert!(reading.seeds_file.is_some(), "still named");
}
