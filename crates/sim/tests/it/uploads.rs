use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{opts, spawn};

#[tokio::test]
async fn uploaded_bytes_come_back_exactly() {
    let sim = spawn(opts()).await;
    let bytes: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let up = sim
        .client
        .post(sim.url("/api/v2/uploads.json?filename=data%20file.bin"))
        .header("Authorization", &sim.auth)
        .header("Content-Type", "application/octet-stream")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(up.status(), StatusCode::CREATED);
    let up: serde_json::Value = up.json().await.unwrap();
    let token = up["upload"]["token"].as_str().unwrap().to_owned();
    assert_eq!(up["upload"]["attachment"]["size"], 70_000);
    let id = sim
        .ticket(json!({"ticket": {"comment": {"body": "see attached", "uploads": [token]}}}))
        .await;
    let comments = sim
        .get(&format!("/api/v2/tickets/{id}/comments.json"))
        .await;
    let attachment = &comments.body["comments"][0]["attachments"][0];
    assert_eq!(attachment["file_name"], "data file.bin");
    let content = sim
        .client
        .get(attachment["content_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        content.status(),
        StatusCode::OK,
        "content URLs need no API credentials"
    );
    assert_eq!(content.bytes().await.unwrap().to_vec(), bytes);
}

#[tokio::test]
async fn generated_attachments_serve_real_files() {
    let mut o = opts();
    o.tickets = 60;
    let sim = spawn(o).await;
    let mut checked = 0;
    for id in 1..=60 {
        let c = sim
            .get(&format!(
                "/api/v2/tickets/{id}/comments.json?include_inline_images=true"
            ))
            .await;
        for comment in c.body["comments"].as_array().unwrap() {
            for a in comment["attachments"].as_array().unwrap() {
                let bytes = sim
                    .client
                    .get(a["content_url"].as_str().unwrap())
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                assert_eq!(bytes.len() as u64, a["size"].as_u64().unwrap());
                if a["content_type"] == "image/png" {
                    assert_eq!(&bytes[..4], b"\x89PNG");
                }
                checked += 1;
            }
        }
        if checked > 5 {
            break;
        }
    }
    assert!(checked > 0, "the generator attaches files");
}

#[tokio::test]
async fn uploads_over_fifty_megabytes_are_invalid() {
    let sim = spawn(opts()).await;
    let big = vec![0u8; 50 * 1024 * 1024 + 1];
    let a = sim
        .client
        .post(sim.url("/api/v2/uploads.json?filename=big.bin"))
        .header("Authorization", &sim.auth)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = a.json().await.unwrap();
    assert_eq!(body["error"], "RecordInvalid");
    assert!(
        body["details"]["size"][0]["description"]
            .as_str()
            .unwrap()
            .contains("50 MB")
    );
}
