//! Sparse sampling: what a phone would record (MODEL.md section 6).
//!
//! Bursts start at cumulative sums of Exponential(mean `beta_start`) inside the
//! trajectory's window and last Exponential(mean `beta_durations`), cut at the next start
//! and at the end; inside a burst, ping times are cumulative sums of Exponential(mean
//! `beta_ping`). Each ping time takes the last dense ping at or before it (keeping that
//! ping's timestamp and position); repeated picks drop. Horizontal accuracy is Pareto
//! with mean `ha` (minimum 8/15 block, capped at 10) or constant, and per-axis noise is
//! `N(0, ha_i / 1.515)` clipped to +-20 blocks.

use crate::mobility::params::ParamError;
use crate::mobility::rng::SimRng;
use crate::records::Ping;
use crate::roulette::roulette;
use rand::Rng;
use rand_distr::{Exp1, StandardNormal};
use serde::{Deserialize, Serialize};

/// Minimum horizontal accuracy of the Pareto prior, in blocks (8 m of 15 m blocks).
pub const HA_MIN: f64 = 8.0 / 15.0;
/// Conversion from horizontal accuracy to the per-axis noise standard deviation.
pub const HA_TO_SIGMA: f64 = 1.515;

/// A parameter given as a value, a `[low, high]` range drawn uniformly per agent, or
/// weighted values drawn per agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamSpec {
    /// The same value for every agent.
    Value(f64),
    /// Uniform in `[low, high]` per agent.
    Range([f64; 2]),
    /// One of `values`, with probabilities proportional to `weights`.
    Weighted {
        /// The values.
        values: Vec<f64>,
        /// Their (non-negative) weights.
        weights: Vec<f64>,
    },
}

