//! MODEL.md section 6: bursts, ping times, deduplication, horizontal accuracy, q/f targets.

use gardencity::mobility::rng::{agent_rng, SimRng, Stream};
use gardencity::records::Ping;
use gardencity::sampling::{sample_sparse, ParamSpec, SamplingConfig, SamplingParams, HA_MIN, HA_TO_SIGMA};
use rand::SeedableRng;

fn dense(n: usize, tick: i64) -> Vec<Ping> {
    (0..n)
        .map(|k| Ping { timestamp: 1_700_000_000 + k as i64 * tick, x: k as f64, y: 0.0, ha: 0.0, location: None })
        .collect()
}

/// The tick of a dense test trajectory.
fn tick(d: &[Ping]) -> i64 {
    if d.len() > 1 {
        d[1].timestamp - d[0].timestamp
    } else {
        60
    }
}

/// The exclusive end of a dense test trajectory: one tick after its last ping.
fn end(d: &[Ping]) -> i64 {
    let n = d.len();
    d[n - 1].timestamp + if n > 1 { d[n - 1].timestamp - d[n - 2].timestamp } else { 60 }
}

fn params(bs: Option<f64>, bd: Option<f64>, bp: f64, ha: f64) -> SamplingParams {
    SamplingParams {
        beta_start: bs,
        beta_durations: bd,
        beta_ping: bp,
        ha,
        pareto_ha: true,
        ha_cap: 10.0,
        noise_clip: 20.0,
    }
}

/// One burst over the whole window: ping count is Poisson(window / beta_ping).
/// With a dense ping every second, deduplication is negligible.
#[test]
fn single_burst_ping_rate() {
    let d = dense(30 * 24 * 3600, 1); // 30 days of 1-second ticks
    let mut out = Vec::new();
    sample_sparse(&d, tick(&d), end(&d), &params(None, None, 7.0, 0.0), SimRng::seed_from_u64(1), &mut out);
    let mean = d.len() as f64 / (7.0 * 60.0);
    let n = out.len() as f64;
    assert!((n - mean).abs() < 4.0 * mean.sqrt(), "pings {n} vs expected {mean}");
    // Timestamps strictly increase and each is a dense timestamp.
    assert!(out.windows(2).all(|w| w[0].timestamp < w[1].timestamp));
    assert!(out.iter().all(|p| (p.timestamp - d[0].timestamp) as f64 == p.x));
}

/// Bursts start at rate 1/beta_start and last min(Exp(beta_durations), time to next
/// start): covered fraction bd / (bd + bs); pings = covered time / beta_ping.
#[test]
fn burst_coverage_and_ping_count() {
    let d = dense(60 * 24 * 3600, 1); // 60 days
    let (bs, bd, bp) = (300.0, 55.0, 7.0);
    let mut out = Vec::new();
    sample_sparse(&d, tick(&d), end(&d), &params(Some(bs), Some(bd), bp, 0.0), SimRng::seed_from_u64(2), &mut out);
    let window_min = d.len() as f64 / 60.0;
    let expected = window_min * bd / (bd + bs) / bp;
    let n = out.len() as f64;
    // Burst-level clustering inflates the variance: count per burst has mean m = bd' / bp
    // and the total is a compound Poisson sum; var = bursts * E[K^2] with K geometric-ish.
    let bursts = window_min / bs;
    let m = (bd * bs / (bd + bs)) / bp;
    let var = bursts * (m + 2.0 * m * m);
    assert!((n - expected).abs() < 4.0 * var.sqrt(), "pings {n} vs expected {expected} (sd {})", var.sqrt());
}

/// A ping picks the last dense ping at or before its time, keeping that ping's timestamp;
/// two ping times within one tick give one ping (deduplicated).
#[test]
fn pings_snap_to_last_dense_tick_and_deduplicate() {
    let d = dense(24 * 60, 60); // one day of 1-minute ticks
    let mut out = Vec::new();
    // beta_ping of 0.2 minutes: several ping times per tick, all deduplicated.
    sample_sparse(&d, tick(&d), end(&d), &params(None, None, 0.2, 0.0), SimRng::seed_from_u64(3), &mut out);
    assert!(out.windows(2).all(|w| w[0].timestamp < w[1].timestamp));
    assert!(out.iter().all(|p| (p.timestamp - d[0].timestamp) % 60 == 0));
    // Nearly every tick is hit: P(no ping time within a minute) = exp(-5).
    let expected_missing = (d.len() - 1) as f64 * (-5.0f64).exp();
    let missing = (d.len() - 1 - out.len()) as f64;
    assert!(
        (missing - expected_missing).abs() < 5.0 * expected_missing.sqrt() + 1.0,
        "{missing} vs {expected_missing}"
    );
}

