//! `cutover sim zendesk` run standalone, as a user runs it: the real binary on port 0 prints its
//! base URL, answers the API with the generated data, and (with `--tls-cert-out`) serves HTTPS
//! with the certificate it wrote.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::harness::Workdir;

/// A running emulator process, killed when dropped.
struct Emulator {
    child: Child,
    url: String,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cutover sim …` and reads the base URL it prints as its first line.
fn start(dir: &Workdir, args: &[&str]) -> Emulator {
    cutover_sim::install_crypto_provider();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .current_dir(dir.path())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    Emulator {
        child,
        url: line.trim().to_owned(),
    }
}

#[tokio::test]
async fn the_zendesk_emulator_prints_its_url_and_serves_the_generated_tickets() {
    let dir = Workdir::new();
    let sim = start(
        &dir,
        &[
            "sim",
            "zendesk",
            "--listen",
            "127.0.0.1:0",
            "--tickets",
            "7",
            "--seed",
            "3",
        ],
    );
    assert!(sim.url.starts_with("http://127.0.0.1:"), "{}", sim.url);
    let client = reqwest::Client::new();
    let answer = client
        .get(format!("{}/api/v2/tickets.json", sim.url))
        .basic_auth("admin@example.com/token", Some("sim-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["count"], 7, "{body}");

    let refused = client
        .get(format!("{}/api/v2/tickets.json", sim.url))
        .basic_auth("admin@example.com/token", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn with_tls_cert_out_the_zendesk_emulator_serves_https_and_writes_its_certificate() {
    let dir = Workdir::new();
    let cert = dir.file("sim.pem");
    let sim = start(
        &dir,
        &[
            "sim",
            "zendesk",
            "--listen",
            "127.0.0.1:0",
            "--tickets",
            "1",
            "--tls-cert-out",
            cert.to_str().unwrap(),
        ],
    );
    assert!(sim.url.starts_with("https://"), "{}", sim.url);
    let pem = std::fs::read_to_string(&cert).unwrap();
    assert!(pem.contains("BEGIN CERTIFICATE"), "{pem}");
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let answer = client
        .get(format!("{}/api/v2/tickets.json", sim.url))
        .bearer_auth("sim-token")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn the_freshdesk_emulator_takes_its_account_plan_from_plan() {
    let dir = Workdir::new();
    let sim = start(
        &dir,
        &[
            "sim",
            "freshdesk",
            "--listen",
            "127.0.0.1:0",
            "--tickets",
            "3",
            "--plan",
            "growth",
        ],
    );
    assert!(sim.url.starts_with("http://127.0.0.1:"), "{}", sim.url);
    let answer = reqwest::Client::new()
        .get(format!(
            "{}/api/v2/tickets?updated_since=2000-01-01T00:00:00Z",
            sim.url
        ))
        .basic_auth("sim-key", Some("X"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["x-ratelimit-total"], "200");
    let tickets: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(tickets.as_array().map(Vec::len), Some(3), "{tickets}");

    let refused = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args([
            "sim",
            "freshdesk",
            "--listen",
            "127.0.0.1:0",
            "--plan",
            "premium",
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("growth, pro or enterprise"), "{stderr}");
}

#[tokio::test]
async fn faults_given_at_start_are_on_from_the_first_request() {
    let dir = Workdir::new();
    let sim = start(
        &dir,
        &[
            "sim",
            "zendesk",
            "--listen",
            "127.0.0.1:0",
            "--tickets",
            "1",
            "--faults",
            r#"{"error_rate": 1.0, "error_status": 503}"#,
        ],
    );
    let answer = reqwest::Client::new()
        .get(format!("{}/api/v2/tickets.json", sim.url))
        .basic_auth("admin@example.com/token", Some("sim-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 503);

    let refused = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args([
            "sim",
            "zendesk",
            "--listen",
            "127.0.0.1:0",
            "--faults",
            "{\"error_rate\": \"lots\"}",
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--faults"), "{stderr}");
}