impl ParamSpec {
    fn validate(&self, name: &str) -> Result<(), ParamError> {
        match self {
            ParamSpec::Value(v) if !v.is_finite() => Err(ParamError::new(name, v, "a finite number")),
            ParamSpec::Range([lo, hi]) if !(lo.is_finite() && hi.is_finite() && lo <= hi) => {
                Err(ParamError::new(name, format!("[{lo}, {hi}]"), "a range [low, high] with low <= high"))
            }
            ParamSpec::Weighted { values, weights } => {
                if values.is_empty() || values.len() != weights.len() {
                    return Err(ParamError::new(
                        name,
                        format!("{values:?}"),
                        "as many weights as values, at least one",
                    ));
                }
                if weights.iter().any(|w| !(*w >= 0.0 && w.is_finite())) || weights.iter().sum::<f64>() <= 0.0 {
                    return Err(ParamError::new(name, format!("{weights:?}"), "non-negative weights, not all zero"));
                }
                if values.iter().any(|v| !v.is_finite()) {
                    return Err(ParamError::new(name, format!("{values:?}"), "finite values"));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The smallest value this spec can produce.
    fn min(&self) -> f64 {
        match self {
            ParamSpec::Value(v) => *v,
            ParamSpec::Range([lo, _]) => *lo,
            ParamSpec::Weighted { values, weights } => {
                values.iter().zip(weights).filter(|(_, w)| **w > 0.0).map(|(v, _)| *v).fold(f64::INFINITY, f64::min)
            }
        }
    }

    /// Draws one value.
    pub fn draw(&self, rng: &mut SimRng) -> f64 {
        match self {
            ParamSpec::Value(v) => *v,
            ParamSpec::Range([lo, hi]) => lo + (hi - lo) * rng.random::<f64>(),
            ParamSpec::Weighted { values, weights } => {
                let total: f64 = weights.iter().sum();
                let u = rng.random::<f64>() * total;
                // Validated: non-empty, with a positive weight.
                roulette(u, values.iter().zip(weights), |(_, w)| **w).map_or(values[0], |p| *p.item.0)
            }
        }
    }
}

/// Sampling configuration: per-agent parameter specs and coverage targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamplingConfig {
    /// Mean minutes between burst starts (absent with `beta_durations`: one burst).
    pub beta_start: Option<ParamSpec>,
    /// Mean burst duration in minutes.
    pub beta_durations: Option<ParamSpec>,
    /// Mean minutes between pings inside a burst (7 once [`SamplingConfig::resolved`]).
    pub beta_ping: Option<ParamSpec>,
    /// Mean horizontal accuracy in blocks (11.5/15, i.e. 11.5 m on 15 m blocks); 0 means no noise.
    pub ha: ParamSpec,
    /// Draw each ping's accuracy from the Pareto prior (true) or use `ha` as is.
    pub pareto_ha: bool,
    /// Target coverage `q = beta_durations / beta_start`, deriving the missing one.
    pub q: Option<ParamSpec>,
    /// Target ping frequency `f = beta_durations / (beta_start * beta_ping)`.
    pub f: Option<ParamSpec>,
    /// Cap of a ping's horizontal accuracy in blocks (10).
    pub ha_cap: f64,
    /// Clip of the per-axis noise in blocks (20).
    pub noise_clip: f64,
    /// One burst over the whole window (the reference's `sample_trajectory` without
    /// burst parameters) instead of the default bursts; excludes `beta_start`,
    /// `beta_durations` and `q`.
    pub one_burst: bool,
}

/// Mean minutes between burst starts of a run's default phone: the reference's typical
/// sparse phone (beta_start 300, beta_durations 55, beta_ping 7 minutes, ha 11.5 m over
/// 15 m blocks), applied by [`SamplingConfig::resolved`].
pub const DEFAULT_BETA_START: f64 = 300.0;
/// Mean burst duration in minutes of the default phone.
pub const DEFAULT_BETA_DURATIONS: f64 = 55.0;
/// Mean minutes between pings in a burst of the default phone.
pub const DEFAULT_BETA_PING: f64 = 7.0;
/// Mean horizontal accuracy in blocks of the default phone (11.5 m over 15 m blocks).
pub const DEFAULT_HA: f64 = 11.5 / 15.0;

impl Default for SamplingConfig {
    fn default() -> Self {
        SamplingConfig {
            beta_start: None,
            beta_durations: None,
            beta_ping: None,
            ha: ParamSpec::Value(DEFAULT_HA),
            pareto_ha: true,
            q: None,
            f: None,
            ha_cap: 10.0,
            noise_clip: 20.0,
            one_burst: false,
        }
    }
}

/// The sampling parameters of one agent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingParams {
    /// Mean minutes between burst starts, `None` for one burst over the whole trajectory.
    pub beta_start: Option<f64>,
    /// Mean burst duration in minutes (`None` with `beta_start`).
    pub beta_durations: Option<f64>,
    /// Mean minutes between pings in a burst.
    pub beta_ping: f64,
    /// Mean horizontal accuracy in blocks.
    pub ha: f64,
    /// Pareto-distributed accuracy per ping.
    pub pareto_ha: bool,
    /// Cap of a ping's accuracy.
    pub ha_cap: f64,
    /// Clip of the noise per axis.
    pub noise_clip: f64,
}

fn positive(name: &str, v: f64) -> Result<f64, ParamError> {
    if v > 0.0 && v.is_finite() {
        Ok(v)
    } else {
        Err(ParamError::new(name, v, "a positive number of minutes"))
    }
}

impl SamplingConfig {
    /// The configuration with the defaults a run applies to what was left out: bursts of
    /// [`DEFAULT_BETA_START`] / [`DEFAULT_BETA_DURATIONS`] when none of `beta_start`,
    /// `beta_durations`, `q`, `f` is given (and not `one_burst`), and
    /// [`DEFAULT_BETA_PING`] when neither `beta_ping` nor `f` is given. Every value a
    /// run uses is then explicit (what its manifest records).
    ///
    /// ```
    /// use gardencity::sampling::{ParamSpec, SamplingConfig};
    /// let c = SamplingConfig::default().resolved();
    /// assert_eq!(c.beta_start, Some(ParamSpec::Value(300.0)));
    /// assert_eq!(c.beta_ping, Some(ParamSpec::Value(7.0)));
    /// let one = SamplingConfig { one_burst: true, ..SamplingConfig::default() }.resolved();
    /// assert_eq!(one.beta_start, None);
    /// ```
    pub fn resolved(&self) -> SamplingConfig {
        let mut c = self.clone();
        let none_given = c.beta_start.is_none() && c.beta_durations.is_none() && c.q.is_none() && c.f.is_none();
        if none_given && !c.one_burst {
            c.beta_start = Some(ParamSpec::Value(DEFAULT_BETA_START));
            c.beta_durations = Some(ParamSpec::Value(DEFAULT_BETA_DURATIONS));
        }
        if c.beta_ping.is_none() && c.f.is_none() {
            c.beta_ping = Some(ParamSpec::Value(DEFAULT_BETA_PING));
        }
        c
    }

    /// Checks the specs and that the given betas and targets determine the parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        for (name, spec) in [
            ("beta_start", &self.beta_start),
            ("beta_durations", &self.beta_durations),
            ("beta_ping", &self.beta_ping),
            ("q", &self.q),
            ("f", &self.f),
        ] {
            if let Some(s) = spec {
                s.validate(name)?;
                if s.min() <= 0.0 {
                    return Err(ParamError::new(name, s.min(), "positive values"));
                }
            }
        }
        self.ha.validate("ha")?;
        let ha_min = self.ha.min();
        if ha_min < 0.0 {
            return Err(ParamError::new("ha", ha_min, "a non-negative accuracy in blocks"));
        }
        if self.pareto_ha && ha_min != 0.0 && ha_min <= HA_MIN {
            return Err(ParamError::new(
                "ha",
                ha_min,
                format!("more than {HA_MIN:.4} blocks (8 m) with the Pareto prior, or 0 for no noise"),
            ));
        }
        if self.ha_cap.is_nan() || self.ha_cap <= 0.0 {
            return Err(ParamError::new("ha_cap", self.ha_cap, "a positive number of blocks"));
        }
        if self.noise_clip.is_nan() || self.noise_clip < 0.0 {
            return Err(ParamError::new("noise_clip", self.noise_clip, "a non-negative number of blocks"));
        }
        if self.one_burst {
            if let Some(name) =
                [("beta_start", &self.beta_start), ("beta_durations", &self.beta_durations), ("q", &self.q)]
                    .into_iter()
                    .find_map(|(n, s)| s.is_some().then_some(n))
            {
                return Err(ParamError::new(name, "given", "absent with one_burst (one burst over the whole window)"));
            }
        }
        // Which combinations determine the betas.
        let (bs, bd, bp) = (self.beta_start.is_some(), self.beta_durations.is_some(), self.beta_ping.is_some());
        let (q, f) = (self.q.is_some(), self.f.is_some());
        let given = bs as u8 + bd as u8 + bp as u8 + q as u8 + f as u8;
        let ok = match (q, f) {
            (false, false) => bs == bd,
            (true, false) => bs ^ bd,
            (false, true) => (bs as u8 + bd as u8 + bp as u8) == 2 && (bs || bd),
            (true, true) => (bs ^ bd) && !bp,
        };
        if !ok {
            return Err(ParamError::new(
                "sampling",
                format!("{given} of beta_start, beta_durations, beta_ping, q, f"),
                "beta_start and beta_durations together (or neither: one burst); or q with exactly one of them; \
                 or f with two of the three betas; or q and f with exactly one of beta_start/beta_durations",
            ));
        }
        Ok(())
    }

