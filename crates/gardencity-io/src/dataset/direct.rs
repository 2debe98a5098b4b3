//! The dataset writer's column chunks, laid out without parquet-rs's column writers:
//! strings that come in runs, doubles and times.
//!
//! - **Strings in runs** (an agent's id over its rows, the building an agent stays in
//!   over its minutes) arrive as Arrow dictionaries. parquet-rs encodes a string column
//!   by hashing every value into its dictionary: a dense run's CPU went from 3.0 to
//!   2.2 s without it (a4e31e1). Here equal keys are gathered into runs and each distinct key
//!   is looked up once: the chunk is a dictionary page of the distinct strings, in order
//!   of first appearance, and one data page of run-length coded indices (and, for a
//!   nullable column, definition levels). The bytes are a function of the column's
//!   values alone, whatever the keys and dictionary they came with: files that share
//!   encoded columns rely on it (see [`super::encode`]).
//! - **Doubles** (coordinates, accuracies, durations) are one data page of their plain
//!   bytes, or of their byte streams split, compressed at once from the Arrow buffer:
//!   parquet-rs copies them through an encoder buffer grown by doubling and a page
//!   buffer (a dense run's instructions went from 799 to 722 M without them, fdf79be).
//! - **Times** (Unix seconds, datetimes) are one data page in parquet's delta binary
//!   packing, as parquet-rs lays it out (blocks of 256 values, 4 miniblocks), with the
//!   chunk's minimum and maximum when statistics are asked for.
//!
//! The chunks carry no bloom filter or page index, and only those statistics: a column
//! whose properties ask for more, or of another type, is an error naming it.
use crate::varint::{uleb128, zigzag};
use arrow_array::types::UInt32Type;
use arrow_array::{Array, DictionaryArray, Float64Array, Int64Array, StringArray, TimestampMillisecondArray};
use arrow_schema::{DataType, TimeUnit};
use bytes::Bytes;
use foldhash::fast::FixedState;
use parquet::basic::{Compression, Encoding, EncodingMask, PageType};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ColumnChunkMetaData, PageEncodingStats};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

/// A slot not yet given (see [`SLOTS`]).
const NO_SLOT: u32 = u32::MAX;

thread_local! {
    /// Per dictionary key, its slot in the chunk being encoded (`NO_SLOT` between
    /// chunks): keys index a whole city's building ids, so the table is kept per thread
    /// and only the entries a chunk used are reset.
    static SLOTS: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };

    /// This thread's zstd compressor and its level (a context costs more to make than a
    /// small page to compress).
    static ZSTD: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> = const { RefCell::new(None) };
}

/// Whether `props` let column `descr` (of `rows` rows) be laid out here: a flat column
/// (no repetition, at most one level of nulls) in format 1.0 pages, one page of at most
/// the properties' rows, no bloom filter or page index asked for, statistics only as
/// `stats` allows (by chunk, or none), and zstd or no compression.
fn supported(props: &WriterProperties, descr: &ColumnDescPtr, rows: usize, stats: bool) -> bool {
    let path = descr.path();
    let statistics = props.statistics_enabled(path);
    descr.max_rep_level() == 0
        && descr.max_def_level() <= 1
        && props.writer_version() == WriterVersion::PARQUET_1_0
        && rows <= props.data_page_row_count_limit()
        && (statistics == EnabledStatistics::None || (stats && statistics == EnabledStatistics::Chunk))
        && props.bloom_filter_properties(path).is_none()
        && props.offset_index_disabled()
        && matches!(props.compression(path), Compression::ZSTD(_) | Compression::UNCOMPRESSED)
}

