//! Why a gravity model could not be built or rebuilt from stored parts.

/// Why a gravity model could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GravityError {
    /// The exponent is not a finite number `>= 0`.
    #[error("invalid gravity exponent {value}: expected a finite number >= 0")]
    Exponent {
        /// The given exponent.
        value: f64,
    },
    /// The hub count is 0 or larger than the number of street cells.
    #[error("invalid hub count {requested}: expected 1..={street_cells} (the number of street cells)")]
    HubCount {
        /// The requested hub count.
        requested: usize,
        /// Street cells of the largest component.
        street_cells: usize,
    },
    /// A gravity mode name other than `hub_proxy` and `exact`.
    #[error("unknown gravity mode {given:?}: expected hub_proxy or exact")]
    UnknownMode {
        /// The name given.
        given: String,
    },
    /// The city has no street cells.
    #[error("the city has no street cells: gravity needs a street network")]
    NoStreets,
    /// The exact distance matrix would exceed the memory limit.
    #[error("exact gravity needs a {doors} x {doors} door distance matrix ({bytes} bytes), above the limit of {limit} bytes")]
    ExactTooLarge {
        /// Distinct door cells.
        doors: usize,
        /// Bytes needed.
        bytes: u64,
        /// The limit ([`GravityParams::max_exact_bytes`](super::GravityParams::max_exact_bytes)).
        limit: u64,
    },
    /// A street distance too large for the `u16` exact matrix.
    #[error("street distance {distance} between door cells exceeds the exact matrix range (max {max})")]
    DistanceOverflow {
        /// The distance found.
        distance: u32,
        /// The largest storable distance.
        max: u32,
    },
    /// Stored parts do not match the city (wrong lengths, indices, distances).
    #[error("gravity data does not match the city: {field}{}: {reason}", index.map(|i| format!(" (entry {i})")).unwrap_or_default())]
    Mismatch {
        /// The offending part (`hubs`, `hub_dist`, `closest_hub_idx`, `dist_to_hub`, `nearby`, ...).
        field: &'static str,
        /// The entry (building index, hub index, pair index) when one is at fault.
        index: Option<usize>,
        /// What was expected.
        reason: String,
    },
}
