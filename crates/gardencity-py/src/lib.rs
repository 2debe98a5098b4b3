//! `gardencity._gardencity`: the native module of the Python package `gardencity`
//! (see `python/gardencity`). A thin layer over `gardencity-run`: the city as plain
//! data that pickles as its snapshot, and runs on a Rust thread with the GIL released.

mod city;
mod commit;
mod errors;
mod run;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _gardencity(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<city::PyCity>()?;
    m.add_class::<run::RunHandle>()?;
    m.add_class::<commit::Reservation>()?;
    m.add_function(wrap_pyfunction!(commit::commit, m)?)?;
    m.add_function(wrap_pyfunction!(commit::reserve_out, m)?)?;
    m.add_function(wrap_pyfunction!(city::_city_from_snapshot, m)?)?;
    m.add_function(wrap_pyfunction!(run::start_run, m)?)?;
    m.add_function(wrap_pyfunction!(run::check_run, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
