//! The store's connections run their transactions under READ COMMITTED from the moment they
//! open and after a reset, so that a save need not set it each time; and a store on those
//! connections still saves and finds.
//!
//! Needs MySQL or MariaDB: `TOKENSTORE_MYSQL_URL`, else `mysql://root@127.0.0.1:3306/test`.
//! Without one the test says so on stderr and passes, unless `TOKENSTORE_REQUIRE` names `mysql`.

use mysql_async::prelude::Queryable;
use tokenstore_core::{Field, Token, TokenStore};
use tokenstore_mysql::{pool_opts, MysqlStore};

fn url() -> String {
    std::env::var("TOKENSTORE_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

/// The session's isolation level: `transaction_isolation` (MySQL 8, MariaDB 11.1+), else
/// `tx_isolation` (MariaDB before 11.1).
async fn isolation(conn: &mut mysql_async::Conn) -> String {
    match conn
        .query_first::<String, _>("SELECT @@SESSION.transaction_isolation")
        .await
    {
        Ok(Some(level)) => level,
        _ => conn
            .query_first("SELECT @@SESSION.tx_isolation")
            .await
            .unwrap()
            .unwrap(),
    }
}

#[tokio::test]
async fn connections_open_under_read_committed_and_keep_it_after_a_reset() {
    let pool = mysql_async::Pool::new(pool_opts(&url()).unwrap());
    let Some(mut conn) = tokenstore_suite::or_skip("mysql", &url(), pool.get_conn().await) else {
        return;
    };
    assert_eq!(isolation(&mut conn).await, "READ-COMMITTED");
    conn.reset().await.unwrap();
    assert_eq!(
        isolation(&mut conn).await,
        "READ-COMMITTED",
        "after a reset"
    );
    drop(conn);
    pool.disconnect().await.unwrap();

    let table = format!("session{}", std::process::id());
    let store = MysqlStore::open(&url(), &table).await.unwrap();
    let mut token = Token::default()
        .with(Field::UserName, "u")
        .with(Field::RefreshToken, "r");
    store.save_token(&mut token).await.unwrap();
    let mut update = Token::default()
        .with(Field::UserName, "u")
        .with(Field::AccessToken, "a");
    store.save_token(&mut update).await.unwrap();
    assert_eq!(update.id, token.id);
    let found = store
        .find_token(&Token::default().with(Field::UserName, "u"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.refresh_token.as_deref(), Some("r"));
    assert_eq!(found.access_token.as_deref(), Some("a"));
    store.drop_tables().await.unwrap();
    store.disconnect().await.unwrap();
}
