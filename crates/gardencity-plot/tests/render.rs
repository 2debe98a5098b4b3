//! Pixel-level checks of the rendered pictures on cities whose geometry is known.

use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::{BuildingSpec, BuildingType, Cell, CellKind, City, CityParts, Georeference, Point};
use gardencity_io::dataset::{Coordinates, DiaryRow};
use gardencity_plot::heatmap::{ramp, UNVISITED};
use gardencity_plot::map::{type_color, STREET};
use gardencity_plot::pings::user_color;
use gardencity_plot::*;
use tiny_skia::Pixmap;

fn city() -> City {
    random_city(&RandomCityParams { width: 30, height: 20, seed: 7, ..Default::default() }).unwrap()
}

fn rgb(pm: &Pixmap, (x, y): (u32, u32)) -> Color {
    let p =
        pm.pixel(x, y).unwrap_or_else(|| panic!("pixel ({x}, {y}) outside the {}x{} picture", pm.width(), pm.height()));
    assert_eq!(p.alpha(), 255);
    Color::rgb(p.red(), p.green(), p.blue())
}

/// PNG bytes decoded back (so the encoder is part of the check).
fn decode(scene: &Scene) -> Pixmap {
    Pixmap::decode_png(&png::to_png(scene).unwrap()).unwrap()
}

fn expected_block_color(city: &City, c: Cell) -> Color {
    match city.cell_kind(c) {
        CellKind::Street(_) => STREET,
        CellKind::Building(b) => type_color(city.building(b).kind),
        _ => Color::WHITE,
    }
}

#[test]
fn every_block_centre_has_its_type_colour() {
    let city = city();
    for detail in [Detail::Vector, Detail::Raster] {
        for (doors, grid) in [(false, false), (true, true)] {
            let opts = CityPlotOptions { width: 620, doors, grid, detail, ..Default::default() };
            let scene = plot_city(&city, &opts);
            let frame = scene.frame.unwrap();
            assert_eq!(frame.scale, (588.0f32 / 30.0 * 64.0).floor() / 64.0);
            let pm = decode(&scene);
            assert_eq!((pm.width(), pm.height()), (scene.width, scene.height));
            let mut kinds = [0usize; 3];
            for y in 0..20 {
                for x in 0..30 {
                    let c = Cell::new(x, y);
                    let want = expected_block_color(&city, c);
                    assert_eq!(rgb(&pm, frame.block_center_px(c)), want, "block ({x}, {y}) {detail:?}");
                    kinds[match city.cell_kind(c) {
                        CellKind::Street(_) => 0,
                        CellKind::Building(_) => 1,
                        _ => 2,
                    }] += 1;
                }
            }
            // Street grid every 5 blocks: 6 columns x 20 + 4 rows x 24 street cells.
            assert_eq!(kinds[0], 6 * 20 + 4 * 24);
            assert!(kinds[1] > 200, "{kinds:?}");
        }
    }
}

#[test]
fn y_axis_points_up() {
    // Street cell (0, 0) is at the bottom left of the map, (0, 19) at the top left.
    let city = city();
    let frame = MapFrame::new(&city, 620, Detail::Vector);
    let (_, bottom) = frame.block_center_px(Cell::new(0, 0));
    let (_, top) = frame.block_center_px(Cell::new(0, 19));
    assert!(bottom > top);
    assert_eq!(frame.to_px(Point::new(0.0, 20.0)), (frame.left, frame.top));
}

