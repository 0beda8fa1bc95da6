//! Listening and serving: plain HTTP or HTTPS with a generated certificate, graceful shutdown from
//! a [`CancellationToken`], and the [`SimHandle`] a test or the CLI holds. The caller binds the
//! listener (port 0 works), so many emulators run in one test process.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::extract::Request;
use axum::response::Response;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tower::Service;

use crate::SimError;

/// Installs rustls's ring provider as the process default; a second call does nothing.
pub fn install_crypto_provider() {
    // An Err only says a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Host names the generated certificate is valid for.
pub const CERTIFICATE_NAMES: [&str; 4] =
    ["*.zendesk.com", "*.freshdesk.com", "localhost", "127.0.0.1"];

/// A generated certificate and the server configuration that uses it.
#[derive(Debug, Clone)]
pub struct Tls {
    /// The certificate, PEM, for clients to trust.
    pub cert_pem: String,
    config: Arc<rustls::ServerConfig>,
}

impl Tls {
    /// Generates a self-signed certificate for [`CERTIFICATE_NAMES`] and, if asked, writes its
    /// PEM to `cert_out`.
    pub fn generate(cert_out: Option<&Path>) -> Result<Self, SimError> {
        install_crypto_provider();
        let names: Vec<String> = CERTIFICATE_NAMES.iter().map(|n| (*n).to_owned()).collect();
        let certified = rcgen::generate_simple_self_signed(names)
            .map_err(|e| SimError::Certificate(e.to_string()))?;
        let cert_pem = certified.cert.pem();
        if let Some(path) = cert_out {
            std::fs::write(path, &cert_pem).map_err(|source| SimError::WriteCertificate {
                path: path.to_owned(),
                source,
            })?;
        }
        let cert = certified.cert.der().clone();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(
            rustls::pki_types::PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()),
        );
        let mut config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .map_err(|e| SimError::Tls(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            cert_pem,
            config: Arc::new(config),
        })
    }
}

/// Serves `service` on `listener` (plain HTTP) until `shutdown` fires, then finishes the
/// requests in flight.
pub async fn serve<S>(
    listener: TcpListener,
    service: S,
    shutdown: CancellationToken,
) -> io::Result<()>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let make = axum::ServiceExt::<Request>::into_make_service(service);
    axum::serve(listener, make)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

/// Serves `service` over TLS on `listener` until `shutdown` fires.
pub async fn serve_tls<S>(
    listener: TcpListener,
    service: S,
    tls: &Tls,
    shutdown: CancellationToken,
) -> io::Result<()>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let local = listener.local_addr()?;
    let (tx, rx) = mpsc::channel(64);
    let acceptor = TlsAcceptor::from(Arc::clone(&tls.config));
    tokio::spawn(accept_tls(listener, acceptor, tx, shutdown.clone()));
    let make = axum::ServiceExt::<Request>::into_make_service(service);
    axum::serve(TlsListener { rx, local }, make)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

async fn accept_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        let acceptor = acceptor.clone();
        let tx = tx.clone();
        // Handshakes run on their own so a slow client cannot hold up the others.
        tokio::spawn(async move {
            match acceptor.accept(stream).await {
                Ok(tls) => {
                    let _ = tx.send((tls, peer)).await;
                }
                Err(e) => tracing::debug!(error = %e, "TLS handshake with the emulator failed."),
            }
        });
    }
}

struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The acceptor stopped (shutdown): wait for the graceful shutdown to finish us.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// A running emulator: its URL, its application state for tests, and how to stop it.
#[derive(Debug)]
pub struct SimHandle<A> {
    url: String,
    addr: SocketAddr,
    app: Arc<A>,
    shutdown: CancellationToken,
    task: JoinHandle<io::Result<()>>,
    cert_pem: Option<String>,
}

impl<A> SimHandle<A> {
    /// Wraps a started server.
    pub fn new(
        url: String,
        addr: SocketAddr,
        app: Arc<A>,
        shutdown: CancellationToken,
        task: JoinHandle<io::Result<()>>,
        cert_pem: Option<String>,
    ) -> Self {
        Self {
            url,
            addr,
            app,
            shutdown,
            task,
            cert_pem,
        }
    }

    /// The base URL, e.g. `http://127.0.0.1:40123` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The emulator's state, for tests to look into and steer.
    pub fn state(&self) -> &Arc<A> {
        &self.app
    }

    /// The generated certificate (PEM) when serving HTTPS.
    pub fn cert_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    /// The token that stops the server; cancelling it is the same as [`SimHandle::shutdown`]
    /// without waiting.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops the server and waits until it has finished the requests in flight.
    pub async fn shutdown(self) -> io::Result<()> {
        self.shutdown.cancel();
        self.task
            .await
            .unwrap_or_else(|e| Err(io::Error::other(e.to_string())))
    }

    /// Waits until the server stops (after its token is cancelled elsewhere).
    pub async fn wait(self) -> io::Result<()> {
        self.task
            .await
            .unwrap_or_else(|e| Err(io::Error::other(e.to_string())))
    }
}

/// Binds `addr` (e.g. `127.0.0.1:0`).
pub async fn bind(addr: &str) -> Result<TcpListener, SimError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind {
            addr: addr.to_owned(),
            source,
        })
}
