//! Time is injected: every expiry, rate limit and lock asks a [`Clock`], so tests are exact.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Milliseconds since the Unix epoch.
pub trait Clock: Send + Sync + 'static {
    /// Now, ms since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
}

/// A clock that moves only when told (tests).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock at `ms`.
    pub fn new(ms: u64) -> ManualClock {
        ManualClock(AtomicU64::new(ms))
    }
    /// Moves the clock forward.
    pub fn advance_ms(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
    /// Sets the clock to `ms` (forward only: a test's time never runs back).
    pub fn set_ms(&self, ms: u64) {
        self.0.fetch_max(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl<C: Clock> Clock for std::sync::Arc<C> {
    fn now_ms(&self) -> u64 {
        (**self).now_ms()
    }
}

/// The abuse-lock rule, pure: given the times of recent failures for one correlation id, is
/// it locked at `now_ms`, and for how many more seconds?
///
/// Locked when at least `max_failures` failures fall in `(now - window, now]`; the lock lifts
/// when the oldest of the last `max_failures` failures leaves the window.
///
/// ```
/// use huoti_server::clock::lock_remaining_s;
/// let fails = [1_000, 2_000, 3_000, 4_000, 5_000];
/// assert_eq!(lock_remaining_s(&fails, 5_000, 5, 180), Some(176));
/// assert_eq!(lock_remaining_s(&fails[..4], 5_000, 5, 180), None);
/// assert_eq!(lock_remaining_s(&fails, 181_000, 5, 180), None);
/// ```
pub fn lock_remaining_s(failures_ms: &[u64], now_ms: u64, max_failures: u32, window_s: u64) -> Option<u64> {
    if max_failures == 0 {
        return None;
    }
    let window_ms = window_s.saturating_mul(1000);
    let mut recent: Vec<u64> =
        failures_ms.iter().copied().filter(|&t| t <= now_ms && t + window_ms > now_ms).collect();
    if recent.len() < max_failures as usize {
        return None;
    }
    recent.sort_unstable();
    let oldest_counted = recent[recent.len() - max_failures as usize];
    let until = oldest_counted + window_ms;
    Some((until - now_ms).div_ceil(1000))
}

/// Per-session token buckets for frame uploads.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, (f64, u64)>>,
}

impl RateLimiter {
    /// Takes one token for `key` at `now_ms` (`rate` per second, `burst` capacity). `Err` holds
    /// the seconds until a token is available.
    pub fn take(&self, key: &str, now_ms: u64, rate: u32, burst: u32) -> Result<(), u64> {
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = map.entry(key.to_owned()).or_insert((f64::from(burst), now_ms));
        let elapsed = now_ms.saturating_sub(*last) as f64 / 1000.0;
        *tokens = (*tokens + elapsed * f64::from(rate)).min(f64::from(burst));
        *last = now_ms;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / f64::from(rate)).ceil().max(1.0) as u64)
        }
    }

    /// Forgets a key (session completed).
    pub fn forget(&self, key: &str) {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_after_five_failures_in_three_minutes_then_lifts() {
        let clock = ManualClock::new(10_000_000);
        let mut fails = Vec::new();
        for _ in 0..4 {
            fails.push(clock.now_ms());
            clock.advance_ms(10_000);
        }
        assert_eq!(lock_remaining_s(&fails, clock.now_ms(), 5, 180), None);
        fails.push(clock.now_ms());
        // Oldest failure 40 s ago: 140 s left.
        assert_eq!(lock_remaining_s(&fails, clock.now_ms(), 5, 180), Some(140));
        clock.advance_ms(139_999);
        assert!(lock_remaining_s(&fails, clock.now_ms(), 5, 180).is_some());
        clock.advance_ms(1);
        assert_eq!(lock_remaining_s(&fails, clock.now_ms(), 5, 180), None);
    }

    #[test]
    fn rate_limiter_refills() {
        let r = RateLimiter::default();
        for _ in 0..3 {
            r.take("s", 0, 10, 3).unwrap();
        }
        assert_eq!(r.take("s", 0, 10, 3), Err(1));
        r.take("s", 100, 10, 3).unwrap();
        assert!(r.take("s", 100, 10, 3).is_err());
        r.take("other", 100, 10, 3).unwrap();
    }
}
