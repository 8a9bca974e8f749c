//! Rate limits (governor's GCRA, in memory): sign-ins per email and per client address, and an
//! identity provider's requests per SCIM token.
//!
//! Every attempt counts, whether or not its password is right: operations of one batch run
//! concurrently, so a limit counted only after a failure would let a batch's guesses all through
//! before the first was counted, and governor can't hand a cell back after a success. The
//! defaults are far above what people signing in ever need (README, "Limits").

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::RuleError;
use crate::text::Email;

/// Forgotten keys are dropped from memory every this many attempts.
const SWEEP_EVERY: u64 = 1_000;

fn refused(wait: Duration) -> RuleError {
    RuleError::RateLimited {
        retry_after_seconds: wait.as_secs_f64().ceil().max(1.0) as u64,
    }
}

pub struct SignInThrottle {
    per_email: Option<DefaultKeyedRateLimiter<String>>,
    per_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    attempts: AtomicU64,
}

impl SignInThrottle {
    /// Attempts allowed for one email per hour and from one client address per minute (each a
    /// burst of that many, then evenly); a limit of 0 turns that limit off.
    pub fn new(per_email_per_hour: u32, per_address_per_minute: u32) -> SignInThrottle {
        SignInThrottle {
            per_email: NonZeroU32::new(per_email_per_hour)
                .map(|n| RateLimiter::keyed(Quota::per_hour(n))),
            per_address: NonZeroU32::new(per_address_per_minute)
                .map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            attempts: AtomicU64::new(0),
        }
    }

    /// Counts one sign-in attempt, or refuses it with RATE_LIMITED and when to try again.
    pub fn attempt(&self, email: &Email, address: Option<IpAddr>) -> Result<(), RuleError> {
        self.attempt_from(address)?;
        if let Some(limiter) = &self.per_email {
            limiter
                .check_key(&email.as_str().to_owned())
                .map_err(|not_until| refused(not_until.wait_time_from(Self::now())))?;
        }
        Ok(())
    }

    /// Counts one attempt from a client address against the same allowance as its sign-ins:
    /// accepting an invitation checks (or hashes) a password as signing in does, for anyone
    /// who sends a token, so it is limited alike. RATE_LIMITED when the address is over it.
    pub fn attempt_from(&self, address: Option<IpAddr>) -> Result<(), RuleError> {
        if self.attempts.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep();
        }
        if let (Some(limiter), Some(address)) = (&self.per_address, address) {
            limiter
                .check_key(&address)
                .map_err(|not_until| refused(not_until.wait_time_from(Self::now())))?;
        }
        Ok(())
    }

    fn now() -> governor::clock::QuantaInstant {
        DefaultClock::default().now()
    }

    fn sweep(&self) {
        if let Some(limiter) = &self.per_email {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        if let Some(limiter) = &self.per_address {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// Requests allowed per SCIM token per minute: a burst of that many, then evenly. One
/// misconfigured provider (a sync loop, a retry storm) can't take the service from everyone
/// else, and a large first sync still runs at the rate the service itself sustains
/// (docs/BENCHMARKS.md).
pub struct ScimThrottle {
    per_token: Option<DefaultKeyedRateLimiter<uuid::Uuid>>,
    requests: AtomicU64,
}

impl ScimThrottle {
    /// A limit of 0 turns it off.
    pub fn new(per_token_per_minute: u32) -> ScimThrottle {
        ScimThrottle {
            per_token: NonZeroU32::new(per_token_per_minute)
                .map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            requests: AtomicU64::new(0),
        }
    }

    /// Counts one request of this token, or refuses it with RATE_LIMITED and when to try again.
    pub fn request(&self, token_id: uuid::Uuid) -> Result<(), RuleError> {
        let Some(limiter) = &self.per_token else {
            return Ok(());
        };
        if self.requests.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
        }
        limiter
            .check_key(&token_id)
            .map_err(|not_until| refused(not_until.wait_time_from(SignInThrottle::now())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scim_token_gets_its_burst_then_waits_and_others_go_on() {
        let throttle = ScimThrottle::new(3);
        let (okta, entra) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        for _ in 0..3 {
            throttle.request(okta).unwrap();
        }
        assert!(matches!(
            throttle.request(okta),
            Err(RuleError::RateLimited { retry_after_seconds }) if (1..=20).contains(&retry_after_seconds)
        ));
        throttle.request(entra).unwrap();
        let unlimited = ScimThrottle::new(0);
        for _ in 0..100 {
            unlimited.request(okta).unwrap();
        }
    }

    fn throttle(per_email: u32, per_address: u32) -> SignInThrottle {
        SignInThrottle::new(per_email, per_address)
    }

    fn email(text: &str) -> Email {
        text.parse().unwrap()
    }

    #[test]
    fn an_email_gets_its_burst_then_waits_minutes() {
        let throttle = throttle(3, 0);
        for _ in 0..3 {
            throttle.attempt(&email("ada@acme.test"), None).unwrap();
        }
        match throttle.attempt(&email("ADA@acme.test"), None) {
            Err(RuleError::RateLimited {
                retry_after_seconds,
            }) => assert!((1..=1200).contains(&retry_after_seconds)),
            other => panic!("refused, not {other:?}"),
        }
        throttle.attempt(&email("bob@acme.test"), None).unwrap();
    }

    #[test]
    fn an_address_is_limited_across_emails() {
        let throttle = throttle(0, 2);
        let address: IpAddr = "192.0.2.7".parse().unwrap();
        throttle
            .attempt(&email("a@acme.test"), Some(address))
            .unwrap();
        throttle
            .attempt(&email("b@acme.test"), Some(address))
            .unwrap();
        assert!(
            throttle
                .attempt(&email("c@acme.test"), Some(address))
                .is_err()
        );
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        throttle
            .attempt(&email("c@acme.test"), Some(other))
            .unwrap();
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let throttle = throttle(0, 0);
        for _ in 0..100 {
            throttle.attempt(&email("ada@acme.test"), None).unwrap();
        }
    }
}
