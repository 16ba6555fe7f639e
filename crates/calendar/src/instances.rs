//! Instances of series: their ids, and the expansion of stored series (with their overrides) over a range.
//!
//! An instance's id is `<series id>_<original start>`, the original start in UTC as `YYYYMMDDTHHMMSSZ` (the
//! form of an iCalendar `RECURRENCE-ID`). It stays the same when the instance is moved by an override, so
//! clients can keep references to it. Nothing is materialised: a range query expands each candidate series on
//! the fly, at most the page size (plus one) instances per series after the page's position, and never more
//! than the series' instance bound.

use crate::model::TimeRange;
use crate::recurrence::{Recurrence, parse_time_zone};
use crate::repo::events::{EventRow, OverrideRow};
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone as _, Utc};
use epop_core::CalendarEventId;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// What an API id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventRef {
    /// A single event or a whole series.
    Whole(CalendarEventId),
    /// One instance of a series, by its original start.
    Instance(CalendarEventId, DateTime<Utc>),
}

impl EventRef {
    /// Reads an id of the calendar API; `None` when it is neither form.
    pub fn parse(text: &str) -> Option<Self> {
        match text.split_once('_') {
            None => text.parse().ok().map(EventRef::Whole),
            Some((series, start)) => {
                let series = series.parse().ok()?;
                let start = start.strip_suffix('Z')?;
                let start = NaiveDateTime::parse_from_str(start, "%Y%m%dT%H%M%S").ok()?;
                Some(EventRef::Instance(series, Utc.from_utc_datetime(&start)))
            }
        }
    }

    /// The event or series row it belongs to.
    pub fn event_id(self) -> CalendarEventId {
        match self {
            EventRef::Whole(id) | EventRef::Instance(id, _) => id,
        }
    }
}

/// The id of the instance of `series` originally at `start`.
pub fn instance_id(series: CalendarEventId, start: DateTime<Utc>) -> String {
    format!("{series}_{}", start.format("%Y%m%dT%H%M%SZ"))
}

/// The rule of a stored series, as it was validated when stored.
pub(crate) fn recurrence_of(row: &EventRow, max_instances: usize) -> Option<Recurrence> {
    let rule = row.rrule.as_deref()?;
    let tz = parse_time_zone(&row.time_zone).ok()?;
    match Recurrence::parse(rule, row.start_time, tz, max_instances) {
        Ok(recurrence) => Some(recurrence),
        Err(error) => {
            tracing::warn!(event = %row.id, %error, "a stored rule no longer parses; its series is skipped");
            None
        }
    }
}

/// One instance, before it is dressed as a `CalendarEvent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Instance {
    /// Index of its series in the slice given to [`expand`] or [`merge`].
    pub(crate) series: usize,
    pub(crate) original_start: DateTime<Utc>,
    pub(crate) start: DateTime<Utc>,
    pub(crate) end: DateTime<Utc>,
    /// The override's title, if it changes it.
    pub(crate) title: Option<String>,
    /// The override's description, if it changes it.
    pub(crate) description: Option<String>,
    pub(crate) id: String,
}

/// The order of listings, `(start_time, id)` with the id as the API writes it, as a typed key: the start, then
/// the event or series id, then the original start of an instance (`None`, a whole event, first). Both orders
/// are the same: ids are lower-case hyphenated UUIDs, whose text order is their byte order, and an instance id
/// is its series id, `_` and its original start as `YYYYMMDDTHHMMSSZ`, whose text order is time order for the
/// years 1..=9999. So entries are compared without writing their ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ListKey {
    /// Where the entry starts now.
    pub(crate) start: DateTime<Utc>,
    /// The single event, or the series of an instance.
    pub(crate) event: CalendarEventId,
    /// The original start of an instance; `None` for a single event.
    pub(crate) original: Option<DateTime<Utc>>,
}

impl ListKey {
    /// The key of the entry with `id` (as the API names it) starting at `start`; `None` for a malformed id.
    pub(crate) fn of(start: DateTime<Utc>, id: &str) -> Option<Self> {
        Some(match EventRef::parse(id)? {
            EventRef::Whole(event) => Self {
                start,
                event,
                original: None,
            },
            EventRef::Instance(event, original) => Self {
                start,
                event,
                original: Some(original),
            },
        })
    }
}

/// One entry of a merged listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// The single event at this index of the `singles` given to [`merge`].
    Single(usize),
    /// An instance of a series.
    Instance(Instance),
}

