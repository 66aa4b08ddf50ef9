//! Threads that run renders beside the dataflow: jobs in, outcomes out on a channel.
//!
//! A render that panics (a bug in a codec binding, say) becomes a failed outcome naming the
//! job, so the engine goes on and whoever waits for the outcome is not left waiting.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// A unit of work: runs to an outcome, or says what it was when it panicked.
pub trait Job: Send + 'static {
    /// What the job produces.
    type Outcome: Send + 'static;

    /// Does the work.
    fn run(self) -> Self::Outcome;

    /// The outcome of a job that panicked with `message`, made before it ran.
    fn panicked(&self) -> Box<dyn FnOnce(String) -> Self::Outcome + Send>;
}

/// A fixed number of threads taking jobs in order of submission.
pub struct Pool<J: Job> {
    jobs: Option<Sender<J>>,
    threads: Vec<JoinHandle<()>>,
}

impl<J: Job> Pool<J> {
    /// Starts `workers` threads named `name-<n>` that send outcomes to `outcomes`.
    pub fn new(name: &str, workers: usize, outcomes: Sender<J::Outcome>) -> std::io::Result<Self> {
        let (jobs, queue) = channel::<J>();
        let queue: Arc<Mutex<Receiver<J>>> = Arc::new(Mutex::new(queue));
        let mut threads = Vec::with_capacity(workers);
        for n in 0..workers.max(1) {
            let queue = queue.clone();
            let outcomes = outcomes.clone();
            threads.push(std::thread::Builder::new().name(format!("{name}-{n}")).spawn(
                move || loop {
                    let next =
                        queue.lock().expect("no render thread panics holding the queue").recv();
                    let Ok(job) = next else { return };
                    let on_panic = job.panicked();
                    let outcome = catch_unwind(AssertUnwindSafe(|| job.run()))
                        .unwrap_or_else(|panic| on_panic(panic_message(panic.as_ref())));
                    if outcomes.send(outcome).is_err() {
                        return;
                    }
                },
            )?);
        }
        Ok(Pool { jobs: Some(jobs), threads })
    }

    /// Queues a job.
    pub fn submit(&self, job: J) {
        // The threads only stop once `jobs` is dropped, so the queue is always open here.
        let _ = self.jobs.as_ref().expect("open until dropped").send(job);
    }
}

impl<J: Job> Drop for Pool<J> {
    fn drop(&mut self) {
        self.jobs = None;
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
