//! `redis-cluster`: the `redis` store on a Redis Cluster. The nodes come from
//! `TOKENSTORE_REDIS_CLUSTER_URLS` (comma-separated `redis://host:port`, any nodes of the
//! cluster); with none set, the run starts a cluster of its own from the local `redis-server`
//! and `redis-cli` binaries ([`LocalCluster`]: three primaries, one replica each, on free
//! loopback ports, in a temporary directory), stopped when the run ends. Connections are found
//! by client name on every node and killed with `CLIENT KILL ID`. Not benchmarked.

use crate::local::{arg, free_port, LocalServer, Recipe, READY_LIMIT};
use crate::redis::kill_named;
use crate::{Backend, Container, Loaded, ServerBackend, ServerStore};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokenstore_core::{Limits, StoreError, Token};
use tokenstore_redis::RedisStore;
use tokenstore_suite::StoreFixture;

pub(crate) struct RedisCluster;
pub(crate) static REDIS_CLUSTER: RedisCluster = RedisCluster;

const NAME: &str = "redis-cluster";
const REDIS_SERVER: &str = "/usr/bin/redis-server";
const REDIS_CLI: &str = "/usr/bin/redis-cli";

#[async_trait]
impl ServerBackend for RedisCluster {
    fn name(&self) -> &'static str {
        NAME
    }

    fn url_variable(&self) -> &'static str {
        "TOKENSTORE_REDIS_CLUSTER_URLS"
    }

    fn example_url(&self) -> &'static str {
        "redis://127.0.0.1:7000,redis://127.0.0.1:7001,redis://127.0.0.1:7002"
    }

    fn limits(&self) -> Limits {
        Limits::default()
    }

    async fn start_container(&self) -> Result<(String, Container), String> {
        Err(format!(
            "{NAME}: there is no container for a cluster: set {} or install redis-server and \
             redis-cli",
            self.url_variable()
        ))
    }

    /// A cluster of three primaries and three replicas from the local binaries.
    async fn start_locally(&self) -> Option<Result<(String, Container), String>> {
        if let Some(missing) = LocalCluster::missing_binary() {
            return Some(Err(format!(
                "{NAME}: no cluster: set {}={} or install {missing}",
                self.url_variable(),
                self.example_url()
            )));
        }
        let (send, receive) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || send.send(LocalCluster::start()));
        let started = receive
            .await
            .unwrap_or_else(|_| Err(format!("{NAME}: the thread starting the cluster died")));
        Some(started.map(|cluster| (cluster.url(), Box::new(cluster) as Container)))
    }

    fn starts_locally(&self) -> bool {
        LocalCluster::missing_binary().is_none()
    }

    async fn open(&self, url: &str, name: &str) -> Result<Arc<dyn ServerStore>, StoreError> {
        let urls: Vec<&str> = url.split(',').map(str::trim).collect();
        Ok(Arc::new(RedisStore::open_cluster(&urls, name).await?))
    }

    /// Kills the connections named one of `tags` on every node of the cluster.
    async fn kill(&self, url: &str, tags: &[String]) -> Result<usize, StoreError> {
        let mut killed = 0;
        for node in nodes_of(url).await? {
            killed += kill_named(&format!("redis://{}", node.address), tags).await?;
        }
        Ok(killed)
    }
}

#[async_trait]
impl Backend for RedisCluster {
    fn name(&self) -> &'static str {
        NAME
    }

    fn fixture(&self, program: Option<PathBuf>) -> Box<dyn StoreFixture> {
        crate::server::fixture(&REDIS_CLUSTER, program)
    }

    fn server(&self) -> Option<&'static dyn ServerBackend> {
        Some(&REDIS_CLUSTER)
    }

    fn benchmarked(&self) -> bool {
        false
    }

    async fn load(&self, _: &str, _: &Path, _: &str, _: &[Token]) -> Result<Loaded, String> {
        Err(format!("{NAME}: not benchmarked"))
    }
}

/// One node of a cluster, as `CLUSTER NODES` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    /// `host:port`.
    pub address: String,
    pub primary: bool,
    /// The id of its primary, for a replica.
    pub replica_of: Option<String>,
    pub failed: bool,
    /// The slot ranges it serves, for a primary.
    pub slots: Vec<(u16, u16)>,
}

/// The nodes in a `CLUSTER NODES` listing.
pub fn parse_nodes(listing: &str) -> Vec<Node> {
    listing
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            if fields.len() < 8 {
                return None;
            }
            let address = fields[1].split('@').next()?.to_owned();
            let slots = fields[8..]
                .iter()
                .filter(|s| !s.starts_with('['))
                .filter_map(|range| {
                    let (low, high) = range.split_once('-').unwrap_or((range, range));
                    Some((low.parse().ok()?, high.parse().ok()?))
                })
                .collect();
            Some(Node {
                id: fields[0].to_owned(),
                address,
                primary: fields[2].contains("master"),
                replica_of: (fields[3] != "-").then(|| fields[3].to_owned()),
                failed: fields[2].contains("fail"),
                slots,
            })
        })
        .collect()
}

