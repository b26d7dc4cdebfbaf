//! Reading a response: its headers as text, and its body as a stream cut
//! at a limit (counted after decompression, so a gzip bomb stops there).

use futures_lite::AsyncBufReadExt;

use super::error::body_error;
use super::guard::NO_CONTENT_TYPE;
use super::{FetchError, INITIAL_BODY_CAPACITY, Page};

/// A header's last value, when present and not empty.
pub(super) fn header_text(response: &surf::Response, name: &str) -> Option<String> {
    let value = response.header(name)?.last().as_str().trim();
    (!value.is_empty()).then(|| value.to_owned())
}

pub(super) fn content_type(response: &surf::Response) -> Option<String> {
    if response.header(NO_CONTENT_TYPE).is_some() {
        return None;
    }
    response
        .header("content-type")
        .map(|values| values.last().as_str().to_owned())
}

/// Reads at most `limit` bytes into `page.body`; more is [`FetchError::TooLarge`].
pub(super) async fn read_limited(
    mut reader: impl futures_lite::AsyncBufRead + Unpin,
    limit: usize,
    page: &mut Page,
) -> Result<(), FetchError> {
    page.body = Vec::with_capacity(INITIAL_BODY_CAPACITY.min(limit));
    loop {
        let chunk = reader
            .fill_buf()
            .await
            .map_err(|err| body_error(page, &err))?;
        if chunk.is_empty() {
            return Ok(());
        }
        let len = chunk.len();
        page.bytes += len as u64;
        if page.body.len() + len > limit {
            page.body = Vec::new();
            return Err(FetchError::TooLarge {
                url: page.final_url.clone(),
                limit,
            });
        }
        reserve_within(&mut page.body, len, limit);
        page.body.extend_from_slice(chunk);
        reader.consume(len);
    }
}

/// Reads the first `limit` bytes into `page.body` and drops the rest.
pub(super) async fn read_prefix(
    mut reader: impl futures_lite::AsyncBufRead + Unpin,
    limit: usize,
    page: &mut Page,
) -> Result<(), FetchError> {
    while page.body.len() < limit {
        let chunk = reader
            .fill_buf()
            .await
            .map_err(|err| body_error(page, &err))?;
        if chunk.is_empty() {
            break;
        }
        let len = chunk.len().min(limit - page.body.len());
        page.body.extend_from_slice(&chunk[..len]);
        reader.consume(len);
    }
    Ok(())
}

/// Grows `body` for `extra` more bytes without ever reserving past `limit`.
pub(super) fn reserve_within(body: &mut Vec<u8>, extra: usize, limit: usize) {
    let needed = body.len() + extra;
    if needed > body.capacity() {
        let target = (body.capacity() * 2).max(needed).min(limit);
        body.reserve_exact(target - body.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_capacity_never_exceeds_the_limit() {
        let mut body = Vec::with_capacity(4);
        body.extend_from_slice(b"abcd");
        reserve_within(&mut body, 5, 10);
        assert!(body.capacity() >= 9 && body.capacity() <= 10);
    }
}
