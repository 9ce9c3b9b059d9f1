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
/// that maps the container's `port`, and the container.
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
    use testcontainers::runners::AsyncRunner;
    use testcontainers::ImageExt;
    let failed = |e: testcontainers::TestcontainersError| {
        format!("{name}: Docker answers, but the container did not start: {e}")
    };
    let container = image.with_tag(tag).start().await.map_err(failed)?;
    let host_port = container.get_host_port_ipv4(port).await.map_err(failed)?;
    Ok((url(host_port), Box::new(container)))
}

/// Whether a Docker engine answers `GET /_ping` on its socket within two seconds.
async fn docker_answers_ping() -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(str::to_owned))
        .unwrap_or_else(|| "/var/run/docker.sock".into());
    let ping = async {
        let mut stream = tokio::net::UnixStream::connect(&socket).await.ok()?;
        stream
            .write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            .await
            .ok()?;
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).await.ok()?;
        Some(String::from_utf8_lossy(&reply).ends_with("OK"))
    };
    matches!(
        tokio::time::timeout(std::time::Duration::from_secs(2), ping).await,
        Ok(Some(true))
    )
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
