//! Minute-level movement: the dense trajectory and its ground-truth diary (MODEL.md section 5).
//!
//! Inside its destination an agent stays put with the type's still probability, else
//! takes a Gaussian step redrawn until it lands inside the building. Stays are
//! event-driven: the still ticks before the next move are one geometric draw, and the
//! trajectory is handed on as runs of ticks (see [`super::track`]), never tick by tick. Otherwise it
//! travels along a polyline planned once per destination: from its position, through
//! the door point of the building it leaves, along street-cell centres of a shortest
//! street path to the destination's door cell, ending at the door point (a trip
//! redirected on the way starts at the centre of the street cell under the agent).
//! Every travel tick starts from the current point, projected onto the polyline
//! (arc length `s`, signed offset `o`, as shapely's `project` does); then
//! `s += N(v dt, sd)`, `o = 0.7 o + N(0, sd)` with `sd = 0.5 dt / 1.96 * sqrt(dt)`; past
//! the end the point is the door point. A step that leaves the path's blocks and the
//! destination is drawn again from the rejected `(s, o)`, as the reference does.
//!
//! The time window is half-open: one dense ping per tick from the start (the start
//! ping included), none at or after the end, and every ping inside exactly one diary
//! entry with the same location.

use super::epr::push_merged;
use super::params::MobilityParams;
use super::rng::SimRng;
use super::track::TrackSink;
use crate::city::{BuildingIdx, Cell, City, Point, StreetIdx};
use crate::records::{DiaryEntry, Ping};
use crate::routing::{RouteScratch, Router, RoutingError};
use rand::Rng;
use rand_distr::StandardNormal;

/// A dense trajectory under construction, with the per-thread buffers it reuses.
#[derive(Debug)]
pub struct TrajectoryBuilder {
    scratch: RouteScratch,
    path: Vec<StreetIdx>,
    /// The current trip's polyline.
    line: Polyline,
    /// Generation stamps marking the current trip's street cells, per grid block.
    stamps: Vec<u32>,
    generation: u32,
}

/// Routes remembered per agent.
const ROUTE_CACHE: usize = 64;

/// The trip in progress (its polyline and path cells are in the builder's buffers).
#[derive(Debug, Clone, Copy)]
struct Trip {
    dest: BuildingIdx,
    origin: Option<BuildingIdx>,
}

/// Where one agent's movement stands between two blocks of time (see
/// [`TrajectoryBuilder::advance`]): its movement stream, position, tick, and the
/// destination entry it is following. Small: a population keeps one per agent.
#[derive(Debug, Clone)]
pub struct Walker {
    /// The movement stream.
    rng: SimRng,
    pos: Point,
    /// The last tick simulated (0 once started).
    k: u64,
    /// The building `pos` is known to lie in.
    inside: Option<BuildingIdx>,
    /// The destination being followed and its ticks left.
    entry: Option<(BuildingIdx, u64)>,
    started: bool,
    done: bool,
    t0: i64,
    t_end: i64,
    tick: i64,
    /// The last tick of the window.
    last: u64,
    /// This agent's routes so far: agents mostly travel between the same few places.
    routes: RouteCache,
}

/// Routes remembered for one agent, `(from, to, start, len)` into `cells` (the router is
/// deterministic, so the paths are the same either way).
#[derive(Debug, Clone, Default)]
struct RouteCache {
    routes: Vec<(StreetIdx, StreetIdx, u32, u32)>,
    cells: Vec<StreetIdx>,
}

impl Walker {
    /// A walker at `start` at Unix time `t0`, for the window `[t0, t_end)` of ticks of
    /// `p.dt` minutes, drawing from `rng` (the agent's movement stream).
    pub fn new(start: Point, t0: i64, t_end: i64, p: &MobilityParams, rng: SimRng) -> Walker {
        let tick = p.tick_seconds();
        Walker {
            rng,
            pos: start,
            k: 0,
            inside: None,
            entry: None,
            started: false,
            // An empty window has no tick.
            done: t0 >= t_end,
            t0,
            t_end,
            tick,
            last: if t0 < t_end { ((t_end - 1 - t0) / tick) as u64 } else { 0 },
            routes: RouteCache::default(),
        }
    }

