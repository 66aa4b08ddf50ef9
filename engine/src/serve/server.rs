//! The tokio runtime the routes run on, on threads of their own beside the dataflow's.

use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use tokio::sync::oneshot;

/// Threads answering requests: reads are short, so two keep up with many clients on the
/// machines this runs on, and leave the cores to the dataflow.
const HTTP_THREADS: usize = 2;

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
