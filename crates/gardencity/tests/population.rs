//! The population runner: per-agent streams make outputs independent of thread count;
//! records arrive in agent order; parameters are validated.

use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::city::{BuildingType, City};
use gardencity::gravity::{Gravity, GravityParams};
use gardencity::population::{Anchors, OutputSelection, Population, PopulationConfig, SimError};
use gardencity::records::{AgentOutput, OutputSink};
use gardencity::routing::Router;
use gardencity::sampling::ParamSpec;

const START: i64 = 1_704_085_200;

#[derive(Default)]
struct Collect(Vec<AgentOutput>);

impl OutputSink for Collect {
    type Error = std::io::Error;
    fn write_agent(&mut self, out: &AgentOutput) -> Result<(), Self::Error> {
        self.0.push(out.clone());
        Ok(())
    }
}

fn city() -> City {
    random_city(&RandomCityParams { width: 30, height: 30, seed: 2, ..Default::default() }).unwrap()
}

/// A city with its router and gravity.
fn world(c: City) -> (City, Router, Gravity) {
    let router = Router::new(&c);
    let g = Gravity::hub_proxy(&c, GravityParams::default()).unwrap();
    (c, router, g)
}

fn config(n: u64) -> PopulationConfig {
    let mut c = PopulationConfig::new(99, n, START, START + 2 * 86_400, chrono_tz::America::New_York);
    c.outputs = OutputSelection::all();
    c.sampling.beta_start = Some(ParamSpec::Value(300.0));
    c.sampling.beta_durations = Some(ParamSpec::Value(55.0));
    c.sampling.beta_ping = Some(ParamSpec::Value(7.0));
    c.chunk_size = 7;
    c
}

/// The records of a run of one block (every agent whole).
fn run_with_threads(threads: usize, cfg: PopulationConfig) -> Vec<AgentOutput> {
    let outs = run_pieces(threads, cfg);
    assert!(outs.iter().all(|o| !o.continues), "one block: agents whole");
    outs
}

#[test]
fn identical_with_one_and_two_threads_and_in_agent_order() {
    let a = run_with_threads(1, config(40));
    let b = run_with_threads(2, config(40));
    assert_eq!(a, b);
    for (i, o) in a.iter().enumerate() {
        let agent = &o.agent;
        assert_eq!(agent.index, i as u64);
        assert!(!o.sparse.is_empty() && !o.dense.is_empty() && !o.diary.is_empty() && !o.destinations.is_empty());
        // Sparse pings are a subset of the dense timestamps.
        assert!(o.sparse.iter().all(|s| o.dense.binary_search_by_key(&s.timestamp, |d| d.timestamp).is_ok()));
    }
    let ids: std::collections::HashSet<_> = a.iter().map(|o| o.agent.id.clone()).collect();
    assert_eq!(ids.len(), a.len());
    let mut other = config(40);
    other.seed = 100;
    assert_ne!(run_with_threads(2, other), a);
}

#[test]
fn changing_sampling_leaves_trajectories_unchanged() {
    let a = run_with_threads(2, config(5));
    let mut cfg = config(5);
    cfg.sampling.beta_ping = Some(ParamSpec::Value(2.0));
    let b = run_with_threads(2, cfg);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.dense, y.dense);
        assert_ne!(x.sparse, y.sparse);
    }
}

#[test]
fn given_anchors_are_used_and_checked() {
    let (c, router, g) = world(city());
    let home = c.buildings_of_type(BuildingType::Home)[3];
    let work = c.buildings_of_type(BuildingType::Workplace)[1];
    let mut cfg = config(2);
    cfg.anchors = vec![Anchors { home: Some(home), workplace: Some(work) }];
    let pop = Population::new(&c, &router, &g, cfg.clone()).unwrap();
    let mut sink = Collect::default();
    pop.run(&mut sink, &|_| {}).unwrap();
    let a = &sink.0[0].agent;
    assert_eq!((a.home, a.workplace), (home, work));
    // A workplace given as a home is rejected with the agent named.
    cfg.anchors = vec![Anchors { home: Some(work), workplace: None }];
    let pop = Population::new(&c, &router, &g, cfg).unwrap();
    let err = pop.run(&mut Collect::default(), &|_| {}).unwrap_err();
    assert!(matches!(err, SimError::Agent(_)), "{err}");
    assert!(err.to_string().contains("home"), "{err}");
}

