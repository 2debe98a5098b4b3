//! Every parameter has the reference's name and default (MODEL.md sections 4-6).

use gardencity::city::{BuildingType, TypeSet};
use gardencity::mobility::params::MobilityParams;
use gardencity::sampling::{ParamSpec, SamplingConfig, HA_MIN, HA_TO_SIGMA};

#[test]
fn mobility_defaults_match_the_reference() {
    let p = MobilityParams::default();
    assert_eq!(p.epr_time_res, 15);
    assert_eq!((p.rho, p.gamma), (0.4, 0.3));
    assert_eq!(p.dt, 1.0);
    assert_eq!(p.travel_speed, 3.33);
    let t = |h, w, r, k| (h, w, r, k);
    let tab = |x: &gardencity::mobility::TypeTable| t(x.home, x.workplace, x.retail, x.park);
    assert_eq!(tab(&p.stay_probs), t(1.0 - 1.0 / 56.0, 1.0 - 1.0 / 28.0, 0.5, 0.75));
    assert_eq!(tab(&p.still_probs), t(0.9, 0.9, 0.5, 0.5));
    assert_eq!(tab(&p.speeds), t(0.75 / 1.96, 0.75 / 1.96, 1.75 / 1.96, 2.0 / 1.96));
    assert_eq!((p.initial_anchor_visits, p.initial_extra_buildings, p.initial_extra_visits), (20, [4, 2, 2, 2], 2));
    use BuildingType::*;
    let sets = p.schedule.type_sets();
    let want = |h: usize| match h {
        0..=6 => TypeSet::of(&[Home]),
        7 => TypeSet::of(&[Home, Park]),
        8 => TypeSet::of(&[Retail, Workplace, Park]),
        9..=11 => TypeSet::of(&[Workplace]),
        12..=13 => TypeSet::of(&[Retail, Park]),
        14..=17 => TypeSet::of(&[Workplace]),
        18..=19 => TypeSet::of(&[Retail, Park, Home]),
        _ => TypeSet::of(&[Home]),
    };
    for (h, set) in sets.iter().enumerate() {
        assert_eq!(*set, want(h), "hour {h}");
    }
    p.validate().unwrap();
}

#[test]
fn sampling_defaults_are_the_reference_sparse_phone() {
    let s = SamplingConfig::default();
    assert_eq!(s.beta_start, None);
    assert_eq!(s.beta_durations, None);
    assert_eq!(s.ha, ParamSpec::Value(11.5 / 15.0));
    let r = s.resolved();
    assert_eq!(
        (r.beta_start.clone(), r.beta_durations.clone(), r.beta_ping.clone()),
        (Some(ParamSpec::Value(300.0)), Some(ParamSpec::Value(55.0)), Some(ParamSpec::Value(7.0)))
    );
    r.validate().unwrap();
    // What was given is kept; a q target keeps beta_durations derived.
    let q = SamplingConfig { q: Some(ParamSpec::Value(0.2)), beta_start: Some(ParamSpec::Value(100.0)), ..s.clone() };
    assert_eq!(q.resolved().beta_durations, None);
    q.resolved().validate().unwrap();
    let one = SamplingConfig { one_burst: true, ..s.clone() };
    assert_eq!(one.resolved().beta_start, None);
    one.resolved().validate().unwrap();
    let bad = SamplingConfig { one_burst: true, beta_start: Some(ParamSpec::Value(10.0)), ..s.clone() };
    assert!(bad.validate().unwrap_err().to_string().contains("beta_start"));
    assert!(s.pareto_ha);
    assert_eq!((s.ha_cap, s.noise_clip), (10.0, 20.0));
    assert_eq!((HA_MIN, HA_TO_SIGMA), (8.0 / 15.0, 1.515));
    let p = s.draw(&mut gardencity::mobility::rng::agent_rng(0, 0, gardencity::mobility::rng::Stream::Params)).unwrap();
    assert_eq!(p.beta_ping, 7.0, "beta_ping defaults to 7 minutes");
}

#[test]
fn config_tables_parse_from_toml_with_reference_names() {
    let p: MobilityParams = toml::from_str(
        r#"
        epr_time_res = 30
        rho = 0.5
        stay_probs = { home = 0.9, workplace = 0.8, retail = 0.4, park = 0.7 }
        schedule = [["home"], ["home"], ["home"], ["home"], ["home"], ["home"], ["home"], ["home", "park"],
                    ["retail"], ["workplace"], ["workplace"], ["workplace"], ["retail"], ["retail"], ["workplace"],
                    ["workplace"], ["workplace"], ["workplace"], ["park"], ["park"], ["home"], ["home"], ["home"], ["home"]]
        "#,
    )
    .unwrap();
    assert_eq!(p.epr_time_res, 30);
    assert_eq!(p.stay_probs.retail, 0.4);
    assert_eq!(p.schedule.type_sets()[8], TypeSet::of(&[BuildingType::Retail]));
    assert_eq!(p.gamma, 0.3, "unset keys keep their defaults");
    assert!(toml::from_str::<MobilityParams>("rhoo = 1").is_err(), "unknown keys are rejected");
    let bad =
        MobilityParams { schedule: gardencity::mobility::Schedule { hours: vec![vec![]; 23] }, ..Default::default() };
    assert!(bad.validate().unwrap_err().to_string().contains("schedule"));
}
