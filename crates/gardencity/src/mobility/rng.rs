//! Per-agent random streams: results never depend on thread count or agent order.

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

/// The generator used everywhere in the simulation (fast, small, stable across versions).
pub type SimRng = Pcg64Mcg;

/// What a stream is used for; each purpose of each agent gets an independent stream,
/// so that changing, say, the sampling parameters leaves the trajectories unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// Home/workplace draws and initial visit counts.
    Setup = 1,
    /// The EPR destination diary.
    Epr = 2,
    /// Movement ticks.
    Movement = 3,
    /// Sparse sampling and noise.
    Sampling = 4,
    /// Per-agent sampling parameters.
    Params = 5,
}

/// SplitMix64 finalizer: a bijective, well-mixing hash of 64 bits.
#[inline]
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The generator of one (master seed, agent index, purpose) triple.
pub fn agent_rng(master_seed: u64, agent: u64, stream: Stream) -> SimRng {
    let a = splitmix64(master_seed ^ splitmix64(agent ^ splitmix64(stream as u64)));
    let b = splitmix64(a ^ 0xD1B5_4A32_D192_ED03);
    SimRng::from_seed(((a as u128) << 64 | b as u128).to_le_bytes())
}
