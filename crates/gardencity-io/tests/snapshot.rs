//! Binary snapshots: bit-for-bit round trips and rejection of damaged files.

use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::gravity::{Gravity, GravityParams};
use gardencity::{BuildingSpec, BuildingType, Cell, City, CityParts, Georeference};
use gardencity_io::snapshot::{
    decode_snapshot, encode_snapshot, read_snapshot, write_snapshot, SnapshotError, SNAPSHOT_VERSION,
};
use std::path::Path;

fn city(seed: u64) -> City {
    random_city(&RandomCityParams {
        width: 60,
        height: 48,
        street_spacing: 5,
        seed,
        georef: Georeference {
            block_side: 12.5,
            origin_x: -8_366_000.25,
            origin_y: 4_858_000.5,
            rotation_deg: 3.25,
            rotation_origin: (1.5, -2.0),
        },
        ..Default::default()
    })
    .unwrap()
}

/// A city with an L-shaped (non-rectangular) building, a boundary and an odd name.
fn odd_city() -> City {
    City::new(CityParts {
        name: "Ünïcode city ✓".into(),
        width: 4,
        height: 3,
        georef: Georeference::default(),
        streets: (0..4).map(|x| Cell::new(x, 0)).collect(),
        buildings: vec![BuildingSpec {
            id: Some("weird id".into()),
            kind: BuildingType::Other,
            blocks: vec![Cell::new(0, 1), Cell::new(1, 1), Cell::new(1, 2)],
            door: Cell::new(1, 0),
            door_point: None,
        }],
        boundary_wkt: Some("POLYGON ((0 0, 4 0, 4 3, 0 3, 0 0))".into()),
    })
    .unwrap()
}

#[test]
fn round_trips_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let c = city(1);
    let hub =
        Gravity::hub_proxy(&c, GravityParams { hub_size: Some(16), exponent: 1.75, ..Default::default() }).unwrap();
    let exact = Gravity::exact(&c, GravityParams::default()).unwrap();
    // A model whose nearby pairs do not follow the rule (as read from a foreign file).
    let mut parts = hub.hub_parts().unwrap();
    parts.nearby.truncate(parts.nearby.len() / 2);
    let foreign = Gravity::from_hub_parts(&c, parts).unwrap();
    assert!(!foreign.nearby_follows_rule());
    let odd = odd_city();
    let odd_g = Gravity::hub_proxy(&odd, GravityParams::default()).unwrap();
    let cases: Vec<(&City, Option<&Gravity>)> = vec![
        (&c, Some(&hub)),
        (&c, Some(&foreign)),
        (&c, Some(&exact)),
        (&c, None),
        (&odd, Some(&odd_g)),
        (&odd, None),
    ];
    for (k, (city, g)) in cases.into_iter().enumerate() {
        let p = dir.path().join(format!("s{k}.gcsnap"));
        let size = write_snapshot(&p, city, g).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(size, bytes.len() as u64);
        assert_eq!(bytes, encode_snapshot(city, g));
        let s = read_snapshot(&p).unwrap();
        assert_eq!(&s.city, city, "case {k}");
        assert_eq!(s.gravity.as_ref(), g, "case {k}");
        assert_eq!(encode_snapshot(&s.city, s.gravity.as_ref()), bytes, "case {k}: re-encoding differs");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(left.is_empty());
}

#[test]
fn rejects_damaged_files() {
    let c = city(2);
    let g = Gravity::hub_proxy(&c, GravityParams::default()).unwrap();
    let good = encode_snapshot(&c, Some(&g));
    let p = Path::new("test.gcsnap");
    // Truncated anywhere.
    for cut in [0, 5, 20, good.len() / 2, good.len() - 1] {
        let err = decode_snapshot(&good[..cut], p).unwrap_err();
        assert!(
            matches!(
                err,
                SnapshotError::Truncated { .. } | SnapshotError::ShortHeader { .. } | SnapshotError::NotSnapshot { .. }
            ),
            "cut {cut}: {err}"
        );
    }
    // Cut inside the magic bytes: a truncated snapshot, not "expected GCSNAP, found GCSNAP".
    let msg = decode_snapshot(&good[..6], p).unwrap_err().to_string();
    assert_eq!(msg, "test.gcsnap: truncated snapshot: 6 bytes, shorter than the 28-byte header and checksum");
    let msg = decode_snapshot(b"", p).unwrap_err().to_string();
    assert!(msg.contains("not a gardencity snapshot") && msg.contains("found an empty file"), "{msg}");
    // Foreign bytes are shown escaped, so they never look like the magic.
    let msg = decode_snapshot(b"GCSNAP\0\0 and more bytes to be long enough", p).unwrap_err().to_string();
    assert!(msg.contains(r#"expected the magic bytes "GCSNAP\x00\x1a", found "GCSNAP\x00\x00""#), "{msg}");
    let err = decode_snapshot(&good[..good.len() - 3], p).unwrap_err();
    assert!(matches!(err, SnapshotError::Truncated { found, expected, .. } if found + 3 == expected), "{err}");
    // Padded.
    let mut padded = good.clone();
    padded.push(0);
    assert!(matches!(decode_snapshot(&padded, p).unwrap_err(), SnapshotError::Truncated { .. }));
    // Any flipped payload or checksum byte.
    for pos in [24, 40, good.len() / 3, good.len() - 10, good.len() - 1] {
        let mut t = good.clone();
        t[pos] ^= 0x10;
        let err = decode_snapshot(&t, p).unwrap_err();
        assert!(matches!(err, SnapshotError::Checksum { .. }), "byte {pos}: {err}");
        assert!(err.to_string().contains("test.gcsnap"));
    }
    // Another version.
    let mut v = good.clone();
    v[8..12].copy_from_slice(&(SNAPSHOT_VERSION + 1).to_le_bytes());
    assert!(matches!(
        decode_snapshot(&v, p).unwrap_err(),
        SnapshotError::Version { found, supported: SNAPSHOT_VERSION, .. } if found == SNAPSHOT_VERSION + 1
    ));
    // Not a snapshot at all.
    let err = decode_snapshot(b"SQLite format 3\0 and more bytes here", p).unwrap_err();
    assert!(matches!(err, SnapshotError::NotSnapshot { .. }), "{err}");
    // Consistent checksum over a corrupt payload (a writer bug): a typed Corrupt error.
    let mut w = good.clone();
    let end = w.len() - 4;
    w[end - 1] = 0xFF; // damage the last varint, then fix up the checksum
    let crc = crc32fast::hash(&w[..end]);
    w[end..].copy_from_slice(&crc.to_le_bytes());
    let err = decode_snapshot(&w, p).unwrap_err();
    assert!(matches!(err, SnapshotError::Corrupt { .. } | SnapshotError::Gravity { .. }), "{err}");
    // Missing file.
    let err = read_snapshot("/nonexistent/dir/x.gcsnap").unwrap_err();
    assert!(matches!(err, SnapshotError::Io { .. }) && err.to_string().contains("x.gcsnap"));
}
