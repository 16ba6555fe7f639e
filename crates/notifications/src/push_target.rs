//! Which Web Push endpoints the server may contact: the rules every user-given URL follows
//! ([`epop_storage::outbound`]: public `https` names only, checked when subscribing and again at every
//! delivery, connecting only to the checked addresses, no redirects), and the push settings.
//!
//! Real push services (FCM, Mozilla autopush, Apple, Windows) use public names on `https`, so nothing
//! legitimate is refused. `allow_loopback` exists only for tests that run a push service on `127.0.0.1`
//! (`EPOP_PUSH_ALLOW_LOOPBACK_FOR_TESTS`, off by default).

pub use epop_storage::outbound::{Target, address_allowed, check_url as check_endpoint, resolved_allowed};

/// What the delivery of pushes may do (EPOP settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushPolicy {
    /// Let endpoints on loopback addresses through, over `http` too (tests only).
    pub allow_loopback: bool,
    /// Subscriptions one user keeps; a new one beyond it replaces their oldest (0: no limit).
    pub max_per_user: u64,
}

impl Default for PushPolicy {
    fn default() -> Self {
        Self {
            allow_loopback: false,
            max_per_user: 10,
        }
    }
}
