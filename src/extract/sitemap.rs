//! Sitemaps (sitemaps.org): a `urlset` of page URLs or a `sitemapindex` of
//! further sitemaps, plain or gzip. At most [`MAX_URLS`] entries and
//! [`MAX_BYTES`] uncompressed are read from one file, as the protocol
//! allows. The XML parser resolves no DTD: an entity other than the five of
//! XML (and character references) leaves its `loc` out, so no external
//! entity is ever fetched or read.
//!
//! Pure, no I/O (groundwork for link following: not yet used by the crawl).

use std::io::Read;

use quick_xml::Reader;
use quick_xml::events::Event;

/// Entries read from one sitemap at most.
pub const MAX_URLS: usize = 50_000;
/// Uncompressed bytes read from one sitemap at most (50 MB).
pub const MAX_BYTES: usize = 50 * 1000 * 1000;

/// What a sitemap lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sitemap {
    /// Page URLs (`urlset`).
    Pages(Listed),
    /// More sitemaps (`sitemapindex`).
    Index(Listed),
}

/// The `loc` entries of a sitemap, as written (trimmed, entities resolved).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listed {
    /// The entries, in order, at most [`MAX_URLS`].
    pub locations: Vec<String>,
    /// Entries beyond [`MAX_URLS`] that were left out.
    pub left_out: usize,
    /// Entries left out because they used an entity XML does not define.
    pub unresolved: usize,
}

/// Why a sitemap could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SitemapError {
    /// More than [`MAX_BYTES`] once uncompressed.
    #[error("is larger than {MAX_BYTES} bytes uncompressed (the sitemaps.org limit)")]
    TooLarge,
    /// The gzip stream is broken.
    #[error("is not valid gzip: {0}")]
    Gzip(String),
    /// Not XML, or its root is neither `urlset` nor `sitemapindex`.
    #[error("is not a sitemap: {0}")]
    NotASitemap(String),
}

/// Reads a sitemap body, gzip or not.
///
/// # Errors
/// Too large, broken gzip, or not a sitemap.
pub fn read(body: &[u8]) -> Result<Sitemap, SitemapError> {
    if body.starts_with(&[0x1f, 0x8b]) {
        let mut xml = Vec::new();
        flate2::read::GzDecoder::new(body)
            .take(MAX_BYTES as u64 + 1)
            .read_to_end(&mut xml)
            .map_err(|err| SitemapError::Gzip(err.to_string()))?;
        if xml.len() > MAX_BYTES {
            return Err(SitemapError::TooLarge);
        }
        return parse(&xml);
    }
    if body.len() > MAX_BYTES {
        return Err(SitemapError::TooLarge);
    }
    parse(body)
}

/// Parses sitemap XML.
fn parse(xml: &[u8]) -> Result<Sitemap, SitemapError> {
    let mut reader = Reader::from_reader(xml);
    let not_a_sitemap = |why: String| SitemapError::NotASitemap(why);
    let is_index = loop {
        match reader.read_event() {
            Ok(Event::Start(root)) => match root.local_name().as_ref() {
                "urlset" => break false,
                "sitemapindex" => break true,
                other => {
                    return Err(not_a_sitemap(format!("its root element is `{other}`")));
                }
            },
            Ok(Event::Eof) => return Err(not_a_sitemap("it has no root element".to_owned())),
            Ok(_) => {}
            Err(err) => return Err(not_a_sitemap(err.to_string())),
        }
    };
    let listed = locations(&mut reader);
    Ok(if is_index {
        Sitemap::Index(listed)
    } else {
        Sitemap::Pages(listed)
    })
}

/// Collects every `loc` under the root, up to [`MAX_URLS`]; stops quietly
/// at broken XML after the root (what was read so far counts).
fn locations(reader: &mut Reader<&[u8]>) -> Listed {
    let mut listed = Listed::default();
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) if start.local_name().as_ref() == "loc" => {
                match loc_text(reader) {
                    Some(text) if text.is_empty() => {}
                    Some(text) if listed.locations.len() < MAX_URLS => listed.locations.push(text),
                    Some(_) => listed.left_out += 1,
                    None => listed.unresolved += 1,
                }
            }
            Ok(Event::Eof) | Err(_) => return listed,
            Ok(_) => {}
        }
    }
}

