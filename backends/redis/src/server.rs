//! Where a store's keys live, one Redis server or a Redis Cluster, and how a script call reaches
//! them. A cluster is reached with the `redis` crate's cluster client, which follows slot
//! redirections; every key of a namespace carries the namespace's hash tag, so every call of a
//! store goes to the one primary that owns the namespace's slot.
//!
//! The cluster client makes no attempt of its own (`retries(0)`): a lost connection or a
//! redirection comes back to the store, whose retry policy (`tokenstore_retry`) knows which calls
//! may be sent twice. On a cluster whose every primary has a replica, a call that writes is
//! followed, in the same pipeline on the same connection to that primary, by `WAIT 1`: it is
//! acknowledged only once a replica holds it, so a failover that promotes the replica keeps it.

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{AsyncConnectionConfig, Cmd, FromRedisValue, Pipeline, RedisFuture, RedisResult};
use redis::{Script, ToRedisArgs, Value};
use std::time::Duration;
use tokenstore_core::{Result, StoreError};

/// How long a write waits for a replica's acknowledgement before it answers a `Backend` error.
pub const REPLICA_WAIT: Duration = Duration::from_secs(1);

/// How long the cluster client waits to connect to a node, and for an answer.
const CLUSTER_CONNECT: Duration = Duration::from_secs(2);
const CLUSTER_RESPONSE: Duration = Duration::from_secs(5);

/// The server a store talks to.
pub(crate) enum Server {
    One(redis::Client),
    Cluster(Box<ClusterClient>),
}

/// A connection to it: multiplexed, cheap to clone.
#[derive(Clone)]
pub(crate) enum Conn {
    One(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl Server {
    /// One server at `url` (`redis://host:port/db`).
    pub fn one(url: &str) -> RedisResult<Server> {
        redis::Client::open(url).map(Server::One)
    }

    /// The cluster that the nodes at `urls` belong to (any of its nodes; the client learns the
    /// others from them).
    pub fn cluster(urls: &[&str]) -> RedisResult<Server> {
        ClusterClient::builder(urls.iter().copied())
            .retries(0)
            .connection_timeout(CLUSTER_CONNECT)
            .response_timeout(CLUSTER_RESPONSE)
            .build()
            .map(|client| Server::Cluster(Box::new(client)))
    }

    /// A new connection, named `label` on every node it reaches (`CLIENT SETNAME`).
    pub async fn connect(&self, label: &str) -> RedisResult<Conn> {
        let mut conn = match self {
            Server::One(client) => Conn::One(
                client
                    .get_multiplexed_async_connection_with_config(&AsyncConnectionConfig::new())
                    .await?,
            ),
            Server::Cluster(client) => Conn::Cluster(client.get_async_connection().await?),
        };
        redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(label)
            .exec_async(&mut conn)
            .await?;
        Ok(conn)
    }

    /// How many replicas a write waits for: one on a cluster whose every primary has one, none
    /// otherwise (a single server, or a cluster without replicas, acknowledges on the primary).
    pub async fn replicas_to_wait_for(&self, conn: &mut Conn) -> RedisResult<usize> {
        if let Server::One(_) = self {
            return Ok(0);
        }
        let nodes: String = redis::cmd("CLUSTER").arg("NODES").query_async(conn).await?;
        Ok(usize::from(every_primary_has_a_replica(&nodes)))
    }
}

/// Whether, in a `CLUSTER NODES` listing, every primary that serves slots has a replica.
fn every_primary_has_a_replica(nodes: &str) -> bool {
    let lines: Vec<Vec<&str>> = nodes
        .lines()
        .map(|line| line.split(' ').collect::<Vec<_>>())
        .filter(|fields| fields.len() >= 8 && !fields[2].contains("fail"))
        .collect();
    let mut primaries = lines
        .iter()
        .filter(|f| f[2].contains("master") && f.len() > 8)
        .peekable();
    primaries.peek().is_some()
        && primaries.all(|primary| {
            lines
                .iter()
                .any(|f| f[2].contains("slave") && f[3] == primary[0])
        })
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::One(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::One(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::One(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// A call of one of the store's scripts: `EVALSHA` with the namespace prefix as its one key.
pub(crate) struct ScriptCall {
    script: &'static Script,
    cmd: Cmd,
}

impl ScriptCall {
    pub fn new(script: &'static Script, prefix: &str) -> ScriptCall {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(script.get_hash()).arg(1).arg(prefix);
        ScriptCall { script, cmd }
    }

    pub fn arg<T: ToRedisArgs>(&mut self, arg: T) -> &mut ScriptCall {
        self.cmd.arg(arg);
        self
    }

    /// Runs the script, loading it first where the server does not hold it (`NOSCRIPT`: a new
    /// server, or a replica just promoted). With `replicas > 0` it is followed by `WAIT` in the
    /// same pipeline, and a write no replica acknowledged within [`REPLICA_WAIT`] is a
    /// `Backend` error (it reached the primary, and may be lost if the primary fails).
    pub async fn run<T: FromRedisValue>(
        &self,
        conn: &mut Conn,
        replicas: usize,
    ) -> RedisResult<Result<T>> {
        match self.send(conn, replicas).await {
            Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                self.script.load_async(conn).await?;
                self.send(conn, replicas).await
            }
            answer => answer,
        }
    }

    async fn send<T: FromRedisValue>(
        &self,
        conn: &mut Conn,
        replicas: usize,
    ) -> RedisResult<Result<T>> {
        if replicas == 0 {
            return self.cmd.query_async(conn).await.map(Ok);
        }
        let mut pipe = redis::pipe();
        pipe.add_command(self.cmd.clone())
            .cmd("WAIT")
            .arg(replicas)
            .arg(REPLICA_WAIT.as_millis() as u64);
        let (answer, acknowledged): (T, usize) = pipe.query_async(conn).await?;
        if acknowledged < replicas {
            return Ok(Err(StoreError::Backend {
                message: format!(
                    "redis: the write reached the primary, but no replica acknowledged it within \
                     {} ms; it may be lost if the primary fails",
                    REPLICA_WAIT.as_millis()
                ),
                source: None,
            }));
        }
        Ok(Ok(answer))
    }
}

#[cfg(test)]
mod tests {
    use super::every_primary_has_a_replica;

    const M1: &str = "a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460";
    const M2: &str = "b2 127.0.0.1:7001@17001 master - 0 0 2 connected 5461-16383";
    const R1: &str = "c3 127.0.0.1:7002@17002 slave a1 0 0 1 connected";
    const R2: &str = "d4 127.0.0.1:7003@17003 slave b2 0 0 2 connected";

    #[test]
    fn a_write_waits_only_when_every_primary_has_a_replica() {
        assert!(every_primary_has_a_replica(&[M1, M2, R1, R2].join("\n")));
        assert!(!every_primary_has_a_replica(&[M1, M2, R1].join("\n")));
        assert!(!every_primary_has_a_replica(&[M1, M2].join("\n")));
        assert!(!every_primary_has_a_replica(""));
    }

    #[test]
    fn a_failed_replica_does_not_count() {
        let failed = "c3 127.0.0.1:7002@17002 slave,fail a1 0 0 1 disconnected";
        assert!(!every_primary_has_a_replica(
            &[M1, M2, failed, R2].join("\n")
        ));
    }
}
