//! `/api/presence`: who is online, on demand (an EPOP addition to CONTRACT section 7).

pub mod get;