/// Lays out `column` as a chunk of `descr` compressed as `props` say (see the [module
/// docs](self)): its bytes, and its close result with offsets into them, ready to
/// append to a row group. A column of another type, or whose properties ask for more
/// than its chunk has, is an error naming it.
pub(crate) fn lay_out_column(
    column: &dyn Array,
    descr: ColumnDescPtr,
    props: &WriterProperties,
) -> Result<(Bytes, ColumnCloseResult), ParquetError> {
    let refuse = |what: &str| Err(ParquetError::General(format!("column {}: {what}", descr.path().string())));
    let rows = column.len();
    // A page header counts values in an i32.
    if i32::try_from(rows).is_err() {
        return refuse(&format!("{rows} rows in one row group"));
    }
    if let Some(dict) = column.as_any().downcast_ref::<DictionaryArray<UInt32Type>>() {
        if !supported(props, &descr, rows, false) {
            return refuse(
                "a dictionary column needs format 1.0 pages of all its rows, zstd or no compression, and no \
                 statistics, bloom filter or page index",
            );
        }
        return dictionary_chunk(dict, descr, props);
    }
    let path = descr.path();
    if descr.max_def_level() > 0 || column.null_count() > 0 || props.dictionary_enabled(path) {
        return refuse("doubles and times are laid out required, without nulls or a dictionary");
    }
    let encoding = props.encoding(path);
    let times = match column.data_type() {
        DataType::Int64 => column.as_any().downcast_ref::<Int64Array>().map(|a| a.values()),
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            column.as_any().downcast_ref::<TimestampMillisecondArray>().map(|a| a.values())
        }
        _ => None,
    };
    if let Some(times) = times {
        if encoding != Some(Encoding::DELTA_BINARY_PACKED) || !supported(props, &descr, rows, true) {
            return refuse(
                "times need delta binary packing in format 1.0 pages of all their rows, zstd or no compression, \
                 statistics by chunk or none, and no bloom filter or page index",
            );
        }
        let statistics = (props.statistics_enabled(path) == EnabledStatistics::Chunk).then(|| {
            let (min, max) = (times.iter().min().copied(), times.iter().max().copied());
            Statistics::Int64(
                ValueStatistics::new(min, max, None, Some(0), false)
                    .with_backwards_compatible_min_max(descr.sort_order().is_signed()),
            )
        });
        let mut data = Vec::with_capacity(times.len() / 4 + 64);
        delta_binary_packed(times, &mut data);
        let page = DataPage { bytes: &data, encoding: Encoding::DELTA_BINARY_PACKED, rows: times.len(), statistics };
        return lay_out(descr, props, None, page);
    }
    let Some(doubles) = column.as_any().downcast_ref::<Float64Array>() else {
        return refuse(&format!("no layout for {} columns", column.data_type()));
    };
    let encoding = match encoding {
        None | Some(Encoding::PLAIN) => Encoding::PLAIN,
        Some(Encoding::BYTE_STREAM_SPLIT) => Encoding::BYTE_STREAM_SPLIT,
        Some(e) => return refuse(&format!("doubles are laid out plain or byte-stream split, not {e}")),
    };
    if !supported(props, &descr, rows, false) {
        return refuse(
            "doubles need format 1.0 pages of all their rows, zstd or no compression, and no statistics, bloom \
             filter or page index",
        );
    }
    let values = doubles.values();
    let data = if encoding == Encoding::BYTE_STREAM_SPLIT {
        // Byte `b` of every value, then byte `b + 1`...
        let mut streams = vec![0u8; values.len() * 8];
        for (b, stream) in streams.chunks_exact_mut(values.len().max(1)).enumerate() {
            for (byte, v) in stream.iter_mut().zip(values.iter()) {
                *byte = v.to_le_bytes()[b];
            }
        }
        Cow::Owned(streams)
    } else if cfg!(target_endian = "little") {
        Cow::Borrowed(doubles.values().inner().as_slice())
    } else {
        Cow::Owned(values.iter().flat_map(|v| v.to_le_bytes()).collect())
    };
    let page = DataPage { bytes: &data, encoding, rows: values.len(), statistics: None };
    lay_out(descr, props, None, page)
}

/// A dictionary column's chunk: dictionary page and data page of runs.
fn dictionary_chunk(
    dict: &DictionaryArray<UInt32Type>,
    descr: ColumnDescPtr,
    props: &WriterProperties,
) -> Result<(Bytes, ColumnCloseResult), ParquetError> {
    let name = descr.path().string();
    let values = dict
        .values()
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| ParquetError::General(format!("column {name}: dictionary values are not utf8")))?;
    let nullable = descr.max_def_level() > 0;
    // Rows whose key or value is null (what the runs leave out).
    if !nullable && dict.logical_null_count() > 0 {
        return Err(ParquetError::General(format!("column {name}: nulls in a required column")));
    }
    let runs = Runs::of(dict, values);
    // Data page (format v1): definition levels with their length, then the indices'
    // bit width and their runs. A column of nulls only has no dictionary: its page is
    // plain, with no values.
    let mut data = Vec::new();
    if nullable {
        let mut levels = Vec::new();
        rle(&mut levels, &runs.levels, 1);
        data.extend_from_slice(&(levels.len() as u32).to_le_bytes());
        data.extend_from_slice(&levels);
    }
    let (dictionary, encoding) = if runs.distinct > 0 {
        let width = bit_width(runs.distinct - 1);
        data.push(width);
        rle(&mut data, &runs.indices, width);
        (Some((runs.dictionary, runs.distinct)), props.dictionary_data_page_encoding())
    } else {
        (None, Encoding::PLAIN)
    };
    lay_out(descr, props, dictionary, DataPage { bytes: &data, encoding, rows: dict.len(), statistics: None })
}

