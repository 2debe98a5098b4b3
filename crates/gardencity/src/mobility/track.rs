//! The dense trajectory as runs of ticks: what movement hands on and what sparse
//! sampling and the dense output consume, so that no one needs one ping per tick.
//!
//! A run is `count` consecutive ticks from tick `first` (tick `k` is at Unix time
//! `t0 + k * tick`) at one position and location: a stay's still ticks make one run, a
//! move or a travel tick a run of one.

use crate::records::Ping;

/// A consumer of a dense trajectory given as runs, in tick order, the first from tick 0.
pub trait TrackSink {
    /// Ticks `first .. first + count` (`count` at least 1), `tick` seconds apart, all at
    /// `ping` (whose timestamp is that of tick `first`).
    fn run(&mut self, first: u64, count: u64, tick: i64, ping: &Ping);

    /// The trajectory ended: its last tick is `last`, at `ping` (the position and
    /// location of the last run). Called once, after the last run.
    fn end(&mut self, _last: u64, _ping: &Ping) {}
}

/// Dense pings: one per tick.
impl TrackSink for Vec<Ping> {
    #[inline]
    fn run(&mut self, _first: u64, count: u64, tick: i64, ping: &Ping) {
        let mut p = *ping;
        for _ in 0..count {
            self.push(p);
            p.timestamp += tick;
        }
    }
}
