//! Times the phases of loading a snapshot of a 380 x 380 random city with hub gravity:
//! `cargo run --release -p gardencity-io --example snapshot_phases`.
use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::gravity::{Gravity, GravityParams};
use gardencity_io::snapshot::{decode_snapshot, encode_snapshot};
use std::path::Path;
use std::time::Instant;

fn main() {
    let city = random_city(&RandomCityParams { width: 380, height: 380, street_spacing: 5, ..Default::default() })
        .expect("random city");
    let g = Gravity::hub_proxy(&city, GravityParams::default()).expect("gravity");
    let bytes = encode_snapshot(&city, Some(&g));
    let best = |f: &dyn Fn()| {
        (0..10)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .fold(f64::INFINITY, f64::min)
    };
    let no_gravity = encode_snapshot(&city, None);
    println!("{} buildings, snapshot {} bytes", city.buildings().len(), bytes.len());
    println!("decode city only: {:.1} ms", best(&|| drop(decode_snapshot(&no_gravity, Path::new("x")).unwrap())));
    println!("decode city + gravity: {:.1} ms", best(&|| drop(decode_snapshot(&bytes, Path::new("x")).unwrap())));
    println!(
        "hub distances ({} hubs): {:.1} ms",
        g.hubs().len(),
        best(&|| drop(gardencity::gravity::hub_distances(&city, g.hubs()).unwrap()))
    );
}
