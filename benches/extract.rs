//! Title extraction, link extraction and charset decoding, with criterion: over generated
//! pages (always) and over the real pages of `../shared/corpus/real` (or
//! `$CRAWLER_CORPUS_DIR`) when that folder exists.
//!
//! Run: `cargo bench --bench extract`

#[path = "e2e/corpus.rs"]
mod corpus;
#[path = "support/real.rs"]
mod real;

use std::hint::black_box;

use crawler::extract::{self, charset, links};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Generated pages benched: enough to cover every title placement.
const GENERATED_PAGES: u64 = 200;

fn generated_pages() -> Vec<(Vec<u8>, Option<String>)> {
    (0..GENERATED_PAGES)
        .map(|index| {
            let page = corpus::page(index);
            (page.body, page.title)
        })
        .collect()
}

fn bytes(pages: &[Vec<u8>]) -> u64 {
    pages.iter().map(|page| page.len() as u64).sum()
}

fn bench_set(c: &mut Criterion, name: &str, bodies: &[Vec<u8>]) {
    let texts: Vec<String> = bodies
        .iter()
        .map(|body| charset::decode_html(body, None, None).text.into_owned())
        .collect();

    let mut group = c.benchmark_group(format!("title/{name}"));
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("early_stop", |b| {
        b.iter(|| {
            for text in &texts {
                black_box(extract::html_title(black_box(text)));
            }
        })
    });
    group.sample_size(10);
    group.bench_function("whole_document", |b| {
        b.iter(|| {
            for text in &texts {
                black_box(extract::html_title_whole_document(black_box(text)));
            }
        })
    });
    group.finish();

    let page = url::Url::parse("http://127.0.0.1:9/page.html").ok();
    let mut group = c.benchmark_group(format!("links/{name}"));
    group.throughput(Throughput::Elements(texts.len() as u64));
    if let Some(page) = &page {
        group.bench_function("document_links", |b| {
            b.iter(|| {
                for text in &texts {
                    black_box(links::page_links(black_box(text), page, encoding_rs::UTF_8));
                }
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group(format!("charset/{name}"));
    group.throughput(Throughput::Bytes(bytes(bodies)));
    group.bench_function("decode_html", |b| {
        b.iter(|| {
            for body in bodies {
                black_box(charset::decode_html(black_box(body), None, None));
            }
        })
    });
    group.bench_function("decode_html_declared_utf8", |b| {
        let utf8 = charset::from_content_type("text/html; charset=utf-8");
        b.iter(|| {
            for body in bodies {
                black_box(charset::decode_html(black_box(body), utf8, None));
            }
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let generated = generated_pages();
    for (body, expected) in &generated {
        let text = charset::decode_html(body, None, None).text;
        assert_eq!(
            &extract::html_title(&text),
            expected,
            "generated page title"
        );
    }
    let bodies: Vec<Vec<u8>> = generated.into_iter().map(|(body, _)| body).collect();
    bench_set(c, "generated", &bodies);

    let real: Vec<Vec<u8>> = real::real_pages()
        .into_iter()
        .map(|(_, body)| body)
        .collect();
    if !real.is_empty() {
        bench_set(c, "real", &real);
    }
}

criterion_group!(extraction, benches);
criterion_main!(extraction);