/// Pareto accuracy: minimum 8/15, capped at 10, mean ha (less the cap's small effect);
/// noise per axis N(0, ha_i / 1.515).
#[test]
fn pareto_accuracy_and_noise() {
    let d = dense(200 * 24 * 3600 / 60, 60);
    let ha = 11.5 / 15.0;
    let mut out = Vec::new();
    sample_sparse(&d, tick(&d), end(&d), &params(None, None, 1.0, ha), SimRng::seed_from_u64(4), &mut out);
    let n = out.len() as f64;
    assert!(n > 100_000.0);
    assert!(out.iter().all(|p| p.ha >= HA_MIN && p.ha <= 10.0));
    let alpha = ha / (ha - HA_MIN);
    let capped_mean = HA_MIN + HA_MIN / (alpha - 1.0) * (1.0 - (HA_MIN / 10.0f64).powf(alpha - 1.0));
    let mean = out.iter().map(|p| p.ha).sum::<f64>() / n;
    let var = out.iter().map(|p| (p.ha - mean).powi(2)).sum::<f64>() / n;
    assert!((mean - capped_mean).abs() < 4.0 * (var / n).sqrt(), "mean ha {mean} vs {capped_mean}");
    // Standardized noise has unit variance and zero mean on each axis.
    let z: Vec<f64> =
        out.iter().map(|p| (p.x - (p.timestamp - d[0].timestamp) as f64 / 60.0) / (p.ha / HA_TO_SIGMA)).collect();
    let zm = z.iter().sum::<f64>() / n;
    let zv = z.iter().map(|v| (v - zm).powi(2)).sum::<f64>() / n;
    assert!(zm.abs() < 4.0 / n.sqrt(), "noise mean {zm}");
    assert!((zv - 1.0).abs() < 4.0 * (2.0 / n).sqrt(), "noise variance {zv}");
    assert!(out.iter().all(|p| p.y.abs() <= 20.0));
}

#[test]
fn zero_ha_means_no_noise_and_constant_ha_without_prior() {
    let d = dense(1000, 60);
    let mut out = Vec::new();
    sample_sparse(&d, tick(&d), end(&d), &params(None, None, 1.0, 0.0), SimRng::seed_from_u64(5), &mut out);
    assert!(out.iter().all(|p| p.ha == 0.0 && p.y == 0.0));
    let mut p = params(None, None, 1.0, 2.0);
    p.pareto_ha = false;
    out.clear();
    sample_sparse(&d, tick(&d), end(&d), &p, SimRng::seed_from_u64(5), &mut out);
    assert!(out.iter().all(|q| q.ha == 2.0));
}

#[test]
fn noise_is_clipped() {
    let d = dense(5000, 60);
    let mut p = params(None, None, 1.0, 9.0);
    p.noise_clip = 0.5;
    let mut out = Vec::new();
    sample_sparse(&d, tick(&d), end(&d), &p, SimRng::seed_from_u64(6), &mut out);
    assert!(out.iter().all(|q| q.y.abs() <= 0.5));
    assert!(out.iter().any(|q| q.y.abs() == 0.5), "large noise must hit the clip");
}

fn cfg(bs: Option<f64>, bd: Option<f64>, bp: Option<f64>, q: Option<f64>, f: Option<f64>) -> SamplingConfig {
    SamplingConfig {
        beta_start: bs.map(ParamSpec::Value),
        beta_durations: bd.map(ParamSpec::Value),
        beta_ping: bp.map(ParamSpec::Value),
        q: q.map(ParamSpec::Value),
        f: f.map(ParamSpec::Value),
        ..Default::default()
    }
}

