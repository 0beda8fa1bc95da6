//! The gateway's keeper: a few tasks own the writing of contacts. Each request hands its
//! contact to the queue and waits for the answer; a free writer takes every contact waiting at
//! that moment, writes them in one transaction ([`Store::accept_contacts`]: one multi-row insert)
//! and answers each once it is committed (group commit). Under load, the requests that arrive
//! while one commit is flushed go together in the next, so a thousand contacts a second cost a
//! few dozen commits, not a thousand; alone, a contact is written at once, waiting for no timer.
//! On PostgreSQL several writers commit side by side (a batch waits for no other batch's
//! flush); on SQLite, which writes one transaction at a time, one writer gathers the most. The
//! guarantee holds unchanged: no request is answered before its contact is committed.
//!
//! [`KeeperTimings`] keeps, for the most recent contacts, how long each waited for a writer,
//! how long its batch's write took and how long its request took to wake once answered: where
//! the gateway's answer time goes (`/metrics`, `cutover bench gateway`).

use std::collections::VecDeque;
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use cutover_engine::sync::metrics::{LagPercentiles, percentiles};
use cutover_store::{Accepted, Backend, NewContact, Store};
use tokio::sync::{Mutex, mpsc, oneshot};

/// The most contacts written in one transaction.
const MAX_BATCH: usize = 256;
/// Contacts waiting for the keeper at most; beyond it requests wait their turn to queue.
const QUEUE: usize = 4096;
/// Writers on PostgreSQL (a quarter of the store's connections); SQLite has one.
pub const POSTGRES_WRITERS: usize = 4;
/// Contacts whose timings [`KeeperTimings`] keeps (the most recent).
const TIMING_SAMPLES: usize = 10_000;

/// One contact to keep, when it was handed over, and where its answer goes (with when it was
/// sent).
struct Job {
    contact: NewContact,
    queued: Instant,
    answer: oneshot::Sender<(Result<Accepted, String>, Instant)>,
}

/// A handle on the keeper task: cheap to clone, one per request.
#[derive(Debug, Clone)]
pub struct Keeper {
    jobs: mpsc::Sender<Job>,
    /// Where the writers and the requests note how long their steps took.
    timings: Arc<KeeperTimings>,
}

/// Percentiles of the keeper's steps over the most recent contacts, in seconds (the batch
/// size in contacts).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KeeperSteps {
    /// From the hand-over to a writer taking the contact (waiting for a free writer).
    pub queue: LagPercentiles,
    /// The store's write of the contact's batch: a connection, the insert, the commit.
    pub write: LagPercentiles,
    /// From the writer's answer to the request running again (the runtime's scheduling).
    pub wake: LagPercentiles,
    /// Contacts in the contact's batch.
    pub batch: LagPercentiles,
}

/// The keeper's recent timings, one sample per contact.
#[derive(Debug, Default)]
pub struct KeeperTimings {
    recent: std::sync::Mutex<RecentSteps>,
}

#[derive(Debug, Default)]
struct RecentSteps {
    queue: VecDeque<f64>,
    write: VecDeque<f64>,
    wake: VecDeque<f64>,
    batch: VecDeque<f64>,
}

/// Adds `value` to `samples`, dropping the oldest beyond [`TIMING_SAMPLES`].
fn push(samples: &mut VecDeque<f64>, value: f64) {
    if samples.len() == TIMING_SAMPLES {
        samples.pop_front();
    }
    samples.push_back(value);
}