#[test]
fn svg_has_one_element_per_building_and_street_run() {
    let city = city();
    let scene = plot_city(&city, &CityPlotOptions { width: 620, doors: true, ids: true, ..Default::default() });
    let text = svg::to_svg(&scene);
    let doc = roxmltree::Document::parse(&text).expect("SVG parses as XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.attribute("width"), Some(scene.width.to_string().as_str()));
    let class = |c: &str| doc.descendants().filter(|n| n.attribute("class") == Some(c)).count();
    assert_eq!(class("building"), city.buildings().len());
    assert_eq!(class("door"), city.buildings().len());
    let frame = scene.frame.unwrap();
    let fitting = city.buildings().iter().filter(|b| city_map::id_fits(&frame, b)).count();
    assert_eq!(class("label"), fitting);
    // 1 x 1 buildings (19.6 px) are too narrow for a 7-character id at 6 px per character.
    assert!(fitting > 0 && fitting < city.buildings().len());
    for b in city.buildings().iter().filter(|b| b.size() == 1) {
        assert!(!city_map::id_fits(&frame, b), "{}", b.id);
    }
    // Street runs: rows 0, 5, 10, 15 are one run each; other rows have 6 single cells.
    assert_eq!(class("street"), 4 + 16 * 6);
    // Random-city buildings are rectangles: each is a <rect> of its block size.
    let rects: Vec<_> = doc.descendants().filter(|n| n.attribute("class") == Some("building")).collect();
    for (node, b) in rects.iter().zip(city.buildings()) {
        assert_eq!(node.tag_name().name(), "rect");
        let w: f32 = node.attribute("width").unwrap().parse().unwrap();
        assert!((w - (b.max.x - b.min.x + 1) as f32 * frame.scale).abs() < 0.01, "{}", b.id);
        assert_eq!(node.attribute("fill"), Some(type_color(b.kind).to_hex().as_str()));
    }
    // Legend names every type.
    for t in BuildingType::ALL {
        assert!(text.contains(&format!(">{t} (")), "{t}");
    }
}

#[test]
fn large_city_is_drawn_as_majority_raster() {
    // 400 x 400: the left half is street, the right half one park; a pixel covers ~1.4 blocks.
    let (w, h) = (400, 400);
    let streets: Vec<Cell> = (0..w / 2).flat_map(|x| (0..h).map(move |y| Cell::new(x, y))).collect();
    let park: Vec<Cell> = (w / 2..w).flat_map(|x| (0..h).map(move |y| Cell::new(x, y))).collect();
    let city = City::new(CityParts {
        name: "halves".into(),
        width: w as u32,
        height: h as u32,
        georef: Georeference::default(),
        streets,
        buildings: vec![BuildingSpec {
            id: Some("park".into()),
            kind: BuildingType::Park,
            blocks: park,
            door: Cell::new(w / 2 - 1, 0),
            door_point: None,
        }],
        boundary_wkt: None,
    })
    .unwrap();
    let scene =
        plot_city(&city, &CityPlotOptions { width: 320, doors: true, grid: true, ids: true, ..Default::default() });
    let frame = scene.frame.unwrap();
    assert!(frame.raster && frame.scale < 1.0, "{frame:?}");
    assert_eq!(scene.count_class("raster"), 1);
    assert_eq!(scene.count_class("building") + scene.count_class("door") + scene.count_class("grid"), 0);
    let pm = decode(&scene);
    let mid = frame.left as u32 + frame.width_px / 2;
    for py in (frame.top as u32..frame.top as u32 + frame.height_px).step_by(7) {
        assert_eq!(rgb(&pm, (frame.left as u32, py)), STREET);
        assert_eq!(rgb(&pm, (mid - 2, py)), STREET);
        assert_eq!(rgb(&pm, (mid + 2, py)), type_color(BuildingType::Park));
        assert_eq!(rgb(&pm, (frame.left as u32 + frame.width_px - 1, py)), type_color(BuildingType::Park));
    }
    // The SVG embeds the raster as a PNG image.
    let text = svg::to_svg(&scene);
    let doc = roxmltree::Document::parse(&text).unwrap();
    let img = doc.descendants().find(|n| n.tag_name().name() == "image").unwrap();
    assert!(img
        .attribute(("http://www.w3.org/1999/xlink", "href"))
        .unwrap()
        .starts_with("data:image/png;base64,iVBORw0KGgo"));
}

#[test]
fn thousand_block_city_renders() {
    let city = random_city(&RandomCityParams { width: 1000, height: 1000, seed: 1, ..Default::default() }).unwrap();
    let scene = plot_city(&city, &CityPlotOptions::default());
    assert_eq!(scene.count_class("raster"), 1);
    let pm = decode(&scene);
    assert_eq!(pm.width(), 1200);
    // Street rows every 5 blocks are at most 1.2 px apart here, so most pixels mix types;
    // every type and the streets still show up.
    let frame = scene.frame.unwrap();
    let mut seen = std::collections::HashSet::new();
    for y in 0..frame.height_px {
        for x in 0..frame.width_px {
            seen.insert(rgb(&pm, (frame.left as u32 + x, frame.top as u32 + y)));
        }
    }
    assert!(seen.contains(&STREET));
    for t in BuildingType::ALL.into_iter().take(4) {
        assert!(seen.contains(&type_color(t)), "{t}");
    }
}

fn users_at(city: &City, cells: &[&[Cell]]) -> Vec<UserPings> {
    cells
        .iter()
        .enumerate()
        .map(|(i, cs)| UserPings {
            user_id: format!("u{i}"),
            sparse: cs.iter().enumerate().map(|(k, c)| (1000 + 60 * k as i64, c.center())).collect(),
            dense: Vec::new(),
            stays: vec![Stay {
                start: 1000,
                minutes: 30.0,
                building: city.building_at(Cell::new(1, 1)).unwrap_or_default(),
            }],
        })
        .collect()
}

#[test]
fn pings_land_on_their_blocks_in_user_colours() {
    let city = city();
    let a = [Cell::new(0, 0), Cell::new(3, 5), Cell::new(12, 7), Cell::new(29, 19)];
    let b = [Cell::new(2, 2), Cell::new(20, 10)];
    let users = users_at(&city, &[&a, &b]);
    let mut opts = PingPlotOptions::new(0, 3600, chrono_tz::UTC);
    opts.width = 620;
    opts.stays = true;
    for detail in [Detail::Vector, Detail::Raster] {
        opts.detail = detail;
        let scene = plot_pings(&city, &users, &opts).unwrap();
        assert_eq!(scene.count_class("ping"), 6);
        assert_eq!(scene.count_class("tick"), 6);
        assert_eq!(scene.count_class("stay"), 2);
        let frame = scene.frame.unwrap();
        let pm = decode(&scene);
        for c in a {
            assert_eq!(rgb(&pm, frame.block_center_px(c)), user_color(0), "{c:?}");
        }
        for c in b {
            assert_eq!(rgb(&pm, frame.block_center_px(c)), user_color(1), "{c:?}");
        }
        // Elsewhere the city is faded: a street centre away from pings is a light grey.
        let s = rgb(&pm, frame.block_center_px(Cell::new(10, 15)));
        assert!(s.r == s.g && s.g == s.b && s.r > STREET.r, "{s:?}");
    }
    opts.detail = Detail::Auto;
    assert_ne!(user_color(0), user_color(1));
    // Only pings inside the window are drawn.
    let mut early = opts.clone();
    early.end = 1000 + 60;
    let scene = plot_pings(&city, &users, &early).unwrap();
    assert_eq!(scene.count_class("ping"), 2);
    let text = svg::to_svg(&scene);
    roxmltree::Document::parse(&text).unwrap();
    assert!(text.contains(">u1</text>"));
}

#[test]
fn ping_errors() {
    let city = city();
    let cells: Vec<Cell> = (0..40).map(|i| Cell::new(i % 30, i % 20)).collect();
    let mut users = users_at(&city, &[&cells]);
    let opts = PingPlotOptions::new(0, 10_000, chrono_tz::UTC);
    assert!(matches!(
        plot_pings(&city, &users, &PingPlotOptions { end: 0, ..opts.clone() }),
        Err(PlotError::EmptyWindow { start: 0, end: 0 })
    ));
    assert!(matches!(plot_pings(&city, &[], &opts), Err(PlotError::NoData(_))));
    assert!(matches!(
        plot_pings(&city, &users, &PingPlotOptions { start: 50_000, end: 60_000, ..opts.clone() }),
        Err(PlotError::NoData(_))
    ));
    // One ping in 40 outside the grid (GPS noise at the edge) is fine; three are not.
    users[0].sparse[0].1 = Point::new(-0.3, 5.0);
    plot_pings(&city, &users, &opts).unwrap();
    users[0].sparse[1].1 = Point::new(31.0, 5.0);
    users[0].sparse[2].1 = Point::new(5.0, 20.5);
    let e = plot_pings(&city, &users, &opts).unwrap_err();
    assert!(matches!(e, PlotError::Mismatch(_)), "{e}");
    assert!(e.to_string().contains("3 of 40 pings (7.5%)"), "{e}");
}

fn stay(user: &str, loc: Option<&str>, minutes: f64) -> DiaryRow {
    DiaryRow { user_id: user.into(), timestamp: 0, duration: minutes, location: loc.map(String::from) }
}

#[test]
fn heatmap_shades_by_minutes() {
    let city = city();
    let ids: Vec<&str> = city.buildings().iter().take(4).map(|b| b.id.as_str()).collect();
    let rows = vec![
        stay("a", Some(ids[0]), 400.0),
        stay("b", Some(ids[0]), 200.0),
        stay("a", None, 15.0),
        stay("a", Some(ids[1]), 60.0),
        stay("b", Some(ids[2]), 60.0 * 10f64.sqrt()),
    ];
    let m = minutes_by_building(&city, &rows).unwrap();
    assert_eq!(&m[..4], &[600.0, 60.0, 60.0 * 10f64.sqrt(), 0.0]);
    // Three visited buildings: both the quantile (ranks 0, 1, 2) and the log scale
    // (60 * sqrt(10) is halfway between 60 and 600) put them at 1, 0 and 0.5.
    for (detail, scale) in [
        (Detail::Vector, HeatScale::Quantile),
        (Detail::Raster, HeatScale::Quantile),
        (Detail::Vector, HeatScale::Log),
        (Detail::Raster, HeatScale::Log),
    ] {
        let opts = HeatmapOptions { width: 620, detail, scale, ..Default::default() };
        let scene = plot_heatmap(&city, &rows, &opts).unwrap();
        let frame = scene.frame.unwrap();
        let pm = decode(&scene);
        let at = |k: usize| rgb(&pm, frame.block_center_px(city.buildings()[k].blocks[0]));
        assert_eq!(at(0), ramp(1.0));
        assert_eq!(at(1), ramp(0.0));
        assert_eq!(at(2), ramp(0.5));
        assert_eq!(at(3), UNVISITED);
        assert_eq!(ramp(0.5), heatmap::RAMP[4]);
    }
    // Linear scale: 189.7 min sits at (189.7 - 60) / 540 of the ramp.
    let opts = HeatmapOptions { width: 620, scale: HeatScale::Linear, detail: Detail::Vector, ..Default::default() };
    let scene = plot_heatmap(&city, &rows, &opts).unwrap();
    let pm = decode(&scene);
    let frame = scene.frame.unwrap();
    let t = (60.0 * 10f64.sqrt() - 60.0) / 540.0;
    assert_eq!(rgb(&pm, frame.block_center_px(city.buildings()[2].blocks[0])), ramp(t));
    // Min and max labels, and round hours between, all in hours (the maximum is 10 hours).
    let text = svg::to_svg(&plot_heatmap(&city, &rows, &opts).unwrap());
    for label in ["1 h", "10 h", "2 h", "4 h", "6 h", "8 h"] {
        assert!(text.contains(&format!(">{label}</text>")), "{label}: {text}");
    }

    let bad = vec![stay("a", Some("no-such-building"), 5.0)];
    let e = plot_heatmap(&city, &bad, &opts).unwrap_err();
    assert!(e.to_string().contains("\"no-such-building\" is not a building"), "{e}");
    let trips = vec![stay("a", None, 5.0)];
    assert!(matches!(plot_heatmap(&city, &trips, &opts), Err(PlotError::NoData(_))));
}

#[test]
fn coordinates_map_back_to_blocks() {
    let georef = Georeference {
        block_side: 12.5,
        origin_x: 1000.0,
        origin_y: -500.0,
        rotation_deg: 30.0,
        rotation_origin: (1000.0, -500.0),
    };
    let city = random_city(&RandomCityParams { width: 10, height: 10, georef, ..Default::default() }).unwrap();
    let p = Point::new(3.25, 7.5);
    let (mx, my) = georef.to_mercator(p);
    let (lon, lat) = georef.to_lonlat(p);
    for (coords, x, y) in
        [(Coordinates::Blocks, p.x, p.y), (Coordinates::WebMercator, mx, my), (Coordinates::LonLat, lon, lat)]
    {
        let q = to_blocks(&city, coords, x, y);
        assert!(q.dist(p) < 1e-6, "{coords:?}: {q:?}");
    }
}

#[test]
fn save_writes_by_extension_and_leaves_nothing_on_error() {
    let city = city();
    let scene = plot_city(&city, &CityPlotOptions { width: 400, ..Default::default() });
    let dir = tempfile::tempdir().unwrap();
    let png_path = dir.path().join("c.png");
    save(&scene, &png_path).unwrap();
    let pm = Pixmap::load_png(&png_path).unwrap();
    assert_eq!(pm.width(), scene.width);
    let svg_path = dir.path().join("c.SVG");
    save(&scene, &svg_path).unwrap();
    assert!(std::fs::read_to_string(&svg_path).unwrap().starts_with("<svg"));
    let e = save(&scene, dir.path().join("c.jpg")).unwrap_err();
    assert!(matches!(e, PlotError::UnknownFormat { .. }), "{e}");
    let e = save(&scene, dir.path().join("missing/c.png")).unwrap_err();
    assert!(matches!(e, PlotError::Io { .. }), "{e}");
    let mut names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["c.SVG", "c.png"]);
}

