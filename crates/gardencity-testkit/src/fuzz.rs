//! Seeded mutation fuzzing on stable Rust: mutated copies of real input files fed to a
//! reader, which must return (an error or a value) without panicking or hanging.
//!
//! `GARDENCITY_FUZZ_CASES` sets the cases per reader (default [`DEFAULT_CASES`], the
//! bounded number of the normal test run), `GARDENCITY_FUZZ_SEED` the first seed
//! (default 0); `scripts/fuzz.sh` runs them for hours with fresh seeds. A failure names
//! the reader, seed and case, and keeps the offending input file.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// Cases per reader in the normal test run.
pub const DEFAULT_CASES: u64 = 100;

/// How long one case may take before it counts as a hang.
pub const CASE_TIMEOUT: Duration = Duration::from_secs(30);

/// Cases per reader and first seed, from the environment.
pub fn budget() -> (u64, u64) {
    let var = |k: &str, d: u64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    (var("GARDENCITY_FUZZ_CASES", DEFAULT_CASES), var("GARDENCITY_FUZZ_SEED", 0))
}

/// The random stream of one case.
pub fn rng(reader: &str, seed: u64, case: u64) -> Pcg64Mcg {
    let tag = reader.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    Pcg64Mcg::seed_from_u64(tag ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ case.wrapping_mul(0xd1b5_4a32_d192_ed03))
}

/// Values that often break parsers: boundaries of integer widths, zero, all ones.
const INTERESTING: [u8; 8] = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe, b'-', b'9'];

/// One to three mutations of `base`: truncation, bit flips, random overwrites,
/// splices (a chunk copied elsewhere), deletions, duplications, interesting bytes, or
/// (rarely) random bytes altogether.
pub fn mutate(base: &[u8], rng: &mut impl Rng) -> Vec<u8> {
    let mut b = base.to_vec();
    let n = rng.random_range(1..=3);
    for _ in 0..n {
        let len = b.len();
        let pos = |rng: &mut dyn rand::RngCore, len: usize| if len == 0 { 0 } else { rng.random_range(0..len) };
        match rng.random_range(0..9) {
            0 => {
                let at = pos(rng, len);
                b.truncate(at);
            }
            1 if len > 0 => {
                for _ in 0..rng.random_range(1..=8) {
                    let at = pos(rng, len);
                    b[at] ^= 1 << rng.random_range(0..8);
                }
            }
            2 if len > 0 => {
                let at = pos(rng, len);
                let end = (at + rng.random_range(1..=64)).min(len);
                rng.fill(&mut b[at..end]);
            }
            3 if len > 0 => {
                let from = pos(rng, len);
                let size = rng.random_range(1..=512).min(len - from);
                let chunk = b[from..from + size].to_vec();
                let to = pos(rng, len);
                let end = (to + size).min(len);
                b[to..end].copy_from_slice(&chunk[..end - to]);
            }
            4 if len > 0 => {
                let at = pos(rng, len);
                let end = (at + rng.random_range(1..=256)).min(len);
                b.drain(at..end);
            }
            5 if len > 0 => {
                let at = pos(rng, len);
                let end = (at + rng.random_range(1..=256)).min(len);
                let chunk = b[at..end].to_vec();
                let to = pos(rng, len);
                b.splice(to..to, chunk);
            }
            6 if len > 0 => {
                for _ in 0..rng.random_range(1..=4) {
                    let at = pos(rng, len);
                    b[at] = INTERESTING[rng.random_range(0..INTERESTING.len())];
                }
            }
            7 => {
                let size = rng.random_range(0..=2048);
                b = (0..size).map(|_| rng.random()).collect();
            }
            _ => {
                // An insertion of random bytes.
                let at = pos(rng, len);
                let chunk: Vec<u8> = (0..rng.random_range(1..=32)).map(|_| rng.random()).collect();
                b.splice(at..at, chunk);
            }
        }
    }
    b
}

/// Runs `check` on a fresh thread; `Err` with the panic message, or when it did not
/// return within [`CASE_TIMEOUT`] (a hang).
pub fn without_panic_or_hang<F: FnOnce() + Send + 'static>(check: F) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check));
        let _ = tx.send(r.map_err(|p| {
            p.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into())
        }));
    });
    match rx.recv_timeout(CASE_TIMEOUT) {
        Ok(r) => r.map_err(|m| format!("panicked: {m}")),
        Err(_) => Err(format!("did not return within {} s (a hang)", CASE_TIMEOUT.as_secs())),
    }
}

/// Feeds mutated copies of `base` (written as `dir/case.EXT`) to `read`, for the cases
/// of [`budget`]; panics naming reader, seed and case on a panic or hang, keeping the
/// input as `dir/failing-READER-SEED-CASE.EXT`. Returns how many cases the reader
/// accepted (the rest it refused with an error).
pub fn fuzz_file<R>(reader: &str, base: &[u8], dir: &Path, ext: &str, read: R) -> u64
where
    R: Fn(&Path) -> bool + Send + Sync + Clone + 'static,
{
    let (cases, seed) = budget();
    let mut accepted = 0;
    for case in 0..cases {
        let mut rng = rng(reader, seed, case);
        let bytes = mutate(base, &mut rng);
        let path: PathBuf = dir.join(format!("case.{ext}"));
        std::fs::write(&path, &bytes).expect("writing a fuzz case");
        let (p, f) = (path.clone(), read.clone());
        let (tx, rx) = mpsc::channel();
        let outcome = without_panic_or_hang(move || {
            let _ = tx.send(f(&p));
        });
        if let Err(why) = outcome {
            let keep = dir.join(format!("failing-{reader}-{seed}-{case}.{ext}"));
            let _ = std::fs::rename(&path, &keep);
            panic!("{reader}: seed {seed}, case {case}: {why} (input kept as {})", keep.display());
        }
        accepted += u64::from(rx.recv().unwrap_or(false));
    }
    accepted
}
