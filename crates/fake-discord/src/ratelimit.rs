//! Discord-style rate limits: fixed windows per bucket, and the invalid-request counter that
//! leads to a temporary ban. The clock is passed in, so every rule is tested without sleeping.

use std::collections::{HashMap, VecDeque};

/// `limit` requests per `window_ms`. A limit of 0 switches the bucket off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub limit: u32,
    pub window_ms: u64,
}

impl Window {
    pub const fn new(limit: u32, window_ms: u64) -> Self {
        Window { limit, window_ms }
    }

    /// Parses `LIMIT/WINDOW_MS`, the form the CLI flags take.
    pub fn parse(s: &str) -> Option<Window> {
        let (l, w) = s.split_once('/')?;
        let window_ms: u64 = w.trim().parse().ok()?;
        if window_ms == 0 {
            return None;
        }
        Some(Window::new(l.trim().parse().ok()?, window_ms))
    }
}

/// What one request did to one bucket, with the numbers Discord's headers carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Absolute reset, Unix ms.
    pub reset_at_ms: u64,
    pub reset_after_ms: u64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    start_ms: u64,
    count: u32,
}

#[derive(Debug, Default)]
pub struct Limiter {
    buckets: HashMap<String, Bucket>,
}

impl Limiter {
    /// Counts one request against `key` and says whether it may go through.
    pub fn hit(&mut self, key: &str, w: Window, now: u64) -> Decision {
        if w.limit == 0 {
            return Decision {
                allowed: true,
                limit: 0,
                remaining: 0,
                reset_at_ms: now,
                reset_after_ms: 0,
            };
        }
        let b = self.buckets.entry(key.to_string()).or_insert(Bucket {
            start_ms: now,
            count: 0,
        });
        if now >= b.start_ms + w.window_ms {
            b.start_ms = now;
            b.count = 0;
        }
        let reset_at_ms = b.start_ms + w.window_ms;
        let allowed = b.count < w.limit;
        if allowed {
            b.count += 1;
        }
        Decision {
            allowed,
            limit: w.limit,
            remaining: w.limit - b.count,
            reset_at_ms,
            reset_after_ms: reset_at_ms - now,
        }
    }

    /// The bucket's state at `now` without counting a request (for answers that did not
    /// reach the bucket, such as a refused token).
    pub fn peek(&self, key: &str, w: Window, now: u64) -> Decision {
        let (start, count) = match self.buckets.get(key) {
            Some(b) if now < b.start_ms + w.window_ms => (b.start_ms, b.count),
            _ => (now, 0),
        };
        Decision {
            allowed: count < w.limit,
            limit: w.limit,
            remaining: w.limit.saturating_sub(count),
            reset_at_ms: start + w.window_ms,
            reset_after_ms: start + w.window_ms - now,
        }
    }

    pub fn clear(&mut self) {
        self.buckets.clear();
    }
}

/// Counts 401, 403 and 429 answers (429s of scope `shared` excepted) over a sliding window;
/// past `threshold` the client is banned for `ban_ms`, as Cloudflare does in front of Discord.
#[derive(Debug)]
pub struct InvalidCounter {
    pub threshold: u32,
    pub window_ms: u64,
    pub ban_ms: u64,
    hits: VecDeque<u64>,
    banned_until: Option<u64>,
}

impl InvalidCounter {
    pub fn new(threshold: u32, window_ms: u64, ban_ms: u64) -> Self {
        InvalidCounter {
            threshold,
            window_ms,
            ban_ms,
            hits: VecDeque::new(),
            banned_until: None,
        }
    }

    pub fn counts(status: u16, scope: Option<&str>) -> bool {
        match status {
            401 | 403 => true,
            429 => scope != Some("shared"),
            _ => false,
        }
    }

    pub fn record(&mut self, now: u64) {
        self.prune(now);
        self.hits.push_back(now);
        if self.hits.len() as u64 > u64::from(self.threshold) && self.banned_until.is_none() {
            self.banned_until = Some(now + self.ban_ms);
        }
    }

