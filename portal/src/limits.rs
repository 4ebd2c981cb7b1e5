//! Fixed-window rate limits kept in memory, per key (a login, an address, an account).

use std::collections::HashMap;
use std::sync::Mutex;

pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt for `key` at time `now` (seconds); false when over the limit.
    pub fn allow(&self, key: &str, now: i64) -> bool {
        let minute = now.div_euclid(60);
        let mut windows = match self.windows.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        if windows.len() > 100_000 {
            windows.retain(|_, (m, _)| *m == minute);
        }
        let entry = windows.entry(key.to_owned()).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 += 1;
        entry.1 <= self.per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_up_to_the_limit_per_minute_and_per_key() {
        let limiter = RateLimiter::new(2);
        assert!(limiter.allow("a", 60));
        assert!(limiter.allow("a", 61));
        assert!(!limiter.allow("a", 62));
        assert!(limiter.allow("b", 62));
        assert!(limiter.allow("a", 120));
    }
}