/// Background (white) pixels inside the map only where a block within a pixel is empty:
/// no seams between neighbouring blocks at fractional scales.
fn assert_no_seams(city: &City, opts: &CityPlotOptions) {
    assert!(assert_no_seams_or_empty(city, opts) > 0, "the random city has empty blocks");
}

/// As [`assert_no_seams`]; returns the number of white pixels (next to empty blocks).
fn assert_no_seams_or_empty(city: &City, opts: &CityPlotOptions) -> usize {
    let scene = plot_city(city, opts);
    let frame = scene.frame.unwrap();
    let pm = decode(&scene);
    let s = frame.scale;
    let block = |px: f32, py: f32| {
        let x = ((px - frame.left) / s).floor() as i32;
        let y = city.height() as i32 - 1 - ((py - frame.top) / s).floor() as i32;
        city.cell_kind(Cell::new(x, y))
    };
    let mut checked = 0;
    for py in frame.top as u32..frame.top as u32 + frame.height_px {
        for px in frame.left as u32..frame.left as u32 + frame.width_px {
            if rgb(&pm, (px, py)) != Color::WHITE {
                continue;
            }
            checked += 1;
            let (fx, fy) = (px as f32 + 0.5, py as f32 + 0.5);
            let near_empty = [(-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0), (1.0, 1.0), (0.0, 0.0)]
                .iter()
                .any(|(dx, dy)| matches!(block(fx + dx, fy + dy), CellKind::Empty | CellKind::Outside));
            assert!(near_empty, "white pixel ({px}, {py}) between non-empty blocks, {opts:?} {frame:?}");
        }
    }
    checked
}

