//! Time is injected: every expiry, rate limit and lock asks a [`Clock`], so tests are exact.

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

/// The token-bucket rule of the frame-upload rate limit, pure: a bucket holding
/// `tokens_milli` thousandths of a token at `last_ms` refills at `rate` tokens per second up to
/// `burst`; one request at `now_ms` takes a whole token. `Ok` holds what is left, `Err` the
/// seconds until a token is available. The bucket itself lives in the database
/// (`Db::take_rate_token`), so uploads through every node draw on one bucket.
///
/// ```
/// use huoti_server::clock::take_token;
/// assert_eq!(take_token(3_000, 0, 0, 10, 3), Ok(2_000));
/// assert_eq!(take_token(0, 0, 0, 10, 3), Err(1));
/// assert_eq!(take_token(0, 0, 100, 10, 3), Ok(0), "100 ms at 10/s refill one token");
/// ```
pub fn take_token(tokens_milli: i64, last_ms: u64, now_ms: u64, rate: u32, burst: u32) -> Result<i64, u64> {
    let cap = i64::from(burst) * 1000;
    let elapsed = now_ms.saturating_sub(last_ms).min(1 << 40) as i64;
    let tokens = tokens_milli.max(0).saturating_add(elapsed * i64::from(rate)).min(cap);
    if tokens >= 1000 {
        Ok(tokens - 1000)
    } else {
        // `rate` tokens a second is `rate` thousandths a millisecond.
        let wait_ms = ((1000 - tokens) as u64).div_ceil(u64::from(rate.max(1)));
        Err(wait_ms.div_ceil(1000).max(1))
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
    fn token_bucket_refills_up_to_its_burst() {
        let mut t = 3_000;
        for _ in 0..3 {
            t = take_token(t, 0, 0, 10, 3).unwrap();
        }
        assert_eq!(take_token(t, 0, 0, 10, 3), Err(1));
        let t = take_token(t, 0, 100, 10, 3).unwrap();
        assert!(take_token(t, 100, 100, 10, 3).is_err());
        assert_eq!(take_token(0, 0, 1_000_000, 10, 3), Ok(2_000), "capped at the burst");
        assert_eq!(take_token(0, 0, 0, 1, 3), Err(1));
        assert_eq!(take_token(-5, 10, 0, 1, 3), Err(1), "a clock behind never refills");
    }
}
