use super::robots::Rules;
use super::*;

fn policy(robots: bool, concurrency: usize, delay_ms: u64) -> Policy {
    Policy {
        respect_robots_txt: robots,
        product_token: "crawler".to_owned(),
        per_host_concurrency: concurrency,
        per_host_delay: Duration::from_millis(delay_ms),
        max_crawl_delay: Duration::from_secs(30),
    }
}

fn job(url: &str) -> Job {
    Job::new(Url::parse(url).unwrap())
}

fn fetched(action: Option<Action>) -> String {
    match action {
        Some(Action::Fetch(job)) => job.url.to_string(),
        other => panic!("expected a fetch, got {other:?}"),
    }
}

fn rules(text: &str) -> Verdict {
    Verdict::Rules(Rules::parse("crawler", text.as_bytes()).unwrap())
}

#[test]
fn ready_hosts_take_turns() {
    let now = Instant::now();
    let mut hosts = Hosts::new(policy(false, 0, 0), now);
    for i in 0..5 {
        assert!(
            hosts
                .push(job(&format!("http://a.test/{i}")), now)
                .is_none()
        );
    }
    assert!(hosts.push(job("http://b.test/0"), now).is_none());
    assert!(hosts.push(job("http://b.test/1"), now).is_none());
    let order: Vec<String> = (0..4).map(|_| fetched(hosts.next_action(now))).collect();
    assert_eq!(
        order,
        [
            "http://a.test/0",
            "http://b.test/0",
            "http://a.test/1",
            "http://b.test/1"
        ]
    );
}

#[test]
fn the_delay_holds_a_host_but_not_the_others() {
    let now = Instant::now();
    let mut hosts = Hosts::new(policy(false, 0, 1000), now);
    hosts.push(job("http://slow.test/1"), now);
    hosts.push(job("http://slow.test/2"), now);
    hosts.push(job("http://other.test/1"), now);
    assert_eq!(fetched(hosts.next_action(now)), "http://slow.test/1");
    assert_eq!(fetched(hosts.next_action(now)), "http://other.test/1");
    assert!(hosts.next_action(now).is_none());
    assert_eq!(hosts.next_timer(), Some(now + Duration::from_secs(1)));
    let early = now + Duration::from_millis(999);
    assert!(hosts.next_action(early).is_none());
    let later = now + Duration::from_secs(1);
    assert_eq!(fetched(hosts.next_action(later)), "http://slow.test/2");
}

#[test]
fn per_host_concurrency_waits_for_a_completion() {
    let now = Instant::now();
    let mut hosts = Hosts::new(policy(false, 2, 0), now);
    for i in 0..3 {
        hosts.push(job(&format!("http://a.test/{i}")), now);
    }
    fetched(hosts.next_action(now));
    fetched(hosts.next_action(now));
    assert!(hosts.next_action(now).is_none());
    assert_eq!(hosts.next_timer(), None);
    hosts.completed(
        HostKey::of(&Url::parse("http://a.test/").unwrap()),
        Signal::Answered,
        now,
    );
    assert_eq!(fetched(hosts.next_action(now)), "http://a.test/2");
}

#[test]
fn robots_txt_is_fetched_once_and_its_rules_refuse_jobs() {
    let now = Instant::now();
    let mut hosts = Hosts::new(policy(true, 0, 0), now);
    hosts.push(job("http://a.test/ok"), now);
    hosts.push(job("http://a.test/private/x"), now);
    let Some(Action::FetchRobots(key, url)) = hosts.next_action(now) else {
        panic!("robots.txt first");
    };
    assert_eq!(url.as_str(), "http://a.test/robots.txt");
    hosts.push(job("http://a.test/private/y"), now);
    assert!(hosts.next_action(now).is_none(), "jobs wait for robots.txt");
    let refused = hosts.robots_fetched(key, rules("User-agent: *\nDisallow: /private/\n"), now);
    let refused: Vec<String> = refused
        .iter()
        .map(|refusal| refusal.job.url.to_string())
        .collect();
    assert_eq!(
        refused,
        ["http://a.test/private/x", "http://a.test/private/y"]
    );
    assert_eq!(fetched(hosts.next_action(now)), "http://a.test/ok");
    let Refusal { job, kind, why } = hosts.push(job("http://a.test/private/z"), now).unwrap();
    assert_eq!(job.url.path(), "/private/z");
    assert_eq!(kind, "robots");
    assert!(
        why.contains("disallowed by http://a.test/robots.txt"),
        "{why}"
    );
    assert!(hosts.is_drained());
}