    /// Ticks simulated so far (the dense pings).
    pub fn ticks(&self) -> u64 {
        if self.started {
            self.k + 1
        } else {
            0
        }
    }

    /// The Unix time of the first tick not simulated yet.
    pub fn next_time(&self) -> i64 {
        self.t0 + (self.k + u64::from(self.started)) as i64 * self.tick
    }
}

/// The step back along the polyline that gives the direction of travel at a point
/// (the reference's 0.001 blocks).
const DIRECTION_BACKOFF: f64 = 0.001;

/// A trip's polyline with its cumulative lengths, and the path coordinates of the
/// reference (shapely's `project` and `interpolate`, the direction of travel taken
/// 0.001 block before a point).
///
/// ```
/// use gardencity::mobility::movement::Polyline;
/// use gardencity::Point;
/// // An L: east 2 blocks, then north 2.
/// let line = Polyline::new(&[Point::new(0.0, 0.0), Point::new(2.0, 0.0), Point::new(2.0, 2.0)]);
/// assert_eq!(line.length(), 4.0);
/// // A point in the corner's outer wedge projects onto the corner (the first segment wins ties).
/// assert_eq!(line.project(Point::new(2.5, -0.5)), 2.0);
/// // Offsets are positive to the left of the direction of travel.
/// assert!(line.offset(Point::new(1.0, 0.3), 1.0) > 0.0);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Polyline {
    vertices: Vec<Point>,
    cum: Vec<f64>,
    /// Per segment: the unit direction and `1 / length^2` (set once per trip, so that
    /// the per-tick projection and placement divide nothing).
    segs: Vec<Segment>,
}

/// What the per-tick geometry needs of one segment.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    ux: f64,
    uy: f64,
    inv_len2: f64,
}

impl Polyline {
    /// The polyline through `vertices` (consecutive repeats dropped); an empty list
    /// gives the single point (0, 0).
    pub fn new(vertices: &[Point]) -> Polyline {
        let mut line = Polyline::default();
        line.vertices.extend_from_slice(vertices);
        line.finish();
        line
    }

    /// Empties the polyline, keeping its buffers.
    pub fn clear(&mut self) {
        self.vertices.clear();
        self.cum.clear();
        self.segs.clear();
    }

    /// Appends a vertex; [`Polyline::finish`] makes the line of the vertices pushed.
    #[inline]
    pub fn push(&mut self, p: Point) {
        self.vertices.push(p);
    }

    /// Makes the line of the pushed vertices in one pass: repeats dropped, and a vertex
    /// straight ahead of the last segment extends it (collinear vertices change nothing
    /// of the line, and a street path is mostly straight runs of cells: fewer segments
    /// to search every tick).
    pub fn finish(&mut self) {
        self.cum.clear();
        self.segs.clear();
        let mut kept = 0;
        for i in 0..self.vertices.len() {
            let p = self.vertices[i];
            if kept > 0 && self.vertices[kept - 1] == p {
                continue;
            }
            if kept >= 2 {
                let (a, last) = (self.vertices[kept - 2], self.vertices[kept - 1]);
                let (ux, uy) = (last.x - a.x, last.y - a.y);
                let (vx, vy) = (p.x - last.x, p.y - last.y);
                if ux * vy - uy * vx == 0.0 && ux * vx + uy * vy > 0.0 {
                    kept -= 1;
                }
            }
            self.vertices[kept] = p;
            kept += 1;
        }
        self.vertices.truncate(kept);
        if self.vertices.is_empty() {
            self.vertices.push(Point::new(0.0, 0.0));
        }
        self.cum.push(0.0);
        for k in 1..self.vertices.len() {
            let (a, b) = (self.vertices[k - 1], self.vertices[k]);
            let (vx, vy) = (b.x - a.x, b.y - a.y);
            let l = (vx * vx + vy * vy).sqrt();
            self.cum.push(self.cum[k - 1] + l);
            self.segs.push(Segment { ux: vx / l, uy: vy / l, inv_len2: 1.0 / (vx * vx + vy * vy) });
        }
    }