#[test]
fn no_seams_at_fractional_scales() {
    let city = city();
    let tall = random_city(&RandomCityParams { width: 20, height: 80, seed: 3, ..Default::default() }).unwrap();
    for width in [600, 613, 777, 1001] {
        for detail in [Detail::Vector, Detail::Raster] {
            assert_no_seams(&city, &CityPlotOptions { width, detail, ..Default::default() });
            assert_no_seams(&tall, &CityPlotOptions { width, detail, ..Default::default() });
        }
    }
}

#[test]
fn l_shaped_buildings_are_polygons_without_seams() {
    // Two interlocking L-shaped buildings over a street row; every other block is street.
    let a = vec![Cell::new(1, 1), Cell::new(2, 1), Cell::new(1, 2)];
    let b = vec![Cell::new(2, 2), Cell::new(3, 2), Cell::new(3, 1)];
    let taken: Vec<Cell> = a.iter().chain(&b).copied().collect();
    let streets: Vec<Cell> =
        (0..5).flat_map(|x| (0..4).map(move |y| Cell::new(x, y))).filter(|c| !taken.contains(c)).collect();
    let spec = |id: &str, kind, blocks: Vec<Cell>, door| BuildingSpec {
        id: Some(id.into()),
        kind,
        blocks,
        door,
        door_point: None,
    };
    let city = City::new(CityParts {
        name: "ells".into(),
        width: 5,
        height: 4,
        georef: Georeference::default(),
        streets,
        buildings: vec![
            spec("a", BuildingType::Home, a, Cell::new(1, 0)),
            spec("b", BuildingType::Retail, b, Cell::new(3, 0)),
        ],
        boundary_wkt: None,
    })
    .unwrap();
    for width in [333, 517, 640] {
        let opts = CityPlotOptions { width, detail: Detail::Vector, ..Default::default() };
        let scene = plot_city(&city, &opts);
        let frame = scene.frame.unwrap();
        let pm = decode(&scene);
        // No pixel of the map is background: streets and buildings cover the grid.
        for py in frame.top as u32..frame.top as u32 + frame.height_px {
            for px in frame.left as u32..frame.left as u32 + frame.width_px {
                assert_ne!(rgb(&pm, (px, py)), Color::WHITE, "({px}, {py}) at width {width}");
            }
        }
        for y in 0..4 {
            for x in 0..5 {
                let c = Cell::new(x, y);
                assert_eq!(rgb(&pm, frame.block_center_px(c)), expected_block_color(&city, c), "{c:?}");
            }
        }
        let text = svg::to_svg(&scene);
        let doc = roxmltree::Document::parse(&text).unwrap();
        let paths =
            doc.descendants().filter(|n| n.attribute("class") == Some("building") && n.tag_name().name() == "path");
        assert_eq!(paths.count(), 2);
    }
}