    /// Draws one agent's parameters, deriving the missing beta from the targets and
    /// capping `beta_ping` at `beta_durations`.
    pub fn draw(&self, rng: &mut SimRng) -> Result<SamplingParams, ParamError> {
        let d = |s: &Option<ParamSpec>, rng: &mut SimRng| s.as_ref().map(|s| s.draw(rng));
        let mut bs = d(&self.beta_start, rng);
        let mut bd = d(&self.beta_durations, rng);
        let mut bp = d(&self.beta_ping, rng);
        let q = d(&self.q, rng);
        let f = d(&self.f, rng);
        if let Some(q) = q {
            match (bs, bd) {
                (Some(s), None) => bd = Some(q * s),
                (None, Some(dd)) => bs = Some(dd / q),
                _ => {}
            }
        }
        if let Some(f) = f {
            match (bs, bd, bp) {
                (Some(s), Some(dd), None) => bp = Some(dd / (s * f)),
                (None, Some(dd), Some(p)) => bs = Some(dd / (f * p)),
                (Some(s), None, Some(p)) => bd = Some(f * s * p),
                _ => {}
            }
        }
        let bs = bs.map(|v| positive("beta_start", v)).transpose()?;
        let bd = bd.map(|v| positive("beta_durations", v)).transpose()?;
        let mut bp = positive("beta_ping", bp.unwrap_or(DEFAULT_BETA_PING))?;
        if let Some(dd) = bd {
            bp = bp.min(dd);
        }
        let ha = self.ha.draw(rng);
        if self.pareto_ha && ha != 0.0 && ha <= HA_MIN {
            return Err(ParamError::new("ha", ha, format!("more than {HA_MIN:.4} blocks with the Pareto prior")));
        }
        Ok(SamplingParams {
            beta_start: bs,
            beta_durations: bd,
            beta_ping: bp,
            ha,
            pareto_ha: self.pareto_ha,
            ha_cap: self.ha_cap,
            noise_clip: self.noise_clip,
        })
    }
}

