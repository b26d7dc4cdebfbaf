//! Link extraction, case by case, as Chromium's `document.links` has it.

use url::Url;

use super::*;

fn of(html: &str) -> Vec<String> {
    let page = Url::parse("http://127.0.0.1/dir/page.html").unwrap();
    links(html, &page, encoding_rs::UTF_8)
        .into_iter()
        .map(String::from)
        .collect()
}

#[test]
fn relative_links_resolve_against_the_page() {
    assert_eq!(
        of(
            r#"<a href="a">1</a><a href="../b">2</a><a href="/c?q=1#frag">3</a><area href="//127.0.0.2/d">"#
        ),
        [
            "http://127.0.0.1/dir/a",
            "http://127.0.0.1/b",
            "http://127.0.0.1/c?q=1",
            "http://127.0.0.2/d"
        ]
    );
}

#[test]
fn leading_slashes_beyond_two_are_skipped_as_chromium_does() {
    // Each checked against Chromium 156's document.links.
    let html = concat!(
        r#"<a href="///a.test/x">1</a><a href=" ////b.test/y">2</a><a href="///\c.test">3</a>"#,
        "<a href=\"/\t//d.test/9\">4</a>",
        r#"<a href="//\/e.test/z">5</a><a href="/\/f.test">6</a>"#,
        r#"<a href="///">7</a><a href="http:///g.test/">8</a>"#
    );
    assert_eq!(
        of(html),
        [
            "http://a.test/x",
            "http://b.test/y",
            "http://c.test/",
            "http://d.test/9",
            "http://e.test/z",
            "http://f.test/",
            "http://g.test/"
        ]
    );
}