#[test]
fn garden_city_map() {
    let Some(path) = gardencity_testkit::shared_data("garden-city.gpkg") else { return };
    let city = gardencity_io::gpkg::read_city(&path).unwrap();
    for detail in [Detail::Vector, Detail::Raster] {
        let opts = CityPlotOptions { width: 700, doors: true, detail, ..Default::default() };
        let scene = plot_city(&city, &opts);
        let frame = scene.frame.unwrap();
        let pm = decode(&scene);
        for y in 0..city.height() as i32 {
            for x in 0..city.width() as i32 {
                let c = Cell::new(x, y);
                assert_eq!(rgb(&pm, frame.block_center_px(c)), expected_block_color(&city, c), "{c:?} {detail:?}");
            }
        }
        if detail == Detail::Vector {
            assert_eq!(scene.count_class("building"), city.buildings().len());
            assert_eq!(scene.count_class("door"), city.buildings().len());
        }
        assert_no_seams_or_empty(&city, &opts);
    }
}

#[test]
fn barcode_marks_local_midnights() {
    let city = city();
    let cells: Vec<Cell> = (0..10).map(|i| Cell::new(i, 0)).collect();
    let mut users = users_at(&city, &[&cells]);
    // 2024-03-09 00:00 to 2024-03-12 00:00 in New York spans the spring-forward change
    // (a 23-hour day): two midnights inside, on the 10th and the 11th.
    let tz = chrono_tz::America::New_York;
    let start = 1_709_960_400; // 2024-03-09T00:00-05:00
    let end = 1_710_216_000; // 2024-03-12T00:00-04:00
    assert_eq!(end - start, 3 * 86_400 - 3_600);
    for (k, p) in users[0].sparse.iter_mut().enumerate() {
        p.0 = start + 20_000 * k as i64;
    }
    let scene = plot_pings(&city, &users, &PingPlotOptions::new(start, end, tz)).unwrap();
    assert_eq!(scene.count_class("midnight"), 2);
    assert_eq!(scene.count_class("tick"), 10);
    let xs: Vec<f32> = scene
        .shapes
        .iter()
        .filter_map(|(c, s)| match (c, s) {
            (Some("midnight"), Shape::Polyline { points, .. }) => Some(points[0].0),
            _ => None,
        })
        .collect();
    let frame = scene.frame.unwrap();
    let at = |t: i64| frame.left + frame.width_px as f32 * (t - start) as f32 / (end - start) as f32;
    assert!((xs[0] - at(1_710_046_800)).abs() < 0.01, "{xs:?}"); // 2024-03-10T00:00-05:00
    assert!((xs[1] - at(1_710_129_600)).abs() < 0.01, "{xs:?}"); // 2024-03-11T00:00-04:00
    let text = svg::to_svg(&scene);
    assert!(text.contains(">2024-03-09 00:00</text>") && text.contains(">2024-03-12 00:00</text>"));
}