impl SamplingParams {
    /// Expected fraction of time covered by bursts, `q = beta_durations / beta_start`.
    pub fn coverage(&self) -> Option<f64> {
        Some(self.beta_durations? / self.beta_start?)
    }

    /// Whether a ping's accuracy takes a uniform draw (the Pareto prior).
    #[inline]
    fn draws_uniform(&self) -> bool {
        self.ha != 0.0 && self.pareto_ha
    }

    /// The exponent `-1 / shape` of the Pareto accuracy, shape `ha / (ha - HA_MIN)`.
    #[inline]
    fn pareto_exponent(&self) -> f64 {
        let alpha = self.ha / (self.ha - HA_MIN);
        -1.0 / alpha
    }

    /// The accuracy at `v` in (0, 1], given as `ln_v = ln v`: the inverse CDF of
    /// Pareto(scale `HA_MIN`, shape `ha / (ha - HA_MIN)`), `HA_MIN v^exponent`, capped;
    /// `exponent` is [`SamplingParams::pareto_exponent`], worked out once per sampler.
    /// The power is `exp(exponent ln v)`: configurations sharing a sampler share the
    /// logarithm, and each takes one `exp` (a third of a `pow`).
    #[inline]
    fn pareto_ha_with(&self, ln_v: f64, exponent: f64) -> f64 {
        (HA_MIN * (exponent * ln_v).exp()).min(self.ha_cap)
    }

    /// The per-axis noise of a ping of accuracy `ha` from standard normals `zx`, `zy`.
    #[inline]
    fn noise(&self, ha: f64, zx: f64, zy: f64) -> (f64, f64) {
        let sigma = ha / HA_TO_SIGMA;
        ((sigma * zx).clamp(-self.noise_clip, self.noise_clip), (sigma * zy).clamp(-self.noise_clip, self.noise_clip))
    }

    /// Which draws each ping takes beyond its time, when that is the same for every
    /// ping; `None` when it may differ from ping to ping.
    fn draw_class(&self) -> Option<PingDraws> {
        if self.ha == 0.0 {
            Some(PingDraws::None)
        } else if self.pareto_ha {
            // ha > HA_MIN gives a shape > 0, so an accuracy >= HA_MIN before the cap.
            (self.ha > HA_MIN && self.ha_cap > 0.0).then_some(PingDraws::ParetoAndNoise)
        } else {
            (self.ha > 0.0).then_some(PingDraws::Noise)
        }
    }