    fn prune(&mut self, now: u64) {
        while let Some(&t) = self.hits.front() {
            if t + self.window_ms <= now {
                self.hits.pop_front();
            } else {
                break;
            }
        }
    }

    pub fn count(&mut self, now: u64) -> usize {
        self.prune(now);
        self.hits.len()
    }

    /// The end of the ban in force at `now`, if any; an expired ban clears the counter.
    pub fn banned_until(&mut self, now: u64) -> Option<u64> {
        match self.banned_until {
            Some(t) if now < t => Some(t),
            Some(_) => {
                self.banned_until = None;
                self.hits.clear();
                None
            }
            None => None,
        }
    }

    pub fn reset(&mut self) {
        self.hits.clear();
        self.banned_until = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_allows_limit_then_refuses_until_reset() {
        let mut l = Limiter::default();
        let w = Window::new(5, 2000);
        for i in 0..5 {
            let d = l.hit("wh", w, 1000 + i);
            assert!(d.allowed);
            assert_eq!(d.remaining, 4 - i as u32);
            assert_eq!(d.reset_at_ms, 3000);
        }
        let d = l.hit("wh", w, 1500);
        assert!(!d.allowed);
        assert_eq!(d.remaining, 0);
        assert_eq!(d.reset_after_ms, 1500);
        let d = l.hit("wh", w, 3000);
        assert!(d.allowed, "a new window opens at the reset time");
        assert_eq!(d.remaining, 4);
        assert_eq!(d.reset_at_ms, 5000);
    }

    #[test]
    fn buckets_are_independent_and_zero_disables() {
        let mut l = Limiter::default();
        let w = Window::new(1, 1000);
        assert!(l.hit("a", w, 0).allowed);
        assert!(!l.hit("a", w, 1).allowed);
        assert!(l.hit("b", w, 1).allowed);
        assert_eq!(l.peek("a", w, 2).remaining, 0);
        assert_eq!(
            l.peek("a", w, 1000).remaining,
            1,
            "peeking past the reset sees a fresh window"
        );
        assert_eq!(l.peek("never", w, 5).remaining, 1);
        for t in 0..100 {
            assert!(l.hit("off", Window::new(0, 1000), t).allowed);
        }
    }

    #[test]
    fn window_parses_cli_form() {
        assert_eq!(Window::parse("5/2000"), Some(Window::new(5, 2000)));
        assert_eq!(Window::parse("0/10"), Some(Window::new(0, 10)));
        assert_eq!(Window::parse("5/0"), None);
        assert_eq!(Window::parse("x/10"), None);
        assert_eq!(Window::parse("5"), None);
    }

    #[test]
    fn invalid_requests_ban_past_threshold_and_expire() {
        let mut c = InvalidCounter::new(3, 10_000, 5_000);
        for t in 0..3 {
            c.record(t);
        }
        assert_eq!(c.banned_until(3), None, "at the threshold, not past it");
        c.record(4);
        assert_eq!(c.banned_until(5), Some(5_004));
        assert_eq!(c.banned_until(5_004), None, "the ban lifts on time");
        assert_eq!(c.count(5_004), 0);
    }

    #[test]
    fn invalid_window_slides() {
        let mut c = InvalidCounter::new(2, 1_000, 5_000);
        c.record(0);
        c.record(500);
        c.record(1_200);
        assert_eq!(c.count(1_200), 2, "the hit at 0 left the window");
        assert_eq!(c.banned_until(1_200), None);
    }

    #[test]
    fn shared_scope_429s_do_not_count() {
        assert!(InvalidCounter::counts(401, None));
        assert!(InvalidCounter::counts(403, None));
        assert!(InvalidCounter::counts(429, Some("user")));
        assert!(InvalidCounter::counts(429, Some("global")));
        assert!(!InvalidCounter::counts(429, Some("shared")));
        assert!(!InvalidCounter::counts(404, None));
    }
}