#[test]
fn an_unreachable_robots_txt_refuses_everything_until_retried() {
    let now = Instant::now();
    let mut hosts = Hosts::new(policy(true, 0, 0), now);
    hosts.push(job("http://a.test/1"), now);
    let Some(Action::FetchRobots(key, _)) = hosts.next_action(now) else {
        panic!("robots.txt first");
    };
    let refused = hosts.robots_fetched(
        key,
        Verdict::DisallowAll(robots::Unreachable {
            kind: "http_status",
            why: "HTTP 500".into(),
        }),
        now,
    );
    assert_eq!(refused.len(), 1);
    assert!(refused[0].why.contains("HTTP 500"), "{}", refused[0].why);
    assert_eq!(refused[0].kind, "http_status", "the cause, not `robots`");
    assert!(hosts.push(job("http://a.test/2"), now).is_some());
    let later = now + ROBOTS_RETRY;
    assert!(hosts.push(job("http://a.test/3"), later).is_none());
    assert!(matches!(
        hosts.next_action(later),
        Some(Action::FetchRobots(..))
    ));
    assert!(
        hosts
            .robots_fetched(key, Verdict::AllowAll("HTTP 404".into()), later)
            .is_empty()
    );
    assert_eq!(fetched(hosts.next_action(later)), "http://a.test/3");
}

#[test]
fn crawl_delay_is_honoured_up_to_the_cap() {
    let now = Instant::now();
    let mut capped = policy(true, 0, 0);
    capped.max_crawl_delay = Duration::from_secs(5);
    let mut hosts = Hosts::new(capped, now);
    hosts.push(job("http://a.test/1"), now);
    hosts.push(job("http://a.test/2"), now);
    let Some(Action::FetchRobots(key, _)) = hosts.next_action(now) else {
        panic!("robots.txt first");
    };
    hosts.robots_fetched(key, rules("User-agent: *\nCrawl-delay: 60\n"), now);
    // The robots.txt request counts as the host's last request.
    assert!(hosts.next_action(now).is_none());
    let at = now + Duration::from_secs(5);
    assert_eq!(hosts.next_timer(), Some(at));
    fetched(hosts.next_action(at));
    assert_eq!(hosts.next_timer(), Some(at + Duration::from_secs(5)));
}

#[test]
fn slow_down_answers_double_the_gap_and_normal_ones_ease_it() {
    let now = Instant::now();
    let mut hosts = Hosts::new(policy(false, 0, 1000), now);
    let key = HostKey::of(&Url::parse("http://a.test/").unwrap());
    for i in 0..4 {
        hosts.push(job(&format!("http://a.test/{i}")), now);
    }
    fetched(hosts.next_action(now));
    hosts.completed(key, Signal::SlowDown(None), now);
    assert_eq!(hosts.next_timer(), Some(now + Duration::from_secs(2)));
    let t = now + Duration::from_secs(2);
    fetched(hosts.next_action(t));
    hosts.completed(key, Signal::SlowDown(Some(Duration::from_secs(10))), t);
    assert_eq!(hosts.next_timer(), Some(t + Duration::from_secs(10)));
    let t = t + Duration::from_secs(10);
    fetched(hosts.next_action(t));
    hosts.completed(key, Signal::Answered, t);
    assert_eq!(hosts.next_timer(), Some(t + Duration::from_secs(2)));
}

#[test]
fn idle_hosts_are_forgotten() {
    let now = Instant::now();
    let mut hosts = Hosts::new(policy(false, 0, 0), now);
    hosts.push(job("http://a.test/1"), now);
    fetched(hosts.next_action(now));
    let key = HostKey::of(&Url::parse("http://a.test/").unwrap());
    hosts.completed(key, Signal::Answered, now);
    hosts.sweep_idle(now + Duration::from_secs(61));
    assert_eq!(hosts.len(), 1, "not idle long enough");
    hosts.sweep_idle(now + IDLE_TTL + Duration::from_secs(122));
    assert!(hosts.is_empty());
}