    /// Whether a sampler of `self` and one of `other`, fed the same stream, draw the
    /// same ping times and the same random values: the same bursts and ping gaps, and
    /// the same draws per ping. Their pings then differ only in accuracy and noise.
    pub fn shares_draws(&self, other: &SamplingParams) -> bool {
        let bits = |v: Option<f64>| v.map(f64::to_bits);
        self.draw_class().is_some()
            && self.draw_class() == other.draw_class()
            && bits(self.beta_start) == bits(other.beta_start)
            && bits(self.beta_durations) == bits(other.beta_durations)
            && self.beta_ping.to_bits() == other.beta_ping.to_bits()
    }
}

/// The random values a ping takes beyond its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PingDraws {
    /// None: no noise.
    None,
    /// A uniform (the Pareto accuracy) and two normals (the noise).
    ParetoAndNoise,
    /// Two normals (the noise of a constant accuracy).
    Noise,
}

/// The sparse sampling of one agent's trajectory as it is simulated (a
/// state machine fed the runs of a [`TrackSink`](crate::mobility::track::TrackSink)). Which ticks are sampled depends only on the
/// window, the tick grid and the sampling stream, so the ping times are drawn ahead, and
/// each sampled tick takes the position of the run it falls in: no dense trajectory is
/// needed. A ping time takes the last tick at or before it; a tick sampled twice is
/// kept once; pings after the trajectory's last tick take that tick.
///
/// A sampler may serve several configurations that share its draws
/// ([`SamplingParams::shares_draws`], a sweep over accuracies): each has an output slot,
/// and each ping time gives one ping per configuration, from the same random values.
#[derive(Debug, Clone)]
pub struct SparseSampler {
    /// The first configuration's parameters (their betas are every configuration's).
    p: SamplingParams,
    /// The first configuration's output slot.
    slot: usize,
    /// The other configurations sharing the draws, with their output slots.
    /// Their Pareto exponents ([`SamplingParams::pareto_exponent`]), then this one's.
    shared: Vec<(SamplingParams, usize, f64)>,
    exponent: f64,
    rng: SimRng,
    t0: i64,
    tick: i64,
    /// Window length in seconds.
    window: f64,
    /// Bursts: the start of the next burst, in seconds from `t0`.
    next_start: f64,
    /// The current burst: its start and duration in seconds from `t0`.
    burst: Option<(f64, f64)>,
    /// Seconds from the burst's start to its last ping time.
    rel: f64,
    /// One burst over the window: whether it was started.
    started: bool,
    /// The last tick drawn (for repeated picks).
    last_drawn: Option<u64>,
    /// The last tick a ping was taken at.
    last_taken: Option<u64>,
    /// The next sampled tick, with its accuracy and noise, drawn ahead.
    pending: Option<Pick>,
}

/// A sampled tick with the first configuration's accuracy and noise offsets, and the
/// random values they came from (for the configurations sharing the draws).
#[derive(Debug, Clone, Copy)]
struct Pick {
    tick: u64,
    ha: f64,
    dx: f64,
    dy: f64,
    /// The logarithm of the uniform in (0, 1] of a Pareto accuracy.
    ln_v: f64,
    /// The standard normals of the noise.
    zx: f64,
    zy: f64,
}

impl SparseSampler {
    /// A sampler of the window `[t0, t_end)` of ticks `tick` seconds apart, drawing from
    /// `rng`, whose pings go to output slot 0.
    pub fn new(p: SamplingParams, rng: SimRng, t0: i64, tick: i64, t_end: i64) -> SparseSampler {
        Self::with_slot(0, p, rng, t0, tick, t_end)
    }

