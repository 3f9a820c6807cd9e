//! Counts over time (`/timeline`): matching articles per day, week, month or
//! year, next to all articles of that bucket, so a rise in coverage can be
//! told from a rise in volume. Dates are Asia/Tokyo; empty buckets are zeros.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, Months, NaiveDate, TimeZone};
use serde::Serialize;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query};
use tantivy::{DocId, Score, SegmentReader};
use utoipa::ToSchema;

use super::{IndexInfo, SearchRequest};
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
    /// All articles of the bucket (same date range, no query or entity filter).
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

struct DaySegment {
    column: Column<i64>,
    days: BTreeMap<NaiveDate, u64>,
    undated: u64,
}

impl Collector for DayCounter {
    type Fruit = (BTreeMap<NaiveDate, u64>, u64);
    type Child = DaySegment;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<DaySegment> {
        Ok(DaySegment {
            column: segment.fast_fields().i64("published")?,
            days: BTreeMap::new(),
            undated: 0,
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
        match self
            .column
            .first(doc)
            .and_then(|ts| tokyo().timestamp_opt(ts, 0).single())
        {
            Some(t) => *self.days.entry(t.date_naive()).or_default() += 1,
            None => self.undated += 1,
        }
    }

    fn harvest(self) -> Self::Fruit {
        (self.days, self.undated)
    }
}

/// Matched articles per day and undated ones; with `dedup`, duplicate
/// groups instead, each counted once, on the day of its earliest matched article.
fn day_counts(
    searcher: &tantivy::Searcher,
    query: &dyn Query,
    dedup: bool,
) -> Result<(BTreeMap<NaiveDate, u64>, u64)> {
    if !dedup {
        return Ok(searcher.search(query, &DayCounter)?);
    }
    use crate::dedup::collapse::{GroupCollector, Rank};
    let groups = searcher.search(query, &GroupCollector { rank: Rank::Oldest })?;
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

impl super::Engine {
    /// Matching articles per bucket, with all articles per bucket.
    pub fn timeline(&self, r: &SearchRequest, interval: Interval) -> Result<Timeline> {
        let searcher = self.searcher();
        let query = self.build_query(r)?;
        let (matched, undated) = day_counts(&searcher, query.as_ref(), r.dedup)?;
        // The denominator: same dates, nothing else.
        let dates_only = SearchRequest {
            from: r.from,
            to: r.to,
            ..SearchRequest::default()
        };
        let all_query: Box<dyn Query> = if r.from.is_some() || r.to.is_some() {
            self.build_query(&dates_only)?
        } else {
            Box::new(BooleanQuery::new(vec![(
                Occur::Must,
                Box::new(AllQuery) as Box<dyn Query>,
            )]))
        };
        let (all, _) = day_counts(&searcher, all_query.as_ref(), r.dedup)?;
        Ok(Timeline {
            interval,
            buckets: series(interval, r, &matched, &all),
            undated,
            index: self.index_info(&searcher),
        })
    }
}

/// The buckets of a timeline from matched and all articles per day (or per
/// bucket start): from `r.from` (else the first match) to `r.to` (else the
/// last), empty buckets as zeros. Every backend builds its buckets here.
pub fn series(
    interval: Interval,
    r: &SearchRequest,
    matched: &BTreeMap<NaiveDate, u64>,
    all: &BTreeMap<NaiveDate, u64>,
) -> Vec<Bucket> {
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
            while d <= last && buckets.len() < 100_000 {
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
        buckets
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
}