    /// The vertices (corners: collinear vertices are merged).
    pub fn vertices(&self) -> &[Point] {
        &self.vertices
    }

    /// Total length.
    pub fn length(&self) -> f64 {
        *self.cum.last().unwrap_or(&0.0)
    }

    /// The segment shapely's `interpolate` walks to for `0 < d < length`: the first
    /// whose end lies beyond `d` (a vertex belongs to the segment after it).
    #[inline]
    fn segment_at(&self, d: f64) -> usize {
        self.cum.partition_point(|&c| c <= d).clamp(1, self.vertices.len() - 1) - 1
    }

    /// The unit direction of segment `k`.
    #[inline]
    fn direction(&self, k: usize) -> (f64, f64) {
        (self.segs[k].ux, self.segs[k].uy)
    }

    /// The point at arc length `d` along the polyline, as shapely's `interpolate`: a
    /// negative `d` counts from the end, and `d` is clamped to the line.
    #[inline]
    pub fn point_at(&self, d: f64) -> Point {
        let n = self.vertices.len();
        let len = self.length();
        let d = if d < 0.0 { len + d } else { d };
        if d <= 0.0 || n < 2 {
            return self.vertices[0];
        }
        if d >= len {
            return self.vertices[n - 1];
        }
        let k = self.segment_at(d);
        let (a, (ux, uy)) = (self.vertices[k], self.direction(k));
        let along = d - self.cum[k];
        Point::new(a.x + along * ux, a.y + along * uy)
    }

    /// The point at arc length `s` and the unit direction of travel there: from the
    /// point `DIRECTION_BACKOFF` before it (the incoming segment at a vertex).
    #[inline]
    pub fn frame(&self, s: f64) -> (Point, f64, f64) {
        self.frame_near(s, &mut 0)
    }

    /// [`Polyline::frame`], finding the segment by walking from `hint` (the segment of
    /// the previous call, updated): steps along a trip move a segment or two at most.
    #[inline]
    fn frame_near(&self, s: f64, hint: &mut usize) -> (Point, f64, f64) {
        let n = self.vertices.len();
        if n >= 2 && s > 0.0 && s < self.length() {
            // The first segment whose end lies beyond `s`, as `segment_at` finds it.
            let mut k = (*hint).min(n - 2);
            while k + 2 < n && self.cum[k + 1] <= s {
                k += 1;
            }
            while k > 0 && self.cum[k] > s {
                k -= 1;
            }
            *hint = k;
            if s - self.cum[k] >= DIRECTION_BACKOFF {
                // Both points on one segment: its direction, one search (the common case).
                let (a, (ux, uy)) = (self.vertices[k], self.direction(k));
                let along = s - self.cum[k];
                return (Point::new(a.x + along * ux, a.y + along * uy), ux, uy);
            }
        }
        let p = self.point_at(s);
        let q = self.point_at(s - DIRECTION_BACKOFF);
        let (dx, dy) = (p.x - q.x, p.y - q.y);
        let l = dx.hypot(dy);
        if l > 0.0 {
            (p, dx / l, dy / l)
        } else if n >= 2 {
            // Shorter than the back-off: the first segment's direction.
            let (ux, uy) = self.direction(0);
            (p, ux, uy)
        } else {
            (p, 1.0, 0.0)
        }
    }

    /// The planar point of path coordinates `(s, o)`; `o` is to the left of the direction of travel.
    #[inline]
    pub fn cartesian(&self, s: f64, o: f64) -> Point {
        self.cartesian_near(s, o, &mut 0)
    }

    /// [`Polyline::cartesian`] with a segment hint (see [`Polyline::frame_near`]).
    #[inline]
    fn cartesian_near(&self, s: f64, o: f64, hint: &mut usize) -> Point {
        let (p, ux, uy) = self.frame_near(s, hint);
        Point::new(p.x - o * uy, p.y + o * ux)
    }

    /// Path coordinates of `q`: the arc length of the nearest point of the polyline (on
    /// ties the first along the line, as shapely's `project`) and the signed offset
    /// from it, positive to the left of the direction of travel there.
    #[inline]
    pub fn path_coords(&self, q: Point) -> (f64, f64) {
        let (s, o, _) = self.path_coords_seg(q);
        (s, o)
    }