/// The walk of a rule with several instances a day may yield starts slightly out of order where local times
/// fall into a daylight-saving gap (they are moved forward by the gap, past the next ones; see
/// [`crate::recurrence::place_local`]). A start of such a rule is only taken once the walk has gone this far
/// beyond it: more than any gap (at most a day), so no later start of the walk can come before it. Rules with
/// at most one instance a day walk in order ([`Recurrence::once_a_day`]) and take each start at once.
const SETTLE: Duration = Duration::hours(27);

/// The instances of one series as the rule places them (changed and cancelled ones left out), in order, walked
/// lazily: each start is computed when the merge needs it.
struct RuleWalk<'a> {
    series: usize,
    row: &'a EventRow,
    duration: Duration,
    starts: Box<dyn Iterator<Item = DateTime<Utc>> + 'a>,
    /// Starts walked but not yet taken (see [`SETTLE`]), smallest first.
    settling: BinaryHeap<Reverse<DateTime<Utc>>>,
    /// The latest start walked.
    walked: Option<DateTime<Utc>>,
    /// How far the walk goes past a start before taking it: [`SETTLE`], or zero for a walk in order.
    settle: Duration,
    /// The start taken last: two local times a daylight-saving gap moves onto the same instant are one
    /// instance (their ids would be the same).
    taken: Option<DateTime<Utc>>,
    done: bool,
    /// Original starts not placed by the rule (cancelled or changed), sorted.
    skip: Vec<DateTime<Utc>>,
}

impl RuleWalk<'_> {
    /// Whether the rule's instance at `start` belongs in the listing.
    fn wanted(&self, start: DateTime<Utc>, range: &TimeRange, after: Option<&ListKey>) -> bool {
        range.contains(start, start + self.duration)
            && self.skip.binary_search(&start).is_err()
            && after.is_none_or(|after| {
                ListKey {
                    start,
                    event: self.row.id,
                    original: Some(start),
                } > *after
            })
    }

    /// The next start of the listing from this series.
    fn next(&mut self, range: &TimeRange, after: Option<&ListKey>) -> Option<DateTime<Utc>> {
        loop {
            if let Some(Reverse(first)) = self.settling.peek() {
                if self.done || self.walked.is_some_and(|walked| walked >= *first + self.settle) {
                    let start = *first;
                    self.settling.pop();
                    if self.taken == Some(start) {
                        continue;
                    }
                    self.taken = Some(start);
                    return Some(start);
                }
            } else if self.done {
                return None;
            }
            match self.starts.next() {
                Some(start) if range.to.is_none_or(|to| start < to + self.settle) => {
                    self.walked = Some(start);
                    if self.wanted(start, range, after) {
                        self.settling.push(Reverse(start));
                    }
                }
                _ => self.done = true,
            }
        }
    }

    fn instance(&self, start: DateTime<Utc>) -> Instance {
        Instance {
            series: self.series,
            original_start: start,
            start,
            end: start + self.duration,
            title: None,
            description: None,
            id: instance_id(self.row.id, start),
        }
    }
}

/// The walk of the rule of `row` (series `index`) for the entries of `range` after `after`, starting late when
/// the rule allows it (see [`Recurrence::starts_near`]); `None` when its rule no longer parses.
fn walk<'a>(
    index: usize,
    row: &'a EventRow,
    changed: &[&OverrideRow],
    range: &TimeRange,
    after: Option<&ListKey>,
    max_instances: usize,
) -> Option<RuleWalk<'a>> {
    let recurrence = recurrence_of(row, max_instances)?;
    let settle = if recurrence.once_a_day() {
        Duration::zero()
    } else {
        SETTLE
    };
    let duration = row.end_time - row.start_time;
    let not_before = match (range.from.map(|from| from - duration), after.map(|a| a.start)) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let late = match (not_before, row.last_start) {
        (Some(not_before), Some(last)) => recurrence.starts_near(not_before, last),
        _ => None,
    };
    let starts: Box<dyn Iterator<Item = DateTime<Utc>> + 'a> = match late {
        Some(late) => Box::new(late),
        None => Box::new(recurrence.into_starts()),
    };
    let mut skip: Vec<DateTime<Utc>> = row
        .exdates
        .iter()
        .copied()
        .chain(changed.iter().map(|c| c.original_start))
        .collect();
    skip.sort_unstable();
    Some(RuleWalk {
        series: index,
        row,
        duration,
        starts,
        settling: BinaryHeap::new(),
        walked: None,
        settle,
        taken: None,
        done: false,
        skip,
    })
}

