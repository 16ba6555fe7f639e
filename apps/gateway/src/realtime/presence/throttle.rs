//! At most one presence announcement per user per interval, so that a client whose sockets come and go (a
//! flapping network, or a hostile client connecting and disconnecting in a loop) never reaches the user's
//! partners more often than that.
//!
//! The first change after a quiet interval is announced at once. Changes within the interval after an
//! announcement are not: one trailing look is scheduled for the interval's end, which announces the user's
//! presence as it is then, if that differs from what was last announced. So partners always end up with the
//! truth, at most one interval late. The throttle is per node (a user flapping between two nodes is throttled
//! by each), and it forgets users whose last announcement is older than the interval, so it holds only the
//! users that changed recently.

use epop_core::UserId;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What to do with a presence change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Announce it now.
    Now,
    /// Look again at this instant (see [`PresenceThrottle::look_again`]); nothing is announced now.
    LookAt(Instant),
    /// Nothing to do: a look is already scheduled, or the change repeats what was announced.
    Nothing,
}

#[derive(Debug, Clone, Copy)]
struct Announced {
    /// What was last announced: online or not.
    online: bool,
    /// When.
    at: Instant,
    /// A trailing look is scheduled.
    looking: bool,
}

/// Which users were announced when, on this node.
#[derive(Debug)]
pub struct PresenceThrottle {
    interval: Duration,
    users: HashMap<UserId, Announced>,
    /// Entries at the last sweep: the map is swept once it has doubled since.
    swept_at: usize,
}

/// Users kept before the first sweep.
const SWEEP_FLOOR: usize = 1024;

impl PresenceThrottle {
    /// A throttle allowing one announcement per user per `interval` (zero: every change is announced).
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            users: HashMap::new(),
            swept_at: 0,
        }
    }

    /// `user` came online (`online`) or went offline on this node at `now`.
    pub fn changed(&mut self, user: UserId, online: bool, now: Instant) -> Decision {
        if self.interval.is_zero() {
            return Decision::Now;
        }
        self.sweep(now);
        match self.users.get_mut(&user) {
            None => {
                self.users.insert(
                    user,
                    Announced {
                        online,
                        at: now,
                        looking: false,
                    },
                );
                Decision::Now
            }
            Some(entry) if entry.looking => Decision::Nothing,
            Some(entry) if now.duration_since(entry.at) >= self.interval => {
                if entry.online == online {
                    Decision::Nothing
                } else {
                    entry.online = online;
                    entry.at = now;
                    Decision::Now
                }
            }
            Some(entry) => {
                entry.looking = true;
                Decision::LookAt(entry.at + self.interval)
            }
        }
    }

    /// The trailing look for `user` at `now`, who is `online` now (everywhere): whether to announce that.
    pub fn look_again(&mut self, user: UserId, online: bool, now: Instant) -> bool {
        let Some(entry) = self.users.get_mut(&user) else {
            return false;
        };
        entry.looking = false;
        if entry.online == online {
            return false;
        }
        entry.online = online;
        entry.at = now;
        true
    }

    /// Forgets the users announced more than an interval ago with no look scheduled, once the map has doubled.
    fn sweep(&mut self, now: Instant) {
        if self.users.len() < SWEEP_FLOOR.max(self.swept_at * 2) {
            return;
        }
        let interval = self.interval;
        self.users
            .retain(|_, entry| entry.looking || now.duration_since(entry.at) < interval);
        self.swept_at = self.users.len();
    }

    /// Users remembered now.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.users.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn the_first_change_is_announced_and_flapping_ends_in_one_trailing_look() {
        let mut throttle = PresenceThrottle::new(SECOND);
        let user = UserId::new();
        let start = Instant::now();
        assert_eq!(throttle.changed(user, true, start), Decision::Now);
        let ms = |n| start + Duration::from_millis(n);
        assert_eq!(
            throttle.changed(user, false, ms(100)),
            Decision::LookAt(start + SECOND)
        );
        for n in 0..20 {
            assert_eq!(throttle.changed(user, n % 2 == 0, ms(110 + n)), Decision::Nothing);
        }
        // At the look, the user is offline: announced; online as announced: not.
        assert!(throttle.look_again(user, false, start + SECOND));
        // Another change right after the announcement waits for the next interval.
        assert_eq!(throttle.changed(user, true, ms(1100)), Decision::LookAt(ms(2000)));
        assert!(!throttle.look_again(user, false, ms(2000)));
    }

    #[test]
    fn after_a_quiet_interval_changes_are_announced_at_once() {
        let mut throttle = PresenceThrottle::new(SECOND);
        let user = UserId::new();
        let start = Instant::now();
        assert_eq!(throttle.changed(user, true, start), Decision::Now);
        assert_eq!(throttle.changed(user, false, start + 2 * SECOND), Decision::Now);
        // A repeat of what was announced is not announced again.
        assert_eq!(
            throttle.changed(user, false, start + 4 * SECOND),
            Decision::Nothing
        );
        // Users are independent.
        assert_eq!(
            throttle.changed(UserId::new(), true, start + 4 * SECOND),
            Decision::Now
        );
    }

    #[test]
    fn a_zero_interval_announces_everything() {
        let mut throttle = PresenceThrottle::new(Duration::ZERO);
        let user = UserId::new();
        let now = Instant::now();
        for online in [true, false, true] {
            assert_eq!(throttle.changed(user, online, now), Decision::Now);
        }
    }

    #[test]
    fn users_announced_long_ago_are_forgotten() {
        let mut throttle = PresenceThrottle::new(SECOND);
        let start = Instant::now();
        for _ in 0..SWEEP_FLOOR {
            throttle.changed(UserId::new(), true, start);
        }
        assert_eq!(throttle.remembered(), SWEEP_FLOOR);
        throttle.changed(UserId::new(), true, start + 2 * SECOND);
        assert_eq!(throttle.remembered(), 1);
    }
}
