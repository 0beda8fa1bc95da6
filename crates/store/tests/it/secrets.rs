//! A password in a store URL never shows: not in `Display`, `Debug`, errors or logs.

use std::error::Error as _;
use std::io;
use std::sync::{Arc, Mutex};

use cutover_store::{StoreError, StoreUrl};

/// Log output, captured in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Every text an error chain offers: each level's `Display` and `Debug`.
fn texts(err: &StoreError) -> Vec<String> {
    let mut texts = vec![err.to_string(), format!("{err:?}"), format!("{err:#?}")];
    let mut source = err.source();
    while let Some(cause) = source {
        texts.push(cause.to_string());
        texts.push(format!("{cause:?}"));
        source = cause.source();
    }
    texts
}

// A current-thread runtime: the log capture below is set for this thread, where every task runs.
#[tokio::test]
async fn a_password_never_shows_in_errors_debug_or_logs() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);

    // Nothing listens on port 1.
    for (input, shown) in [
        (
            "postgres://cutover:s3cret-pw@127.0.0.1:1/cutover",
            "postgres://cutover:***@127.0.0.1:1/cutover",
        ),
        (
            "postgresql://cutover@127.0.0.1:1/cutover?password=s3cret-pw",
            "postgresql://cutover@127.0.0.1:1/cutover?password=***",
        ),
        (
            "postgres://cutover:s3cret%2Dpw@127.0.0.1:1/cutover",
            "postgres://cutover:***@127.0.0.1:1/cutover",
        ),
    ] {
        let url: StoreUrl = input.parse().unwrap();
        assert_eq!(url.to_string(), shown);
        assert_eq!(format!("{url:?}"), format!("StoreUrl({shown})"));

        let err = cutover_store::open(&url).await.unwrap_err();
        assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
        assert!(
            err.to_string().contains("127.0.0.1:1"),
            "the error should say where: {err}"
        );
        for text in texts(&err) {
            assert!(!text.contains("s3cret"), "password leaked: {text}");
        }
        // As the binary would log it.
        tracing::error!(error = %err, details = ?err, store = ?url, "Could not open the store.");
    }

    let logged = logs.text();
    assert!(
        logged.contains("Could not open the store."),
        "nothing was captured:\n{logged}"
    );
    assert!(logged.contains("127.0.0.1:1"), "{logged}");
    assert!(
        !logged.contains("s3cret"),
        "password leaked into the logs:\n{logged}"
    );
}

#[test]
fn unknown_schemes_name_only_the_scheme() {
    let err = "mysql://root:s3cret-pw@db/x"
        .parse::<StoreUrl>()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "parse store url mysql://…: unknown scheme \"mysql\": expected sqlite://PATH or postgres://…"
    );
    for text in texts(&err) {
        assert!(!text.contains("s3cret"), "password leaked: {text}");
    }
}
