//! What went wrong reading a CSV record, in the words of this crate's error messages.

/// A CSV reader's error, as the line the record starts on and what is wrong with it,
/// or the I/O error underneath.
pub(crate) fn csv_problem(e: csv::Error) -> Result<(u64, String), std::io::Error> {
    let line = e.position().map_or(0, |p| p.line());
    let reason = match e.into_kind() {
        csv::ErrorKind::Io(source) => return Err(source),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("{len} fields, but the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { err, .. } => format!("invalid UTF-8 ({err})"),
        other => format!("malformed CSV ({other:?})"),
    };
    Ok((line, reason))
}
