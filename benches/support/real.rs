//! The real saved pages benches run over: `../shared/corpus/real` beside the
//! repository, or `$CRAWLER_CORPUS_DIR`.

use std::path::PathBuf;

/// The folder of real pages.
pub fn corpus_dir() -> PathBuf {
    std::env::var_os("CRAWLER_CORPUS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/real"),
        PathBuf::from,
    )
}

/// The `.html`/`.htm` files of the corpus, sorted by path, with their bytes;
/// empty (with a note on stderr) when the folder is absent or has none.
pub fn real_pages() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = corpus_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("no corpus at {}; real-page benches skipped", dir.display());
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "html" || ext == "htm")
        })
        .collect();
    paths.sort();
    let pages: Vec<_> = paths
        .into_iter()
        .filter_map(|path| std::fs::read(&path).ok().map(|body| (path, body)))
        .collect();
    if pages.is_empty() {
        eprintln!(
            "no .html files in {}; real-page benches skipped",
            dir.display()
        );
    }
    pages
}
