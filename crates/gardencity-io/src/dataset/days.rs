//! Local dates and UTC offsets of Unix timestamps, with a cache of the days seen (each
//! agent's rows, and each sweep configuration's, go through the same few days again).

use chrono::{DateTime, NaiveDate, Offset, TimeZone, Timelike};
use chrono_tz::Tz;

/// The local date and offset of a timestamp, and the UTC window `[lo, hi)` of
/// timestamps sharing both (a single second when the day has an offset change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LocalDay {
    pub date: NaiveDate,
    /// Local time minus UTC, seconds.
    pub offset: i32,
    pub lo: i64,
    pub hi: i64,
}

/// Days a cache keeps before it starts again (a run of 11 years).
const MAX_DAYS: usize = 4096;

/// Converts timestamps to local dates, caching the days seen.
#[derive(Debug, Clone)]
pub(crate) struct DayCache {
    tz: Tz,
    cur: Option<LocalDay>,
    /// Days seen, by `lo`; their windows do not overlap.
    seen: Vec<LocalDay>,
}

impl DayCache {
    pub fn new(tz: Tz) -> DayCache {
        DayCache { tz, cur: None, seen: Vec::new() }
    }

    fn offset_at(&self, ts: i64) -> Option<i32> {
        let utc = DateTime::from_timestamp(ts, 0)?;
        Some(self.tz.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc())
    }

    /// The local day of `ts` (Unix seconds), or `None` outside chrono's range.
    #[inline]
    pub fn day(&mut self, ts: i64) -> Option<LocalDay> {
        if let Some(d) = self.cur {
            if d.lo <= ts && ts < d.hi {
                return Some(d);
            }
        }
        // The last day starting at or before `ts`.
        let i = self.seen.partition_point(|d| d.lo <= ts);
        if let Some(&d) = i.checked_sub(1).map(|k| &self.seen[k]) {
            if ts < d.hi {
                self.cur = Some(d);
                return Some(d);
            }
        }
        let utc = DateTime::from_timestamp(ts, 0)?;
        let local = utc.with_timezone(&self.tz);
        let offset = local.offset().fix().local_minus_utc();
        let date = local.date_naive();
        let since_midnight = i64::from(local.time().num_seconds_from_midnight());
        let lo = ts - since_midnight;
        let hi = lo + 86_400;
        // With the same offset at both ends of the wall-clock day (and at most one
        // offset change a day), every second of [lo, hi) has this date and offset.
        let whole_day = self.offset_at(lo) == Some(offset) && self.offset_at(hi - 1) == Some(offset);
        let d =
            if whole_day { LocalDay { date, offset, lo, hi } } else { LocalDay { date, offset, lo: ts, hi: ts + 1 } };
        self.cur = Some(d);
        // Whole days only: a day with an offset change is looked up second by second.
        if whole_day {
            if self.seen.len() >= MAX_DAYS {
                self.seen.clear();
            }
            let i = self.seen.partition_point(|e| e.lo <= d.lo);
            self.seen.insert(i, d);
        }
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(tz: Tz, ts: i64) -> (NaiveDate, i32) {
        let l = DateTime::from_timestamp(ts, 0).unwrap().with_timezone(&tz);
        (l.date_naive(), l.offset().fix().local_minus_utc())
    }

    #[test]
    fn matches_direct_conversion_across_dst_changes() {
        // 2024-03-09 .. 2024-03-12 and 2024-11-02 .. 2024-11-05 in New York, every 7 minutes,
        // plus Lord Howe (30-minute DST shift) and Kathmandu (+05:45).
        for tz in [chrono_tz::America::New_York, chrono_tz::Australia::Lord_Howe, chrono_tz::Asia::Kathmandu] {
            let mut cache = DayCache::new(tz);
            for start in [1_709_942_400_i64, 1_730_505_600, 1_712_361_600] {
                let mut ts = start;
                while ts < start + 4 * 86_400 {
                    let d = cache.day(ts).unwrap();
                    assert_eq!((d.date, d.offset), direct(tz, ts), "{tz} at {ts}");
                    ts += 420;
                }
            }
        }
    }

    #[test]
    fn days_seen_again_in_any_order_match_direct_conversion() {
        let tz = chrono_tz::America::New_York;
        let mut cache = DayCache::new(tz);
        // Around the March change, forward and back, as sweep configurations do.
        let start = 1_709_942_400_i64;
        for pass in 0..3 {
            let mut ts = start + pass * 611;
            while ts < start + 4 * 86_400 {
                let d = cache.day(ts).unwrap();
                assert_eq!((d.date, d.offset), direct(tz, ts), "pass {pass} at {ts}");
                assert!(d.lo <= ts && ts < d.hi);
                ts += 3_001;
            }
        }
        for k in (0..400).rev() {
            let ts = start + k * 863;
            assert_eq!((cache.day(ts).unwrap().date, cache.day(ts).unwrap().offset), direct(tz, ts));
        }
    }

    #[test]
    fn midnight_boundary_in_new_york() {
        let tz = chrono_tz::America::New_York;
        let mut cache = DayCache::new(tz);
        // 2024-01-02T00:00:00-05:00 = 2024-01-02T05:00:00Z = 1704171600
        let d0 = cache.day(1_704_171_600 - 1).unwrap();
        let d1 = cache.day(1_704_171_600).unwrap();
        assert_eq!(d0.date, NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
        assert_eq!(d1.date, NaiveDate::from_ymd_opt(2024, 1, 2).unwrap());
        assert_eq!(d1.offset, -5 * 3600);
        assert_eq!((d1.lo, d1.hi), (1_704_171_600, 1_704_171_600 + 86_400));
    }
}