/// The nodes of the cluster, asked of the first of the comma-separated `urls` that answers.
pub async fn nodes_of(urls: &str) -> Result<Vec<Node>, StoreError> {
    let mut last = None;
    for url in urls.split(',').map(str::trim) {
        match admin_query(url, redis::cmd("CLUSTER").arg("NODES")).await {
            Ok(listing) => return Ok(parse_nodes(&listing)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| StoreError::Backend {
        message: format!("{NAME}: no node URL in {urls:?}"),
        source: None,
    }))
}

/// One command on an admin connection to the node at `url`.
async fn admin_query(url: &str, cmd: &redis::Cmd) -> Result<String, StoreError> {
    let failed = crate::provision::admin_error(NAME, "cannot ask a node");
    let client = redis::Client::open(url).map_err(&failed)?;
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .map_err(&failed)?;
    cmd.query_async(&mut conn).await.map_err(&failed)
}

/// A cluster node: `redis-server` in cluster mode, its bus on a port of its own (kept in its
/// directory, so a restarted node comes back on the same one), failure detected after 2 s, no
/// persistence (a write is kept by its replica).
struct ClusterNode;

static CLUSTER_NODE: ClusterNode = ClusterNode;

impl ClusterNode {
    fn bus_port(dir: &Path) -> u16 {
        let file = dir.join("bus-port");
        if let Some(port) = std::fs::read_to_string(&file)
            .ok()
            .and_then(|p| p.trim().parse().ok())
        {
            return port;
        }
        let port = free_port().unwrap_or(0);
        let _ = std::fs::write(&file, port.to_string());
        port
    }
}

#[async_trait]
impl Recipe for ClusterNode {
    fn binaries(&self) -> &'static [&'static str] {
        &[REDIS_SERVER, REDIS_CLI]
    }

    fn url(&self, port: u16) -> String {
        format!("redis://127.0.0.1:{port}")
    }

    fn launch(&self, dir: &Path, _: &Path, port: u16, log: &Path) -> (&'static str, Vec<String>) {
        let args = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-port",
            &ClusterNode::bus_port(dir).to_string(),
            "--cluster-node-timeout",
            "2000",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            &arg(dir),
            "--logfile",
            &arg(log),
            "--daemonize",
            "no",
        ];
        (REDIS_SERVER, args.map(str::to_owned).to_vec())
    }

    async fn answers(&self, port: u16) -> bool {
        admin_query(&self.url(port), &redis::cmd("PING"))
            .await
            .is_ok_and(|pong| pong == "PONG")
    }
}

/// A Redis Cluster of one's own: [`LocalCluster::PRIMARIES`] primaries and one replica each,
/// each node a [`LocalServer`], all stopped when the value drops.
pub struct LocalCluster {
    nodes: Vec<LocalServer>,
}

impl LocalCluster {
    pub const PRIMARIES: usize = 3;