    /// [`Polyline::path_coords`] and the segment of the nearest point.
    #[inline]
    fn path_coords_seg(&self, q: Point) -> (f64, f64, usize) {
        let mut best = f64::INFINITY;
        let (mut at, mut seg, mut foot) = (0.0, 0, self.vertices[0]);
        for k in 0..self.vertices.len().saturating_sub(1) {
            let (a, b) = (self.vertices[k], self.vertices[k + 1]);
            let (vx, vy) = (b.x - a.x, b.y - a.y);
            // Consecutive vertices differ, so every segment has a length.
            let r = (((q.x - a.x) * vx + (q.y - a.y) * vy) * self.segs[k].inv_len2).clamp(0.0, 1.0);
            let (px, py) = (a.x + r * vx, a.y + r * vy);
            // Squared distances order the segments as distances do (no square root).
            let d = (q.x - px) * (q.x - px) + (q.y - py) * (q.y - py);
            if d < best {
                best = d;
                at = self.cum[k] + r * (self.cum[k + 1] - self.cum[k]);
                (seg, foot) = (k, Point::new(px, py));
            }
        }
        // The direction at `at` is the winning segment's unless the back-off point lies
        // on an earlier one (within DIRECTION_BACKOFF after its start).
        let (p, ux, uy) = if self.vertices.len() >= 2 && at - self.cum[seg] >= DIRECTION_BACKOFF {
            let (ux, uy) = self.direction(seg);
            (foot, ux, uy)
        } else {
            self.frame(at)
        };
        (at, (q.x - p.x) * -uy + (q.y - p.y) * ux, seg)
    }

    /// Arc length of the point of the polyline nearest to `q` (see [`Polyline::path_coords`]).
    #[inline]
    pub fn project(&self, q: Point) -> f64 {
        self.path_coords(q).0
    }

    /// Signed offset of `q` from the polyline at arc length `s`, positive to the left.
    #[inline]
    pub fn offset(&self, q: Point, s: f64) -> f64 {
        let (p, ux, uy) = self.frame(s);
        (q.x - p.x) * -uy + (q.y - p.y) * ux
    }
}

/// Why a trajectory could not be simulated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MovementError {
    /// No street path joins the agent to its destination.
    #[error("no street path to building {building}: {source}")]
    NoPath {
        /// The destination's id.
        building: String,
        /// The routing failure.
        source: RoutingError,
    },
    /// The run was cancelled while this agent was being simulated.
    #[error("cancelled")]
    Cancelled,
    /// The agent is on no street cell and in no building.
    #[error("position ({x}, {y}) is neither in a building nor on a street cell")]
    Lost {
        /// Block x.
        x: f64,
        /// Block y.
        y: f64,
    },
}

/// The point an agent starts from inside a building: the centroid of its blocks when
/// it lies inside the building, else the centre of the block nearest to the centroid.
pub fn building_anchor(city: &City, b: BuildingIdx) -> Point {
    let bl = &city.building(b).blocks;
    let n = bl.len() as f64;
    let c = Point::new(
        bl.iter().map(|k| k.x as f64 + 0.5).sum::<f64>() / n,
        bl.iter().map(|k| k.y as f64 + 0.5).sum::<f64>() / n,
    );
    if city.building_contains(b, c) {
        return c;
    }
    bl.iter().map(|k| k.center()).min_by(|p, q| p.dist(c).total_cmp(&q.dist(c))).unwrap_or(c)
}

impl TrajectoryBuilder {
    /// Buffers for simulating in `city` with `router`.
    pub fn new(city: &City, router: &Router) -> TrajectoryBuilder {
        TrajectoryBuilder {
            scratch: RouteScratch::new(router),
            path: Vec::new(),
            line: Polyline::default(),
            stamps: vec![0; city.cell_count()],
            generation: 0,
        }
    }

