//! The connections a store on one Redis server reads its tokens on: a lookup takes a connection
//! of its own, writes its command and reads the reply on the calling task. The multiplexed
//! connection the writes use hands every call to its driver task and the reply back, about 4 µs
//! a call on this project's machine (`benches/examples/redis_round_trip.rs`), and a lookup is a
//! round trip of some 55 µs; replies are framed and decoded by `redis-protocol` (RESP2).
//!
//! A store opens at most [`CONNECTIONS`] of them: more concurrent lookups wait for one. Idle
//! connections wait in a free list; a connection goes back to it only once its reply was read in
//! full: a lookup cancelled half-way (its future dropped) drops
//! its connection with it, so no later lookup reads an earlier one's reply. A failed exchange
//! (I/O, a reply that is not RESP2, no reply within [`RESPONSE`]) drops its connection and every
//! idle one, since they most likely went down together (a restarted server, `CLIENT KILL`).
//!
//! Each connection is set up as the multiplexed one is: `AUTH` with the URL's user and password,
//! `SELECT` of its database, and `CLIENT SETNAME` with the store's label, so that whoever kills
//! the store's connections by name (the server-loss tier) kills these too. A TLS URL gets no
//! readers: its lookups stay on the multiplexed connection.

use futures_util::{SinkExt, StreamExt};
use redis::{ConnectionAddr, ConnectionInfo};
use redis_protocol::codec::Resp2;
use redis_protocol::resp2::types::{BorrowedFrame, BytesFrame};
use std::io::{Error, ErrorKind};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::Framed;

/// How many read connections a store opens at most (the load benchmark's largest client count).
pub(crate) const CONNECTIONS: usize = 32;

/// How long a connection may take to open, and a reply to come (redis-rs's defaults for the
/// multiplexed connection).
const CONNECT: Duration = Duration::from_secs(1);
const RESPONSE: Duration = Duration::from_millis(500);

/// A socket to the server, TCP or Unix.
trait Socket: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Socket for T {}

type Conn = Framed<Pin<Box<dyn Socket>>, Resp2>;

/// Where the server listens.
enum Address {
    Tcp(String, u16),
    Unix(PathBuf),
}

/// The read connections of one store, all to the same server.
pub(crate) struct Readers {
    address: Address,
    /// The commands that set a new connection up, each as its words.
    setup: Vec<Vec<String>>,
    idle: Mutex<Vec<Conn>>,
    /// One per connection open or allowed to open.
    permits: tokio::sync::Semaphore,
}

impl Readers {
    /// Readers for the server `info` names, set up with its user, password and database and named
    /// `label`; `None` for a TLS address.
    pub fn of(info: &ConnectionInfo, label: &str) -> Option<Readers> {
        let address = match info.addr() {
            ConnectionAddr::Tcp(host, port) => Address::Tcp(host.clone(), *port),
            ConnectionAddr::Unix(path) => Address::Unix(path.clone()),
            _ => return None,
        };
        let settings = info.redis_settings();
        let mut setup = Vec::new();
        if let Some(password) = settings.password() {
            let mut auth = vec!["AUTH".to_owned()];
            auth.extend(settings.username().map(str::to_owned));
            auth.push(password.to_owned());
            setup.push(auth);
        }
        if settings.db() != 0 {
            setup.push(vec!["SELECT".to_owned(), settings.db().to_string()]);
        }
        setup.push(vec!["CLIENT".into(), "SETNAME".into(), label.to_owned()]);
        Some(Readers {
            address,
            setup,
            idle: Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(CONNECTIONS),
        })
    }

    /// The server's reply to `command` (its words), on an idle connection or a new one. A
    /// server's error is a reply (`BytesFrame::Error`); `Err` is a failed connection, dropped.
    pub async fn ask<S: AsRef<[u8]>>(&self, command: &[S]) -> Result<BytesFrame, Error> {
        let _turn = self.permits.acquire().await.map_err(Error::other)?;
        let idle = self.idle().pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => self.connect().await?,
        };
        match exchange(&mut conn, command).await {
            Ok(reply) => {
                self.idle().push(conn);
                Ok(reply)
            }
            Err(e) => {
                self.idle().clear();
                Err(e)
            }
        }
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Conn>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn connect(&self) -> Result<Conn, Error> {
        let opened = async {
            let socket: Pin<Box<dyn Socket>> = match &self.address {
                Address::Tcp(host, port) => {
                    let socket = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                    socket.set_nodelay(true)?;
                    Box::pin(socket)
                }
                Address::Unix(path) => Box::pin(tokio::net::UnixStream::connect(path).await?),
            };
            Ok::<_, Error>(socket)
        };
        let socket = tokio::time::timeout(CONNECT, opened)
            .await
            .map_err(|_| Error::new(ErrorKind::TimedOut, "no connection within 1 s"))??;
        let mut conn = Framed::new(socket, Resp2::default());
        for command in &self.setup {
            let mut reply = exchange(&mut conn, command).await?;
            if let (BytesFrame::Error(e), 3) = (&reply, command.len()) {
                if e.contains("wrong number of arguments") {
                    // A Redis before 6.0 knows no users: AUTH takes the password alone, as
                    // redis-rs sends it there.
                    reply = exchange(&mut conn, &[&command[0], &command[2]]).await?;
                }
            }
            if let BytesFrame::Error(e) = reply {
                return Err(Error::new(
                    ErrorKind::PermissionDenied,
                    format!("{} refused: {e}", command[0]),
                ));
            }
        }
        Ok(conn)
    }
}

/// Writes `command` on `conn` and reads one reply.
async fn exchange<S: AsRef<[u8]>>(conn: &mut Conn, command: &[S]) -> Result<BytesFrame, Error> {
    let words: Vec<BorrowedFrame<'_>> = command
        .iter()
        .map(|word| BorrowedFrame::BulkString(word.as_ref()))
        .collect();
    let replied = async {
        conn.send(BorrowedFrame::Array(&words))
            .await
            .map_err(Error::other)?;
        match conn.next().await {
            Some(reply) => reply.map_err(Error::other),
            None => Err(Error::new(
                ErrorKind::UnexpectedEof,
                "the server closed the connection",
            )),
        }
    };
    tokio::time::timeout(RESPONSE, replied)
        .await
        .map_err(|_| Error::new(ErrorKind::TimedOut, "no reply within 500 ms"))?
}
