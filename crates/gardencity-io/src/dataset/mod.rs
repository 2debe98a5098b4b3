//! Simulation output datasets (MODEL.md section 7): hive-partitioned Parquet or CSV.
//!
//! A [`DatasetWriter`] receives one [`gardencity::records::AgentOutput`] per agent and
//! writes, under the output directory,
//!
//! ```text
//! OUT/sparse/date=YYYY-MM-DD/part-00000.parquet     user_id, x, y, datetime, timestamp, ha
//! OUT/dense/date=YYYY-MM-DD/part-00000.parquet      ... plus location
//! OUT/diaries/date=YYYY-MM-DD/part-00000.parquet    datetime, timestamp, duration, location, user_id
//! OUT/destinations/date=YYYY-MM-DD/part-00000.parquet
//! OUT/homes/date=YYYY-MM-DD/part-00000.parquet      user_id, home, workplace
//! OUT/manifest.json
//! OUT/_SUCCESS
//! ```
//!
//! `date` is the local date (in the configured time zone) of each row and lives only
//! in the directory name. Part files carry a hidden name while being written and are
//! renamed by [`DatasetWriter::finish`], which then writes the manifest and, last, the
//! empty `_SUCCESS` marker. [`read_manifest`], [`read_pings`], [`read_diary`] and
//! [`read_homes`] read a finished dataset back; [`read_user_ids`] and
//! [`for_each_diary`] stream one without keeping its rows.
//!
//! Column types (Parquet): ids and buildings utf8 (`location` null for trips and
//! travelling pings), `x`, `y`, `ha`, `duration` float64, `timestamp` int64 Unix
//! seconds, `datetime` timestamp(ms) with the time zone; zstd-compressed, strings
//! dictionary-encoded (written from their runs, not value by value), times
//! delta-encoded, a sparse ping's `x`, `y` and `ha` split into byte streams, one row
//! group per batch (encoded on [`DatasetOptions::encode_threads`] threads). Files
//! are synced when closed, several at once, after an early writeback while the run
//! goes on. CSV has the same columns,
//! `datetime` as ISO 8601 with offset (`2024-01-01T23:59:30-05:00`), nulls empty.
//! `manifest.json` is the run's own JSON object with a `dataset` entry: format,
//! coordinates, `ha` unit, time zone, start date, city name and georeference, agents,
//! and rows and part files per output.
//!
//! A dataset assembled from the datasets of its shards ([`OutReservation`], for
//! `gardencity commit` and distributed runs) has the same layout with part files
//! named `part-KKKKK-NNNNN.ext` (part `NNNNN` of shard `KKKKK`).

mod assemble;
mod checkpoint;
mod columns;
mod days;
mod direct;
mod encode;
mod error;
mod layout;
mod lock;
mod read;
mod table;
mod writeback;
mod writer;

pub use assemble::{OutReservation, ShardDataset};
pub use checkpoint::{Checkpoint, CheckpointCounts, CHECKPOINT};
pub use error::DatasetError;
/// The output list is the library's own, shared by the runner, the writer and the CLI.
pub use gardencity::records::{OutputKind, OutputSelection};
pub use layout::STAGING_DIR;
pub use read::{
    for_each_diary, read_diary, read_homes, read_manifest, read_pings, read_user_ids, DiaryRow, HomeRow, Manifest,
    OutputManifest, PingRow, RowFilter,
};
pub use table::BatchSink;
pub use writer::{DatasetSummary, DatasetWriter};

use chrono::NaiveDate;
use chrono_tz::Tz;
use std::fmt;
use std::str::FromStr;

/// File format of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DatasetFormat {
    /// Apache Parquet, zstd-compressed.
    #[default]
    Parquet,
    /// Comma-separated text with a header line; datetimes in ISO 8601 with offset.
    Csv,
}

impl DatasetFormat {
    /// The name used in manifests and on the command line (`parquet`, `csv`).
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetFormat::Parquet => "parquet",
            DatasetFormat::Csv => "csv",
        }
    }
    /// The file extension of part files.
    pub fn extension(self) -> &'static str {
        self.as_str()
    }
}

/// The coordinate system of `x`, `y` (and the unit of `ha`) in a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Coordinates {
    /// Block units of the grid; `ha` in blocks.
    Blocks,
    /// Web Mercator (EPSG:3857) metres; `ha` in metres.
    #[default]
    WebMercator,
    /// Longitude (`x`) and latitude (`y`) in degrees (WGS84); `ha` in metres.
    LonLat,
}

impl Coordinates {
    /// The name used in manifests and on the command line (`blocks`, `web_mercator`, `lonlat`).
    pub fn as_str(self) -> &'static str {
        match self {
            Coordinates::Blocks => "blocks",
            Coordinates::WebMercator => "web_mercator",
            Coordinates::LonLat => "lonlat",
        }
    }
}

impl fmt::Display for DatasetFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Coordinates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of parsing a [`DatasetFormat`] or [`Coordinates`] name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {given:?}; expected one of {expected}")]
pub struct ParseNameError {
    what: &'static str,
    given: String,
    expected: &'static str,
}

impl FromStr for DatasetFormat {
    type Err = ParseNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "parquet" => Ok(DatasetFormat::Parquet),
            "csv" => Ok(DatasetFormat::Csv),
            _ => Err(ParseNameError { what: "format", given: s.into(), expected: "parquet, csv" }),
        }
    }
}

impl FromStr for Coordinates {
    type Err = ParseNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "blocks" => Ok(Coordinates::Blocks),
            "web_mercator" | "mercator" | "epsg:3857" => Ok(Coordinates::WebMercator),
            "lonlat" | "lon_lat" | "wgs84" | "epsg:4326" => Ok(Coordinates::LonLat),
            _ => Err(ParseNameError { what: "coordinates", given: s.into(), expected: "blocks, web_mercator, lonlat" }),
        }
    }
}