#[test]
fn png_text_keeps_the_case_of_the_data() {
    // The same legend label in lower and upper case gives different ink; both are drawn
    // anti-aliased (grey levels between ink and paper) in the text's colour.
    let draw = |label: &str| {
        let mut scene = Scene::new(200, 40, Color::WHITE);
        scene.text(10.0, 25.0, label, 10.0, Color::BLACK, Anchor::Start);
        decode(&scene)
    };
    let (lower, upper) = (draw("able_acorn"), draw("ABLE_ACORN"));
    assert_ne!(lower.data(), upper.data());
    let inked = |pm: &Pixmap| pm.pixels().iter().filter(|p| p.red() < 128).count();
    assert!(inked(&lower) > 30 && inked(&upper) > inked(&lower), "{} {}", inked(&lower), inked(&upper));
    assert!(lower.pixels().iter().any(|p| p.red() > 40 && p.red() < 215), "anti-aliased edges");
    // Text ends where font::text_width says (anchor End lands the ink left of x).
    let mut scene = Scene::new(200, 40, Color::WHITE);
    scene.text(150.0, 25.0, "able_acorn", 10.0, Color::BLACK, Anchor::End);
    let pm = decode(&scene);
    let xs: Vec<u32> = (0..200).filter(|&x| (0..40).any(|y| pm.pixel(x, y).unwrap().red() < 128)).collect();
    let w = font::text_width("able_acorn", 10.0);
    assert!(*xs.last().unwrap() <= 150 && *xs.first().unwrap() as f32 >= 150.0 - w - 1.0, "{xs:?} {w}");
    // The SVG keeps the text as text, in the embedded font's family and at the same cap height.
    let svg = svg::to_svg(&scene);
    assert!(svg.contains(">able_acorn</text>") && svg.contains("font-family=\"DejaVu Sans,"), "{svg}");
}