impl KeeperTimings {
    fn recent(&self) -> std::sync::MutexGuard<'_, RecentSteps> {
        self.recent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A batch of `queued` (each contact's wait for a writer) written in `write_secs`.
    fn batch(&self, queued: &[f64], write_secs: f64) {
        let mut recent = self.recent();
        for wait in queued {
            push(&mut recent.queue, *wait);
            push(&mut recent.write, write_secs);
            push(&mut recent.batch, queued.len() as f64);
        }
    }

    fn woke(&self, secs: f64) {
        push(&mut self.recent().wake, secs);
    }

    /// The percentiles of each step.
    pub fn steps(&self) -> KeeperSteps {
        let recent = self.recent();
        let of = |samples: &VecDeque<f64>| {
            let mut samples: Vec<f64> = samples.iter().copied().collect();
            percentiles(&mut samples)
        };
        KeeperSteps {
            queue: of(&recent.queue),
            write: of(&recent.write),
            wake: of(&recent.wake),
            batch: of(&recent.batch),
        }
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("channel", &self.contact.channel)
            .finish_non_exhaustive()
    }
}

impl Keeper {
    /// The writers a store's keeper has unless told otherwise: [`POSTGRES_WRITERS`] on
    /// PostgreSQL, one on SQLite (which writes one transaction at a time).
    pub fn default_writers(backend: Backend) -> usize {
        match backend {
            Backend::Postgres => POSTGRES_WRITERS,
            Backend::Sqlite => 1,
        }
    }

    /// Starts the keeper's writers on the current runtime, as many as
    /// [`Keeper::default_writers`]; they end once every handle is dropped.
    pub fn spawn(store: Arc<dyn Store>) -> Self {
        let writers = Self::default_writers(store.backend());
        Self::with_writers(store, writers)
    }

    /// Starts the keeper with `writers` writers (at least one) sharing the queue.
    pub fn with_writers(store: Arc<dyn Store>, writers: usize) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        let timings = Arc::new(KeeperTimings::default());
        for _ in 0..writers.max(1) {
            tokio::spawn(write(
                Arc::clone(&store),
                Arc::clone(&queue),
                Arc::clone(&timings),
            ));
        }
        Keeper { jobs, timings }
    }

    /// Keeps `contact`: answers once it is committed, or why it could not be (the store's
    /// error, or the keeper gone).
    pub async fn keep(&self, contact: NewContact) -> Result<Accepted, String> {
        let (answer, answered) = oneshot::channel();
        let job = Job {
            contact,
            queued: Instant::now(),
            answer,
        };
        self.jobs
            .send(job)
            .await
            .map_err(|_| "the gateway's keeper has stopped".to_owned())?;
        let (result, sent) = answered
            .await
            .map_err(|_| "the gateway's keeper stopped before answering".to_owned())?;
        self.timings.woke(sent.elapsed().as_secs_f64());
        result
    }

    /// How long the keeper's steps took, over the most recent contacts.
    pub fn steps(&self) -> KeeperSteps {
        self.timings.steps()
    }
}

/// A writer's loop: takes every job waiting (up to [`MAX_BATCH`]; the queue is held only while
/// taking), writes them in one transaction, answers each.
async fn write(
    store: Arc<dyn Store>,
    queue: Arc<Mutex<mpsc::Receiver<Job>>>,
    timings: Arc<KeeperTimings>,
) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    loop {
        let taken = queue.lock().await.recv_many(&mut jobs, MAX_BATCH).await;
        if taken == 0 {
            break;
        }
        let began = Instant::now();
        let queued: Vec<f64> = jobs
            .iter()
            .map(|j| began.saturating_duration_since(j.queued).as_secs_f64())
            .collect();
        // A request whose caller went away still has its contact kept: the provider may have
        // timed out after sending, and delivers again (the repeat is then found).
        let (contacts, answers): (Vec<NewContact>, Vec<_>) =
            jobs.drain(..).map(|j| (j.contact, j.answer)).unzip();
        let written = store.accept_contacts(&contacts).await;
        timings.batch(&queued, began.elapsed().as_secs_f64());
        let sent = Instant::now();
        match written {
            Ok(accepted) => {
                for (answer, accepted) in answers.into_iter().zip(accepted) {
                    let _ = answer.send((Ok(accepted), sent));
                }
            }
            Err(e) => {
                let mut reason = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    reason.push_str(&format!(": {cause}"));
                    source = cause.source();
                }
                for answer in answers {
                    let _ = answer.send((Err(reason.clone()), sent));
                }
            }
        }
    }
}