/// The one data page of a chunk: its bytes in `encoding`, its rows, and the chunk's
/// statistics if any.
struct DataPage<'a> {
    bytes: &'a [u8],
    encoding: Encoding,
    rows: usize,
    statistics: Option<Statistics>,
}

/// A column chunk: a dictionary page of `dictionary` (plain values and their count) if
/// any, then one data page, each compressed as `props` say.
fn lay_out(
    descr: ColumnDescPtr,
    props: &WriterProperties,
    dictionary: Option<(Vec<u8>, u32)>,
    data: DataPage<'_>,
) -> Result<(Bytes, ColumnCloseResult), ParquetError> {
    let DataPage { bytes: data, encoding, rows, statistics } = data;
    let name = descr.path().string();
    let codec = props.compression(descr.path());
    let level = match codec {
        Compression::ZSTD(l) => Some(l.compression_level()),
        Compression::UNCOMPRESSED => None,
        other => return Err(ParquetError::General(format!("column {name}: codec {other} not supported here"))),
    };
    let compress = |buf: &[u8]| -> Result<(Bytes, usize), ParquetError> {
        let Some(level) = level else { return Ok((Bytes::copy_from_slice(buf), buf.len())) };
        ZSTD.with_borrow_mut(|z| {
            if z.as_ref().is_none_or(|(l, _)| *l != level) {
                *z = Some((level, zstd::bulk::Compressor::new(level)?));
            }
            let (_, c) = z.as_mut().ok_or_else(|| ParquetError::General("no zstd compressor".into()))?;
            Ok((Bytes::from(c.compress(buf)?), buf.len()))
        })
    };
    let rows = u32::try_from(rows).map_err(|_| ParquetError::General(format!("column {name}: too many rows")))?;

    let room = dictionary.as_ref().map_or(0, |(d, _)| d.len()) + data.len() + 256;
    let mut sink = TrackedWrite::new(Vec::with_capacity(room));
    let mut pages = SerializedPageWriter::new(&mut sink);
    let mut stats = Vec::new();
    let mut encodings = vec![Encoding::RLE, encoding];
    let dict_spec = match dictionary {
        Some((values, count)) => {
            let (buf, size) = compress(&values)?;
            let encoding = props.dictionary_page_encoding();
            let page = Page::DictionaryPage { buf, num_values: count, encoding, is_sorted: false };
            stats.push(PageEncodingStats { page_type: PageType::DICTIONARY_PAGE, encoding, count: 1 });
            encodings.push(encoding);
            Some(pages.write_page(CompressedPage::new(page, size))?)
        }
        None => None,
    };
    let (buf, size) = compress(data)?;
    let page = Page::DataPage {
        buf,
        num_values: rows,
        encoding,
        def_level_encoding: Encoding::RLE,
        rep_level_encoding: Encoding::RLE,
        statistics: None,
    };
    stats.push(PageEncodingStats { page_type: PageType::DATA_PAGE, encoding, count: 1 });
    let data_spec = pages.write_page(CompressedPage::new(page, size))?;
    pages.close()?;
    let bytes = Bytes::from(sink.into_inner()?);

    let specs = dict_spec.iter().chain([&data_spec]);
    let mut metadata = ColumnChunkMetaData::builder(descr)
        .set_compression(codec)
        .set_encodings_mask(EncodingMask::new_from_encodings(encodings.iter()))
        .set_page_encoding_stats(stats)
        .set_total_compressed_size(specs.clone().map(|s| s.compressed_size as i64).sum())
        .set_total_uncompressed_size(specs.map(|s| s.uncompressed_size as i64).sum())
        .set_num_values(i64::from(rows))
        .set_data_page_offset(data_spec.offset as i64)
        .set_dictionary_page_offset(dict_spec.map(|s| s.offset as i64));
    if let Some(statistics) = statistics {
        metadata = metadata.set_statistics(statistics);
    }
    let metadata = metadata.build()?;
    let close = ColumnCloseResult {
        bytes_written: bytes.len() as u64,
        rows_written: u64::from(rows),
        metadata,
        bloom_filter: None,
        column_index: None,
        offset_index: None,
    };
    Ok((bytes, close))
}