#[test]
fn q_and_f_targets_derive_the_missing_parameter() {
    let mut rng = agent_rng(1, 0, Stream::Params);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * b.abs().max(1.0);
    // q with beta_start -> beta_durations = q * beta_start.
    let p = cfg(Some(300.0), None, Some(7.0), Some(0.2), None).draw(&mut rng).unwrap();
    assert!(close(p.beta_durations.unwrap(), 60.0));
    // q with beta_durations -> beta_start = bd / q.
    let p = cfg(None, Some(55.0), Some(7.0), Some(0.25), None).draw(&mut rng).unwrap();
    assert!(close(p.beta_start.unwrap(), 220.0));
    // f with beta_start and beta_durations -> beta_ping = bd / (bs f).
    let p = cfg(Some(300.0), Some(60.0), None, None, Some(0.02)).draw(&mut rng).unwrap();
    assert!(close(p.beta_ping, 10.0));
    // f with beta_durations and beta_ping -> beta_start = bd / (f bp).
    let p = cfg(None, Some(60.0), Some(5.0), None, Some(0.04)).draw(&mut rng).unwrap();
    assert!(close(p.beta_start.unwrap(), 300.0));
    // f with beta_start and beta_ping -> beta_durations = f bs bp.
    let p = cfg(Some(300.0), None, Some(5.0), None, Some(0.04)).draw(&mut rng).unwrap();
    assert!(close(p.beta_durations.unwrap(), 60.0));
    // q and f with beta_start.
    let p = cfg(Some(300.0), None, None, Some(0.2), Some(0.02)).draw(&mut rng).unwrap();
    assert!(close(p.beta_durations.unwrap(), 60.0) && close(p.beta_ping, 10.0));
    // beta_ping is capped at beta_durations.
    let p = cfg(Some(300.0), Some(3.0), Some(7.0), None, None).draw(&mut rng).unwrap();
    assert_eq!(p.beta_ping, 3.0);
    // The realised targets match.
    let p = cfg(Some(240.0), None, Some(6.0), Some(0.25), None).draw(&mut rng).unwrap();
    assert!(close(p.coverage().unwrap(), 0.25));
}

#[test]
fn invalid_sampling_configurations_are_rejected() {
    // Only one of beta_start / beta_durations.
    assert!(cfg(Some(300.0), None, Some(7.0), None, None).validate().is_err());
    // Over-determined: q with both betas.
    assert!(cfg(Some(300.0), Some(60.0), Some(7.0), Some(0.2), None).validate().is_err());
    // Non-positive beta.
    assert!(cfg(Some(0.0), Some(60.0), Some(7.0), None, None).validate().is_err());
    assert!(cfg(Some(300.0), Some(60.0), Some(-1.0), None, None).validate().is_err());
    // ha at or below the Pareto minimum.
    let mut c = cfg(None, None, Some(5.0), None, None);
    c.ha = ParamSpec::Value(0.5);
    let e = c.validate().unwrap_err();
    assert_eq!(e.name, "ha");
    c.ha = ParamSpec::Value(0.0);
    assert!(c.validate().is_ok(), "ha = 0 means no noise");
    // Bad ranges and weights.
    c.beta_ping = Some(ParamSpec::Range([5.0, 1.0]));
    assert!(c.validate().is_err());
    c.beta_ping = Some(ParamSpec::Weighted { values: vec![1.0, 2.0], weights: vec![1.0] });
    assert!(c.validate().is_err());
    assert!(cfg(Some(300.0), Some(55.0), Some(7.0), None, None).validate().is_ok());
}

#[test]
fn per_agent_parameters_from_ranges_and_weights() {
    let c = SamplingConfig {
        beta_start: Some(ParamSpec::Range([200.0, 400.0])),
        beta_durations: Some(ParamSpec::Weighted { values: vec![30.0, 60.0], weights: vec![3.0, 1.0] }),
        beta_ping: Some(ParamSpec::Value(5.0)),
        ..Default::default()
    };
    c.validate().unwrap();
    let n = 20_000;
    let mut sixty = 0;
    let mut sum_bs = 0.0;
    for i in 0..n {
        let p = c.draw(&mut agent_rng(9, i, Stream::Params)).unwrap();
        let bs = p.beta_start.unwrap();
        assert!((200.0..=400.0).contains(&bs));
        sum_bs += bs;
        sixty += (p.beta_durations == Some(60.0)) as u32;
    }
    let mean = sum_bs / n as f64;
    let sd = (200.0f64.powi(2) / 12.0 / n as f64).sqrt();
    assert!((mean - 300.0).abs() < 4.0 * sd, "uniform mean {mean}");
    let frac = sixty as f64 / n as f64;
    assert!((frac - 0.25).abs() < 4.0 * (0.25 * 0.75 / n as f64).sqrt(), "weighted fraction {frac}");
}