    /// [`SparseSampler::new`] with its pings going to output slot `slot`.
    pub fn with_slot(slot: usize, p: SamplingParams, mut rng: SimRng, t0: i64, tick: i64, t_end: i64) -> Self {
        let next_start = match (p.beta_start, p.beta_durations) {
            (Some(bs), Some(_)) => rng.sample::<f64, _>(Exp1) * bs * 60.0,
            _ => 0.0,
        };
        let mut s = SparseSampler {
            p,
            slot,
            shared: Vec::new(),
            exponent: p.pareto_exponent(),
            rng,
            t0,
            tick: tick.max(1),
            window: (t_end - t0) as f64,
            next_start,
            burst: None,
            rel: 0.0,
            started: false,
            last_drawn: None,
            last_taken: None,
            pending: None,
        };
        s.advance();
        s
    }

    /// Draws the next sampled tick (none once the window is done).
    fn advance(&mut self) {
        self.pending = None;
        loop {
            if let Some((start, dur)) = self.burst {
                let e: f64 = self.rng.sample(Exp1);
                self.rel += e * self.p.beta_ping * 60.0;
                if self.rel >= dur {
                    self.burst = None;
                    continue;
                }
                let t = floor_i64(self.t0 as f64 + start + self.rel);
                let k = ((t - self.t0) / self.tick) as u64;
                if self.last_drawn == Some(k) {
                    continue;
                }
                self.last_drawn = Some(k);
                let (ln_v, ha) = if self.p.draws_uniform() {
                    let ln_v = (1.0 - self.rng.random::<f64>()).ln();
                    (ln_v, self.p.pareto_ha_with(ln_v, self.exponent))
                } else {
                    (0.0, self.p.ha)
                };
                let (mut zx, mut zy, mut dx, mut dy) = (0.0, 0.0, 0.0, 0.0);
                if ha > 0.0 {
                    zx = self.rng.sample(StandardNormal);
                    zy = self.rng.sample(StandardNormal);
                    (dx, dy) = self.p.noise(ha, zx, zy);
                }
                self.pending = Some(Pick { tick: k, ha, dx, dy, ln_v, zx, zy });
                return;
            }
            match (self.p.beta_start, self.p.beta_durations) {
                (Some(bs), Some(bd)) => {
                    if self.next_start >= self.window {
                        return;
                    }
                    let start = self.next_start;
                    let dur = self.rng.sample::<f64, _>(Exp1) * bd * 60.0;
                    self.next_start = start + self.rng.sample::<f64, _>(Exp1) * bs * 60.0;
                    let end = (start + dur).min(self.next_start).min(self.window);
                    if end - start > 0.0 {
                        (self.burst, self.rel) = (Some((start, end - start)), 0.0);
                    }
                }
                _ => {
                    if self.started {
                        return;
                    }
                    self.started = true;
                    if self.window > 0.0 {
                        (self.burst, self.rel) = (Some((0.0, self.window)), 0.0);
                    }
                }
            }
        }
    }

    /// About how many pings this sampler takes over `seconds` of its window (the mean
    /// for its parameters, a little over): a capacity hint, no part of the model.
    pub fn expected_pings_in(&self, seconds: f64) -> usize {
        let gap = self.p.beta_ping.max(1e-9) * 60.0;
        let busy = match (self.p.beta_start, self.p.beta_durations) {
            // A burst lasts the shorter of its duration and the gap to the next start.
            (Some(bs), Some(bd)) => bd / (bs + bd),
            _ => 1.0,
        };
        let seconds = seconds.clamp(0.0, self.window.max(0.0));
        let mean = seconds / gap * busy;
        (mean * 1.25).min(seconds / self.tick as f64 + 1.0) as usize + 16
    }

    /// Lets the configuration `p` (output slot `slot`) share this sampler's draws if it
    /// can ([`SamplingParams::shares_draws`]), and says whether it does. Its pings are
    /// then those a sampler of it alone, fed the same stream, would take.
    pub fn share(&mut self, slot: usize, p: SamplingParams) -> bool {
        let shares = self.p.shares_draws(&p);
        if shares {
            self.shared.push((p, slot, p.pareto_exponent()));
        }
        shares
    }