/// Where the merge takes its next entry from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    /// `singles[i]`.
    Single(usize),
    /// `changed[i]`, a changed instance.
    Changed(usize),
    /// The rule walk of `series[i]`.
    Rule(usize),
}

/// The first `limit` entries after `after` of the listing of `range`: the `singles` (sorted by `(start_time,
/// id)`, already in the range and after `after`) merged with the instances of `series` (with their
/// `overrides`), in [`ListKey`] order.
///
/// Nothing is materialised: every series is a lazy walk of its rule, starting near the range when it can (see
/// [`Recurrence::starts_near`]), and the sources are merged k-way through a heap holding one entry per source,
/// so the work is one walk up to the range per series plus `limit` steps, not every instance of every series
/// in the range, sorted. Changed instances are placed where they are now; cancelled ones are left out.
pub(crate) fn merge(
    singles: &[EventRow],
    series: &[EventRow],
    overrides: &[OverrideRow],
    range: &TimeRange,
    after: Option<&ListKey>,
    limit: usize,
    max_instances: usize,
) -> Vec<Entry> {
    let index: HashMap<CalendarEventId, usize> =
        series.iter().enumerate().map(|(i, row)| (row.id, i)).collect();
    let mut changed_of: Vec<Vec<&OverrideRow>> = vec![Vec::new(); series.len()];
    for change in overrides {
        if let Some(&i) = index.get(&change.event_id) {
            changed_of[i].push(change);
        }
    }
    // Changed instances, where they are now, in order.
    let mut changed: Vec<(ListKey, usize, &OverrideRow)> = Vec::new();
    for (i, row) in series.iter().enumerate() {
        for change in &changed_of[i] {
            let key = ListKey {
                start: change.start_time,
                event: row.id,
                original: Some(change.original_start),
            };
            if row.exdates.contains(&change.original_start)
                || !range.contains(change.start_time, change.end_time)
                || after.is_some_and(|after| key <= *after)
            {
                continue;
            }
            changed.push((key, i, change));
        }
    }
    changed.sort_unstable_by_key(|(key, _, _)| *key);
    let mut walks: Vec<Option<RuleWalk<'_>>> = series
        .iter()
        .enumerate()
        .map(|(i, row)| walk(i, row, &changed_of[i], range, after, max_instances))
        .collect();
    let single_key = |i: usize| ListKey {
        start: singles[i].start_time,
        event: singles[i].id,
        original: None,
    };
    let mut heap: BinaryHeap<Reverse<(ListKey, Source)>> = BinaryHeap::new();
    if !singles.is_empty() {
        heap.push(Reverse((single_key(0), Source::Single(0))));
    }
    if let Some((key, _, _)) = changed.first() {
        heap.push(Reverse((*key, Source::Changed(0))));
    }
    let rule_key = |walk: &RuleWalk<'_>, start: DateTime<Utc>| ListKey {
        start,
        event: walk.row.id,
        original: Some(start),
    };
    for (i, walk) in walks.iter_mut().enumerate() {
        if let Some(walk) = walk
            && let Some(start) = walk.next(range, after)
        {
            heap.push(Reverse((rule_key(walk, start), Source::Rule(i))));
        }
    }
    let mut out = Vec::with_capacity(limit.min(1024));
    while out.len() < limit {
        let Some(Reverse((key, source))) = heap.pop() else {
            break;
        };
        match source {
            Source::Single(i) => {
                out.push(Entry::Single(i));
                if i + 1 < singles.len() {
                    heap.push(Reverse((single_key(i + 1), Source::Single(i + 1))));
                }
            }
            Source::Changed(i) => {
                let (_, series_index, change) = changed[i];
                out.push(Entry::Instance(Instance {
                    series: series_index,
                    original_start: change.original_start,
                    start: change.start_time,
                    end: change.end_time,
                    title: change.title.clone(),
                    description: change.description.clone(),
                    id: instance_id(series[series_index].id, change.original_start),
                }));
                if let Some((key, _, _)) = changed.get(i + 1) {
                    heap.push(Reverse((*key, Source::Changed(i + 1))));
                }
            }
            Source::Rule(i) => {
                if let Some(walk) = &mut walks[i] {
                    out.push(Entry::Instance(walk.instance(key.start)));
                    if let Some(start) = walk.next(range, after) {
                        heap.push(Reverse((rule_key(walk, start), Source::Rule(i))));
                    }
                }
            }
        }
    }
    out
}

