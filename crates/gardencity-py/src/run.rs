//! Runs from Python: a run goes on a Rust thread, with the GIL released, while Python
//! polls it (so Ctrl-C reaches Python between short waits and cancels the run).

use crate::city::PyCity;
use crate::errors::{guard, panic_text, Kind, PyFail};
use arrow_array::RecordBatch;
use gardencity::records::OutputKind;
use gardencity_io::dataset::BatchSink;
use gardencity_run::{CityInput, Control, PreparedRun, RunSpec};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A timeout from Python in seconds (anything but a finite positive number is 0; at most
/// an hour).
fn seconds(t: f64) -> Duration {
    if t.is_finite() && t > 0.0 {
        Duration::from_secs_f64(t.min(3600.0))
    } else {
        Duration::ZERO
    }
}

/// Batches in flight between the simulating thread and Python.
const CHANNEL_BATCHES: usize = 4;

/// The receiving end of a `batches` run.
type BatchReceiver = Receiver<(OutputKind, RecordBatch)>;

#[derive(Default)]
struct Shared {
    done: AtomicU64,
    cancel: AtomicBool,
    finished: Mutex<Option<Result<String, PyFail>>>,
    signal: Condvar,
}

/// A run in progress (`gardencity._gardencity.start_run`).
#[pyclass(module = "gardencity._gardencity")]
pub struct RunHandle {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// The batches of a `batches` run; taken (dropped) on cancel, which wakes a
    /// simulating thread blocked on a full channel.
    batches: Option<Mutex<Option<BatchReceiver>>>,
    total: u64,
}

fn ipc_bytes(batch: &RecordBatch) -> Result<Vec<u8>, PyFail> {
    let mut buf = Vec::new();
    {
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut buf, &batch.schema())
            .map_err(|e| PyFail::new(Kind::Other, format!("encoding a record batch: {e}")))?;
        w.write(batch).map_err(|e| PyFail::new(Kind::Other, format!("encoding a record batch: {e}")))?;
        w.finish().map_err(|e| PyFail::new(Kind::Other, format!("encoding a record batch: {e}")))?;
    }
    Ok(buf)
}

fn simulate_batches(
    prepared: &PreparedRun,
    control: &Control<'_>,
    tx: SyncSender<(OutputKind, RecordBatch)>,
    batch_rows: usize,
) -> Result<String, PyFail> {
    let w = prepared.window;
    let mut sink = BatchSink::new(
        prepared.city.city.clone(),
        prepared.spec.outputs,
        prepared.spec.coords,
        w.tz,
        batch_rows,
        |kind, batch| {
            tx.send((kind, batch)).map_err(|_| gardencity_io::dataset::DatasetError::Option {
                name: "batches",
                reason: "the reader stopped reading".into(),
            })
        },
    );
    let manifest = prepared.simulate(&mut sink, control)?;
    sink.finish().map_err(crate::errors::fail)?;
    serde_json::to_string(&manifest).map_err(|e| PyFail::new(Kind::Other, e.to_string()))
}

/// Checks a run specification as a run would (parameters, city, gravity, anchors)
/// without simulating; returns the number of agents of the whole population.
#[pyfunction]
#[pyo3(signature = (spec_json, city = None))]
pub fn check_run(py: Python<'_>, spec_json: &str, city: Option<PyRef<'_, PyCity>>) -> PyResult<u64> {
    let input = city.map(|c| CityInput::in_memory(c.city.clone(), c.gravity.clone(), "a City object in memory"));
    let spec_text = spec_json.to_string();
    let agents = py.detach(|| {
        guard("checking the run", || {
            let spec = RunSpec::from_json(&spec_text)?;
            Ok(PreparedRun::new(&spec, input)?.spec.agents)
        })
    })?;
    Ok(agents)
}

