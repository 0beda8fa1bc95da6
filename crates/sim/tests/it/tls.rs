use reqwest::StatusCode;

use crate::harness::{basic, opts};

#[tokio::test]
async fn https_with_a_certificate_for_zendesk_hosts() {
    cutover_sim::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("sim.pem");
    let mut o = opts();
    o.tls_cert_out = Some(cert_path.clone());
    let handle = cutover_sim::zendesk::ZendeskSim::spawn(o, "127.0.0.1:0")
        .await
        .unwrap();
    assert!(handle.url().starts_with("https://127.0.0.1:"));
    let pem = std::fs::read(&cert_path).unwrap();
    let cert = reqwest::Certificate::from_pem(&pem).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([cert])
        .resolve("acme.zendesk.com", handle.addr())
        .build()
        .unwrap();
    let auth = basic("admin@example.com", "sim-token");
    for url in [
        format!(
            "https://acme.zendesk.com:{}/api/v2/users/me.json",
            handle.addr().port()
        ),
        format!(
            "https://localhost:{}/api/v2/users/me.json",
            handle.addr().port()
        ),
        format!("{}/api/v2/users/me.json", handle.url()),
    ] {
        let client = if url.contains("localhost") {
            reqwest::Client::builder()
                .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
                .resolve("localhost", handle.addr())
                .build()
                .unwrap()
        } else {
            client.clone()
        };
        let r = client
            .get(&url)
            .header("Authorization", &auth)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{url}");
    }
    handle.shutdown().await.unwrap();
}
