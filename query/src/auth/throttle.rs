//! Attempts per client network per minute, for sign-ins and for refused
//! bearer tokens: a fixed one-minute window per [`ClientNet`], started by
//! its first attempt. Tokens are long random strings, so this is not what
//! keeps them from being guessed; it keeps a script from turning the
//! service into a hashing service, and keying it by network keeps one
//! client from locking every editor out.
//!
//! Memory is bounded: past [`MAX_NETS`] networks, expired windows are
//! dropped, and if the map is still full a network not in it is refused
//! until windows expire (those already counted keep their budget).

use super::client_net::ClientNet;
use std::collections::HashMap;
use std::sync::Mutex;

/// The window every budget refills after.
const WINDOW_SECS: i64 = 60;
/// Networks tracked at once (about 40 bytes each).
pub const MAX_NETS: usize = 100_000;

pub struct Throttle {
    per_minute: u32,
    windows: Mutex<HashMap<ClientNet, Window>>,
}

#[derive(Clone, Copy)]
struct Window {
    start: i64,
    used: u32,
}

/// Refused: try again after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

impl Throttle {
    pub fn per_minute(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt of `net` at `now` (Unix seconds), unless its
    /// budget is used up.
    pub fn take(&self, net: ClientNet, now: i64) -> Result<(), RetryAfter> {
        self.check(net, now, true)
    }

    /// Whether `net` has budget left at `now`, counting nothing.
    pub fn allows(&self, net: ClientNet, now: i64) -> Result<(), RetryAfter> {
        self.check(net, now, false)
    }

    fn check(&self, net: ClientNet, now: i64, count: bool) -> Result<(), RetryAfter> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let expired = |w: &Window| now >= w.start + WINDOW_SECS || now < w.start;
        if !windows.contains_key(&net) && windows.len() >= MAX_NETS {
            windows.retain(|_, w| !expired(w));
            if windows.len() >= MAX_NETS {
                return Err(RetryAfter(WINDOW_SECS as u64));
            }
        }
        let fresh = Window {
            start: now,
            used: 0,
        };
        let window = windows.entry(net).or_insert(fresh);
        if expired(window) {
            *window = fresh;
        }
        if window.used >= self.per_minute {
            let left = (window.start + WINDOW_SECS - now).clamp(1, WINDOW_SECS);
            return Err(RetryAfter(left as u64));
        }
        if count {
            window.used += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> ClientNet {
        ClientNet::of(s.parse().unwrap())
    }

    #[test]
    fn each_network_has_its_budget_for_a_minute() {
        let throttle = Throttle::per_minute(3);
        let (a, b) = (net("198.51.100.1"), net("203.0.113.1"));
        for _ in 0..3 {
            assert_eq!(throttle.allows(a, 100), Ok(()));
            assert_eq!(throttle.take(a, 100), Ok(()));
        }
        assert_eq!(throttle.take(a, 100), Err(RetryAfter(60)));
        assert_eq!(throttle.allows(a, 130), Err(RetryAfter(30)));
        assert_eq!(throttle.take(b, 130), Ok(()));
        // A new window a minute after the first attempt.
        assert_eq!(throttle.take(a, 160), Ok(()));
    }

    #[test]
    fn memory_is_bounded_and_counted_networks_keep_their_budget() {
        let throttle = Throttle::per_minute(1);
        for i in 0..MAX_NETS as u32 {
            let ip = std::net::Ipv4Addr::from(i << 8);
            assert!(throttle.take(ClientNet::of(ip.into()), 0).is_ok());
        }
        let newcomer = net("255.255.255.1");
        assert!(throttle.take(newcomer, 10).is_err());
        // Once the windows expired there is room again.
        assert!(throttle.take(newcomer, 60).is_ok());
        assert_eq!(throttle.windows.lock().unwrap().len(), 1);
    }
}