#[test]
fn bad_parameters_are_rejected() {
    let (c, router, g) = world(city());
    let mut cfg = config(1);
    cfg.end = cfg.start;
    assert!(Population::new(&c, &router, &g, cfg).is_err());
    let mut cfg = config(1);
    cfg.mobility.dt = 0.0;
    let e = Population::new(&c, &router, &g, cfg).err().unwrap();
    assert!(e.to_string().contains("dt"), "{e}");
    let mut cfg = config(1);
    cfg.sampling.beta_ping = Some(ParamSpec::Value(-1.0));
    assert!(Population::new(&c, &router, &g, cfg).is_err());
}

#[test]
fn shards_reproduce_the_whole_run() {
    let whole = run_with_threads(2, config(30));
    let mut joined = Vec::new();
    for (first, n) in [(0, 11), (11, 12), (23, 7)] {
        let mut cfg = config(n);
        cfg.first_agent = first;
        joined.extend(run_with_threads(2, cfg));
    }
    assert_eq!(joined, whole);
}

#[test]
fn doors_on_separate_street_networks_are_refused_before_running() {
    use gardencity::city::{BuildingSpec, Cell, CityParts};
    // Two street rows that never meet: y = 0 and y = 3; a home on each, and a workplace.
    let b = |id: &str, kind, block: (i32, i32), door: (i32, i32)| BuildingSpec {
        id: Some(id.into()),
        kind,
        blocks: vec![Cell::new(block.0, block.1)],
        door: Cell::new(door.0, door.1),
        door_point: None,
    };
    let c = City::new(CityParts {
        name: "split".into(),
        width: 4,
        height: 4,
        streets: (0..4).flat_map(|x| [Cell::new(x, 0), Cell::new(x, 3)]).collect(),
        buildings: vec![
            b("h-x0-y1", BuildingType::Home, (0, 1), (0, 0)),
            b("w-x1-y1", BuildingType::Workplace, (1, 1), (1, 0)),
            b("h-x2-y2", BuildingType::Home, (2, 2), (2, 3)),
        ],
        ..Default::default()
    })
    .unwrap();
    let (c, router, g) = world(c);
    let err = Population::new(&c, &router, &g, config(2)).err().expect("refused");
    assert!(matches!(err, SimError::Disconnected { .. }), "{err}");
    assert!(err.to_string().contains("h-x2-y2"), "{err}");
}

/// An agent's records concatenated from its pieces, in agent order.
fn whole_agents(pieces: Vec<AgentOutput>) -> Vec<AgentOutput> {
    let mut agents: Vec<AgentOutput> = Vec::new();
    let mut open: std::collections::BTreeMap<u64, AgentOutput> = Default::default();
    for p in pieces {
        let a =
            open.entry(p.agent.index).or_insert_with(|| AgentOutput { agent: p.agent.clone(), ..Default::default() });
        a.sparse.extend(&p.sparse);
        a.dense.extend(&p.dense);
        a.diary.extend(&p.diary);
        a.destinations.extend(&p.destinations);
        a.sweep.resize(p.sweep.len().max(a.sweep.len()), Vec::new());
        for (s, q) in a.sweep.iter_mut().zip(&p.sweep) {
            s.extend(q);
        }
        a.ticks += p.ticks;
        if !p.continues {
            agents.push(open.remove(&p.agent.index).unwrap());
        }
    }
    assert!(open.is_empty(), "an agent whose last piece never came");
    agents.sort_by_key(|a| a.agent.index);
    agents
}

/// MODEL.md sections 4-6 do not depend on how a run is cut in time: a run streamed in
/// blocks of 1 or 3 days (cohorts of agents advanced block by block) gives every agent
/// exactly the records of a run simulating each agent's whole window at once, with 1 and
/// 2 threads, with a sweep too; pieces come block by block, in agent order within a block.
#[test]
fn blocks_of_time_give_the_whole_window_records() {
    let mut cfg = config(13);
    cfg.end = START + 9 * 86_400 + 3_600;
    cfg.sweep = vec![cfg.sampling.clone(), {
        let mut s = cfg.sampling.clone();
        s.ha = ParamSpec::Value(1.5);
        s
    }];
    let whole = run_with_threads(1, PopulationConfig { block_days: 30, ..cfg.clone() });
    for (threads, days) in [(1, 1), (2, 3), (2, 1)] {
        let pieces = run_pieces(threads, PopulationConfig { block_days: days, ..cfg.clone() });
        let blocks = (10 + days - 1) / days;
        assert_eq!(pieces.len() as i64, 13 * blocks, "a piece per agent and block");
        for (b, block) in pieces.chunks(13).enumerate() {
            let indices: Vec<u64> = block.iter().map(|o| o.agent.index).collect();
            assert_eq!(indices, (0..13).collect::<Vec<_>>(), "block {b} in agent order");
            assert!(block.iter().all(|o| o.continues == (b as i64 + 1 < blocks)));
        }
        assert_eq!(whole_agents(pieces), whole, "{days}-day blocks on {threads} threads");
    }
}

