//! An SMTP server that accepts every message and keeps it: what a test or a rehearsal points
//! cutover's pager at, to read the e-mails it sent.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Every message the sink received (the DATA part), in order.
pub type Mailbox = Arc<Mutex<Vec<String>>>;

/// Starts an SMTP sink on `127.0.0.1:0` that accepts every message: its port and mailbox.
pub async fn smtp_sink() -> std::io::Result<(u16, Mailbox)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let mailbox: Mailbox = Arc::default();
    let kept = mailbox.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            // A session cut short loses only its own unfinished message.
            tokio::spawn(session(socket, kept.clone()));
        }
    });
    Ok((port, mailbox))
}

/// One client's session: greets, answers every command, keeps each DATA part.
async fn session(socket: TcpStream, kept: Mailbox) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut data: Option<String> = None;
    while let Some(line) = lines.next_line().await? {
        if let Some(body) = data.as_mut() {
            if line == "." {
                let message = data.take().unwrap_or_default();
                kept.lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(message);
                write.write_all(b"250 kept\r\n").await?;
            } else {
                body.push_str(&line);
                body.push('\n');
            }
            continue;
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "DATA" => {
                data = Some(String::new());
                b"354 go on\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"250 ok\r\n",
        };
        write.write_all(answer).await?;
    }
    Ok(())
}
