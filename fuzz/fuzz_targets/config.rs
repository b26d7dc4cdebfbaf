//! Config parsing and validation on arbitrary text: an error or a config, never a panic.
#![no_main]

use std::path::Path;

use crawler::config::{Config, Need};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A folder with no files, so relative seeds_file/ca_file names resolve to nothing.
    let path = Path::new("/nonexistent-crawler-fuzz/crawler.toml");
    match Config::from_toml(path, text, Need::Seeds) {
        Ok(config) => assert!(config.settings.workers >= 1 && config.seed_count >= 1),
        Err(err) => assert!(!err.to_string().is_empty()),
    }
});