/// The text of the `loc` just opened, trimmed; `None` when it uses an
/// entity XML does not define (it is never looked up in a DTD).
fn loc_text(reader: &mut Reader<&[u8]>) -> Option<String> {
    let mut text = String::new();
    let mut is_resolved = true;
    loop {
        match reader.read_event() {
            Ok(Event::Text(chunk)) => text.push_str(&chunk.xml10_content()),
            Ok(Event::CData(chunk)) => text.push_str(&chunk.xml10_content()),
            Ok(Event::GeneralRef(reference)) => match resolve(&reference) {
                Some(resolved) => text.push(resolved),
                None => is_resolved = false,
            },
            Ok(Event::End(_) | Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    is_resolved.then(|| text.trim().to_owned())
}

/// A character reference or one of the five XML entities.
fn resolve(reference: &quick_xml::events::BytesRef<'_>) -> Option<char> {
    if reference.is_char_ref() {
        return reference.resolve_char_ref().ok()?;
    }
    super::xml_entity(&reference.xml10_content())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const URLSET: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc> http://127.0.0.1/a?x=1&amp;y=2 </loc><lastmod>2026-01-01</lastmod></url>
  <url><loc><![CDATA[http://127.0.0.1/b]]></loc></url>
</urlset>"#;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn a_urlset_lists_its_pages_plain_or_gzip() {
        let expected = Sitemap::Pages(Listed {
            locations: vec![
                "http://127.0.0.1/a?x=1&y=2".to_owned(),
                "http://127.0.0.1/b".to_owned(),
            ],
            ..Listed::default()
        });
        assert_eq!(read(URLSET.as_bytes()).unwrap(), expected);
        assert_eq!(read(&gzip(URLSET.as_bytes())).unwrap(), expected);
    }

    #[test]
    fn an_index_lists_sitemaps() {
        let xml = r#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
            <sitemap><loc>http://127.0.0.1/one.xml</loc></sitemap>
            <sitemap><loc>http://127.0.0.1/two.xml.gz</loc></sitemap></sitemapindex>"#;
        let Sitemap::Index(listed) = read(xml.as_bytes()).unwrap() else {
            panic!("an index");
        };
        assert_eq!(listed.locations.len(), 2);
    }

    #[test]
    fn no_more_than_the_limit_is_read() {
        let mut xml = String::from("<urlset>");
        for index in 0..MAX_URLS + 7 {
            xml.push_str(&format!("<url><loc>http://127.0.0.1/{index}</loc></url>"));
        }
        xml.push_str("</urlset>");
        let Sitemap::Pages(listed) = read(xml.as_bytes()).unwrap() else {
            panic!("pages");
        };
        assert_eq!((listed.locations.len(), listed.left_out), (MAX_URLS, 7));
    }

    #[test]
    fn an_external_entity_is_never_resolved() {
        let xml = r#"<?xml version="1.0"?>
<!DOCTYPE urlset [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
<urlset><url><loc>http://127.0.0.1/&secret;</loc></url><url><loc>http://127.0.0.1/ok</loc></url></urlset>"#;
        let Sitemap::Pages(listed) = read(xml.as_bytes()).unwrap() else {
            panic!("pages");
        };
        assert_eq!(listed.locations, ["http://127.0.0.1/ok"]);
        assert_eq!(listed.unresolved, 1);
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_limit_and_other_files_are_not_sitemaps() {
        let bomb = gzip(&vec![b' '; MAX_BYTES + 1]);
        assert_eq!(read(&bomb), Err(SitemapError::TooLarge));
        assert!(matches!(
            read(b"<html><body></body></html>"),
            Err(SitemapError::NotASitemap(_))
        ));
        assert!(matches!(
            read(&[0x1f, 0x8b, 0, 1, 2]),
            Err(SitemapError::Gzip(_))
        ));
    }
}
