//! Library errors as Python exceptions (classes defined in `gardencity/_errors.py`), and
//! the guard that keeps a Rust panic from ever crossing into Python.

use gardencity_run::RunError;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Which Python exception a library error becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A parameter is invalid (`gardencity.ParameterError`, a `ValueError`).
    Parameter,
    /// An input file does not exist (`gardencity.InputNotFoundError`, a `FileNotFoundError`).
    NotFound,
    /// The run was cancelled.
    Cancelled,
    /// Another run holds the output directory (`gardencity.OutputLockedError`).
    Locked,
    /// Any other library error (`gardencity.GardencityError`).
    Other,
}

impl Kind {
    fn class_name(self) -> &'static str {
        match self {
            Kind::Parameter => "ParameterError",
            Kind::NotFound => "InputNotFoundError",
            Kind::Cancelled => "RunCancelledError",
            Kind::Locked => "OutputLockedError",
            Kind::Other => "GardencityError",
        }
    }
}

/// An error on its way to Python: the exception class and the library's message.
#[derive(Debug, Clone)]
pub struct PyFail {
    /// The exception class.
    pub kind: Kind,
    /// The message (naming file, layer, row or parameter).
    pub message: String,
}

impl PyFail {
    /// A failure of `kind`.
    pub fn new(kind: Kind, message: impl Into<String>) -> PyFail {
        PyFail { kind, message: message.into() }
    }
}

/// The kind of any error: `NotFound` when an I/O "not found" is in its source chain.
pub fn kind_of(e: &(dyn std::error::Error + 'static)) -> Kind {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound) {
            return Kind::NotFound;
        }
        cur = err.source();
    }
    Kind::Other
}

impl From<RunError> for PyFail {
    fn from(e: RunError) -> PyFail {
        use gardencity::gravity::GravityError;
        use gardencity::population::SimError;
        let kind = match &e {
            RunError::Spec { .. } | RunError::Config(_) => Kind::Parameter,
            RunError::Simulation(SimError::Param(_)) => Kind::Parameter,
            RunError::Gravity(
                GravityError::Exponent { .. } | GravityError::HubCount { .. } | GravityError::UnknownMode { .. },
            ) => Kind::Parameter,
            _ if e.is_cancelled() => Kind::Cancelled,
            RunError::Dataset(gardencity_io::dataset::DatasetError::Locked { .. }) => Kind::Locked,
            other => kind_of(other),
        };
        PyFail::new(kind, e.to_string())
    }
}

/// Any library error type, classified by its source chain.
pub fn fail<E: std::error::Error + 'static>(e: E) -> PyFail {
    PyFail::new(kind_of(&e), e.to_string())
}

impl From<PyFail> for PyErr {
    fn from(f: PyFail) -> PyErr {
        Python::attach(|py| {
            let class = py.import("gardencity._errors").and_then(|m| m.getattr(f.kind.class_name()));
            match class {
                Ok(c) => match c.call1((f.message.clone(),)) {
                    Ok(instance) => PyErr::from_value(instance),
                    Err(e) => e,
                },
                // The module is missing only when the extension is imported on its own.
                Err(_) => PyRuntimeError::new_err(f.message),
            }
        })
    }
}

/// Runs `f`, turning a panic into a `GardencityError` that names it as a bug.
pub fn guard<T>(what: &str, f: impl FnOnce() -> Result<T, PyFail>) -> Result<T, PyFail> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => Err(PyFail::new(
            Kind::Other,
            format!("internal error in {what} (a bug in gardencity): {}", panic_text(&*panic)),
        )),
    }
}

/// The message of a panic payload.
pub fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
