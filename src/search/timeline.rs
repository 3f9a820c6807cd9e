//! Counts over time (`/timeline`): matching articles per day, week, month or
//! year, next to all articles of that bucket, so a rise in coverage can be
//! told from a rise in volume. Dates are Asia/Tokyo; empty buckets are zeros.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, Months, NaiveDate, TimeZone};
use serde::Serialize;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::{AllQuery, Query};
use tantivy::{DocId, Executor, Score, SegmentReader};
use utoipa::ToSchema;

use super::whole_index::DayCounts;
use super::{IndexInfo, SearchRequest, collect};
use crate::article::tokyo;
use crate::error::{Error, Result};

/// Bucket size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    Day,
    Week,
    Month,
    Year,
}

impl Interval {
    pub fn parse(s: &str) -> Result<Interval> {
        match s.trim() {
            "day" => Ok(Interval::Day),
            "week" => Ok(Interval::Week),
            "month" | "" => Ok(Interval::Month),
            "year" => Ok(Interval::Year),
            other => Err(Error::param(
                "interval",
                format!("{other:?}: use day, week, month or year"),
            )),
        }
    }

    /// The first day of the bucket holding `d` (weeks start on Monday).
    pub fn bucket(self, d: NaiveDate) -> NaiveDate {
        match self {
            Interval::Day => d,
            Interval::Week => d - Days::new(d.weekday().num_days_from_monday() as u64),
            Interval::Month => d.with_day(1).unwrap_or(d),
            Interval::Year => NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d),
        }
    }

    /// How many buckets run from the bucket of `first` to that of `last`.
    fn count(self, first: NaiveDate, last: NaiveDate) -> u64 {
        let (a, b) = (self.bucket(first), self.bucket(last));
        if b < a {
            return 0;
        }
        let months = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
        let n = match self {
            Interval::Day => (b - a).num_days(),
            Interval::Week => (b - a).num_days() / 7,
            Interval::Month => months(b) - months(a),
            Interval::Year => i64::from(b.year() - a.year()),
        };
        n as u64 + 1
    }

    fn name(self) -> &'static str {
        match self {
            Interval::Day => "day",
            Interval::Week => "week",
            Interval::Month => "month",
            Interval::Year => "year",
        }
    }

    fn next(self, d: NaiveDate) -> Option<NaiveDate> {
        match self {
            Interval::Day => d.checked_add_days(Days::new(1)),
            Interval::Week => d.checked_add_days(Days::new(7)),
            Interval::Month => d.checked_add_months(Months::new(1)),
            Interval::Year => d.checked_add_months(Months::new(12)),
        }
    }
}

/// One bucket of the timeline.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Bucket {
    /// First day of the bucket, YYYY-MM-DD (Asia/Tokyo).
    pub date: String,
    /// Matching articles.
    pub count: u64,
    /// All articles of the bucket (same date range, no query or entity
    /// filter); with `dedup`, the duplicate groups with an article in it
    /// (so every group of `count` is one of them).
    pub total: u64,
    /// count / total (0 when total is 0).
    pub ratio: f64,
}

/// The `/timeline` response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Timeline {
    pub interval: Interval,
    pub buckets: Vec<Bucket>,
    /// Matching articles without a publication date (not in any bucket).
    pub undated: u64,
    pub index: IndexInfo,
}

/// Collects the publication day of every matched document.
struct DayCounter;

/// Seconds east of UTC of Asia/Tokyo ([`tokyo`] is this fixed offset).
const TOKYO_OFFSET_S: i64 = 9 * 3600;

/// The Asia/Tokyo day (days since 1970-01-01) of a timestamp.
fn day_number(ts: i64) -> i64 {
    ts.saturating_add(TOKYO_OFFSET_S).div_euclid(86_400)
}

fn day_date(day: i64) -> Option<NaiveDate> {
    let ts = day.checked_mul(86_400)?;
    Some(chrono::DateTime::from_timestamp(ts, 0)?.date_naive())
}