    /// The output slots of this sampler's configurations.
    pub fn slots(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(self.slot).chain(self.shared.iter().map(|&(_, slot, _)| slot))
    }

    /// The next tick this sampler takes a ping at (`u64::MAX` when none is left): a run
    /// ending at or before it need not be fed.
    #[inline]
    pub fn next_tick(&self) -> u64 {
        self.pending.map_or(u64::MAX, |p| p.tick)
    }

    /// Takes the pending pick at tick `k` from `ping`, one ping per configuration.
    #[inline]
    fn take(&mut self, pick: Pick, k: u64, ping: &Ping, outs: &mut [Vec<Ping>]) {
        let timestamp = self.t0 + k as i64 * self.tick;
        let at = |ha: f64, (dx, dy): (f64, f64)| Ping { timestamp, ha, x: ping.x + dx, y: ping.y + dy, ..*ping };
        outs[self.slot].push(at(pick.ha, (pick.dx, pick.dy)));
        for &(ref p, slot, exponent) in &self.shared {
            // The same class of draws as the first configuration (checked by `share`).
            let ha = if p.draws_uniform() { p.pareto_ha_with(pick.ln_v, exponent) } else { p.ha };
            let noise = if ha > 0.0 { p.noise(ha, pick.zx, pick.zy) } else { (0.0, 0.0) };
            outs[slot].push(at(ha, noise));
        }
        self.last_taken = Some(k);
    }

    /// Feeds ticks `first .. first + count` at `ping`, appending their sparse pings to
    /// `outs` (indexed by output slot).
    #[inline]
    pub fn feed(&mut self, first: u64, count: u64, ping: &Ping, outs: &mut [Vec<Ping>]) {
        let end = first + count;
        while let Some(pick) = self.pending {
            if pick.tick >= end {
                break;
            }
            self.take(pick, pick.tick, ping, outs);
            self.advance();
        }
    }

    /// Ends the trajectory, whose last tick is `last` at `ping`, once every run holding
    /// a sampled tick was fed: a ping time past it takes that tick (once).
    pub fn finish(&mut self, last: u64, ping: &Ping, outs: &mut [Vec<Ping>]) {
        if let Some(pick) = self.pending.take() {
            if self.last_taken != Some(last) {
                self.take(pick, last, ping, outs);
            }
        }
    }
}

/// `v.floor() as i64` without the call to libm's `floor` (baseline x86-64 has no
/// rounding instruction): the same value for every `f64`, NaN and infinities included.
#[inline]
fn floor_i64(v: f64) -> i64 {
    let i = v as i64;
    i.saturating_sub(((i as f64) > v) as i64)
}

/// Samples sparse pings from dense pings `tick` seconds apart over the window
/// `[first ping, t_end)`, appending to `out` (a [`SparseSampler`] fed one tick at a
/// time). Sparse pings keep the dense ping's timestamp, position (plus noise) and location.
pub fn sample_sparse(dense: &[Ping], tick: i64, t_end: i64, p: &SamplingParams, rng: SimRng, out: &mut Vec<Ping>) {
    let Some(first) = dense.first() else { return };
    let mut s = SparseSampler::new(*p, rng, first.timestamp, tick, t_end);
    let outs = std::slice::from_mut(out);
    for (k, ping) in dense.iter().enumerate() {
        s.feed(k as u64, 1, ping, outs);
    }
    if let Some(last) = dense.last() {
        s.finish(dense.len() as u64 - 1, last, outs);
    }
}

#[cfg(test)]
mod tests {
    use super::floor_i64;

    #[test]
    fn floor_i64_is_floor() {
        let cases = [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.0,
            -1.0,
            1.5,
            -1.5,
            1_704_085_200.999_999_9,
            -1_704_085_200.25,
            9.3e18,
            -9.3e18,
            1e300,
            -1e300,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            4_503_599_627_370_495.5,
            -4_503_599_627_370_495.5,
        ];
        for v in cases {
            assert_eq!(floor_i64(v), v.floor() as i64, "{v}");
        }
    }
}