#[test]
fn quantile_scale_separates_a_skewed_distribution() {
    // One building with 1 minute, twenty with 1000..1019 minutes: on the log and linear
    // scales the twenty look the same (all near the top); ranks tell them apart.
    let mut v = vec![1.0];
    v.extend((0..20).map(|i| 1000.0 + i as f64));
    let distinct = |kind| {
        let s = ColorScale::new(kind, &v).unwrap();
        v.iter().map(|&x| heatmap::ramp(s.t(x))).collect::<std::collections::HashSet<_>>().len()
    };
    // Colour difference (largest channel difference) of the buildings at the first and
    // third quartile of the twenty.
    let contrast = |kind| {
        let s = ColorScale::new(kind, &v).unwrap();
        let (a, b) = (heatmap::ramp(s.t(1005.0)), heatmap::ramp(s.t(1015.0)));
        [a.r.abs_diff(b.r), a.g.abs_diff(b.g), a.b.abs_diff(b.b)].into_iter().max().unwrap()
    };
    assert_eq!(distinct(HeatScale::Quantile), 21);
    assert!(contrast(HeatScale::Quantile) > 60, "{}", contrast(HeatScale::Quantile));
    assert!(contrast(HeatScale::Log) < 8, "{}", contrast(HeatScale::Log));
    assert!(contrast(HeatScale::Linear) < 8, "{}", contrast(HeatScale::Linear));
    // Quantiles: the median value sits mid-ramp, ties share a colour, the inverse holds.
    let q = ColorScale::new(HeatScale::Quantile, &[5.0, 1.0, 3.0, 3.0, 100.0, 0.0, f64::NAN]).unwrap();
    assert_eq!((q.min(), q.max()), (1.0, 100.0));
    assert_eq!(q.t(1.0), 0.0);
    assert_eq!(q.t(3.0), 0.375); // ranks 1 and 2 of 0..=4: mid-rank 1.5
    assert_eq!(q.t(100.0), 1.0);
    assert_eq!(q.value_at(0.5), 3.0);
    assert_eq!(q.value_at(0.75), 5.0);
    let ticks: Vec<f64> = q.ticks().iter().map(|t| t.1).collect();
    assert_eq!(ticks, [1.0, 100.0, 3.0, 3.0, 5.0]);
    // Log ticks: round numbers between the ends, at their log positions.
    let l = ColorScale::new(HeatScale::Log, &[3.0, 300.0]).unwrap();
    let ticks = l.ticks();
    assert!(ticks.iter().any(|&(t, v)| v == 10.0 && (t - 0.2614).abs() < 1e-3), "{ticks:?}");
    assert!(ticks.iter().any(|&(_, v)| v == 100.0), "{ticks:?}");
    assert!(ColorScale::new(HeatScale::Quantile, &[0.0, -1.0]).is_none());
    assert_eq!(heatmap::fmt_duration(90.0, true), "1.5 h");
    assert_eq!(heatmap::fmt_duration(7.25, false), "7.2 min");
}