/// The window is `[start, end)`: its last tick is sampled too, so a one-tick trajectory
/// with frequent pings gets its ping (a window ending at the last ping would be empty).
#[test]
fn the_last_tick_of_the_window_is_sampled() {
    let d = dense(1, 60);
    let mut hits = 0;
    for seed in 0..50 {
        let mut out = Vec::new();
        sample_sparse(&d, tick(&d), end(&d), &params(None, None, 0.5, 0.0), SimRng::seed_from_u64(seed), &mut out);
        assert!(out.len() <= 1 && out.iter().all(|p| p.timestamp == d[0].timestamp));
        hits += out.len();
    }
    // P(no ping in 60 s at one per 30 s) = e^-2: about 43 of 50 runs have one.
    assert!(hits > 35, "{hits} of 50 one-tick windows were sampled");
}

/// Configurations that draw alike share one sampler (a sweep over accuracies), and each
/// one's pings equal, row for row, those of a sampler of it alone fed the same stream.
#[test]
fn shared_samplers_equal_samplers_alone() {
    use gardencity::sampling::SparseSampler;
    let d = dense(3 * 24 * 60, 60);
    let (bs, bd) = (Some(300.0), Some(55.0));
    let constant = |ha| SamplingParams { pareto_ha: false, ..params(bs, bd, 5.0, ha) };
    let configs = [
        params(bs, bd, 5.0, 13.0 / 15.0),
        params(bs, bd, 5.0, 17.0 / 15.0),
        constant(0.9),
        params(bs, bd, 6.0, 13.0 / 15.0),
        constant(1.2),
        params(bs, bd, 5.0, 0.0),
        SamplingParams { ha_cap: 1.5, noise_clip: 0.5, ..params(bs, bd, 5.0, 1.4) },
        params(bs, bd, 5.0, 0.0),
    ];
    let (t0, tick, t_end) = (d[0].timestamp, tick(&d), end(&d));
    let mut samplers: Vec<SparseSampler> = Vec::new();
    for (slot, p) in configs.iter().enumerate() {
        if !samplers.iter_mut().any(|s| s.share(slot, *p)) {
            samplers.push(SparseSampler::with_slot(slot, *p, SimRng::seed_from_u64(11), t0, tick, t_end));
        }
    }
    // Pareto at beta_ping 5 (three), constant (two), none (two), and beta_ping 6.
    let groups: Vec<Vec<usize>> = samplers.iter().map(|s| s.slots().collect()).collect();
    assert_eq!(groups, [vec![0, 1, 6], vec![2, 4], vec![3], vec![5, 7]]);
    let mut outs = vec![Vec::new(); configs.len()];
    for (k, ping) in d.iter().enumerate() {
        for s in &mut samplers {
            s.feed(k as u64, 1, ping, &mut outs);
        }
    }
    for s in &mut samplers {
        s.finish(d.len() as u64 - 1, d.last().unwrap(), &mut outs);
    }
    for (slot, p) in configs.iter().enumerate() {
        let mut alone = Vec::new();
        sample_sparse(&d, tick, t_end, p, SimRng::seed_from_u64(11), &mut alone);
        assert!(alone.len() > 50, "config {slot}: {} pings", alone.len());
        assert_eq!(outs[slot], alone, "config {slot}");
    }
    // The same times, another accuracy: shared configurations differ in noise only.
    assert_eq!(
        outs[0].iter().map(|p| p.timestamp).collect::<Vec<_>>(),
        outs[1].iter().map(|p| p.timestamp).collect::<Vec<_>>()
    );
    assert_ne!(outs[0], outs[1]);
}
