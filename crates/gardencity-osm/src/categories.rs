//! OpenStreetMap tag tables: tag value -> subtype -> garden-city category (MODEL.md section 8).
//!
//! The default tables are `shared/osm-categories.toml`, embedded in the crate; a user may
//! supply their own file with the same layout.

use gardencity::city::BuildingType;
use serde::Deserialize;
use std::collections::HashMap;

/// The embedded default table (a copy of `shared/osm-categories.toml`).
pub const DEFAULT_TOML: &str = include_str!("osm-categories.toml");

/// Why a categories table could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum CategoriesError {
    /// Not valid TOML or not the expected layout.
    #[error("categories table {origin}: {source}")]
    Toml {
        /// Where the table came from (a file name or "embedded").
        origin: String,
        /// The parser's error.
        source: toml::de::Error,
    },
    /// A `[category]` value that is not a building type.
    #[error(
        "categories table {origin}: [category] {subtype} = {value:?} is not home, workplace, retail, park or other"
    )]
    Category {
        /// Where the table came from.
        origin: String,
        /// The subtype.
        subtype: String,
        /// The bad value.
        value: String,
    },
}

#[derive(Debug, Deserialize)]
struct Raw {
    #[serde(default)]
    building: HashMap<String, String>,
    #[serde(default)]
    amenity: HashMap<String, String>,
    #[serde(default)]
    tourism: HashMap<String, String>,
    #[serde(default)]
    category: HashMap<String, String>,
    #[serde(default)]
    parks: HashMap<String, Vec<String>>,
    streets: RawStreets,
}

#[derive(Debug, Deserialize)]
struct RawStreets {
    highway: Vec<String>,
    #[serde(default)]
    excluded_service: Vec<String>,
    #[serde(default)]
    excluded_surface: Vec<String>,
    #[serde(default = "yes")]
    exclude_tunnels: bool,
    #[serde(default = "yes")]
    exclude_covered: bool,
    #[serde(default)]
    min_length_m: f64,
    #[serde(default)]
    intersection_consolidation_tolerance_m: f64,
}

fn yes() -> bool {
    true
}

/// Which streets are selected.
#[derive(Debug, Clone, PartialEq)]
pub struct StreetRules {
    /// `highway` values selected.
    pub highway: Vec<String>,
    /// `service` values excluded.
    pub excluded_service: Vec<String>,
    /// `surface` values excluded.
    pub excluded_surface: Vec<String>,
    /// Exclude `tunnel=yes` ways (other values, such as `building_passage`, are kept).
    pub exclude_tunnels: bool,
    /// Exclude `covered=yes` ways (other values are kept).
    pub exclude_covered: bool,
    /// The reference drops segments shorter than this (metres).
    pub min_length_m: f64,
    /// The reference merges intersections closer than this (metres).
    pub intersection_consolidation_tolerance_m: f64,
}

/// The classification tables.
#[derive(Debug, Clone, PartialEq)]
pub struct Categories {
    /// `building` value -> subtype.
    pub building: HashMap<String, String>,
    /// `amenity` value -> subtype.
    pub amenity: HashMap<String, String>,
    /// `tourism` value -> subtype.
    pub tourism: HashMap<String, String>,
    /// Subtype -> category (missing subtypes are `other`).
    pub category: HashMap<String, BuildingType>,
    /// `leisure` values that make a park.
    pub park_leisure: Vec<String>,
    /// `natural` values that make a park.
    pub park_natural: Vec<String>,
    /// Street selection.
    pub streets: StreetRules,
}

impl Default for Categories {
    fn default() -> Self {
        Categories::from_toml(DEFAULT_TOML, "embedded").expect("the embedded table parses")
    }
}