#[test]
fn heatmap_of_skewed_times_uses_the_whole_ramp_and_has_a_labelled_colour_bar() {
    // Many buildings, one of them visited far longer (a home); the rest spread evenly.
    let city = city();
    let n = city.buildings().len();
    assert!(n > 30, "{n}");
    let rows: Vec<DiaryRow> = city
        .buildings()
        .iter()
        .enumerate()
        .map(|(k, b)| stay("a", Some(&b.id), if k == 0 { 100_000.0 } else { 60.0 + k as f64 }))
        .collect();
    let colours = |scale| {
        let opts = HeatmapOptions { width: 620, scale, detail: Detail::Vector, ..Default::default() };
        let scene = plot_heatmap(&city, &rows, &opts).unwrap();
        let frame = scene.frame.unwrap();
        let pm = decode(&scene);
        let set: std::collections::HashSet<Color> =
            city.buildings().iter().map(|b| rgb(&pm, frame.block_center_px(b.blocks[0]))).collect();
        (set.len(), scene, pm)
    };
    let (quantile, scene, pm) = colours(HeatScale::Quantile);
    let (linear, ..) = colours(HeatScale::Linear);
    assert!(quantile > n * 3 / 4, "{quantile} of {n}");
    assert!(linear < 5, "{linear}");
    // The colour bar: a row of pixels through it runs from the light to the dark end.
    let bar: Vec<(f32, f32, f32)> = scene
        .shapes
        .iter()
        .filter_map(|(c, s)| match (c, s) {
            (Some("colorbar"), Shape::Rect { x, y, h, .. }) => Some((*x, *y, *h)),
            _ => None,
        })
        .collect();
    let (x0, y0, h) = bar[0];
    let x1 = bar.last().unwrap().0;
    let row = (y0 + h / 2.0) as u32;
    let px: Vec<Color> = (x0.ceil() as u32 + 1..x1 as u32).map(|x| rgb(&pm, (x, row))).collect();
    assert!(px.iter().collect::<std::collections::HashSet<_>>().len() > 50);
    assert_eq!(px[0], heatmap::ramp(0.5 / 150.0));
    // Ticks are labelled in hours (the maximum is 1,667 hours), ends included, and each
    // label has its tick.
    let labels: Vec<&str> = scene
        .shapes
        .iter()
        .filter_map(|(c, s)| match (c, s) {
            (Some("colorbar-label"), Shape::Text { text, .. }) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(labels.len() >= 3 && labels.iter().all(|l| l.ends_with(" h")), "{labels:?}");
    assert!(labels.contains(&"1667 h") && labels.contains(&"1.0 h"), "{labels:?}");
    assert_eq!(scene.count_class("colorbar-tick"), labels.len());
}

#[test]
fn time_spent_accumulates_rows_one_at_a_time() {
    let city = city();
    let id = city.buildings()[3].id.clone();
    let rows = vec![stay("b", Some(&id), 30.0), stay("a", None, 5.0), stay("a", Some(&id), 15.0)];
    let mut t = TimeSpent::new(&city);
    for r in &rows {
        t.add(&city, r).unwrap();
    }
    assert_eq!(t, TimeSpent::from_rows(&city, &rows).unwrap());
    assert_eq!(t.minutes[3], 45.0);
    assert_eq!(t.users.len(), 2);
    let e = t.add(&city, &stay("c", Some("nowhere"), 1.0)).unwrap_err();
    assert!(e.to_string().contains("diary row 3 (user c): location \"nowhere\""), "{e}");
    let scene = plot_time_spent(&city, &t, &HeatmapOptions::default()).unwrap();
    assert!(svg::to_svg(&scene).contains("time spent: 3 user(s), 1 of"));
}