    /// Simulates ticks of `p.dt` minutes through the destination diary, from `start`
    /// at Unix time `t0` until (excluding) `t_end`: the ground-truth diary into `diary`
    /// (cleared first) and the dense trajectory, as runs of ticks, into `track`. Returns
    /// the number of ticks. Stops with [`MovementError::Cancelled`] when `cancel` is set
    /// (checked once per destination entry: a long run stops within one stay or trip).
    /// The whole window at once: [`TrajectoryBuilder::advance`] a [`Walker`] for a
    /// window a block of time at a time.
    #[allow(clippy::too_many_arguments)]
    pub fn simulate(
        &mut self,
        city: &City,
        router: &Router,
        p: &MobilityParams,
        destinations: &[DiaryEntry],
        start: Point,
        t0: i64,
        t_end: i64,
        rng: &mut SimRng,
        diary: &mut Vec<DiaryEntry>,
        track: &mut impl TrackSink,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<u64, MovementError> {
        diary.clear();
        let mut walker = Walker::new(start, t0, t_end, p, rng.clone());
        let mut entries = destinations.iter().copied();
        let r = self.advance(city, router, p, &mut walker, &mut || entries.next(), u64::MAX, diary, track, cancel);
        *rng = walker.rng.clone();
        r.map(|_| walker.ticks())
    }

    /// Moves `walker` on through the destination entries `next_entry` gives, until the
    /// first stay or entry at or after tick `until` (a block's end; the move in progress
    /// is finished first, so a block may run a few ticks past it) or the end of the
    /// window: the ground-truth diary entries into `diary` (the last one may still grow:
    /// the caller hands it back, as `diary`'s only entry, to the next call), the dense
    /// trajectory as runs of ticks into `track`. Returns whether the window is done
    /// (`track` then got its [`TrackSink::end`]). The same draws, in the same order,
    /// whatever the blocks: a walker advanced block by block gives the records of one
    /// advanced at once.
    #[allow(clippy::too_many_arguments)]
    pub fn advance(
        &mut self,
        city: &City,
        router: &Router,
        p: &MobilityParams,
        w: &mut Walker,
        next_entry: &mut impl FnMut() -> Option<DiaryEntry>,
        until: u64,
        diary: &mut Vec<DiaryEntry>,
        track: &mut impl TrackSink,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<bool, MovementError> {
        let (t0, tick, last) = (w.t0, w.tick, w.last);
        let dt = p.dt;
        let sqrt_dt = dt.sqrt();
        let drift = p.travel_speed * dt;
        let sd_travel = 0.5 * dt / 1.96 * sqrt_dt;
        // Tick `k` is at `t0 + k * tick`; `last` is the last tick before the end.
        let at = |k: u64| t0 + k as i64 * tick;
        if w.done {
            return Ok(true);
        }
        let (mut pos, mut k, mut inside) = (w.pos, w.k, w.inside);
        let (rng, routes) = (&mut w.rng, &mut w.routes);
        let mut emit = |first: u64, count: u64, ping: Ping| {
            track.run(first, count, tick, &ping);
            push_merged(diary, ping.timestamp, count as f64 * dt, ping.location);
        };
        if !w.started {
            w.started = true;
            let here = city.building_at_point(pos);
            emit(0, 1, Ping { timestamp: t0, x: pos.x, y: pos.y, ha: 0.0, location: here });
        }
        let mut trip: Option<Trip> = None;
        'entries: loop {
            let (dest, mut left) = match w.entry.take() {
                Some(entry) => entry,
                None => {
                    if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                        return Err(MovementError::Cancelled);
                    }
                    let Some(entry) = next_entry() else { break 'entries };
                    let Some(dest) = entry.location else { continue };
                    (dest, ((entry.duration / dt).floor() as i64).max(0) as u64)
                }
            };
            let b = city.building(dest);
            let still = p.still_probs.get(b.kind);
            let sd_stay = p.speeds.get(b.kind) * sqrt_dt;
            let ln_still = still.ln();
            while left > 0 {
                if k >= last {
                    break 'entries;
                }
                // The building `pos` is known to lie in (every in-building step stays
                // inside it), which spares the containment test on most ticks.
                let staying = inside == Some(dest) || city.building_contains(dest, pos);
                if k >= until && (staying || trip.is_none()) {
                    // The block is done; no trip is in progress.
                    (w.pos, w.k, w.inside, w.entry) = (pos, k, inside, Some((dest, left)));
                    return Ok(false);
                }
                if staying {
                    inside = Some(dest);
                    trip = None;
                    // Event-driven stay: each tick is still with probability `still`
                    // independently, so the still ticks before the next move are a
                    // geometric count, drawn at once and handed on as one run.
                    let room = left.min(last - k);
                    let still_ticks = still_count(rng, still, ln_still).min(room);
                    if still_ticks > 0 {
                        let ping = Ping { timestamp: at(k + 1), x: pos.x, y: pos.y, ha: 0.0, location: Some(dest) };
                        emit(k + 1, still_ticks, ping);
                        (k, left) = (k + still_ticks, left - still_ticks);
                    }
                    if still_ticks == room {
                        continue;
                    }
                    // The move: a Gaussian step, redrawn until it lands inside.
                    (k, left) = (k + 1, left - 1);
                    loop {
                        let zx: f64 = rng.sample(StandardNormal);
                        let zy: f64 = rng.sample(StandardNormal);
                        let cand = Point::new(pos.x + sd_stay * zx, pos.y + sd_stay * zy);
                        if city.building_contains(dest, cand) {
                            pos = cand;
                            break;
                        }
                    }
                    emit(k, 1, Ping { timestamp: at(k), x: pos.x, y: pos.y, ha: 0.0, location: Some(dest) });
                } else {
                    (k, left) = (k + 1, left - 1);
                    inside = None;
                    let tr = match trip {
                        Some(tr) if tr.dest == dest => tr,
                        _ => self.start_trip(city, router, routes, pos, dest)?,
                    };
                    pos = self.travel_tick(city, pos, &tr, b.door_point, drift, sd_travel, rng);
                    trip = Some(tr);
                    emit(k, 1, Ping { timestamp: at(k), x: pos.x, y: pos.y, ha: 0.0, location: None });
                }
            }
        }
        (w.pos, w.k, w.inside, w.done) = (pos, k, inside, true);
        // The last tick is at the last position, in the last diary entry's location.
        let location = diary.last().and_then(|e| e.location);
        track.end(k, &Ping { timestamp: at(k), x: pos.x, y: pos.y, ha: 0.0, location });
        // A window that is not a whole number of ticks: the last tick's entry stops at the end.
        if let Some(entry) = diary.last_mut() {
            entry.duration = entry.duration.min((w.t_end - entry.timestamp) as f64 / 60.0);
        }
        Ok(true)
    }

    /// One travel tick from `pos` along the current trip: path coordinates of the point,
    /// then steps drawn (each from the last, rejected or not) until one stays on the
    /// trip's blocks or passes the end (the door point). Kept out of line, so the
    /// in-building ticks around it stay compact.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn travel_tick(
        &self,
        city: &City,
        pos: Point,
        tr: &Trip,
        door_point: Point,
        drift: f64,
        sd_travel: f64,
        rng: &mut SimRng,
    ) -> Point {
        let len = self.line.length();
        // Path coordinates of the current point, recomputed every tick.
        let (mut s, mut o, mut seg) = self.line.path_coords_seg(pos);
        loop {
            let z1: f64 = rng.sample(StandardNormal);
            let z2: f64 = rng.sample(StandardNormal);
            s += drift + sd_travel * z1;
            o = 0.7 * o + sd_travel * z2;
            if s > len {
                return door_point;
            }
            let cand = self.line.cartesian_near(s, o, &mut seg);
            if self.allowed(city, cand, tr) {
                return cand;
            }
        }
    }

