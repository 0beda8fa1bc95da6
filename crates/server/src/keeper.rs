//! The gateway's keeper: a few tasks own the writing of contacts. Each request hands its
//! contact to the queue and waits for the answer; a free writer takes every contact waiting at
//! that moment, writes them in one transaction ([`Store::accept_contacts`]: one multi-row insert)
//! and answers each once it is committed (group commit). Under load, the requests that arrive
//! while one commit is flushed go together in the next, so a thousand contacts a second cost a
//! few dozen commits, not a thousand; alone, a contact is written at once, waiting for no timer.
//! On PostgreSQL several writers commit side by side (a batch waits for no other batch's
//! flush); on SQLite, which writes one transaction at a time, one writer gathers the most. The
//! guarantee holds unchanged: no request is answered before its contact is committed.

use std::sync::Arc;

use cutover_store::{Accepted, Backend, NewContact, Store};
use tokio::sync::{Mutex, mpsc, oneshot};

/// The most contacts written in one transaction.
const MAX_BATCH: usize = 256;
/// Contacts waiting for the keeper at most; beyond it requests wait their turn to queue.
const QUEUE: usize = 4096;
/// Writers on PostgreSQL (a quarter of the store's connections); SQLite has one.
const POSTGRES_WRITERS: usize = 4;

/// One contact to keep, and where its answer goes.
struct Job {
    contact: NewContact,
    answer: oneshot::Sender<Result<Accepted, String>>,
}

/// A handle on the keeper task: cheap to clone, one per request.
#[derive(Debug, Clone)]
pub struct Keeper {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("channel", &self.contact.channel)
            .finish_non_exhaustive()
    }
}

impl Keeper {
    /// Starts the keeper's writers on the current runtime; they end once every handle is
    /// dropped.
    pub fn spawn(store: Arc<dyn Store>) -> Self {
        let writers = match store.backend() {
            Backend::Postgres => POSTGRES_WRITERS,
            Backend::Sqlite => 1,
        };
        Self::with_writers(store, writers)
    }

    /// Starts the keeper with `writers` writers (at least one) sharing the queue.
    pub fn with_writers(store: Arc<dyn Store>, writers: usize) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..writers.max(1) {
            tokio::spawn(write(Arc::clone(&store), Arc::clone(&queue)));
        }
        Keeper { jobs }
    }

    /// Keeps `contact`: answers once it is committed, or why it could not be (the store's
    /// error, or the keeper gone).
    pub async fn keep(&self, contact: NewContact) -> Result<Accepted, String> {
        let (answer, answered) = oneshot::channel();
        self.jobs
            .send(Job { contact, answer })
            .await
            .map_err(|_| "the gateway's keeper has stopped".to_owned())?;
        answered
            .await
            .map_err(|_| "the gateway's keeper stopped before answering".to_owned())?
    }
}

/// A writer's loop: takes every job waiting (up to [`MAX_BATCH`]; the queue is held only while
/// taking), writes them in one transaction, answers each.
async fn write(store: Arc<dyn Store>, queue: Arc<Mutex<mpsc::Receiver<Job>>>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    loop {
        let taken = queue.lock().await.recv_many(&mut jobs, MAX_BATCH).await;
        if taken == 0 {
            break;
        }
        // A request whose caller went away still has its contact kept: the provider may have
        // timed out after sending, and delivers again (the repeat is then found).
        let (contacts, answers): (Vec<NewContact>, Vec<_>) =
            jobs.drain(..).map(|j| (j.contact, j.answer)).unzip();
        match store.accept_contacts(&contacts).await {
            Ok(accepted) => {
                for (answer, accepted) in answers.into_iter().zip(accepted) {
                    let _ = answer.send(Ok(accepted));
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
                    let _ = answer.send(Err(reason.clone()));
                }
            }
        }
    }
}
