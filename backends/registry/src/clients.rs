//! Server loss for stores the kit does not run itself: [`ServerKiller`] drops, on the servers a
//! run names (`tokenstore-check run --server URL`), the connections whose client address is one
//! an adapter process holds, so a team's own MySQL, PostgreSQL or Redis store behind an adapter
//! gets the server-loss tier. Each server module says how its server lists and drops a client
//! by address (`kill_clients`).

use async_trait::async_trait;
use std::net::SocketAddr;
use tokenstore_core::StoreError;
use tokenstore_suite::clients::ConnectionKiller;

/// The servers of `--server`, each a URL with its admin rights (`mysql://root@host:3306/test`,
/// `postgres://postgres@host:5432/test`, `redis://host:6379`).
pub struct ServerKiller {
    urls: Vec<String>,
}

impl ServerKiller {
    /// Refuses a URL whose scheme names no server the kit knows, in one line.
    pub fn new(urls: &[String]) -> Result<ServerKiller, String> {
        for url in urls {
            if kind(url).is_none() {
                return Err(format!(
                    "--server {url:?}: want a mysql://, postgres:// or redis:// URL of the server the store talks to"
                ));
            }
        }
        Ok(ServerKiller {
            urls: urls.to_vec(),
        })
    }
}

enum Kind {
    Mysql,
    Postgres,
    Redis,
}

fn kind(url: &str) -> Option<Kind> {
    let scheme = url.split_once("://")?.0;
    match scheme {
        "mysql" | "mariadb" => Some(Kind::Mysql),
        "postgres" | "postgresql" => Some(Kind::Postgres),
        "redis" => Some(Kind::Redis),
        _ => None,
    }
}

#[async_trait]
impl ConnectionKiller for ServerKiller {
    async fn kill(&self, clients: &[SocketAddr]) -> Result<usize, StoreError> {
        let mut killed = 0;
        for url in &self.urls {
            killed += match kind(url) {
                Some(Kind::Mysql) => crate::mysql::kill_clients(url, clients).await?,
                Some(Kind::Postgres) => crate::postgres::kill_clients(url, clients).await?,
                Some(Kind::Redis) => crate::redis::kill_clients(url, clients).await?,
                None => 0,
            };
        }
        Ok(killed)
    }
}
