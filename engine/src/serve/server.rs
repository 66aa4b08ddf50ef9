//! The tokio runtime the routes run on, on threads of their own beside the dataflow's.

use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::serve::ListenerExt;
use axum::Router;
use tokio::sync::oneshot;

use super::api::{router, ApiState, RecordWriter};
use super::metrics::Metrics;
use super::state::Served;
use crate::config::Config;

/// Threads answering requests: reads are short, so two keep up with many clients on the
/// machines this runs on, and leave the cores to the dataflow.
const HTTP_THREADS: usize = 2;

/// Starts the API of a service as `config` says (none when `service.listen` is empty) over
/// `served`, writing through `writer`, serving the files of `out`; `listening` is told the
/// address.
pub fn start_api(
    config: &Config,
    served: Arc<Served>,
    writer: Arc<dyn RecordWriter>,
    metrics: Arc<Metrics>,
    out: &Path,
    listening: impl FnOnce(SocketAddr),
) -> Result<Option<Server>> {
    if config.service.listen.is_empty() {
        return Ok(None);
    }
    let state = ApiState {
        served,
        writer,
        token: config.service.token().map(Arc::from),
        max_record_bytes: config.engine.max_record_bytes,
        metrics,
        out: Arc::new(out.to_owned()),
        tables: Arc::default(),
    };
    let app = router(state, out.to_owned(), config.service.max_body_bytes);
    let server = Server::start(&config.service.listen, app)?;
    listening(server.address());
    Ok(Some(server))
}

/// A running HTTP server.
pub struct Server {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Listens on `listen` (`HOST:PORT`; port 0 picks a free one) and serves `router`.
    pub fn start(listen: &str, router: Router) -> Result<Server> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(HTTP_THREADS)
            .thread_name("reeltime-http")
            .enable_all()
            .build()
            .context("starting the HTTP server's runtime")?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(listen))
            .with_context(|| format!("listening on {listen}"))?;
        let address = listener.local_addr().context("reading the listening address")?;
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("reeltime-http-main".into())
            .spawn(move || {
                runtime.block_on(async move {
                    // Answers and change messages are small writes: without TCP_NODELAY,
                    // Nagle's algorithm would hold one back until the last is acknowledged.
                    let listener = listener.tap_io(|tcp| {
                        let _ = tcp.set_nodelay(true);
                    });
                    tokio::select! {
                        served = axum::serve(listener, router) => {
                            if let Err(error) = served {
                                eprintln!("reeltime: the HTTP server stopped: {error}");
                            }
                        }
                        _ = stopped => {}
                    }
                });
                // Open change streams never end by themselves: they are cut, not waited for.
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .context("starting the HTTP server's thread")?;
        Ok(Server { address, stop: Some(stop), thread: Some(thread) })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
