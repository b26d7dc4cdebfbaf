//! Our own redirect loop: `http`/`https` with a host on every hop, at most
//! `max_redirects`, a public page never led to a private address, and
//! hops to other hosts decided by the caller (their robots.txt).

use surf::http::Method;
use url::Url;

use super::guard::{FROM_PUBLIC, PUBLIC_ONLY};
use super::{FetchError, FetchOptions, Fetcher, Page};
use crate::urls::{check_crawlable, shorten};

impl Fetcher {
    /// Sends requests from `page.final_url` on, following up to `max_redirects`.
    /// Once a response comes from a public address, later hops must stay public.
    pub(super) async fn follow_redirects(
        &self,
        page: &mut Page,
        max_redirects: u32,
        options: FetchOptions<'_>,
    ) -> Result<surf::Response, FetchError> {
        let validators = options.validators;
        let mut is_public_only = options.is_public_only;
        let mut hops = 0;
        loop {
            let method = if options.is_head {
                Method::Head
            } else {
                Method::Get
            };
            let mut request = surf::Request::new(method, page.final_url.clone());
            if is_public_only {
                request.insert_header(PUBLIC_ONLY, "1");
            }
            // http-types panics on a header value that is not visible ASCII.
            if let Some(etag) = validators.etag.filter(|value| is_header_safe(value)) {
                request.insert_header("if-none-match", etag);
            }
            if let Some(date) = validators
                .last_modified
                .filter(|value| is_header_safe(value))
            {
                request.insert_header("if-modified-since", date);
            }
            let response = self
                .client
                .send(request)
                .await
                .map_err(|err| self.classify(&page.final_url, &err))?;
            page.is_from_public = response
                .header(FROM_PUBLIC)
                .is_some_and(|values| values.last().as_str() == "1");
            is_public_only |= page.is_from_public;
            let Some(target) = redirect_target(&page.final_url, &response)? else {
                return Ok(response);
            };
            if hops == max_redirects {
                return Err(FetchError::Redirects(format!(
                    "`{}` redirected more than {} times (max_redirects); last target `{}`",
                    page.final_url,
                    max_redirects,
                    shorten(target.as_str())
                )));
            }
            if let Some(gate) = options.hops
                && !is_same_host(&page.final_url, &target)
            {
                gate.check(self, &target).await.map_err(|why| {
                    FetchError::RobotsRedirect(format!(
                        "`{}` redirects to `{}`, {why}",
                        page.final_url,
                        shorten(target.as_str())
                    ))
                })?;
            }
            hops += 1;
            let status = u16::from(response.status());
            let from = std::mem::replace(&mut page.final_url, target);
            page.redirects.push((from.into(), status));
        }
    }
}

/// The next URL of a 3xx answer with a `Location`, checked; `None` when it is not a redirect.
pub(super) fn redirect_target(
    from: &Url,
    response: &surf::Response,
) -> Result<Option<Url>, FetchError> {
    if !matches!(u16::from(response.status()), 301 | 302 | 303 | 307 | 308) {
        return Ok(None);
    }
    let Some(location) = response
        .header("location")
        .map(|values| values.last().as_str())
    else {
        return Ok(None);
    };
    let target = from.join(location.trim()).map_err(|err| {
        FetchError::Redirects(format!(
            "`{from}` redirects to `{}`, which is not a valid URL: {err}",
            shorten(location)
        ))
    })?;
    check_crawlable(&target).map_err(|why| {
        let shown = shorten(target.as_str());
        FetchError::Redirects(format!("`{from}` redirects to `{shown}`, which {why}"))
    })?;
    let mut target = target;
    target.set_fragment(None);
    Ok(Some(target))
}

/// Whether two URLs share scheme, host and port (one robots.txt).
pub(super) fn is_same_host(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Whether `value` can be sent as a header value: visible ASCII and spaces.
pub(super) fn is_header_safe(value: &str) -> bool {
    value
        .bytes()
        .all(|byte| byte == b' ' || byte.is_ascii_graphic())
}
