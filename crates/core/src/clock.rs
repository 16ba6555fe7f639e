//! The source of the current time. Services take a [`Clock`] instead of calling `Utc::now()` so tests can fix
//! or advance time without sleeping.

use chrono::{DateTime, Utc};
use std::fmt::Debug;

/// Something that tells the current time.
pub trait Clock: Send + Sync + Debug {
    /// The current instant, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
