//! Listening and serving: plain HTTP or HTTPS with a generated certificate, graceful shutdown from
//! a [`CancellationToken`], and the [`SimHandle`] a test or the CLI holds. The caller binds the
//! listener (port 0 works), so many emulators run in one test process.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
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
    /// The issuing CA's certificate, PEM, for clients to trust.
    pub cert_pem: String,
    config: Arc<rustls::ServerConfig>,
}

impl Tls {
    /// Generates a certificate for [`CERTIFICATE_NAMES`], issued by a generated one-off CA,
    /// and, if asked, writes the CA's PEM to `cert_out`. Clients trust the CA: OpenSSL-based
    /// clients (Python's `requests`, curl) refuse a self-signed leaf as its own anchor, and
    /// webpki refuses a leaf marked as a CA, so the CA and the server certificate are apart.
    pub fn generate(cert_out: Option<&Path>) -> Result<Self, SimError> {
        install_crypto_provider();
        let err = |e: rcgen::Error| SimError::Certificate(e.to_string());
        let ca_key = rcgen::KeyPair::generate().map_err(err)?;
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "cutover-sim test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).map_err(err)?;
        let names: Vec<String> = CERTIFICATE_NAMES.iter().map(|n| (*n).to_owned()).collect();
        let leaf_key = rcgen::KeyPair::generate().map_err(err)?;
        let mut leaf_params = rcgen::CertificateParams::new(names).map_err(err)?;
        leaf_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        leaf_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "cutover-sim");
        let leaf = leaf_params.signed_by(&leaf_key, &ca).map_err(err)?;
        let cert_pem = ca.pem();
        if let Some(path) = cert_out {
            std::fs::write(path, &cert_pem).map_err(|source| SimError::WriteCertificate {
                path: path.to_owned(),
                source,
            })?;
        }
        let chain = vec![leaf.der().clone(), ca.der().clone()];
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(
            rustls::pki_types::PrivatePkcs8KeyDer::from(leaf_key.serialize_der()),
        );
        let mut config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain, key)
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

/// Starts an emulator on a listener the caller bound: HTTPS with a generated certificate (also
/// written to `cert_out` when given) if `tls`, else plain HTTP. `build` makes the application
/// state from the base URL and the shutdown token, `service` its routes. Must run inside a tokio
/// runtime.
pub fn spawn_emulator<A, S>(
    listener: TcpListener,
    tls: bool,
    cert_out: Option<&Path>,
    build: impl FnOnce(&str, CancellationToken) -> Result<Arc<A>, SimError>,
    service: impl FnOnce(Arc<A>) -> S,
) -> Result<SimHandle<A>, SimError>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let addr = listener.local_addr().map_err(SimError::LocalAddr)?;
    let tls = if tls {
        Some(Tls::generate(cert_out)?)
    } else {
        None
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{addr}");
    let shutdown = CancellationToken::new();
    let app = build(&url, shutdown.clone())?;
    let service = service(Arc::clone(&app));
    let token = shutdown.clone();
    let cert_pem = tls.as_ref().map(|t| t.cert_pem.clone());
    let task = tokio::spawn(async move {
        match tls {
            Some(tls) => serve_tls(listener, service, &tls, token).await,
            None => serve(listener, service, token).await,
        }
    });
    Ok(SimHandle::new(url, addr, app, shutdown, task, cert_pem))
}

/// A JSON answer with the faults' encoding (see [`crate::faults::json_bytes`]) and the content
/// type both platforms send, `application/json; charset=utf-8`.
pub fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut response = (status, crate::faults::json_bytes(value)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// A request body as JSON, `null` when it is empty or blank; when it is not JSON, the error
/// `unparsable` makes from the parser's reason.
pub fn json_body<E>(body: &[u8], unparsable: impl FnOnce(&str) -> E) -> Result<Value, E> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| unparsable(&e.to_string()))
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
