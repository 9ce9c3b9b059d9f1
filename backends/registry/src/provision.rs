//! How a run gets a server: the URL in the backend's variable; else, for a server the run starts
//! from local binaries (`ServerBackend::start_locally`), that; else, when a Docker engine answers
//! a ping, its pinned container started with testcontainers; else the backend is unavailable,
//! with a line saying how to provide the server.

use crate::{Container, ServerBackend};

/// A server a run can use, and the container that runs it, if the run started one.
pub(crate) struct Provisioned {
    pub url: String,
    _container: Option<Container>,
}

impl Provisioned {
    /// A server at `url` someone else runs.
    pub fn at(url: &str) -> Provisioned {
        Provisioned {
            url: url.to_owned(),
            _container: None,
        }
    }
}

pub(crate) async fn provision(server: &dyn ServerBackend) -> Result<Provisioned, String> {
    if let Ok(url) = std::env::var(server.url_variable()) {
        return Ok(Provisioned::at(&url));
    }
    if let Some(started) = server.start_locally().await {
        let (url, running) = started?;
        return Ok(Provisioned {
            url,
            _container: Some(running),
        });
    }
    if docker_answers_ping().await {
        let (url, container) = server.start_container().await?;
        return Ok(Provisioned {
            url,
            _container: Some(container),
        });
    }
    Err(format!(
        "{}: no server: set {}={} or start a Docker engine",
        server.name(),
        server.url_variable(),
        server.example_url()
    ))
}

/// Starts `image` at `tag` for the server backend `name`: the URL `url` gives for the host port
/// that maps the container's `port`, and the container, removed when it is dropped.
///
/// The container is started, kept and removed on a thread and runtime of its own: testcontainers
/// removes a container from its `Drop`, through the client of the runtime that started it, and a
/// run's runtimes end before its fixtures are dropped (dropped outside a runtime, the container
/// aborted the process and was left running).
pub(crate) async fn start_image<I>(
    name: &'static str,
    image: I,
    tag: &str,
    port: u16,
    url: impl Fn(u16) -> String,
) -> Result<(String, Container), String>
where
    I: testcontainers::Image + 'static,
{
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let tag = tag.to_owned();
    let thread = std::thread::Builder::new()
        .name(format!("{name}-container"))
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ =
                        started_tx.send(Err(format!("{name}: no runtime for the container: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                match start(name, image, &tag, port).await {
                    Ok((host_port, container)) => {
                        let _ = started_tx.send(Ok(host_port));
                        let _ = tokio::task::spawn_blocking(move || stopped.recv()).await;
                        // Dropped on a worker thread, where testcontainers' removal may block.
                        let _ = tokio::spawn(async move { drop(container) }).await;
                    }
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                    }
                }
            });
        })
        .map_err(|e| format!("{name}: no thread for the container: {e}"))?;
    let kept = Kept {
        stop: Some(stop),
        thread: Some(thread),
    };
    let host_port = started_rx
        .await
        .map_err(|_| format!("{name}: the container's thread ended before it started"))??;
    Ok((url(host_port), Box::new(kept)))
}

/// A container started by [`start_image`]: dropping it removes the container, and waits for that.
struct Kept {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Kept {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts `image` at `tag` on the current runtime: the host port that maps the container's
/// `port`, and the container.
async fn start<I>(
    name: &'static str,
    image: I,
    tag: &str,
    port: u16,
) -> Result<(u16, testcontainers::ContainerAsync<I>), String>
where
    I: testcontainers::Image + 'static,
{
    use testcontainers::runners::AsyncRunner;
    use testcontainers::ImageExt;
    let failed = |e: testcontainers::TestcontainersError| {
        format!("{name}: Docker answers, but the container did not start: {e}")
    };
    let container = image.with_tag(tag).start().await.map_err(failed)?;
    let host_port = match container.get_host_port_ipv4(port).await {
        Ok(host_port) => host_port,
        // Podman 4's Docker API gives a published port an empty `HostIp`, which testcontainers
        // passes over: the engine's own answer still names the host port.
        Err(e) => docker_get(&format!("/containers/{}/json", container.id()))
            .await
            .and_then(|inspect| published_port(&inspect, port))
            .ok_or_else(|| failed(e))?,
    };
    Ok((host_port, container))
}

/// Whether a Docker engine answers `GET /_ping` on its socket.
async fn docker_answers_ping() -> bool {
    docker_get("/_ping").await.is_some_and(|body| body == "OK")
}

/// The body of the Docker engine's answer to `GET path` on its socket (`DOCKER_HOST`'s
/// `unix://` path, else `/var/run/docker.sock`); `None` when nothing answers within two seconds.
async fn docker_get(path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(str::to_owned))
        .unwrap_or_else(|| "/var/run/docker.sock".into());
    let get = async {
        let mut stream = tokio::net::UnixStream::connect(&socket).await.ok()?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).await.ok()?;
        let reply = String::from_utf8_lossy(&reply);
        let (_, body) = reply.split_once("\r\n\r\n")?;
        Some(body.to_owned())
    };
    tokio::time::timeout(std::time::Duration::from_secs(2), get)
        .await
        .ok()
        .flatten()
}

/// The host port that the container inspected in `inspect` (the engine's JSON) publishes its
/// TCP `port` on: the first `HostPort` of `"PORT/tcp"` under `NetworkSettings.Ports`.
fn published_port(inspect: &str, port: u16) -> Option<u16> {
    let inspect: serde_json::Value = serde_json::from_str(inspect).ok()?;
    inspect["NetworkSettings"]["Ports"][format!("{port}/tcp")][0]["HostPort"]
        .as_str()?
        .parse()
        .ok()
}

/// An error of an admin connection to `server`, doing `what`.
pub(crate) fn admin_error<E: std::error::Error + Send + Sync + 'static>(
    server: &'static str,
    what: &'static str,
) -> impl Fn(E) -> tokenstore_core::StoreError {
    move |e| {
        tokenstore_core::StoreError::backend(format!("{server} admin connection: {what}: {e}"), e)
    }
}

/// Whether `host` (as a server lists a client: an address, or `localhost` for a loopback one)
/// and `port` are one of `clients`.
pub(crate) fn is_client(clients: &[std::net::SocketAddr], host: &str, port: u16) -> bool {
    clients.iter().any(|c| {
        c.port() == port
            && (c.ip().to_string() == host || (host == "localhost" && c.ip().is_loopback()))
    })
}

#[cfg(test)]
mod tests {
    use super::published_port;

    #[test]
    fn the_published_port_is_read_whatever_the_host_address() {
        let podman = r#"{"Id":"0b9","NetworkSettings":{"Ports":{"5432/tcp":[{"HostIp":"","HostPort":"42761"}]}}}"#;
        assert_eq!(published_port(podman, 5432), Some(42761));
        let docker = r#"{"NetworkSettings": {"Ports": {"33060/tcp": null, "3306/tcp": [{"HostIp": "0.0.0.0", "HostPort": "49153"}, {"HostIp": "::", "HostPort": "49153"}]}}}"#;
        assert_eq!(published_port(docker, 3306), Some(49153));
        assert_eq!(published_port(docker, 6379), None);
        let unpublished = r#"{"NetworkSettings":{"Ports":{"6379/tcp":[]},"HostPort":"1"}}"#;
        assert_eq!(published_port(unpublished, 6379), None);
    }
}