#[test]
fn the_first_base_with_an_href_counts_wherever_it_stands() {
    let html = r#"<a href="x">1</a><base target="_top"><base href="http://127.0.0.3/base/"><base href="/other/"><a href="y">2</a>"#;
    assert_eq!(
        of(html),
        ["http://127.0.0.3/base/x", "http://127.0.0.3/base/y"]
    );
    assert_eq!(
        of(r#"<base href="javascript:void(0)"><a href="x">1</a>"#),
        ["http://127.0.0.1/dir/x"]
    );
    assert_eq!(
        of(r#"<base href="data:text/html,x"><a href="x">"#),
        ["http://127.0.0.1/dir/x"]
    );
    assert_eq!(
        of(r#"<template><base href="http://127.0.0.9/"></template><a href="x">"#),
        ["http://127.0.0.1/dir/x"],
        "a base in template contents is not in the document"
    );
}

#[test]
fn only_http_links_are_kept_once_each_without_fragments() {
    let html = r##"<a href="mailto:a@b">m</a><a href="tel:1">t</a><a href="javascript:x()">j</a>
        <a href="#top">top</a><a href="HTTP://127.0.0.1:80/dir/page.html#x">self</a>
        <a href="ftp://127.0.0.1/">f</a><a href="https://127.0.0.2/">s</a><a href="https://127.0.0.2/#y">s2</a>"##;
    assert_eq!(
        of(html),
        ["http://127.0.0.1/dir/page.html", "https://127.0.0.2/"]
    );
}

#[test]
fn entities_are_decoded_by_the_attribute_rules() {
    assert_eq!(
        of(r#"<a href="/s?a=1&copy=3&amp;b=2">x</a><a href="/t?a=1&copy;=3">y</a>"#),
        [
            "http://127.0.0.1/s?a=1&copy=3&b=2",
            "http://127.0.0.1/t?a=1%C2%A9=3"
        ]
    );
}

#[test]
fn text_that_is_not_markup_holds_no_links() {
    let html = r#"
        <script>document.write('<a href="/script">')</script>
        <style>a::after { content: '<a href="/style">' }</style>
        <!-- <a href="/comment"> -->
        <template><a href="/template"></a></template>
        <noscript><a href="/noscript"></a></noscript>
        <textarea><a href="/textarea"></a></textarea>
        <title><a href="/title"></a></title>
        <xmp><a href="/xmp"></a></xmp>
        <iframe srcdoc="<a href='/srcdoc'>"><a href="/iframe"></a></iframe>
        <a href="/kept">kept</a>"#;
    assert_eq!(of(html), ["http://127.0.0.1/kept"]);
}

#[test]
fn script_escapes_hide_an_end_tag() {
    let html = r#"<script><!--<script>document.write('</script><a href="/hidden">')--></script><a href="/after">"#;
    assert_eq!(of(html), ["http://127.0.0.1/after"]);
    let plain = r#"<script><!-- var a; </script><a href="/out">"#;
    assert_eq!(of(plain), ["http://127.0.0.1/out"]);
    let closed = r#"<script><!--></script><a href="/next">"#;
    assert_eq!(of(closed), ["http://127.0.0.1/next"]);
}

#[test]
fn svg_and_mathml_anchors_are_not_links_but_html_inside_them_is() {
    let html = r#"<svg><a href="/svg-a"><text>x</text></a>
        <foreignObject><a href="/in-foreign-object">y</a></foreignObject></svg>
        <math><a href="/math-a"></a><mtext><a href="/in-mtext"></a></mtext></math>
        <svg><a href="/before-breakout"></a><p><a href="/after-breakout">z</a>
        <a href="/html">"#;
    assert_eq!(
        of(html),
        [
            "http://127.0.0.1/in-foreign-object",
            "http://127.0.0.1/in-mtext",
            "http://127.0.0.1/after-breakout",
            "http://127.0.0.1/html"
        ]
    );
}

#[test]
fn markup_oddities_are_read_as_the_tokenizer_reads_them() {
    let html = concat!(
        r#"<A HREF="/upper">"#,
        r#"<a title=">" href="/quoted-gt">"#,
        r#"<a href=/unquoted?x=1>"#,
        r#"<a href="/first" href="/second">"#,
        "<a\nhref='/newline'>",
        r#"<a/href="/slash">"#,
        r#"<a name="no-href">"#,
        r#"<!--> <a href="/after-empty-comment">"#,
        r#"<!doctype html><?php echo '<a href="/pi">' ?>"#,
        r#"</html><a href="/after-html">"#,
    );
    assert_eq!(
        of(html),
        [
            "http://127.0.0.1/upper",
            "http://127.0.0.1/quoted-gt",
            "http://127.0.0.1/unquoted?x=1",
            "http://127.0.0.1/first",
            "http://127.0.0.1/newline",
            "http://127.0.0.1/slash",
            "http://127.0.0.1/after-empty-comment",
            "http://127.0.0.1/after-html"
        ]
    );
}

#[test]
fn plaintext_ends_the_markup() {
    assert_eq!(
        of(r#"<a href="/a"><plaintext><a href="/b">"#),
        ["http://127.0.0.1/a"]
    );
}

#[test]
fn the_query_is_encoded_in_the_page_encoding_and_the_path_in_utf8() {
    let page = Url::parse("http://127.0.0.1/").unwrap();
    let found = links(
        r#"<a href="/путь?q=привет">"#,
        &page,
        encoding_rs::WINDOWS_1251,
    );
    assert_eq!(
        found[0].as_str(),
        "http://127.0.0.1/%D0%BF%D1%83%D1%82%D1%8C?q=%EF%F0%E8%E2%E5%F2"
    );
}

#[test]
fn a_hostile_page_is_cut_at_the_limit() {
    let html: String = (0..MAX_LINKS + 50)
        .map(|index| format!("<a href=/p{index}>"))
        .collect();
    assert_eq!(of(&html).len(), MAX_LINKS);
}

fn page_links_of(html: &str) -> PageLinks {
    let page = Url::parse("http://127.0.0.1/").unwrap();
    page_links(html, &page, encoding_rs::UTF_8)
}

#[test]
fn rel_nofollow_marks_a_link_unless_another_anchor_follows_it() {
    let found = page_links_of(concat!(
        r#"<a href="/a" rel="NoFollow">a</a><a href="/b" rel="noopener nofollow ugc">b</a>"#,
        r#"<a href="/c" rel="nofollowing">c</a><a href="/d" rel="nofollow">d</a><a href="/d">d again</a>"#,
        r#"<area href="/e" rel=nofollow>"#,
    ));
    let marks: Vec<(&str, bool)> = found
        .links
        .iter()
        .map(|link| (link.url.path(), link.is_nofollow))
        .collect();
    assert_eq!(
        marks,
        [
            ("/a", true),
            ("/b", true),
            ("/c", false),
            ("/d", false),
            ("/e", true)
        ]
    );
}

#[test]
fn meta_robots_nofollow_and_none_apply_to_the_page() {
    for html in [
        r#"<meta name="robots" content="noindex, nofollow">"#,
        r#"<meta name="ROBOTS" content="NONE">"#,
        r#"<meta name="Crawler" content="nofollow">"#,
        r#"<body><meta name="robots" content=" NoFollow "></body>"#,
    ] {
        assert!(page_links_of(html).is_meta_nofollow("crawler"), "{html}");
    }
    for html in [
        r#"<meta name="robots" content="noindex">"#,
        r#"<meta name="googlebot" content="nofollow">"#,
        r#"<meta name="description" content="nofollow">"#,
        r#"<template><meta name="robots" content="nofollow"></template>"#,
        r#"<script>'<meta name="robots" content="nofollow">'</script>"#,
    ] {
        assert!(!page_links_of(html).is_meta_nofollow("crawler"), "{html}");
    }
}

#[test]
fn a_character_the_page_encoding_lacks_is_a_percent_encoded_reference() {
    // Checked in Chromium 156: `&#0;` and `&notin;` in a windows-1252 page's query.
    let page = Url::parse("http://127.0.0.1/").unwrap();
    let found = links(
        "<a href=\"/n?a=&#150;&b=&#0;&c=&notin;\">x</a>",
        &page,
        encoding_rs::WINDOWS_1252,
    );
    assert_eq!(
        found[0].as_str(),
        "http://127.0.0.1/n?a=%96&b=%26%2365533%3B&c=%26%238713%3B"
    );
}

#[test]
fn a_nul_in_an_href_is_a_replacement_character() {
    assert_eq!(
        of("<a href=\"/nul\0x\">x</a>"),
        ["http://127.0.0.1/nul%EF%BF%BDx"]
    );
}

#[test]
fn a_caret_and_a_pipe_in_a_path_are_percent_encoded_as_chromium_does() {
    assert_eq!(
        of("<a href=\"/a^b|c?q=^|\">x</a>"),
        ["http://127.0.0.1/a%5Eb%7Cc?q=^|"]
    );
}
