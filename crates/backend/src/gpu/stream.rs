//! Streams, events and captured graphs.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::device::GpuInner;
use super::error::{GpuError, Result};
use super::ffi::Handle;

/// Something the device may still be using (an allocation, a module, a graph's resources).
pub(crate) type Keep = Arc<dyn Any + Send + Sync>;

fn keep_key(k: &Keep) -> usize {
    Arc::as_ptr(k) as *const () as usize
}

#[derive(Default)]
struct StreamState {
    /// Kept alive until the next successful synchronisation.
    kept: HashMap<usize, Keep>,
    /// While capturing: what the graph will need for as long as it exists.
    capture: Option<(HashMap<usize, Keep>, usize)>,
    /// The last operation queued (for error messages).
    last_op: Option<Arc<str>>,
}

struct StreamInner {
    gpu: Arc<GpuInner>,
    handle: Handle,
    state: Mutex<StreamState>,
}

impl Drop for StreamInner {
    fn drop(&mut self) {
        // Finish our own work before the stream (and what it keeps alive) goes.
        if self.gpu.bind().is_ok() {
            let _ = self.gpu.driver().stream_synchronize(self.handle);
            let _ = self.gpu.driver().stream_destroy(self.handle);
        }
    }
}

/// An ordered queue of device work. Cheap to clone (clones share the stream).
#[derive(Clone)]
pub struct Stream {
    inner: Arc<StreamInner>,
}

impl Stream {
    pub(crate) fn new(gpu: &Arc<GpuInner>) -> Result<Stream> {
        gpu.bind()?;
        let handle = gpu.driver().stream_create()?;
        Ok(Stream {
            inner: Arc::new(StreamInner { gpu: gpu.clone(), handle, state: Mutex::new(StreamState::default()) }),
        })
    }

    pub(crate) fn gpu(&self) -> &Arc<GpuInner> {
        &self.inner.gpu
    }

    pub(crate) fn handle(&self) -> Handle {
        self.inner.handle
    }

    fn state(&self) -> MutexGuard<'_, StreamState> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `k` alive until the work queued so far has finished (or, while capturing, for as
    /// long as the graph exists).
    pub(crate) fn keep(&self, k: Keep) {
        let mut st = self.state();
        let key = keep_key(&k);
        match &mut st.capture {
            Some((kept, _)) => kept.entry(key).or_insert(k),
            None => st.kept.entry(key).or_insert(k),
        };
    }

    /// Records a launch: its name for error messages, and one more node if capturing.
    pub(crate) fn note_op(&self, name: &Arc<str>) {
        let mut st = self.state();
        if let Some((_, n)) = &mut st.capture {
            *n += 1;
        }
        if st.last_op.as_ref().is_none_or(|l| !Arc::ptr_eq(l, name)) {
            st.last_op = Some(name.clone());
        }
    }

    /// After a successful synchronisation: nothing queued earlier is still running.
    pub(crate) fn release_kept(&self) {
        let released = std::mem::take(&mut self.state().kept);
        drop(released);
    }

    /// Adds the last queued operation to an error from this stream (asynchronous errors show up
    /// at the next synchronisation, far from their cause).
    pub(crate) fn annotate(&self, e: GpuError, doing: &str) -> GpuError {
        let last = self.state().last_op.clone();
        e.with_context(|| match last {
            Some(op) => format!("{doing}; last kernel queued on this stream: {op}"),
            None => doing.to_owned(),
        })
    }

    /// Waits for all work queued on this stream (only this stream: never the whole device).
    pub fn synchronize(&self) -> Result<()> {
        let gpu = self.gpu();
        gpu.bind()?;
        gpu.driver().stream_synchronize(self.handle()).map_err(|e| self.annotate(e, "synchronizing"))?;
        self.release_kept();
        Ok(())
    }

