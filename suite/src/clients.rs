//! The server connections of a store behind an adapter: the client addresses of the TCP
//! connections the adapter process holds, read from `/proc` (Linux), and the
//! [`ConnectionKiller`] that drops them on the server (the CLI's `--server URL`), which gives an
//! adapter store the server-loss tier.

use async_trait::async_trait;
use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use tokenstore_core::StoreError;

/// Drops, on the servers it knows, the connections whose client address is one of `clients`,
/// and returns how many it dropped.
#[async_trait]
pub trait ConnectionKiller: Send + Sync {
    async fn kill(&self, clients: &[SocketAddr]) -> Result<usize, StoreError>;
}

/// The local addresses of the established TCP connections process `pid` holds, IPv4 and IPv6;
/// `None` where `/proc` cannot tell (not Linux, or the process is gone).
pub fn tcp_clients(pid: u32) -> Option<Vec<SocketAddr>> {
    let inodes: BTreeSet<u64> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            link.strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect();
    let mut clients = Vec::new();
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        clients.extend(established(&text, &inodes));
    }
    Some(clients)
}

/// The local addresses of the established connections of a `/proc/net/tcp` or `tcp6` table
/// whose socket inode is one of `inodes`.
fn established(table: &str, inodes: &BTreeSet<u64>) -> Vec<SocketAddr> {
    const ESTABLISHED: &str = "01";
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let columns: Vec<&str> = line.split_whitespace().collect();
            let inode: u64 = columns.get(9)?.parse().ok()?;
            (columns.get(3) == Some(&ESTABLISHED) && inodes.contains(&inode))
                .then(|| address(columns.get(1)?))
                .flatten()
        })
        .collect()
}

/// `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6), as the kernel prints them: each
/// 32-bit word of the address in the host's byte order, the port in hex.
fn address(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    // The kernel prints each word as the integer its bytes make in the host's order.
    let words: Vec<u32> = (0..ip.len() / 8)
        .map(|i| u32::from_str_radix(ip.get(i * 8..i * 8 + 8)?, 16).ok())
        .collect::<Option<_>>()?;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
    let ip = match bytes.len() {
        4 => std::net::IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => {
            let v6 = Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?);
            v6.to_ipv4_mapped()
                .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4)
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernels_addresses_read_back() {
        // As a little-endian machine prints 127.0.0.1:8080 and [::ffff:127.0.0.1]:3306.
        let v4 = if cfg!(target_endian = "little") {
            "0100007F:1F90"
        } else {
            "7F000001:1F90"
        };
        assert_eq!(address(v4), Some("127.0.0.1:8080".parse().unwrap()));
        let mapped = if cfg!(target_endian = "little") {
            "0000000000000000FFFF00000100007F:0CEA"
        } else {
            "00000000000000000000FFFF7F000001:0CEA"
        };
        assert_eq!(address(mapped), Some("127.0.0.1:3306".parse().unwrap()));
    }

    #[test]
    fn a_connection_this_process_holds_is_listed_and_one_it_does_not_is_not() {
        let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(server.local_addr().unwrap()).unwrap();
        let (accepted, _) = server.accept().unwrap();
        let clients = tcp_clients(std::process::id()).expect("/proc on Linux");
        assert!(
            clients.contains(&client.local_addr().unwrap()),
            "{clients:?}"
        );
        assert!(
            clients.contains(&accepted.local_addr().unwrap()),
            "{clients:?}"
        );
        let other = tcp_clients(1).unwrap_or_default();
        assert!(!other.contains(&client.local_addr().unwrap()));
    }
}