/// Cases from Google's robots.txt test suite (robots_test.cc in
/// google/robotstxt) for the matching we rely on, as (robots.txt, user agent,
/// URL, allowed). Left out: Google-only behaviours (user agents cut at the
/// first space, `index.html` as a directory, the line length limit) and cases
/// about the raw-byte URLs `url::Url` never produces.
const GOOGLE_CASES: &[(&str, &str, &str, bool)] = &[
    // ID_LineSyntax_Line
    ("user-agent: FooBot\ndisallow: /\n", "FooBot", "/x/y", false),
    ("foo: FooBot\nbar: /\n", "FooBot", "/x/y", true),
    // ID_LineSyntax_Groups
    (GROUPS, "FooBot", "/x/b", true),
    (GROUPS, "FooBot", "/z/d", true),
    (GROUPS, "FooBot", "/y/c", false),
    (GROUPS, "BarBot", "/y/c", true),
    (GROUPS, "BarBot", "/w/a", true),
    (GROUPS, "BarBot", "/z/d", false),
    (GROUPS, "BazBot", "/z/d", true),
    (GROUPS, "FooBot", "/foo/bar/", false),
    (GROUPS, "BarBot", "/foo/bar/", false),
    (GROUPS, "BazBot", "/foo/bar/", false),
    // ID_LineSyntax_Groups_OtherRules
    (
        "User-agent: BarBot\nSitemap: https://foo.bar/sitemap\nUser-agent: *\nDisallow: /\n",
        "FooBot",
        "/",
        false,
    ),
    (
        "User-agent: BarBot\nSitemap: https://foo.bar/sitemap\nUser-agent: *\nDisallow: /\n",
        "BarBot",
        "/",
        false,
    ),
    (
        "User-agent: FooBot\nInvalid-Unknown-Line: unknown\nUser-agent: *\nDisallow: /\n",
        "FooBot",
        "/",
        false,
    ),
    // ID_REPLineNamesCaseInsensitive
    (
        "USER-AGENT: FooBot\nALLOW: /x/\nDISALLOW: /\n",
        "FooBot",
        "/x/y",
        true,
    ),
    (
        "USER-AGENT: FooBot\nALLOW: /x/\nDISALLOW: /\n",
        "FooBot",
        "/a/b",
        false,
    ),
    (
        "user-agent: FooBot\nallow: /x/\ndisallow: /\n",
        "FooBot",
        "/x/y",
        true,
    ),
    (
        "uSeR-aGeNt: FooBot\nAlLoW: /x/\ndIsAlLoW: /\n",
        "FooBot",
        "/a/b",
        false,
    ),
    // ID_UserAgentValueCaseInsensitive
    (
        "User-Agent: FOO\nAllow: /x/\nDisallow: /\n",
        "foo",
        "/x/y",
        true,
    ),
    (
        "User-Agent: foo\nAllow: /x/\nDisallow: /\n",
        "FOO",
        "/a/b",
        false,
    ),
    (
        "User-Agent: FoO\nAllow: /x/\nDisallow: /\n",
        "fOo",
        "/a/b",
        false,
    ),
    // ID_GlobalGroups_Secondary
    ("", "FooBot", "/x/y", true),
    (
        "user-agent: *\nallow: /\nuser-agent: FooBot\ndisallow: /\n",
        "FooBot",
        "/x/y",
        false,
    ),
    (
        "user-agent: *\nallow: /\nuser-agent: FooBot\ndisallow: /\n",
        "BarBot",
        "/x/y",
        true,
    ),
    (
        "user-agent: FooBot\nallow: /\nuser-agent: BarBot\ndisallow: /\nuser-agent: BazBot\ndisallow: /\n",
        "QuxBot",
        "/x/y",
        true,
    ),
    // ID_AllowDisallow_Value_CaseSensitive
    (
        "user-agent: FooBot\ndisallow: /x/\n",
        "FooBot",
        "/x/y",
        false,
    ),
    (
        "user-agent: FooBot\ndisallow: /X/\n",
        "FooBot",
        "/x/y",
        true,
    ),
    // ID_LongestMatch
    (
        "user-agent: FooBot\ndisallow: /x/page.html\nallow: /x/page.html\n",
        "FooBot",
        "/x/page.html",
        true,
    ),
    (
        "user-agent: FooBot\nallow: /x/page.html\ndisallow: /x/page.html\n",
        "FooBot",
        "/x/page.html",
        true,
    ),
    (
        "user-agent: FooBot\nallow: /page\ndisallow: /*.html\n",
        "FooBot",
        "/page.html",
        false,
    ),
    (
        "user-agent: FooBot\nallow: /page\ndisallow: /*.html\n",
        "FooBot",
        "/page",
        true,
    ),
    (
        "user-agent: FooBot\nallow: /x/page.\ndisallow: /*.html\n",
        "FooBot",
        "/x/page.html",
        true,
    ),
    (
        "user-agent: FooBot\nallow: /x/page.\ndisallow: /*.html\n",
        "FooBot",
        "/x/y.html",
        false,
    ),
    (
        "User-agent: *\nDisallow: /x/\nUser-agent: FooBot\nDisallow: /y/\n",
        "FooBot",
        "/x/page",
        true,
    ),
    (
        "User-agent: *\nDisallow: /x/\nUser-agent: FooBot\nDisallow: /y/\n",
        "FooBot",
        "/y/page",
        false,
    ),
    (
        "user-agent: FooBot\nallow: \ndisallow: \n",
        "FooBot",
        "/x/page.html",
        true,
    ),
    (
        "user-agent: FooBot\nallow: /\ndisallow: /\n",
        "FooBot",
        "/x/page.html",
        true,
    ),
    (
        "user-agent: FooBot\ndisallow: /x\nallow: /x/\n",
        "FooBot",
        "/x",
        false,
    ),
    (
        "user-agent: FooBot\ndisallow: /x\nallow: /x/\n",
        "FooBot",
        "/x/",
        true,
    ),
    // ID_Encoding
    (
        "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar?qux=taz&baz=http://foo.bar?tar&par\n",
        "FooBot",
        "/foo/bar?qux=taz&baz=http://foo.bar?tar&par",
        true,
    ),
    (
        "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/ツ\n",
        "FooBot",
        "/foo/bar/%E3%83%84",
        true,
    ),
    (
        "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/ツ\n",
        "FooBot",
        "/foo/bar/ツ",
        true,
    ),
    (
        "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/%E3%83%84\n",
        "FooBot",
        "/foo/bar/%E3%83%84",
        true,
    ),
    (
        "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/%62%61%7A\n",
        "FooBot",
        "/foo/bar/baz",
        false,
    ),
    (
        "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/%62%61%7A\n",
        "FooBot",
        "/foo/bar/%62%61%7A",
        true,
    ),
    // ID_SpecialCharacters
    (
        "User-agent: FooBot\nDisallow: /foo/bar/quz\nAllow: /foo/*/qux\n",
        "FooBot",
        "/foo/bar/quz",
        false,
    ),
    (
        "User-agent: FooBot\nDisallow: /foo/bar/quz\nAllow: /foo/*/qux\n",
        "FooBot",
        "/foo/quz",
        true,
    ),
    (
        "User-agent: FooBot\nDisallow: /foo/bar/quz\nAllow: /foo/*/qux\n",
        "FooBot",
        "/foo//quz",
        true,
    ),
    (
        "User-agent: FooBot\nDisallow: /foo/bar/quz\nAllow: /foo/*/qux\n",
        "FooBot",
        "/foo/bax/quz",
        true,
    ),
    (
        "User-agent: FooBot\nDisallow: /foo/bar$\nAllow: /foo/bar/qux\n",
        "FooBot",
        "/foo/bar",
        false,
    ),
    (
        "User-agent: FooBot\nDisallow: /foo/bar$\nAllow: /foo/bar/qux\n",
        "FooBot",
        "/foo/bar/qux",
        true,
    ),
    (
        "User-agent: FooBot\nDisallow: /foo/bar$\nAllow: /foo/bar/qux\n",
        "FooBot",
        "/foo/bar/",
        true,
    ),
    (
        "User-agent: FooBot\nDisallow: /foo/bar$\nAllow: /foo/bar/qux\n",
        "FooBot",
        "/foo/bar/baz",
        true,
    ),
    (
        "User-agent: FooBot\n# Disallow: /\nDisallow: /foo/quz#qux\nAllow: /\n",
        "FooBot",
        "/foo/bar",
        true,
    ),
    (
        "User-agent: FooBot\n# Disallow: /\nDisallow: /foo/quz#qux\nAllow: /\n",
        "FooBot",
        "/foo/quz",
        false,
    ),
    // ID_GoogleOnly_DocumentationChecks
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish\n",
        "FooBot",
        "/bar",
        false,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish\n",
        "FooBot",
        "/fish",
        true,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish\n",
        "FooBot",
        "/fish.html",
        true,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish\n",
        "FooBot",
        "/fish/salmon.html",
        true,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish\n",
        "FooBot",
        "/fishheads",
        true,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish\n",
        "FooBot",
        "/fishheads/yummy.html",
        true,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish\n",
        "FooBot",
        "/fish.html?id=anything",
        true,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish\n",
        "FooBot",
        "/Fish.asp",
        false,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish\n",
        "FooBot",
        "/catfish",
        false,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish\n",
        "FooBot",
        "/?id=fish",
        false,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish*\n",
        "FooBot",
        "/fishheads/yummy.html",
        true,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish*\n",
        "FooBot",
        "/catfish",
        false,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish/\n",
        "FooBot",
        "/fish/",
        true,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish/\n",
        "FooBot",
        "/fish/?id=anything",
        true,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish/\n",
        "FooBot",
        "/fish/salmon.htm",
        true,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish/\n",
        "FooBot",
        "/fish",
        false,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish/\n",
        "FooBot",
        "/fish.html",
        false,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish/\n",
        "FooBot",
        "/Fish/Salmon.asp",
        false,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /*.php\n",
        "FooBot",
        "/filename.php",
        true,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /*.php\n",
        "FooBot",
        "/folder/filename.php",
        true,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /*.php\n",
        "FooBot",
        "/folder/filename.php?parameters",
        true,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /*.php\n",
        "FooBot",
        "/folder/any.php.file.html",
        true,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /*.php\n",
        "FooBot",
        "/filename.php/",
        true,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /*.php\n",
        "FooBot",
        "/",
        false,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /*.php\n",
        "FooBot",
        "/windows.PHP",
        false,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /*.php$\n",
        "FooBot",
        "/filename.php",
        true,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /*.php$\n",
        "FooBot",
        "/folder/filename.php",
        true,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /*.php$\n",
        "FooBot",
        "/filename.php?parameters",
        false,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /*.php$\n",
        "FooBot",
        "/filename.php/",
        false,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /*.php$\n",
        "FooBot",
        "/filename.php5",
        false,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /*.php$\n",
        "FooBot",
        "/windows.PHP",
        false,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish*.php\n",
        "FooBot",
        "/fish.php",
        true,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish*.php\n",
        "FooBot",
        "/fishheads/catfish.php?parameters",
        true,
    ),
    (
        "user-agent: FooBot\ndisallow: /\nallow: /fish*.php\n",
        "FooBot",
        "/Fish.PHP",
        false,
    ),
    // Order of precedence (Google's documentation)
    (
        "user-agent: FooBot\nallow: /p\ndisallow: /\n",
        "FooBot",
        "/page",
        true,
    ),
    (
        "user-agent: FooBot\nallow: /folder\ndisallow: /folder\n",
        "FooBot",
        "/folder/page",
        true,
    ),
    (
        "user-agent: FooBot\nallow: /page\ndisallow: /*.htm\n",
        "FooBot",
        "/page.htm",
        false,
    ),
    (
        "user-agent: FooBot\nallow: /$\ndisallow: /\n",
        "FooBot",
        "/",
        true,
    ),
    (
        "user-agent: FooBot\nallow: /$\ndisallow: /\n",
        "FooBot",
        "/page.html",
        false,
    ),
    // ID_UTF8ByteOrderMarkIsSkipped
    (
        "\u{FEFF}User-agent: FooBot\nDisallow: /\n",
        "FooBot",
        "/x",
        false,
    ),
    // RFC 9309 §2.2.2: /robots.txt itself is always allowed.
    (
        "User-agent: *\nDisallow: /\n",
        "FooBot",
        "/robots.txt",
        true,
    ),
];

const GROUPS: &str = "allow: /foo/bar/\n\
user-agent: FooBot\ndisallow: /\nallow: /x/\n\
user-agent: BarBot\ndisallow: /\nallow: /y/\n\n\n\
allow: /w/\n\
user-agent: BazBot\n\
user-agent: FooBot\nallow: /z/\ndisallow: /\n";

#[test]
fn googles_matching_cases() {
    let mut wrong = Vec::new();
    for (robots, agent, path, allowed) in GOOGLE_CASES {
        let token = robots::product_token(agent);
        let mut rules = Rules::parse(&token, robots.as_bytes()).unwrap();
        let url = Url::parse(&format!("http://foo.bar{path}")).unwrap();
        if rules.allows(&token, &url) != *allowed {
            wrong.push(format!(
                "{agent} {path} expected allowed={allowed} in {robots:?}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn a_new_policy_applies_to_waiting_jobs() {
    let now = Instant::now();
    let mut hosts = Hosts::new(policy(false, 1, 0), now);
    for i in 0..3 {
        hosts.push(job(&format!("http://a.test/{i}")), now);
    }
    fetched(hosts.next_action(now));
    assert!(hosts.next_action(now).is_none(), "one at a time");
    hosts.set_policy(policy(false, 3, 0), now);
    fetched(hosts.next_action(now));
    fetched(hosts.next_action(now));
    assert_eq!(hosts.waiting(), 0);
}