    /// The first binary a cluster needs that is missing, if any.
    pub fn missing_binary() -> Option<&'static str> {
        CLUSTER_NODE
            .binaries()
            .iter()
            .copied()
            .find(|b| !Path::new(b).exists())
    }

    /// Starts the nodes, joins them into a cluster (`redis-cli --cluster create`, one replica
    /// per primary) and returns once it is [`LocalCluster::healthy`].
    pub fn start() -> Result<LocalCluster, String> {
        let nodes = (0..2 * LocalCluster::PRIMARIES)
            .map(|_| LocalServer::start_recipe(NAME, &CLUSTER_NODE))
            .collect::<Result<Vec<_>, _>>()?;
        let cluster = LocalCluster { nodes };
        let mut create = Command::new(REDIS_CLI);
        create.args(["--cluster", "create"]);
        create.args(
            cluster
                .nodes
                .iter()
                .map(|n| format!("127.0.0.1:{}", n.port())),
        );
        create.args(["--cluster-replicas", "1", "--cluster-yes"]);
        let output = create
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{NAME}: cannot run {REDIS_CLI}: {e}"))?;
        if !output.status.success() {
            let said = String::from_utf8_lossy(&output.stdout);
            let tail: Vec<&str> = said.lines().rev().take(3).collect();
            return Err(format!(
                "{NAME}: redis-cli --cluster create failed ({}): {}",
                output.status,
                tail.join(" | ")
            ));
        }
        cluster.wait_until_healthy(READY_LIMIT)?;
        Ok(cluster)
    }

    /// The nodes' URLs, comma-separated: what `TOKENSTORE_REDIS_CLUSTER_URLS` would hold.
    pub fn url(&self) -> String {
        let urls: Vec<String> = self.nodes.iter().map(LocalServer::url).collect();
        urls.join(",")
    }

    /// The node (by index) that serves `key`'s slot as primary now.
    pub fn primary_serving(&self, key: &str) -> Result<usize, String> {
        let url = self.url();
        block_on(async {
            let live = self.live_url().await?;
            let slot: u16 = admin_query(&live, redis::cmd("CLUSTER").arg("KEYSLOT").arg(key))
                .await
                .map_err(|e| e.to_string())?
                .parse()
                .map_err(|e| format!("CLUSTER KEYSLOT: {e}"))?;
            let nodes = nodes_of(&url).await.map_err(|e| e.to_string())?;
            let primary = nodes
                .iter()
                .find(|n| {
                    n.primary && !n.failed && n.slots.iter().any(|&(l, h)| (l..=h).contains(&slot))
                })
                .ok_or_else(|| format!("no primary serves slot {slot}"))?;
            self.index_of(&primary.address)
        })?
    }

    /// Kills node `index` with SIGKILL.
    pub fn kill(&mut self, index: usize) {
        self.nodes[index].kill();
    }

    /// Starts node `index` again on its port and directory (it rejoins the cluster, as a
    /// replica when another node took over its slots).
    pub fn restart(&mut self, index: usize) -> Result<(), String> {
        self.nodes[index].restart()
    }

    /// Whether every live node says the cluster is ok, every primary that serves slots has a
    /// replica, and every replica's link to its primary is up.
    pub fn healthy(&self) -> bool {
        block_on(async {
            let Ok(url) = self.live_url().await else {
                return false;
            };
            let Ok(nodes) = nodes_of(&url).await else {
                return false;
            };
            let live: Vec<&Node> = nodes.iter().filter(|n| !n.failed).collect();
            let primaries: Vec<&&Node> = live
                .iter()
                .filter(|n| n.primary && !n.slots.is_empty())
                .collect();
            if primaries.len() != LocalCluster::PRIMARIES
                || !primaries.iter().all(|p| {
                    live.iter()
                        .any(|n| n.replica_of.as_deref() == Some(p.id.as_str()))
                })
            {
                return false;
            }
            for node in &live {
                let url = format!("redis://{}", node.address);
                let Ok(info) = admin_query(&url, redis::cmd("CLUSTER").arg("INFO")).await else {
                    return false;
                };
                if !info.contains("cluster_state:ok") {
                    return false;
                }
                if node.replica_of.is_some() {
                    let Ok(replication) =
                        admin_query(&url, redis::cmd("INFO").arg("replication")).await
                    else {
                        return false;
                    };
                    if !replication.contains("master_link_status:up") {
                        return false;
                    }
                }
            }
            true
        })
        .unwrap_or(false)
    }

    /// Polls [`LocalCluster::healthy`] until it holds or `limit` passes.
    pub fn wait_until_healthy(&self, limit: Duration) -> Result<(), String> {
        let started = Instant::now();
        while !self.healthy() {
            if started.elapsed() > limit {
                return Err(format!(
                    "{NAME}: the cluster is not healthy after {} s",
                    limit.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    }

    /// The URL of a node that runs.
    async fn live_url(&self) -> Result<String, String> {
        for node in &self.nodes {
            let url = node.url();
            if admin_query(&url, &redis::cmd("PING")).await.is_ok() {
                return Ok(url);
            }
        }
        Err(format!("{NAME}: no node answers"))
    }

    fn index_of(&self, address: &str) -> Result<usize, String> {
        let port: u16 = address
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("no port in {address:?}"))?;
        self.nodes
            .iter()
            .position(|n| n.port() == port)
            .ok_or_else(|| format!("no node of this cluster is on port {port}"))
    }
}

/// Runs `future` on a runtime of its own (the cluster is driven from threads outside the run's
/// runtime).
fn block_on<T>(future: impl std::future::Future<Output = T>) -> Result<T, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    Ok(runtime.block_on(future))
}

#[cfg(test)]
mod tests {
    use super::parse_nodes;

    #[test]
    fn cluster_nodes_lines_give_roles_and_slots() {
        let listing = "a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460 7000\n\
                       c3 127.0.0.1:7002@17002 slave,fail a1 0 0 1 disconnected\n";
        let nodes = parse_nodes(listing);
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].address, "127.0.0.1:7000");
        assert!(nodes[0].primary && !nodes[0].failed);
        assert_eq!(nodes[0].slots, [(0, 5460), (7000, 7000)]);
        assert_eq!(nodes[1].replica_of.as_deref(), Some("a1"));
        assert!(!nodes[1].primary && nodes[1].failed);
    }
}