/// Dense counters over the segment's day range when it is a sane one (an
/// archive spans decades: tens of thousands of days), a map otherwise.
enum DaySlots {
    Dense { first: i64, counts: Vec<u64> },
    Sparse(rustc_hash::FxHashMap<i64, u64>),
}

/// At most this many days (about 550 years) get dense counters.
const DENSE_DAYS: i64 = 200_000;

struct DaySegment {
    column: Column<i64>,
    slots: DaySlots,
    undated: u64,
    buffer: Vec<Option<i64>>,
}

impl DaySegment {
    fn add(&mut self, ts: Option<i64>) {
        let Some(ts) = ts else {
            self.undated += 1;
            return;
        };
        let day = day_number(ts);
        match &mut self.slots {
            DaySlots::Dense { first, counts } => match counts.get_mut((day - *first) as usize) {
                Some(slot) => *slot += 1,
                None => self.undated += 1, // outside the column's own min..max: cannot happen
            },
            DaySlots::Sparse(map) => *map.entry(day).or_default() += 1,
        }
    }
}

impl Collector for DayCounter {
    type Fruit = (BTreeMap<NaiveDate, u64>, u64);
    type Child = DaySegment;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<DaySegment> {
        let column = segment.fast_fields().i64("published")?;
        let (first, last) = (
            day_number(column.min_value()),
            day_number(column.max_value()),
        );
        let span = last.checked_sub(first).unwrap_or(i64::MAX);
        let slots = if (0..DENSE_DAYS).contains(&span) {
            DaySlots::Dense {
                first,
                counts: vec![0; span as usize + 1],
            }
        } else {
            DaySlots::Sparse(Default::default())
        };
        Ok(DaySegment {
            column,
            slots,
            undated: 0,
            buffer: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        let mut days = BTreeMap::new();
        let mut undated = 0;
        for (d, u) in fruits {
            undated += u;
            for (k, v) in d {
                *days.entry(k).or_default() += v;
            }
        }
        Ok((days, undated))
    }
}

impl SegmentCollector for DaySegment {
    type Fruit = (BTreeMap<NaiveDate, u64>, u64);

    fn collect(&mut self, doc: DocId, _: Score) {
        let ts = self.column.first(doc);
        self.add(ts);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.clear();
        buffer.resize(docs.len(), None);
        self.column.first_vals(docs, &mut buffer);
        for ts in &buffer {
            self.add(*ts);
        }
        self.buffer = buffer;
    }

    fn harvest(self) -> Self::Fruit {
        let mut days = BTreeMap::new();
        let mut undated = self.undated;
        let mut put = |day: i64, n: u64| match day_date(day) {
            Some(d) => *days.entry(d).or_default() += n,
            None => undated += n,
        };
        match self.slots {
            DaySlots::Dense { first, counts } => {
                for (i, n) in counts.into_iter().enumerate() {
                    if n > 0 {
                        put(first + i as i64, n);
                    }
                }
            }
            DaySlots::Sparse(map) => {
                for (day, n) in map {
                    put(day, n);
                }
            }
        }
        (days, undated)
    }
}

/// Matched articles per day and undated ones; with `dedup`, duplicate
/// groups instead, each counted once, on the day of its earliest matched article.
fn day_counts(
    searcher: &tantivy::Searcher,
    executor: &Executor,
    query: &dyn Query,
    dedup: Option<&std::sync::Arc<crate::dedup::Aliases>>,
) -> Result<DayCounts> {
    let Some(aliases) = dedup else {
        return Ok(collect(searcher, executor, query, &DayCounter)?);
    };
    let groups = crate::dedup::collapse::oldest_first_groups(searcher, executor, query, aliases)?;
    let mut days = BTreeMap::new();
    let mut undated = 0;
    for g in groups.values() {
        match g
            .earliest
            .and_then(|ts| tokyo().timestamp_opt(ts, 0).single())
        {
            Some(t) => *days.entry(t.date_naive()).or_default() += 1,
            None => undated += 1,
        }
    }
    Ok((days, undated))
}

/// The duplicate groups with a dated article in each bucket (one count per
/// group and bucket): a group counted in a bucket's `count`, on the day of
/// its earliest matched article, has an article there, so it is counted in
/// the bucket's total as well, and the ratio never exceeds 1.
fn groups_per_bucket(
    searcher: &tantivy::Searcher,
    executor: &Executor,
    query: &dyn Query,
    aliases: &std::sync::Arc<crate::dedup::Aliases>,
    interval: Interval,
) -> Result<BTreeMap<NaiveDate, u64>> {
    let collector = crate::dedup::collapse::GroupTimesCollector {
        aliases: aliases.clone(),
    };
    let groups = collect(searcher, executor, query, &collector)?;
    let mut out = BTreeMap::new();
    let mut buckets = Vec::new();
    for times in groups.values() {
        buckets.clear();
        buckets.extend(
            times
                .iter()
                .filter_map(|&ts| day_date(day_number(ts)))
                .map(|d| interval.bucket(d)),
        );
        buckets.sort_unstable();
        buckets.dedup();
        for &b in &buckets {
            *out.entry(b).or_default() += 1;
        }
    }
    Ok(out)
}

impl super::Engine {
    /// Matched articles per day; the whole index's from the cache.
    fn days_matched(
        &self,
        searcher: &tantivy::Searcher,
        query: &dyn Query,
        dedup: bool,
    ) -> Result<std::sync::Arc<DayCounts>> {
        let executor = self.searches.executor(searcher);
        let aliases = dedup.then(|| self.aliases());
        let count = || day_counts(searcher, &executor, query, aliases.as_ref());
        if query.is::<AllQuery>() {
            return self.whole_index.days(searcher, dedup, count);
        }
        Ok(std::sync::Arc::new(count()?))
    }

    /// [`groups_per_bucket`]; the whole index's from the cache.
    fn groups_per_bucket(
        &self,
        searcher: &tantivy::Searcher,
        query: &dyn Query,
        interval: Interval,
    ) -> Result<std::sync::Arc<BTreeMap<NaiveDate, u64>>> {
        let executor = self.searches.executor(searcher);
        let aliases = self.aliases();
        let count = || groups_per_bucket(searcher, &executor, query, &aliases, interval);
        if query.is::<AllQuery>() {
            return self.whole_index.group_buckets(searcher, interval, count);
        }
        Ok(std::sync::Arc::new(count()?))
    }

    /// Matching articles per bucket, with all articles per bucket.
    pub fn timeline(&self, r: &SearchRequest, interval: Interval) -> Result<Timeline> {
        let _running = self.searches.enter();
        let searcher = self.searcher();
        let query = self.build_query(r)?;
        let matched = self.days_matched(&searcher, query.as_ref(), r.dedup)?;
        // The denominator: same dates, nothing else.
        let dates_only = SearchRequest {
            from: r.from,
            to: r.to,
            ..SearchRequest::default()
        };
        let all_query = self.build_query(&dates_only)?;
        let (all_days, all_groups);
        let all = if r.dedup {
            all_groups = self.groups_per_bucket(&searcher, all_query.as_ref(), interval)?;
            &*all_groups
        } else {
            all_days = self.days_matched(&searcher, all_query.as_ref(), false)?;
            &all_days.0
        };
        Ok(Timeline {
            interval,
            buckets: series(interval, r, &matched.0, all)?,
            undated: matched.1,
            index: self.index_info(&searcher),
        })
    }
}

/// The most buckets a timeline has (a day each for 270 years).
pub const MAX_BUCKETS: u64 = 100_000;

/// The buckets of a timeline from matched and all articles per day (or per
/// bucket start): from `r.from` (else the first match) to `r.to` (else the
/// last), empty buckets as zeros. Every backend builds its buckets here.
/// More than [`MAX_BUCKETS`] is an error that says so (never a cut series).
pub fn series(
    interval: Interval,
    r: &SearchRequest,
    matched: &BTreeMap<NaiveDate, u64>,
    all: &BTreeMap<NaiveDate, u64>,
) -> Result<Vec<Bucket>> {
    {
        let bucketize = |days: &BTreeMap<NaiveDate, u64>| {
            let mut out: BTreeMap<NaiveDate, u64> = BTreeMap::new();
            for (d, n) in days {
                *out.entry(interval.bucket(*d)).or_default() += n;
            }
            out
        };
        let matched = bucketize(matched);
        let all = bucketize(all);
        let first = r
            .from
            .map(|d| interval.bucket(d))
            .or_else(|| matched.keys().next().copied());
        let last =
            r.to.map(|d| interval.bucket(d))
                .or_else(|| matched.keys().next_back().copied());
        let mut buckets = Vec::new();
        if let (Some(mut d), Some(last)) = (first, last) {
            let n = interval.count(d, last);
            if n > MAX_BUCKETS {
                return Err(Error::param(
                    "interval",
                    format!(
                        "a timeline by {} from {d} to {last} has {n} buckets, more than the \
                         {MAX_BUCKETS} one answer holds: use a longer interval, or `from` and `to`",
                        interval.name()
                    ),
                ));
            }
            while d <= last {
                let count = matched.get(&d).copied().unwrap_or(0);
                let total = all.get(&d).copied().unwrap_or(0);
                buckets.push(Bucket {
                    date: d.format("%Y-%m-%d").to_string(),
                    count,
                    total,
                    ratio: if total == 0 {
                        0.0
                    } else {
                        count as f64 / total as f64
                    },
                });
                match interval.next(d) {
                    Some(n) => d = n,
                    None => break,
                }
            }
        }
        Ok(buckets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_start_where_they_should() {
        let d = NaiveDate::from_ymd_opt(2024, 10, 31).unwrap();
        assert_eq!(Interval::Week.bucket(d).to_string(), "2024-10-28");
        assert_eq!(Interval::Month.bucket(d).to_string(), "2024-10-01");
        assert_eq!(Interval::Year.bucket(d).to_string(), "2024-01-01");
        assert!(Interval::parse("fortnight").is_err());
    }

    /// The day arithmetic of the collector agrees with chrono's Asia/Tokyo date,
    /// across midnight in Tokyo (15:00 UTC) and before 1970.
    #[test]
    fn bucket_counts_match_the_series_and_a_long_one_is_refused() {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let all: BTreeMap<NaiveDate, u64> = [(day("2024-01-31"), 2), (day("2025-03-02"), 1)].into();
        for interval in [
            Interval::Day,
            Interval::Week,
            Interval::Month,
            Interval::Year,
        ] {
            let r = SearchRequest::default();
            let buckets = series(interval, &r, &all, &all).unwrap();
            let n = interval.count(day("2024-01-31"), day("2025-03-02"));
            assert_eq!(buckets.len() as u64, n, "{interval:?}");
            assert_eq!(buckets.iter().map(|b| b.count).sum::<u64>(), 3);
        }
        let r = SearchRequest {
            from: Some(day("0001-01-01")),
            to: Some(day("9999-12-31")),
            ..SearchRequest::default()
        };
        let err = series(Interval::Day, &r, &all, &all)
            .unwrap_err()
            .to_string();
        assert!(err.contains("3652059 buckets"), "{err}");
        assert!(err.contains("longer interval"), "{err}");
        // by year, the same range is 9,999 buckets
        assert_eq!(series(Interval::Year, &r, &all, &all).unwrap().len(), 9999);
    }

    #[test]
    fn day_numbers_are_tokyo_dates() {
        let chrono_day = |ts: i64| tokyo().timestamp_opt(ts, 0).single().unwrap().date_naive();
        let midnight_tokyo = 1_730_386_800; // 2024-10-31T15:00:00Z = 2024-11-01 00:00 JST
        for ts in [
            midnight_tokyo - 1,
            midnight_tokyo,
            midnight_tokyo + 1,
            0,
            -1,
            -86_400 * 365 * 30 - 7,
            32_503_680_000,
        ] {
            assert_eq!(day_date(day_number(ts)), Some(chrono_day(ts)), "{ts}");
        }
        assert_eq!(
            day_date(day_number(midnight_tokyo)).unwrap().to_string(),
            "2024-11-01"
        );
        // Out of chrono's range: no date (counted as undated), no panic.
        assert_eq!(day_date(day_number(i64::MAX)), None);
    }
}