/// Serializes a name type as its name and parses it back with `FromStr` (config files,
/// manifests, run specifications).
macro_rules! serde_by_name {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let name = String::deserialize(d)?;
                name.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
serde_by_name!(DatasetFormat);
serde_by_name!(Coordinates);

/// Settings of a [`DatasetWriter`].
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetOptions {
    /// Parquet (zstd) or CSV.
    pub format: DatasetFormat,
    /// Which tables to write.
    pub outputs: OutputSelection,
    /// Coordinate system of `x`, `y`, `ha`.
    pub coordinates: Coordinates,
    /// Time zone of `datetime` and of the `date` partitions.
    pub time_zone: Tz,
    /// The run's start date: the partition of the homes table.
    pub start_date: NaiveDate,
    /// Rows buffered per (output, date) before they are written as one batch (one
    /// Parquet row group).
    pub batch_rows: usize,
    /// When more rows than this are buffered for one output (over its date partitions;
    /// in a sweep, each configuration's sparse pings count as an output of their own),
    /// its largest buffers are written until at most half remain: bounds memory
    /// whatever the run length. Outputs are bounded separately, so the files of one do
    /// not depend on the others written beside it (a sweep configuration's files are
    /// those of a run of it alone).
    pub max_buffered_rows: usize,
    /// Rows per part file; a full file is closed and the next rows go to `part-00001`...
    pub rows_per_file: usize,
    /// Files open at once; past this the least recently written one is closed (its
    /// partition continues in a new part file). Capped at half the process's open-file
    /// limit where the system tells it. Runs with more (output, date) partitions than
    /// this write more, smaller files.
    pub max_open_files: usize,
    /// Parquet row groups the open files of one output hold (a sweep configuration's
    /// sparse pings counting as an output of their own); past this its file with the
    /// most is closed (its partition continues in a new part file). A file keeps each
    /// row group's metadata in memory until it is closed, and a long run's dates each
    /// get a row group per cohort of agents: this bounds that memory whatever the
    /// number of agents.
    pub max_open_row_groups: usize,
    /// Replace a previous gardencity dataset in the output directory.
    pub overwrite: bool,
    /// Flush every file to disk (fsync) before `_SUCCESS` is written, so a dataset that
    /// looks complete is complete even after a power loss. `false` leaves flushing to
    /// the operating system (still safe against the process being killed): faster when
    /// the disk is busy.
    pub sync: bool,
    /// Names of the configurations of a sampling sweep ([`gardencity::records::AgentOutput::sweep`]),
    /// in its order: the sparse pings of configuration `k` go to
    /// `sparse/config=NAME/date=YYYY-MM-DD/` (empty: no sweep, `sparse/date=...`).
    /// Names must be non-empty, distinct, and made of letters, digits, `-`, `_`, `.`.
    pub sweep: Vec<String>,
    /// Every this many agents, every open part file is closed and the files so far are
    /// recorded in a checkpoint (`.gardencity-resume.json`), from which an interrupted
    /// run is resumed ([`DatasetWriter::resume`]); 0: never. Files are cut at the same
    /// agents whether a run is interrupted or not. A run streaming in time checkpoints
    /// only with no agent half written: at the first cohort's end past the count.
    pub checkpoint_agents: u64,
    /// The run's identity, stored in checkpoints: a resume must give the same.
    pub run_key: String,
    /// Threads that encode and compress Parquet row groups, beside the thread calling
    /// the writer (0: that thread encodes them). The files are the same whatever the
    /// number.
    pub encode_threads: usize,
}

impl Default for DatasetOptions {
    /// Parquet, default outputs, Web Mercator, America/New_York, start date 2024-01-01
    /// (set it to the run's), batches of 65,536 rows, at most 500,000 rows buffered per output,
    /// 10,000,000 rows per file, 1024 open files holding 2,048 row groups per output, no overwrite, fsync before `_SUCCESS`,
    /// a checkpoint every 100,000 agents, one encoding thread per core.
    fn default() -> Self {
        DatasetOptions {
            format: DatasetFormat::Parquet,
            outputs: OutputSelection::default(),
            coordinates: Coordinates::WebMercator,
            time_zone: chrono_tz::America::New_York,
            start_date: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default(),
            batch_rows: 65_536,
            max_buffered_rows: 500_000,
            rows_per_file: 10_000_000,
            max_open_files: 1024,
            max_open_row_groups: 2048,
            overwrite: false,
            sync: true,
            sweep: Vec::new(),
            checkpoint_agents: 100_000,
            run_key: String::new(),
            encode_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!("CSV".parse::<DatasetFormat>(), Ok(DatasetFormat::Csv));
        assert_eq!("web-mercator".parse::<Coordinates>(), Ok(Coordinates::WebMercator));
        assert_eq!("lonlat".parse::<Coordinates>(), Ok(Coordinates::LonLat));
        assert!("utm".parse::<Coordinates>().is_err());
        let sel: OutputSelection = "sparse, diary,homes".parse().unwrap();
        assert_eq!(sel.kinds(), vec![OutputKind::Sparse, OutputKind::Diary, OutputKind::Homes]);
        assert_eq!("all".parse::<OutputSelection>(), Ok(OutputSelection::all()));
        assert!("sparse,pings".parse::<OutputSelection>().is_err());
    }

    #[test]
    fn writer_can_move_to_another_thread() {
        fn send<T: Send>() {}
        send::<DatasetWriter>();
        send::<DatasetError>();
    }
}