impl Categories {
    /// Parses a table with the layout of `shared/osm-categories.toml`; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Categories, CategoriesError> {
        let raw: Raw =
            toml::from_str(text).map_err(|source| CategoriesError::Toml { origin: origin.into(), source })?;
        let mut category = HashMap::new();
        for (k, v) in raw.category {
            let t = v.parse::<BuildingType>().map_err(|_| CategoriesError::Category {
                origin: origin.into(),
                subtype: k.clone(),
                value: v.clone(),
            })?;
            category.insert(k, t);
        }
        let s = raw.streets;
        Ok(Categories {
            building: raw.building,
            amenity: raw.amenity,
            tourism: raw.tourism,
            category,
            park_leisure: raw.parks.get("leisure").cloned().unwrap_or_default(),
            park_natural: raw.parks.get("natural").cloned().unwrap_or_default(),
            streets: StreetRules {
                highway: s.highway,
                excluded_service: s.excluded_service,
                excluded_surface: s.excluded_surface,
                exclude_tunnels: s.exclude_tunnels,
                exclude_covered: s.exclude_covered,
                min_length_m: s.min_length_m,
                intersection_consolidation_tolerance_m: s.intersection_consolidation_tolerance_m,
            },
        })
    }

    /// The category of a subtype (`other` when not in `[category]`).
    pub fn category_of(&self, subtype: &str) -> BuildingType {
        self.category.get(subtype).copied().unwrap_or(BuildingType::Other)
    }

    /// The subtype of a feature from its tags (MODEL.md section 8, first rule that applies);
    /// `None` is "unknown". `infer_residential` enables the optional residential inference.
    pub fn subtype<'a, 't>(
        &'a self,
        tag: &dyn Fn(&str) -> Option<&'t str>,
        infer_residential: bool,
    ) -> Option<&'a str> {
        self.subtype_inner(tag, infer_residential)
    }

    fn subtype_inner<'a, 't>(
        &'a self,
        tag: &dyn Fn(&str) -> Option<&'t str>,
        infer_residential: bool,
    ) -> Option<&'a str> {
        let building = tag("building");
        if building == Some("parking") {
            return Some("parking");
        }
        if let Some(b) = building.filter(|&b| b != "yes") {
            if let Some(s) = self.building.get(b) {
                return Some(s);
            }
        }
        if let Some(a) = tag("amenity") {
            let mut parking = false;
            for v in a.split([';', ',', '|']).map(str::trim) {
                if let Some(s) = self.amenity.get(v) {
                    if s == "parking" {
                        parking = true;
                    } else {
                        return Some(s);
                    }
                }
            }
            if parking {
                return Some("parking");
            }
        }
        for key in ["leisure", "landuse"] {
            if let Some(v) = tag(key) {
                return Some(self.building.get(v).map(String::as_str).unwrap_or("unknown"));
            }
        }
        if let Some(s) = tag("tourism").and_then(|v| self.tourism.get(v)) {
            return Some(s);
        }
        for key in ["shop", "office", "healthcare", "craft"] {
            if let Some(s) = tag(key).and_then(|v| self.building.get(v)) {
                return Some(s);
            }
        }
        if infer_residential && building == Some("yes") && tag("amenity").is_none() {
            let low = tag("height").and_then(|h| h.trim().trim_end_matches('m').trim().parse::<f64>().ok());
            let signal = tag("landuse") == Some("residential")
                || tag("building:use").is_some_and(|u| u.contains("residential"))
                || ["addr:housenumber", "addr:housename", "addr:unit"].iter().any(|k| tag(k).is_some());
            if low.is_some_and(|h| h < 20.0) && signal {
                return Some("residential");
            }
        }
        None
    }

    /// The garden-city category of a feature from its tags (unknown subtypes are `other`).
    pub fn classify<'t>(&self, tag: &dyn Fn(&str) -> Option<&'t str>, infer_residential: bool) -> BuildingType {
        self.subtype_inner(tag, infer_residential).map(|s| self.category_of(s)).unwrap_or(BuildingType::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags<'a>(kv: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
        move |k| kv.iter().find(|(a, _)| *a == k).map(|(_, v)| *v)
    }

    #[test]
    fn embedded_table_classifies_by_rule_order() {
        let c = Categories::default();
        let cl = |kv: &[(&str, &str)]| c.classify(&tags(kv), false);
        assert_eq!(cl(&[("building", "parking"), ("amenity", "cafe")]), BuildingType::Other);
        assert_eq!(cl(&[("building", "house")]), BuildingType::Home);
        assert_eq!(cl(&[("building", "yes"), ("amenity", "parking;cafe")]), BuildingType::Retail);
        assert_eq!(cl(&[("building", "yes"), ("amenity", "parking")]), BuildingType::Other);
        assert_eq!(cl(&[("building", "yes"), ("amenity", "school|parking")]), BuildingType::Workplace);
        assert_eq!(cl(&[("leisure", "park")]), BuildingType::Park);
        assert_eq!(cl(&[("leisure", "pitch")]), BuildingType::Other);
        assert_eq!(cl(&[("building", "yes"), ("tourism", "museum")]), BuildingType::Retail);
        assert_eq!(cl(&[("building", "yes"), ("shop", "supermarket")]), BuildingType::Retail);
        assert_eq!(cl(&[("building", "yes"), ("office", "office")]), BuildingType::Workplace);
        assert_eq!(cl(&[("building", "yes")]), BuildingType::Other);
        let inferred = [("building", "yes"), ("height", "12"), ("addr:housenumber", "3")];
        assert_eq!(c.classify(&tags(&inferred), false), BuildingType::Other);
        assert_eq!(c.classify(&tags(&inferred), true), BuildingType::Home);
        let tall = [("building", "yes"), ("height", "40"), ("addr:housenumber", "3")];
        assert_eq!(c.classify(&tags(&tall), true), BuildingType::Other);
    }

    #[test]
    fn user_table_errors_are_typed() {
        assert!(matches!(Categories::from_toml("[streets]\n", "x.toml"), Err(CategoriesError::Toml { .. })));
        let bad = "[category]\nfoo = \"castle\"\n[streets]\nhighway = [\"primary\"]\n";
        assert!(matches!(Categories::from_toml(bad, "x.toml"), Err(CategoriesError::Category { .. })));
        let ok = "[category]\nfoo = \"home\"\n[building]\nbar = \"foo\"\n[streets]\nhighway = [\"primary\"]\n";
        let c = Categories::from_toml(ok, "x.toml").unwrap();
        assert_eq!(c.classify(&tags(&[("building", "bar")]), false), BuildingType::Home);
    }
}