    /// Records the work `f` queues on this stream into a graph instead of running it, and
    /// returns the graph ready to launch. Inside `f` only device work may be queued (kernel
    /// launches, device-to-device copies, fills): reads, writes from host memory and
    /// synchronisation fail while capturing. If `f` fails, the capture is ended and its error
    /// returned.
    pub fn capture<F>(&self, f: F) -> Result<Graph>
    where
        F: FnOnce(&Stream) -> Result<()>,
    {
        let gpu = self.gpu();
        gpu.bind()?;
        {
            let mut st = self.state();
            if st.capture.is_some() {
                return Err(GpuError::Invalid("stream is already capturing".into()));
            }
            gpu.driver().stream_begin_capture(self.handle())?;
            st.capture = Some((HashMap::new(), 0));
        }
        let body = f(self);
        let ended = gpu.bind().and_then(|()| gpu.driver().stream_end_capture(self.handle()));
        let (kept, nodes) = self.state().capture.take().unwrap_or_default();
        let destroy = |g: Handle| {
            if !g.is_null() {
                let _ = gpu.driver().graph_destroy(g);
            }
        };
        match (body, ended) {
            (Err(e), Ok(g)) => {
                destroy(g);
                Err(e)
            }
            (Err(e), Err(_)) => Err(e),
            (Ok(()), Err(e)) => Err(e),
            (Ok(()), Ok(g)) if g.is_null() => Err(GpuError::Invalid("stream capture produced no graph".into())),
            (Ok(()), Ok(g)) => match gpu.driver().graph_instantiate(g) {
                Ok(exec) => {
                    let kept: Vec<Keep> = kept.into_values().collect();
                    Ok(Graph { gpu: gpu.clone(), graph: g, exec, kept: Arc::new(kept), nodes })
                }
                Err(e) => {
                    destroy(g);
                    Err(e)
                }
            },
        }
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Stream({:#x})", self.handle().addr())
    }
}

/// A captured, instantiated graph: replays the captured work with one launch.
pub struct Graph {
    gpu: Arc<GpuInner>,
    graph: Handle,
    exec: Handle,
    kept: Keep,
    nodes: usize,
}

impl Graph {
    /// Queues one replay on `stream`.
    pub fn launch(&self, stream: &Stream) -> Result<()> {
        if !Arc::ptr_eq(&self.gpu, stream.gpu()) {
            return Err(GpuError::Invalid("graph launched on a stream of another device".into()));
        }
        self.gpu.bind()?;
        self.gpu.driver().graph_launch(self.exec, stream.handle())?;
        stream.keep(self.kept.clone());
        Ok(())
    }

    /// Number of kernel launches captured.
    pub fn launches(&self) -> usize {
        self.nodes
    }
}

impl Drop for Graph {
    fn drop(&mut self) {
        // An executable graph still running is freed by the driver when it completes; the
        // buffers it uses are kept alive by the streams it was launched on.
        if self.gpu.bind().is_ok() {
            let _ = self.gpu.driver().graph_exec_destroy(self.exec);
            let _ = self.gpu.driver().graph_destroy(self.graph);
        }
    }
}

/// A point in a stream's work, for timing.
pub struct Event {
    gpu: Arc<GpuInner>,
    handle: Handle,
}

impl Event {
    pub(crate) fn new(gpu: &Arc<GpuInner>) -> Result<Event> {
        gpu.bind()?;
        Ok(Event { gpu: gpu.clone(), handle: gpu.driver().event_create()? })
    }

    /// Marks the current end of `stream`'s queued work.
    pub fn record(&self, stream: &Stream) -> Result<()> {
        self.gpu.bind()?;
        self.gpu.driver().event_record(self.handle, stream.handle())
    }

    /// Waits until the recorded work has finished.
    pub fn synchronize(&self) -> Result<()> {
        self.gpu.bind()?;
        self.gpu.driver().event_synchronize(self.handle)
    }

    /// Milliseconds from this event to `end` (both recorded and finished).
    pub fn elapsed_ms(&self, end: &Event) -> Result<f32> {
        self.gpu.bind()?;
        end.synchronize()?;
        self.gpu.driver().event_elapsed_ms(self.handle, end.handle)
    }
}

impl Drop for Event {
    fn drop(&mut self) {
        if self.gpu.bind().is_ok() {
            let _ = self.gpu.driver().event_destroy(self.handle);
        }
    }
}
