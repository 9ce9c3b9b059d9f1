//! Killing a store's connections on its server, the way an administrator or a failover does,
//! from a separate admin connection: `KILL CONNECTION` (MySQL, MariaDB), `CLIENT KILL ID`
//! (Redis), `pg_terminate_backend` (PostgreSQL). Each function kills only the connections it is
//! given the tags of, and returns how many it killed.

use tokenstore_core::StoreError;

fn admin_error<E: std::error::Error + Send + Sync + 'static>(
    server: &'static str,
    what: &'static str,
) -> impl Fn(E) -> StoreError {
    move |e| StoreError::backend(format!("{server} admin connection: {what}: {e}"), e)
}

/// Kills the MySQL or MariaDB connections among `ids` that are still open.
pub async fn kill_mysql(url: &str, ids: &[u32]) -> Result<usize, StoreError> {
    use mysql_async::prelude::Queryable;
    if ids.is_empty() {
        return Ok(0);
    }
    let opts = mysql_async::Opts::from_url(url).map_err(admin_error("mysql", "bad URL"))?;
    let mut admin = mysql_async::Conn::new(opts)
        .await
        .map_err(admin_error("mysql", "cannot connect"))?;
    let listed = ids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let open: Vec<u64> = admin
        .query(format!(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE ID IN ({listed})"
        ))
        .await
        .map_err(admin_error("mysql", "cannot list the connections"))?;
    let mut killed = 0;
    for id in open {
        match admin.query_drop(format!("KILL CONNECTION {id}")).await {
            Ok(()) => killed += 1,
            // ER_NO_SUCH_THREAD: it closed between the listing and the kill.
            Err(mysql_async::Error::Server(e)) if e.code == 1094 => {}
            Err(e) => return Err(admin_error("mysql", "cannot kill")(e)),
        }
    }
    admin
        .disconnect()
        .await
        .map_err(admin_error("mysql", "cannot disconnect"))?;
    Ok(killed)
}

/// Kills the Redis connections whose client name is one of `labels`.
pub async fn kill_redis(url: &str, labels: &[String]) -> Result<usize, StoreError> {
    if labels.is_empty() {
        return Ok(0);
    }
    let client = redis::Client::open(url).map_err(admin_error("redis", "bad URL"))?;
    let mut admin = client
        .get_multiplexed_async_connection()
        .await
        .map_err(admin_error("redis", "cannot connect"))?;
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut admin)
        .await
        .map_err(admin_error("redis", "cannot list the clients"))?;
    let mut killed = 0;
    for id in client_ids_named(&list, labels) {
        let n: usize = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(id)
            .query_async(&mut admin)
            .await
            .map_err(admin_error("redis", "cannot kill"))?;
        killed += n;
    }
    Ok(killed)
}

/// The ids of the `CLIENT LIST` lines (`id=7 addr=... name=NAME ...`) named one of `labels`.
fn client_ids_named<'a>(list: &'a str, labels: &'a [String]) -> impl Iterator<Item = &'a str> {
    list.lines().filter_map(move |line| {
        let field = |key: &str| {
            line.split(' ')
                .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        };
        let named = field("name").is_some_and(|name| labels.iter().any(|l| l == name));
        if named {
            field("id")
        } else {
            None
        }
    })
}

/// Terminates the PostgreSQL sessions whose `application_name` is one of `labels`.
pub async fn kill_postgres(url: &str, labels: &[String]) -> Result<usize, StoreError> {
    if labels.is_empty() {
        return Ok(0);
    }
    let (admin, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(admin_error("postgres", "cannot connect"))?;
    let driver = tokio::spawn(connection);
    let killed = admin
        .query_one(
            // Materialized first, so that only the listed sessions are ever terminated.
            "WITH ours AS MATERIALIZED (SELECT pid FROM pg_stat_activity \
             WHERE application_name = ANY($1) AND pid <> pg_backend_pid()) \
             SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM ours",
            &[&labels],
        )
        .await
        .map_err(admin_error("postgres", "cannot terminate the sessions"));
    drop(admin);
    let _ = driver.await;
    Ok(killed?.get::<_, i64>(0) as usize)
}

#[cfg(test)]
mod tests {
    use super::client_ids_named;

    #[test]
    fn client_list_lines_are_matched_by_exact_name() {
        let list = "id=3 addr=127.0.0.1:5 laddr=x fd=8 name=ts-a age=1\n\
                    id=4 addr=127.0.0.1:6 laddr=x fd=9 name=ts-ab age=1\n\
                    id=5 addr=127.0.0.1:7 laddr=x fd=10 name= age=1\n";
        let labels = vec!["ts-a".to_owned()];
        assert_eq!(client_ids_named(list, &labels).collect::<Vec<_>>(), ["3"]);
    }
}