/// The instances of `series` overlapping `range` and sorting after `after`, in [`ListKey`] order: the first
/// `limit` of them (see [`merge`]), each series walked for at most `max_instances` instances.
pub(crate) fn expand(
    series: &[EventRow],
    overrides: &[OverrideRow],
    range: &TimeRange,
    after: Option<&ListKey>,
    limit: usize,
    max_instances: usize,
) -> Vec<Instance> {
    merge(&[], series, overrides, range, after, limit, max_instances)
        .into_iter()
        .filter_map(|entry| match entry {
            Entry::Instance(instance) => Some(instance),
            Entry::Single(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let series = CalendarEventId::new();
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        let id = instance_id(series, start);
        assert!(id.ends_with("_20260302T090000Z"), "{id}");
        assert_eq!(EventRef::parse(&id), Some(EventRef::Instance(series, start)));
        assert_eq!(
            EventRef::parse(&series.to_string()),
            Some(EventRef::Whole(series))
        );
        for bad in [
            "",
            "x",
            "x_20260302T090000Z",
            &format!("{series}_2026"),
            &format!("{series}_20260302T090000"),
        ] {
            assert_eq!(EventRef::parse(bad), None, "{bad}");
        }
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    /// A stored series as the service writes it (its last original start included, unless `legacy`).
    fn series(
        rule: &str,
        zone: &str,
        start: DateTime<Utc>,
        minutes: i64,
        max: usize,
        legacy: bool,
    ) -> EventRow {
        let tz = parse_time_zone(zone).unwrap();
        let recurrence = Recurrence::parse(rule, start, tz, max).unwrap();
        let last = recurrence.last_start().unwrap();
        EventRow {
            id: CalendarEventId::new(),
            user_id: epop_core::UserId::new(),
            title: rule.to_owned(),
            description: String::new(),
            start_time: start,
            end_time: start + Duration::minutes(minutes),
            created_at: start,
            updated_at: start,
            rrule: Some(recurrence.rule.clone()),
            exdates: Vec::new(),
            time_zone: zone.to_owned(),
            series_end: Some(last + Duration::minutes(minutes)),
            last_start: (!legacy).then_some(last),
        }
    }

    fn single(start: DateTime<Utc>, minutes: i64) -> EventRow {
        EventRow {
            rrule: None,
            series_end: None,
            last_start: None,
            end_time: start + Duration::minutes(minutes),
            ..series("FREQ=DAILY;COUNT=1", "UTC", start, minutes, 10, true)
        }
    }

    /// The listing the slow way: every instance of every series walked from its first start, then filtered
    /// and sorted.
    fn reference(
        singles: &[EventRow],
        rows: &[EventRow],
        overrides: &[OverrideRow],
        range: &TimeRange,
        after: Option<&ListKey>,
        max: usize,
    ) -> Vec<(ListKey, DateTime<Utc>)> {
        let mut all: Vec<(ListKey, DateTime<Utc>)> = singles
            .iter()
            .map(|row| {
                (
                    ListKey {
                        start: row.start_time,
                        event: row.id,
                        original: None,
                    },
                    row.end_time,
                )
            })
            .collect();
        for row in rows {
            let duration = row.end_time - row.start_time;
            for start in recurrence_of(row, max).unwrap().starts() {
                if row.exdates.contains(&start) {
                    continue;
                }
                let key = ListKey {
                    start,
                    event: row.id,
                    original: Some(start),
                };
                match overrides
                    .iter()
                    .find(|o| o.event_id == row.id && o.original_start == start)
                {
                    Some(o) => all.push((
                        ListKey {
                            start: o.start_time,
                            ..key
                        },
                        o.end_time,
                    )),
                    None => all.push((key, start + duration)),
                }
            }
        }
        all.retain(|(key, end)| range.contains(key.start, *end) && after.is_none_or(|a| key > a));
        all.sort();
        all
    }

    fn keys(singles: &[EventRow], rows: &[EventRow], entries: &[Entry]) -> Vec<(ListKey, DateTime<Utc>)> {
        entries
            .iter()
            .map(|entry| match entry {
                Entry::Single(i) => (
                    ListKey {
                        start: singles[*i].start_time,
                        event: singles[*i].id,
                        original: None,
                    },
                    singles[*i].end_time,
                ),
                Entry::Instance(instance) => {
                    let key = ListKey {
                        start: instance.start,
                        event: rows[instance.series].id,
                        original: Some(instance.original_start),
                    };
                    assert_eq!(
                        ListKey::of(instance.start, &instance.id),
                        Some(key),
                        "the id names the instance"
                    );
                    (key, instance.end)
                }
            })
            .collect()
    }

    const RULES: [&str; 19] = [
        "FREQ=DAILY",
        "FREQ=DAILY;INTERVAL=3",
        "FREQ=DAILY;BYMONTH=3,10",
        "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU",
        "FREQ=WEEKLY;INTERVAL=3",
        "FREQ=MONTHLY;BYMONTHDAY=31",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=MONTHLY;INTERVAL=5;BYMONTHDAY=15,-1",
        "FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=2,-1",
        "FREQ=YEARLY",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=YEARLY;INTERVAL=3;BYMONTH=6,12;BYDAY=1MO",
        "FREQ=YEARLY;BYWEEKNO=1,52;BYDAY=MO",
        "FREQ=DAILY;COUNT=200",
        "FREQ=WEEKLY;UNTIL=20281231T235959Z",
        "FREQ=HOURLY;INTERVAL=5",
        "FREQ=DAILY;BYHOUR=1,2,3;BYMINUTE=0,30",
        "FREQ=MONTHLY;INTERVAL=7;BYDAY=2SA",
    ];
    const ZONES: [&str; 5] = [
        "UTC",
        "Europe/London",
        "America/New_York",
        "Australia/Lord_Howe",
        "Pacific/Apia",
    ];

    #[test]
    fn late_walks_place_the_same_instances_as_walks_from_the_first_start() {
        // Starts at awkward local times too: 02:30 (missing on spring-forward days), 01:30 (twice in autumn).
        let starts = [
            utc(2026, 1, 31, 7, 30),
            utc(2026, 3, 8, 7, 30),
            utc(2025, 11, 2, 5, 30),
        ];
        let mut late = 0;
        for (r, rule) in RULES.iter().enumerate() {
            for (z, zone) in ZONES.iter().enumerate() {
                let start = starts[(r + z) % starts.len()];
                let row = series(rule, zone, start, 90, 400, false);
                let full: Vec<DateTime<Utc>> = recurrence_of(&row, 400).unwrap().starts().collect();
                for months in [0, 1, 5, 13, 30, 70, 400] {
                    let not_before = start + Duration::days(30 * months);
                    let recurrence = recurrence_of(&row, 400).unwrap();
                    let Some(walk) = recurrence.starts_near(not_before, row.last_start.unwrap()) else {
                        continue;
                    };
                    late += 1;
                    let near: Vec<DateTime<Utc>> = walk.collect();
                    let expected: Vec<DateTime<Utc>> = full
                        .iter()
                        .copied()
                        .filter(|s| near.first().is_some_and(|first| s >= first))
                        .collect();
                    assert_eq!(
                        near, expected,
                        "{rule} in {zone} from {start}, late at {not_before}"
                    );
                    let wanted: Vec<&DateTime<Utc>> = full.iter().filter(|s| **s >= not_before).collect();
                    assert!(
                        wanted.iter().all(|s| near.contains(s)),
                        "{rule} in {zone}: every start from {not_before} on"
                    );
                    // No earlier than one period (at most three years in RULES) and the margin before.
                    if let Some(first) = near.first() {
                        assert!(
                            *first >= not_before - Duration::days(3 * 366 + 2),
                            "{rule} in {zone}: the walk started late ({first} for {not_before})"
                        );
                    }
                }
            }
        }
        assert!(late > 100, "late walks were tried: {late}");
        // A daily rule far into its run starts within days of the range, not at its first start.
        let row = series(
            "FREQ=DAILY",
            "Europe/London",
            utc(2026, 1, 1, 9, 0),
            60,
            1000,
            false,
        );
        let near = recurrence_of(&row, 1000)
            .unwrap()
            .starts_near(utc(2027, 6, 1, 0, 0), row.last_start.unwrap())
            .unwrap()
            .next()
            .unwrap();
        assert!(
            near >= utc(2027, 5, 29, 0, 0) && near < utc(2027, 6, 1, 0, 0),
            "{near}"
        );
    }

    #[test]
    fn local_times_a_gap_moves_onto_one_instant_are_one_instance() {
        // London, 29 March 2026: 01:00 and 01:30 do not exist and move to 02:00 and 02:30 BST, which the rule
        // also places; 01:00Z and 01:30Z are one instance each, in order.
        let row = series(
            "FREQ=DAILY;BYHOUR=1,2;BYMINUTE=0,30;COUNT=12",
            "Europe/London",
            utc(2026, 3, 28, 1, 0),
            15,
            100,
            false,
        );
        let range = TimeRange {
            from: Some(utc(2026, 3, 29, 0, 0)),
            to: Some(utc(2026, 3, 30, 0, 0)),
        };
        let got: Vec<DateTime<Utc>> = expand(std::slice::from_ref(&row), &[], &range, None, 100, 100)
            .iter()
            .map(|i| i.start)
            .collect();
        assert_eq!(got, [utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 30)]);
    }

    #[test]
    fn merged_pages_are_the_listing_sorted_whatever_the_page_size() {
        let mut rows = Vec::new();
        for (r, rule) in RULES.iter().enumerate() {
            let zone = ZONES[r % ZONES.len()];
            let start = utc(2026, 1 + (r as u32 % 6), 1 + r as u32, 7 + r as u32 % 10, 0);
            // Series stored before `last_start` was kept (every fourth) are walked from their first start.
            rows.push(series(rule, zone, start, 45, 300, r % 4 == 3));
        }
        // Cancelled and changed instances, some moved out of their month, some into another series' slot.
        let mut overrides = Vec::new();
        for (r, row) in rows.iter_mut().enumerate() {
            let starts: Vec<DateTime<Utc>> = recurrence_of(row, 300).unwrap().starts().collect();
            if let Some(cancelled) = starts.get(3 + r) {
                row.exdates.push(*cancelled);
            }
            for (k, moved_by) in [(2, 30), (10 + r, -20 * 24 * 60), (40, 45 * 24 * 60)] {
                if let Some(original) = starts.get(k) {
                    overrides.push(OverrideRow {
                        event_id: row.id,
                        original_start: *original,
                        title: Some("moved".to_owned()),
                        description: None,
                        start_time: (*original + Duration::minutes(moved_by)).max(row.start_time),
                        end_time: (*original + Duration::minutes(moved_by)).max(row.start_time)
                            + Duration::minutes(30),
                        updated_at: row.updated_at,
                    });
                }
            }
        }
        let singles: Vec<EventRow> = (0..300)
            .map(|n| single(utc(2026, 1, 1, 0, 0) + Duration::hours(29 * n), 60 + n % 3 * 60))
            .collect();
        for (from, to) in [
            (Some(utc(2026, 7, 1, 0, 0)), Some(utc(2026, 8, 1, 0, 0))),
            (Some(utc(2027, 3, 1, 0, 0)), Some(utc(2027, 4, 15, 0, 0))),
            (Some(utc(2026, 3, 29, 0, 0)), Some(utc(2026, 3, 30, 0, 0))),
            (Some(utc(2026, 1, 1, 0, 0)), None),
            (None, Some(utc(2026, 2, 1, 0, 0))),
        ] {
            let range = TimeRange { from, to };
            let in_range: Vec<EventRow> = singles
                .iter()
                .filter(|row| range.contains(row.start_time, row.end_time))
                .cloned()
                .collect();
            let expected = reference(&in_range, &rows, &overrides, &range, None, 300);
            for limit in [1, 7, 101] {
                let mut got = Vec::new();
                let mut after: Option<ListKey> = None;
                let mut finished = false;
                while !finished && got.len() < 600 {
                    let page_singles: Vec<EventRow> = in_range
                        .iter()
                        .filter(|row| {
                            after.is_none_or(|a| {
                                ListKey {
                                    start: row.start_time,
                                    event: row.id,
                                    original: None,
                                } > a
                            })
                        })
                        .take(limit)
                        .cloned()
                        .collect();
                    let entries = merge(
                        &page_singles,
                        &rows,
                        &overrides,
                        &range,
                        after.as_ref(),
                        limit,
                        300,
                    );
                    let page = keys(&page_singles, &rows, &entries);
                    assert!(page.len() <= limit);
                    got.extend(page.iter().copied());
                    finished = page.len() < limit;
                    after = page.last().map(|(key, _)| *key);
                }
                if finished {
                    assert_eq!(got.len(), expected.len(), "{range:?}, pages of {limit}");
                }
                assert_eq!(got[..], expected[..got.len()], "{range:?}, pages of {limit}");
            }
        }
    }
}