/// The pieces a run hands on, in order; each agent counted once.
fn run_pieces(threads: usize, cfg: PopulationConfig) -> Vec<AgentOutput> {
    let (c, router, g) = world(city());
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let pop = Population::new(&c, &router, &g, cfg).unwrap();
    let mut sink = Collect::default();
    let stats = pool.install(|| pop.run(&mut sink, &|_| {})).unwrap();
    assert_eq!(stats.agents as usize, sink.0.iter().filter(|o| !o.continues).count());
    sink.0
}

/// A sink that fails to write out the days behind a block of time.
struct FailingFlush(Collect);

impl OutputSink for FailingFlush {
    type Error = std::io::Error;
    fn write_agent(&mut self, out: &AgentOutput) -> Result<(), Self::Error> {
        self.0.write_agent(out)
    }
    fn flush_before(&mut self, _t: i64) -> Result<(), Self::Error> {
        Err(std::io::Error::other("disk full"))
    }
}

/// A sink's failure at the end of a block names the time it was writing out, not an
/// agent (its rows are those of every agent of the cohort).
#[test]
fn a_failed_flush_names_the_block_end() {
    let (c, router, g) = world(city());
    let mut cfg = config(3);
    cfg.block_days = 1;
    let pop = Population::new(&c, &router, &g, cfg).unwrap();
    let mut sink = FailingFlush(Collect::default());
    let err = pop.run(&mut sink, &|_| {}).unwrap_err();
    match &err {
        SimError::SinkFlush { before, .. } => assert!(*before > START && *before <= START + 86_400, "{err}"),
        other => panic!("expected SinkFlush, got {other:?}"),
    }
    assert!(err.to_string().contains("disk full"), "{err}");
    // The block's records were handed on before the flush.
    assert_eq!(sink.0 .0.len(), 3);
}

/// Checks `OutputSink::flush_before`'s promise: after `flush_before(t)`, no record of
/// the cohort (one here) starts before `t`.
#[derive(Default)]
struct FloorCheck {
    floor: i64,
    flushes: usize,
    pieces: usize,
}

impl OutputSink for FloorCheck {
    type Error = std::io::Error;
    fn write_agent(&mut self, out: &AgentOutput) -> Result<(), Self::Error> {
        let times = out.sparse.iter().chain(&out.dense).map(|p| p.timestamp);
        let times = times.chain(out.diary.iter().chain(&out.destinations).map(|e| e.timestamp));
        if let Some(t) = times.min() {
            assert!(
                t >= self.floor,
                "agent {} has a record at {t}, before the flushed {}",
                out.agent.index,
                self.floor
            );
        }
        self.pieces += 1;
        Ok(())
    }
    fn flush_before(&mut self, t: i64) -> Result<(), Self::Error> {
        assert!(t >= self.floor, "flush times only grow");
        (self.floor, self.flushes) = (t, self.flushes + 1);
        Ok(())
    }
}

/// A run streaming in time flushes after every block but the last, and no later
/// record of the agents in progress starts before the time it flushed.
#[test]
fn no_record_comes_before_a_flush() {
    let (c, router, g) = world(city());
    let mut cfg = config(20);
    (cfg.end, cfg.block_days) = (START + 4 * 86_400, 1);
    let pop = Population::new(&c, &router, &g, cfg).unwrap();
    let mut sink = FloorCheck { floor: i64::MIN, ..Default::default() };
    pop.run(&mut sink, &|_| {}).unwrap();
    assert_eq!((sink.flushes, sink.pieces), (3, 4 * 20));
    assert!(sink.floor > START + 2 * 86_400 && sink.floor <= START + 3 * 86_400, "{}", sink.floor);
}