/// Values per block and per miniblock of parquet's delta binary packing, as parquet-rs
/// writes 64-bit values.
const DELTA_BLOCK: usize = 256;
const DELTA_MINIBLOCK: usize = 64;

/// Appends `values` in parquet's delta binary packing: a header (block size, miniblocks
/// per block, count, first value), then per block of 256 deltas their minimum and, per
/// miniblock of 64, the bits of each delta above it (the last miniblock padded with
/// zeros; the widths of unneeded ones zero).
fn delta_binary_packed(values: &[i64], out: &mut Vec<u8>) {
    uleb128(out, DELTA_BLOCK as u64);
    uleb128(out, (DELTA_BLOCK / DELTA_MINIBLOCK) as u64);
    uleb128(out, values.len() as u64);
    uleb128(out, zigzag(values.first().copied().unwrap_or(0)));
    let mut deltas = [0u64; DELTA_BLOCK];
    let mut start = 1;
    while start < values.len() {
        let n = (values.len() - start).min(DELTA_BLOCK);
        let block = &values[start - 1..start + n];
        let delta = |k: usize| block[k + 1].wrapping_sub(block[k]);
        let min = (0..n).map(delta).min().unwrap_or(0);
        uleb128(out, zigzag(min));
        for (k, d) in deltas[..n].iter_mut().enumerate() {
            *d = delta(k).wrapping_sub(min) as u64;
        }
        let widths_at = out.len();
        out.extend([0u8; DELTA_BLOCK / DELTA_MINIBLOCK]);
        for (m, mini) in deltas[..n].chunks(DELTA_MINIBLOCK).enumerate() {
            let width = mini.iter().map(|&d| 64 - d.leading_zeros()).max().unwrap_or(0);
            out[widths_at + m] = width as u8;
            pack_bits(out, mini, width);
        }
        start += n;
    }
}

/// Appends a miniblock of `width`-bit values, least significant bit first (`values`
/// padded with zeros to a miniblock).
fn pack_bits(out: &mut Vec<u8>, values: &[u64], width: u32) {
    if width == 0 {
        return;
    }
    let (mut acc, mut bits) = (0u128, 0u32);
    for i in 0..DELTA_MINIBLOCK {
        acc |= u128::from(values.get(i).copied().unwrap_or(0)) << bits;
        bits += width;
        while bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    // 64 values of any width fill whole bytes.
    debug_assert_eq!(bits, 0);
}

/// A column's runs: definition levels and dictionary indices, each as maximal runs of
/// (value, length), and the dictionary page's plain values.
struct Runs {
    levels: Vec<(u32, u32)>,
    indices: Vec<(u32, u32)>,
    dictionary: Vec<u8>,
    distinct: u32,
}

impl Runs {
    /// Gathers the rows of `dict` into runs. A key is looked up once per run, a string
    /// once per key: strings get slots in order of first appearance, so keys with equal
    /// strings share one. (A dictionary array's valid keys index its values: Arrow
    /// checks it when the array is made.)
    fn of(dict: &DictionaryArray<UInt32Type>, values: &StringArray) -> Runs {
        let mut runs = Runs { levels: Vec::new(), indices: Vec::new(), dictionary: Vec::new(), distinct: 0 };
        let keys = dict.keys().values();
        let nulls = dict.logical_nulls();
        let valid = |i: usize| nulls.as_ref().is_none_or(|n| n.is_valid(i));
        let mut by_text: HashMap<&str, u32, FixedState> = HashMap::default();
        SLOTS.with_borrow_mut(|slots| {
            if slots.len() < values.len() {
                slots.resize(values.len(), NO_SLOT);
            }
            // The slots given in this chunk, reset when done (a panic included), so the
            // next chunk of this thread starts from a clean table.
            let mut given = Given { slots, keys: Vec::new() };
            let mut start = 0;
            while start < keys.len() {
                let is_valid = valid(start);
                let mut end = start + 1;
                if is_valid {
                    let k = keys[start];
                    while end < keys.len() && keys[end] == k && valid(end) {
                        end += 1;
                    }
                    let slot = given.slot(k as usize, || {
                        let text = values.value(k as usize);
                        *by_text.entry(text).or_insert_with(|| {
                            runs.dictionary.extend_from_slice(&(text.len() as u32).to_le_bytes());
                            runs.dictionary.extend_from_slice(text.as_bytes());
                            runs.distinct += 1;
                            runs.distinct - 1
                        })
                    });
                    push_run(&mut runs.indices, slot, (end - start) as u32);
                } else {
                    while end < keys.len() && !valid(end) {
                        end += 1;
                    }
                }
                push_run(&mut runs.levels, u32::from(is_valid), (end - start) as u32);
                start = end;
            }
        });
        runs
    }
}

/// The per-thread slot table of one chunk, and the keys given a slot in it.
struct Given<'a> {
    slots: &'a mut Vec<u32>,
    keys: Vec<usize>,
}

