//! A recording proxy between the server under test and MariaDB: it passes every byte through and
//! keeps the text of each statement the client sends (COM_QUERY, COM_STMT_PREPARE). Only the
//! connections made through it are seen, so tests running in parallel on the same server, and the
//! test's own queries, are not; and no server setting (general log, performance_schema) is needed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The MySQL protocol's command bytes that carry SQL text.
const COM_QUERY: u8 = 0x03;
const COM_STMT_PREPARE: u8 = 0x16;

/// A running proxy and what it recorded.
pub struct Recorder {
    addr: SocketAddr,
    statements: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    /// Listen on 127.0.0.1 and forward each connection to the server of `server_url`
    /// (`mysql://user@host:port`).
    pub async fn start(server_url: &str) -> Recorder {
        let upstream = authority(server_url).1.to_string();
        let upstream = if upstream.contains(':') { upstream } else { format!("{upstream}:3306") };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let statements = Arc::new(Mutex::new(Vec::new()));
        let log = statements.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&upstream).await else { return };
                    let (client_read, client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    let to_client = tokio::spawn(async move {
                        let mut client_write = client_write;
                        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                        let _ = client_write.shutdown().await;
                    });
                    record(client_read, &mut server_write, &log).await;
                    let _ = server_write.shutdown().await;
                    let _ = to_client.await;
                });
            }
        });
        Recorder { addr, statements }
    }

    /// `url` (`mysql://user@host:port/db`, no query) with its host and port replaced by the
    /// proxy's.
    pub fn url_through(&self, url: &str) -> String {
        let (head, _) = authority(url);
        let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
        let path = rest.find('/').map(|i| &rest[i..]).unwrap_or("");
        // mysql_async moves a connection to 127.0.0.1 onto the server's Unix socket, past the
        // proxy, unless told not to.
        format!("{head}127.0.0.1:{}{path}?prefer_socket=false", self.addr.port())
    }

    /// Every statement recorded so far, in the order sent.
    pub fn statements(&self) -> Vec<String> {
        self.statements.lock().unwrap().clone()
    }
}

/// (`mysql://user@`, `host:port`) of a URL.
fn authority(url: &str) -> (String, &str) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("mysql", url));
    let authority = rest.split('/').next().unwrap_or(rest);
    match authority.rsplit_once('@') {
        Some((user, hostport)) => (format!("{scheme}://{user}@"), hostport),
        None => (format!("{scheme}://"), authority),
    }
}

/// Copy the client's bytes to the server, keeping the SQL of each command packet: a 3-byte
/// length, a sequence id (0 starts a command; the handshake answers are 1 and up), the payload.
async fn record(
    mut from: tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    log: &Mutex<Vec<String>>,
) {
    let mut pending: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if to.write_all(&chunk[..n]).await.is_err() {
            return;
        }
        pending.extend_from_slice(&chunk[..n]);
        while pending.len() >= 4 {
            let len = usize::from(pending[0]) | usize::from(pending[1]) << 8 | usize::from(pending[2]) << 16;
            if pending.len() < 4 + len {
                break;
            }
            let payload = &pending[4..4 + len];
            if pending[3] == 0 && matches!(payload.first(), Some(&COM_QUERY | &COM_STMT_PREPARE)) {
                log.lock().unwrap().push(String::from_utf8_lossy(&payload[1..]).into_owned());
            }
            pending.drain(..4 + len);
        }
    }
}
