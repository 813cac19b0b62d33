//! When a failing account is tried again: exponential backoff with jitter, never sooner than
//! the target's `Retry-After`, at most every six hours.

use std::time::Duration;

/// Failed pushes after which an account counts as parked (`sync --status` lists it).
pub const PARK_AFTER: u32 = 5;

/// First wait after a failure.
const FIRST: u64 = 30;
/// Longest wait.
const LONGEST: u64 = 6 * 3600;

/// Seconds to wait after the `attempts`-th failure in a row (from 1), jittered by up to +25 %.
pub fn delay_secs(attempts: u32, retry_after: Option<Duration>) -> u64 {
    let base = FIRST.saturating_mul(1u64 << attempts.saturating_sub(1).min(20)).min(LONGEST);
    let jitter = rand::random::<u64>() % (base / 4 + 1);
    (base + jitter).max(retry_after.map(|d| d.as_secs()).unwrap_or(0))
}

/// Wait before retrying one request within a push (`try_` from 0): 250 ms doubling, with jitter.
pub fn request_delay(try_: u32) -> Duration {
    let base = 250u64 << try_.min(6);
    Duration::from_millis(base + rand::random::<u64>() % (base / 2 + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_honour_retry_after_and_stop_growing() {
        assert!((30..=38).contains(&delay_secs(1, None)));
        assert!((60..=75).contains(&delay_secs(2, None)));
        assert!(delay_secs(40, None) <= LONGEST + LONGEST / 4);
        assert_eq!(delay_secs(1, Some(Duration::from_secs(600))), 600);
        assert!(request_delay(0) >= Duration::from_millis(250));
    }
}