impl Given<'_> {
    /// Key `k`'s slot, given by `new` at its first appearance.
    fn slot(&mut self, k: usize, new: impl FnOnce() -> u32) -> u32 {
        if self.slots[k] == NO_SLOT {
            self.slots[k] = new();
            self.keys.push(k);
        }
        self.slots[k]
    }
}

impl Drop for Given<'_> {
    fn drop(&mut self) {
        for &k in &self.keys {
            self.slots[k] = NO_SLOT;
        }
    }
}

/// Appends `n` times `value` to maximal runs.
fn push_run(runs: &mut Vec<(u32, u32)>, value: u32, n: u32) {
    match runs.last_mut() {
        Some((v, len)) if *v == value => *len += n,
        _ => runs.push((value, n)),
    }
}

/// Bits needed for values up to `max` (0 for a single value).
fn bit_width(max: u32) -> u8 {
    (32 - max.leading_zeros()) as u8
}

/// Appends `runs` in Parquet's RLE / bit-packing hybrid, as RLE runs only: a run's
/// length shifted left once (ULEB128), then its value in whole bytes of `width` bits.
fn rle(out: &mut Vec<u8>, runs: &[(u32, u32)], width: u8) {
    let value_bytes = usize::from(width).div_ceil(8);
    for &(value, len) in runs {
        uleb128(out, u64::from(len) << 1);
        out.extend_from_slice(&value.to_le_bytes()[..value_bytes]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, RecordBatch, UInt32Array};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ArrowSchemaConverter;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::types::ColumnPath;
    use std::sync::Arc;

    /// The dataset writer's kind of properties: no statistics, zstd, doubles without a
    /// dictionary.
    fn props() -> WriterProperties {
        WriterProperties::builder()
            .set_dictionary_enabled(false)
            .set_statistics_enabled(EnabledStatistics::None)
            .set_offset_index_disabled(true)
            .set_compression(Compression::ZSTD(Default::default()))
            .build()
    }

    /// A dictionary array of `keys` (None: null) into `values`.
    fn dict(keys: &[Option<u32>], values: &[&str]) -> DictionaryArray<UInt32Type> {
        DictionaryArray::try_new(UInt32Array::from(keys.to_vec()), Arc::new(StringArray::from(values.to_vec())))
            .unwrap()
    }

    /// Writes `array` as the one column of a file through [`dictionary_chunk`], and returns
    /// the file and the strings read back by parquet's Arrow reader.
    fn round_trip(array: &DictionaryArray<UInt32Type>, nullable: bool) -> (Vec<u8>, Vec<Option<String>>) {
        let (file, column) = write_and_read(array, DataType::Utf8, nullable, props());
        let s = column.as_any().downcast_ref::<StringArray>().unwrap();
        (file, s.iter().map(|v| v.map(str::to_string)).collect())
    }

    /// Writes `array` as the one column, of type `ty`, of a file through
    /// [`lay_out_column`] with `props`; returns the file and the column read back by
    /// parquet's Arrow reader.
    fn write_and_read(array: &dyn Array, ty: DataType, nullable: bool, props: WriterProperties) -> (Vec<u8>, ArrayRef) {
        let schema = Arc::new(Schema::new(vec![Field::new("s", ty, nullable)]));
        let props = Arc::new(props);
        let descr = ArrowSchemaConverter::new().convert(&schema).unwrap();
        let (bytes, close) = lay_out_column(array, descr.column(0), &props).unwrap();
        // The Arrow schema in the metadata is the file's, as the dataset writer's is.
        let mut file = SerializedFileWriter::new(Vec::new(), descr.root_schema_ptr(), props).unwrap();
        let mut row_group = file.next_row_group().unwrap();
        row_group.append_column(&bytes, close).unwrap();
        row_group.close().unwrap();
        let file = file.into_inner().unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(file.clone())).unwrap();
        let batches: Vec<RecordBatch> = reader.with_batch_size(1 << 20).build().unwrap().map(Result::unwrap).collect();
        match batches.as_slice() {
            [b] => (file, Arc::clone(b.column(0))),
            _ => panic!("{} batches", batches.len()),
        }
    }

    fn expected(keys: &[Option<u32>], values: &[&str]) -> Vec<Option<String>> {
        keys.iter().map(|k| k.map(|k| values[k as usize].to_string())).collect()
    }

    /// Runs, repeated strings under other keys, nulls at both ends and in the middle:
    /// parquet's own reader gives the rows back.
    #[test]
    fn runs_and_nulls_read_back() {
        let values = ["b-1", "b-2", "b-1", "street"];
        let mut keys = vec![None, None];
        keys.extend([Some(1); 5]);
        keys.extend([Some(0), Some(2), Some(2), None, Some(3), Some(1), None]);
        let (_, read) = round_trip(&dict(&keys, &values), true);
        assert_eq!(read, expected(&keys, &values));
    }

    /// One value (bit width 0), nulls only (no dictionary page), and more than 256
    /// distinct values (indices of two bytes) all read back.
    #[test]
    fn widths_and_edge_columns_read_back() {
        let one = [Some(0); 1000];
        assert_eq!(round_trip(&dict(&one, &["only"]), false).1, expected(&one, &["only"]));
        let none = [None; 7];
        assert_eq!(round_trip(&dict(&none, &["x"]), true).1, vec![None; 7]);
        let names: Vec<String> = (0..700).map(|i| format!("user-{i}")).collect();
        let values: Vec<&str> = names.iter().map(String::as_str).collect();
        let keys: Vec<Option<u32>> = (0..3000u32).map(|i| Some((i * 7919) % 700)).collect();
        assert_eq!(round_trip(&dict(&keys, &values), false).1, expected(&keys, &values));
    }

    /// The same strings under other keys and dictionaries give the same bytes; other
    /// strings, other bytes.
    #[test]
    fn the_chunk_depends_on_the_values_alone() {
        let a = dict(&[Some(0), Some(0), Some(1), None], &["p", "q"]);
        let b = dict(&[Some(3), Some(1), Some(0), None], &["q", "p", "z", "p"]);
        let c = dict(&[Some(0), Some(0), Some(1), None], &["p", "r"]);
        let (fa, ra) = round_trip(&a, true);
        let (fb, rb) = round_trip(&b, true);
        assert_eq!(ra, rb);
        assert_eq!(fa, fb);
        assert_ne!(fa, round_trip(&c, true).0);
    }

    /// Doubles, plain or as split byte streams, read back bit for bit (0.0 and -0.0, a
    /// NaN), and their pages are those parquet-rs writes.
    #[test]
    fn doubles_read_back_bit_for_bit() {
        let values: Vec<f64> = [1.5, -0.0, 0.0, f64::NAN, 1e300, -2.25].iter().cycle().take(1000).copied().collect();
        let array = Float64Array::from(values.clone());
        for encoding in [Encoding::PLAIN, Encoding::BYTE_STREAM_SPLIT] {
            let props = props().into_builder().set_column_encoding(ColumnPath::from("s"), encoding).build();
            let (file, read) = write_and_read(&array, DataType::Float64, false, props.clone());
            let read = read.as_any().downcast_ref::<Float64Array>().unwrap();
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(read.values()), bits(&values), "{encoding}");
            // parquet-rs's own writer gives the same data page.
            let theirs = parquet_rs_file(Arc::new(array.clone()), DataType::Float64, props);
            assert!(first_page(&file) == first_page(&theirs), "{encoding}: not parquet-rs's page");
            assert_eq!(chunk_layout(&file), chunk_layout(&theirs), "{encoding}");
        }
    }

    /// Doubles with nulls, statistics or a dictionary asked for, times without delta
    /// packing and columns of other types are errors naming the column.
    #[test]
    fn columns_needing_more_are_refused_by_name() {
        let descr = |nullable| {
            let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Float64, nullable)]));
            ArrowSchemaConverter::new().convert(&schema).unwrap().column(0)
        };
        let values = Float64Array::from(vec![1.0, 2.0]);
        let path = ColumnPath::from("s");
        let stats = props().into_builder().set_column_statistics_enabled(path.clone(), EnabledStatistics::Chunk);
        let dictionary = props().into_builder().set_column_dictionary_enabled(path, true);
        let refused = |r: Result<(Bytes, ColumnCloseResult), ParquetError>, what: &str| {
            assert!(r.is_err_and(|e| e.to_string().contains("column s: ") && e.to_string().contains(what)));
        };
        refused(lay_out_column(&values, descr(false), &stats.build()), "no statistics");
        refused(lay_out_column(&values, descr(false), &dictionary.build()), "without nulls or a dictionary");
        let with_null = Float64Array::from(vec![Some(1.0), None]);
        refused(lay_out_column(&with_null, descr(true), &props()), "without nulls or a dictionary");
        // Times without delta packing, and other types.
        refused(lay_out_column(&Int64Array::from(vec![1, 2]), descr(false), &props()), "delta binary packing");
        refused(lay_out_column(&arrow_array::Int32Array::from(vec![1]), descr(false), &props()), "no layout for Int32");
        assert!(lay_out_column(&values, descr(false), &props()).is_ok());
    }

    /// Times in delta binary packing read back, and their data page and chunk statistics
    /// are parquet-rs's own: constant steps, jumps back (a new agent), wide and wrapping
    /// deltas, and lengths around a block.
    #[test]
    fn times_are_parquets_delta_binary_packing() {
        let mut seed = 7u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let agents: Vec<i64> = (0..1000).map(|i| 1_700_000_000 + (i % 300) * 60 - (i / 300) * 86_400).collect();
        let wide: Vec<i64> = (0..777).map(|_| next() as i64 >> (next() % 64)).collect();
        let extremes = vec![i64::MIN, i64::MAX, 0, i64::MIN, -1, i64::MAX, 5];
        let cases: Vec<Vec<i64>> =
            vec![vec![42], vec![3, 1], (0..257).collect(), (0..256).collect(), agents, wide, extremes];
        let path = ColumnPath::from("s");
        for stats in [EnabledStatistics::None, EnabledStatistics::Chunk] {
            let props = props()
                .into_builder()
                .set_column_encoding(path.clone(), Encoding::DELTA_BINARY_PACKED)
                .set_column_statistics_enabled(path.clone(), stats)
                .build();
            for values in &cases {
                let ms = TimestampMillisecondArray::from(values.clone()).with_timezone("America/New_York");
                let columns: [(ArrayRef, DataType); 2] = [
                    (Arc::new(Int64Array::from(values.clone())), DataType::Int64),
                    (Arc::new(ms.clone()), ms.data_type().clone()),
                ];
                for (array, ty) in columns {
                    let (file, read) = write_and_read(array.as_ref(), ty.clone(), false, props.clone());
                    // (The file has no Arrow schema: times read back in UTC.)
                    assert_eq!(read.to_data().buffers(), array.to_data().buffers(), "{ty} {stats:?} {}", values.len());
                    let theirs = parquet_rs_file(array, ty.clone(), props.clone());
                    assert_eq!(
                        first_page(&file),
                        first_page(&theirs),
                        "{ty} {stats:?} {}: not parquet-rs's page",
                        values.len()
                    );
                    let chunk_stats = |f: &[u8]| {
                        let r = parquet::file::serialized_reader::SerializedFileReader::new(Bytes::from(f.to_vec()))
                            .unwrap();
                        parquet::file::reader::FileReader::metadata(&r).row_group(0).column(0).statistics().cloned()
                    };
                    assert_eq!(chunk_stats(&file), chunk_stats(&theirs), "{ty} {stats:?}");
                    assert_eq!(chunk_layout(&file), chunk_layout(&theirs), "{ty} {stats:?}");
                    assert_eq!(chunk_stats(&file).is_some(), stats == EnabledStatistics::Chunk);
                }
            }
        }
    }

    /// A file of `array` written by parquet-rs's Arrow writer alone.
    fn parquet_rs_file(array: ArrayRef, ty: DataType, props: WriterProperties) -> Vec<u8> {
        let schema = Arc::new(Schema::new(vec![Field::new("s", ty, false)]));
        let mut w = parquet::arrow::ArrowWriter::try_new(Vec::new(), schema.clone(), Some(props)).unwrap();
        w.write(&RecordBatch::try_new(schema, vec![array]).unwrap()).unwrap();
        w.into_inner().unwrap()
    }

    /// What a file's first column chunk says of its pages: encodings, page encoding
    /// statistics, compressed and uncompressed sizes, values, and where its data starts.
    fn chunk_layout(file: &[u8]) -> String {
        let r = parquet::file::serialized_reader::SerializedFileReader::new(Bytes::from(file.to_vec())).unwrap();
        let c = parquet::file::reader::FileReader::metadata(&r).row_group(0).column(0).clone();
        let offset = c.data_page_offset() - c.byte_range().0 as i64;
        format!(
            "{:?} {:?} {} {} {} {offset} {:?}",
            c.encodings().collect::<Vec<_>>(),
            c.page_encoding_stats(),
            c.compressed_size(),
            c.uncompressed_size(),
            c.num_values(),
            c.compression()
        )
    }

    /// The encoding and (decompressed) bytes of a file's first page.
    fn first_page(file: &[u8]) -> (Encoding, Bytes) {
        let r = parquet::file::serialized_reader::SerializedFileReader::new(Bytes::from(file.to_vec())).unwrap();
        let row_group = parquet::file::reader::FileReader::get_row_group(&r, 0).unwrap();
        let page = row_group.get_column_page_reader(0).unwrap().get_next_page().unwrap().unwrap();
        (page.encoding(), page.buffer().clone())
    }

    /// Nulls in a required column are an error, not a panic, whether keys or values
    /// are null; in a nullable column a null value reads back as a null row.
    #[test]
    fn null_keys_and_null_values() {
        let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, false)]));
        let descr = ArrowSchemaConverter::new().convert(&schema).unwrap();
        let null_value = DictionaryArray::<UInt32Type>::try_new(
            UInt32Array::from(vec![0, 1, 1, 0]),
            Arc::new(StringArray::from(vec![Some("a"), None])),
        )
        .unwrap();
        for array in [dict(&[Some(0), None], &["a"]), null_value.clone()] {
            let e = dictionary_chunk(&array, descr.column(0), &props());
            assert!(e.is_err_and(|e| e.to_string().contains("nulls in a required column")));
        }
        let want = vec![Some("a".to_string()), None, None, Some("a".to_string())];
        assert_eq!(round_trip(&null_value, true).1, want);
    }

    /// Chunks one after the other on a thread, keyed into one large dictionary (as
    /// buildings are), each start from clean slots: every one reads back.
    #[test]
    fn successive_chunks_of_one_dictionary_read_back() {
        let names: Vec<String> = (0..5000).map(|i| format!("b-{i}")).collect();
        let values: Vec<&str> = names.iter().map(String::as_str).collect();
        for round in 0..4u32 {
            let keys: Vec<Option<u32>> = (0..600u32).map(|i| Some((i * 37 + round * 911) % 5000)).collect();
            assert_eq!(round_trip(&dict(&keys, &values), false).1, expected(&keys, &values), "round {round}");
        }
    }

    /// An empty time column has statistics without a minimum or maximum, as parquet-rs
    /// writes them.
    #[test]
    fn an_empty_time_column_has_no_min_or_max() {
        let path = ColumnPath::from("s");
        let props = props()
            .into_builder()
            .set_column_encoding(path.clone(), Encoding::DELTA_BINARY_PACKED)
            .set_column_statistics_enabled(path, EnabledStatistics::Chunk)
            .build();
        let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Int64, false)]));
        let descr = ArrowSchemaConverter::new().convert(&schema).unwrap();
        let (_, close) = lay_out_column(&Int64Array::from(Vec::<i64>::new()), descr.column(0), &props).unwrap();
        let stats = close.metadata.statistics().expect("statistics");
        assert!(stats.min_bytes_opt().is_none() && stats.max_bytes_opt().is_none());
    }

    #[test]
    fn rle_runs_are_uleb128_headers_and_whole_bytes() {
        let mut out = Vec::new();
        rle(&mut out, &[(5, 3), (1, 200)], 9);
        assert_eq!(out, vec![6, 5, 0, 0x90, 0x03, 1, 0]);
        assert_eq!((bit_width(0), bit_width(1), bit_width(255), bit_width(256)), (0, 1, 8, 9));
    }
}