/// Starts a run: `spec_json` is a run specification (the `--config` keys, as JSON);
/// `city` replaces `spec.city`; `mode` is `dataset` (write `spec.out`) or `batches`
/// (record batches of at most `batch_rows` rows through `RunHandle.next_batch`).
#[pyfunction]
#[pyo3(signature = (spec_json, city = None, mode = "dataset", batch_rows = 65_536))]
pub fn start_run(
    py: Python<'_>,
    spec_json: &str,
    city: Option<PyRef<'_, PyCity>>,
    mode: &str,
    batch_rows: usize,
) -> PyResult<RunHandle> {
    let batches = match mode {
        "dataset" => false,
        "batches" => true,
        other => {
            return Err(PyFail::new(Kind::Parameter, format!("mode: {other:?}: expected dataset or batches")).into())
        }
    };
    let input = city.map(|c| CityInput::in_memory(c.city.clone(), c.gravity.clone(), "a City object in memory"));
    let spec_text = spec_json.to_string();
    let prepared = py.detach(|| {
        guard("preparing the run", || {
            let spec = RunSpec::from_json(&spec_text)?;
            if !batches && spec.out.is_none() {
                return Err(PyFail::new(Kind::Parameter, "out: an output directory is required"));
            }
            Ok(PreparedRun::new(&spec, input)?)
        })
    })?;
    let total = prepared.window.shard_agents;
    let shared = Arc::new(Shared::default());
    let (tx, rx) = sync_channel(if batches { CHANNEL_BATCHES } else { 0 });
    let s = shared.clone();
    let thread = std::thread::Builder::new()
        .name("gardencity-run".into())
        .spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let progress = |n: u64| s.done.store(n, Ordering::Relaxed);
                let control = Control { progress: &progress, cancel: &s.cancel };
                if batches {
                    simulate_batches(&prepared, &control, tx, batch_rows)
                } else {
                    drop(tx);
                    prepared.write_dataset(&control).map_err(PyFail::from).and_then(|r| {
                        serde_json::to_string(&r.manifest).map_err(|e| PyFail::new(Kind::Other, e.to_string()))
                    })
                }
            }));
            let mut result = outcome.unwrap_or_else(|p| {
                Err(PyFail::new(
                    Kind::Other,
                    format!("internal error in the run (a bug in gardencity): {}", panic_text(&*p)),
                ))
            });
            // Cancelling a batches run also closes its channel, so the run may stop on
            // the closed channel before it sees the flag: either way it was cancelled.
            if s.cancel.load(Ordering::Relaxed) {
                if let Err(e) = &mut result {
                    e.kind = Kind::Cancelled;
                }
            }
            if let Ok(mut f) = s.finished.lock() {
                *f = Some(result);
            }
            s.signal.notify_all();
        })
        .map_err(|e| PyFail::new(Kind::Other, format!("cannot start the run thread: {e}")))?;
    Ok(RunHandle { shared, thread: Some(thread), batches: batches.then(|| Mutex::new(Some(rx))), total })
}

#[pymethods]
impl RunHandle {
    /// Agents this run simulates.
    #[getter]
    fn total(&self) -> u64 {
        self.total
    }

    /// Agents done so far.
    #[getter]
    fn done(&self) -> u64 {
        self.shared.done.load(Ordering::Relaxed)
    }

    /// Asks the run to stop (it stops within a chunk of agents; nothing looks complete).
    fn cancel(&self) {
        self.shared.cancel.store(true, Ordering::Relaxed);
        if let Some(rx) = &self.batches {
            if let Ok(mut rx) = rx.lock() {
                rx.take();
            }
        }
    }

    /// Waits up to `timeout` seconds for the run to finish; true when it has.
    fn wait(&self, py: Python<'_>, timeout: f64) -> bool {
        let shared = self.shared.clone();
        py.detach(move || {
            let Ok(guard) = shared.finished.lock() else { return true };
            let (guard, _) = shared
                .signal
                .wait_timeout_while(guard, seconds(timeout), |f| f.is_none())
                .unwrap_or_else(|e| e.into_inner());
            guard.is_some()
        })
    }

    /// The next record batch as `(output name, Arrow IPC stream bytes)`; `None` when none
    /// came within `timeout` seconds; raises `StopIteration` when the run has no more.
    fn next_batch<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Option<(&'static str, Bound<'py, PyBytes>)>> {
        let Some(rx) = &self.batches else {
            return Err(PyFail::new(Kind::Parameter, "this run writes a dataset; it has no batches").into());
        };
        let got = py.detach(|| {
            let rx = rx.lock().map_err(|_| ())?;
            let Some(rx) = rx.as_ref() else { return Err(()) };
            match rx.recv_timeout(seconds(timeout)) {
                Ok((kind, batch)) => Ok(Some((kind, ipc_bytes(&batch)))),
                Err(RecvTimeoutError::Timeout) => Ok(None),
                Err(RecvTimeoutError::Disconnected) => Err(()),
            }
        });
        match got {
            Ok(Some((kind, bytes))) => Ok(Some((kind.dir_name(), PyBytes::new(py, &bytes?)))),
            Ok(None) => Ok(None),
            Err(()) => Err(pyo3::exceptions::PyStopIteration::new_err(())),
        }
    }

    /// Waits for the end and returns the manifest as JSON, or raises the run's error.
    fn result(&mut self, py: Python<'_>) -> PyResult<String> {
        while !self.wait(py, 0.1) {
            py.check_signals()?;
        }
        if let Some(t) = self.thread.take() {
            let _ = py.detach(|| t.join());
        }
        let outcome = self.shared.finished.lock().ok().and_then(|f| f.clone());
        match outcome {
            Some(Ok(m)) => Ok(m),
            Some(Err(e)) => Err(e.into()),
            None => Err(PyFail::new(Kind::Other, "the run ended without a result").into()),
        }
    }
}

impl Drop for RunHandle {
    fn drop(&mut self) {
        // A run abandoned by Python stops; its receiver goes first so that a thread
        // blocked on a full channel wakes up.
        self.shared.cancel.store(true, Ordering::Relaxed);
        self.batches = None;
        if let Some(t) = self.thread.take() {
            // Other Python threads go on while this one waits for the run to stop.
            let _ = Python::attach(|py| py.detach(|| t.join()));
        }
    }
}