    /// Plans a trip from `pos` to the door point of `dest`.
    fn start_trip(
        &mut self,
        city: &City,
        router: &Router,
        routes: &mut RouteCache,
        pos: Point,
        dest: BuildingIdx,
    ) -> Result<Trip, MovementError> {
        self.line.clear();
        let origin = city.building_at_point(pos).filter(|&o| o != dest);
        let from = match origin {
            Some(o) => {
                self.line.push(pos);
                self.line.push(city.building(o).door_point);
                city.door_street(o)
            }
            // Redirected on the way: from the centre of the street cell under the agent
            // (the current point is not a vertex).
            None => street_under(city, pos).ok_or(MovementError::Lost { x: pos.x, y: pos.y })?,
        };
        let to = city.door_street(dest);
        self.route(router, routes, from, to)
            .map_err(|source| MovementError::NoPath { building: city.building(dest).id.clone(), source })?;
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamps.fill(0);
            self.generation = 1;
        }
        let w = city.width() as usize;
        for &s in &self.path {
            let c = city.streets()[s.index()];
            self.stamps[c.y as usize * w + c.x as usize] = self.generation;
            self.line.push(c.center());
        }
        self.line.push(city.building(dest).door_point);
        self.line.finish();
        Ok(Trip { dest, origin })
    }

    /// Fills `self.path` with the shortest street path `from -> to`, from this agent's
    /// remembered routes when it took it before (the router is deterministic, so the
    /// path is the same either way).
    fn route(
        &mut self,
        router: &Router,
        cache: &mut RouteCache,
        from: StreetIdx,
        to: StreetIdx,
    ) -> Result<(), RoutingError> {
        if let Some(&(_, _, start, len)) = cache.routes.iter().find(|r| r.0 == from && r.1 == to) {
            self.path.clear();
            self.path.extend_from_slice(&cache.cells[start as usize..(start + len) as usize]);
            return Ok(());
        }
        router.path(from, to, &mut self.scratch, &mut self.path)?;
        if cache.routes.len() < ROUTE_CACHE {
            cache.routes.push((from, to, cache.cells.len() as u32, self.path.len() as u32));
            cache.cells.extend_from_slice(&self.path);
        }
        Ok(())
    }

    /// True when the point lies on a street cell of the trip, in the building it leaves,
    /// or in its destination (closed squares).
    #[inline]
    fn allowed(&self, city: &City, p: Point, tr: &Trip) -> bool {
        let w = city.width() as usize;
        let ok = |c: Cell| {
            if !city.in_grid(c) {
                return false;
            }
            if self.stamps[c.y as usize * w + c.x as usize] == self.generation && city.street_at(c).is_some() {
                return true;
            }
            match city.building_at(c) {
                Some(b) => b == tr.dest || Some(b) == tr.origin,
                None => false,
            }
        };
        p.any_touching(ok)
    }

    /// The street cells of the current trip's path (for tests and diagnostics).
    pub fn current_path(&self) -> &[StreetIdx] {
        &self.path
    }

    /// Plans the trip an agent at `pos` would take to `dest` and returns its polyline
    /// (for tests and diagnostics; [`TrajectoryBuilder::current_path`] gives its cells).
    pub fn plan_trip(
        &mut self,
        city: &City,
        router: &Router,
        pos: Point,
        dest: BuildingIdx,
    ) -> Result<&Polyline, MovementError> {
        self.start_trip(city, router, &mut RouteCache::default(), pos, dest)?;
        Ok(&self.line)
    }
}

/// The number of still ticks before the next move when each tick is still with
/// probability `still` (`ln_still` its logarithm) independently: a geometric count,
/// `P(count >= n) = still^n`, by inversion (`u64::MAX` when the agent never moves).
#[inline]
fn still_count(rng: &mut SimRng, still: f64, ln_still: f64) -> u64 {
    if still <= 0.0 {
        return 0;
    }
    if still >= 1.0 {
        return u64::MAX;
    }
    // 1 - u lies in (0, 1]: its logarithm is finite and not positive.
    let u = 1.0 - rng.random::<f64>();
    (u.ln() / ln_still) as u64
}

/// A street cell touching `p`, preferring the block containing it.
fn street_under(city: &City, p: Point) -> Option<StreetIdx> {
    city.street_at(p.cell()).or_else(|| p.touching_cells().find_map(|c| city.street_at(c))).or_else(|| {
        let c = p.cell();
        (-1..=1)
            .flat_map(|dx| (-1..=1).map(move |dy| Cell::new(c.x + dx, c.y + dy)))
            .filter_map(|k| city.street_at(k).map(|s| (s, k.center().dist(p))))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(s, _)| s)
    })
}
