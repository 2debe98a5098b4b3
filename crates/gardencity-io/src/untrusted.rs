//! Decoding outside bytes with third-party decoders that may panic on corrupt input
//! (the `parquet` crate asserts on some corrupt metadata): [`guarded`] turns such a
//! panic into an error, and [`in_guarded_decode`] lets a program's panic hook stay
//! quiet about it (the `gardencity` binary's does), since it is reported as an error.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// True while this thread runs a [`guarded`] decode (for panic hooks).
pub fn in_guarded_decode() -> bool {
    GUARDED.with(Cell::get)
}

/// Runs `f`, a decode of outside bytes; a panic inside it becomes `Err` with its message.
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let was = GUARDED.with(|g| g.replace(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    r.map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the decoder failed".into())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_panic_becomes_an_error() {
        assert_eq!(super::guarded(|| 3), Ok(3));
        let r: Result<(), String> = super::guarded(|| {
            assert!(super::in_guarded_decode());
            panic!("corrupt")
        });
        assert_eq!(r, Err("corrupt".into()));
        assert!(!super::in_guarded_decode());
    }
}
