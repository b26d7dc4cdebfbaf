//! robots.txt for redirects: a redirect to another host is followed only
//! when that host's robots.txt allows the target. The dispatcher checks
//! each job's own host before it starts; this gate checks the hosts a
//! redirect leads to, mid-fetch, with a small cache of its own.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use url::Url;

use super::robots::{self, Verdict};
use super::{Policy, ROBOTS_TTL};
use crate::fetch::{Fetcher, HopGate};

/// How long a robots.txt that could not be fetched keeps its host closed to redirects.
const UNREACHABLE_TTL: Duration = Duration::from_secs(60);
/// Hosts remembered at most; past this the cache starts over.
const MAX_HOSTS: usize = 10_000;

/// The gate every worker shares; its policy follows reloads.
#[derive(Debug)]
pub struct RedirectRobots {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    is_on: bool,
    token: String,
    /// robots.txt URL → what it says, until when.
    hosts: HashMap<String, (Verdict, Instant)>,
}

impl RedirectRobots {
    /// A gate for `policy`.
    pub fn new(policy: &Policy) -> Self {
        Self {
            state: Mutex::new(State {
                is_on: policy.respect_robots_txt,
                token: policy.product_token.clone(),
                hosts: HashMap::new(),
            }),
        }
    }

    /// Follows a reload.
    pub fn set_policy(&self, policy: &Policy) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.token != policy.product_token {
            state.hosts.clear();
        }
        state.is_on = policy.respect_robots_txt;
        state.token.clone_from(&policy.product_token);
    }

    /// `Some(allowed)` when the cache knows; `None` when robots.txt must be fetched.
    fn cached(&self, robots_url: &str, target: &Url) -> Option<Result<(), String>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if !state.is_on {
            return Some(Ok(()));
        }
        let token = state.token.clone();
        let (verdict, expires) = state.hosts.get_mut(robots_url)?;
        if *expires <= Instant::now() {
            return None;
        }
        Some(allows(verdict, &token, robots_url, target))
    }

    fn token(&self) -> String {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .token
            .clone()
    }

    fn remember(&self, robots_url: String, verdict: Verdict) {
        let ttl = match verdict {
            Verdict::DisallowAll(_) => UNREACHABLE_TTL,
            _ => ROBOTS_TTL,
        };
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.hosts.len() >= MAX_HOSTS {
            state.hosts.clear();
        }
        state
            .hosts
            .insert(robots_url, (verdict, Instant::now() + ttl));
    }
}

fn allows(
    verdict: &mut Verdict,
    token: &str,
    robots_url: &str,
    target: &Url,
) -> Result<(), String> {
    match verdict {
        Verdict::Rules(rules) => {
            if rules.allows(token, target) {
                Ok(())
            } else {
                Err(format!("which `{robots_url}` disallows"))
            }
        }
        Verdict::DisallowAll(unreachable) => Err(format!(
            "whose robots.txt could not be read ({unreachable})"
        )),
        Verdict::AllowAll(_) => Ok(()),
    }
}

impl HopGate for RedirectRobots {
    fn check<'a>(
        &'a self,
        fetcher: &'a Fetcher,
        target: &'a Url,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let Some(robots_url) = robots::robots_url(target) else {
                return Ok(());
            };
            let key = robots_url.to_string();
            if let Some(answer) = self.cached(&key, target) {
                return answer;
            }
            let response = fetcher.fetch_robots(&robots_url).await;
            let verdict = robots::judge(&self.token(), &robots_url, &response);
            self.remember(key.clone(), verdict);
            self.cached(&key, target).unwrap_or(Ok(()))
        })
    }
}
