//! Which TCP ports a process listens on, from Linux's /proc: the socket inodes among its open
//! file descriptors (`/proc/<pid>/fd/*` → `socket:[INODE]`; one table for all of a process'
//! threads, so a Go daemon's listener opened on any goroutine's thread is there) and its
//! descendants' (a launcher that forks the real server), matched with the LISTEN rows
//! (state `0A`) of `/proc/<pid>/net/tcp` and `tcp6` (the process' own network namespace).

use std::collections::HashSet;
use std::path::Path;

/// The TCP ports `pid` (or a process it started) listens on, ascending, without repeats;
/// empty when it listens on nothing, has exited, or /proc cannot be read.
pub fn listening_ports(pid: u32) -> Vec<u16> {
    let mut inodes = HashSet::new();
    for p in with_descendants(pid) {
        socket_inodes(p, &mut inodes);
    }
    if inodes.is_empty() {
        return Vec::new();
    }
    let mut ports: Vec<u16> = ["tcp", "tcp6"]
        .iter()
        .filter_map(|t| std::fs::read_to_string(format!("/proc/{pid}/net/{t}")).ok())
        .flat_map(|table| listen_rows(&table))
        .filter(|(_, inode)| inodes.contains(inode))
        .map(|(port, _)| port)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// `pid` and every process below it (children listed by each thread's
/// `/proc/<pid>/task/<tid>/children`).
fn with_descendants(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() && out.len() < 1024 {
        let p = out[i];
        i += 1;
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for task in tasks.filter_map(Result::ok) {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for c in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// Adds the inodes of the sockets `pid` has open.
fn socket_inodes(pid: u32, into: &mut HashSet<u64>) {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return;
    };
    for fd in fds.filter_map(Result::ok) {
        if let Some(inode) = std::fs::read_link(fd.path())
            .ok()
            .as_deref()
            .and_then(socket_inode)
        {
            into.insert(inode);
        }
    }
}

/// `socket:[12345]` → 12345.
fn socket_inode(link: &Path) -> Option<u64> {
    link.to_str()?
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// `(local port, inode)` of every LISTEN row of a `/proc/net/tcp` or `tcp6` table:
/// `sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …`, the
/// address `HEXADDR:HEXPORT`, LISTEN = `0A`.
pub(crate) fn listen_rows(table: &str) -> Vec<(u16, u64)> {
    table
        .lines()
        .skip(1)
        .filter_map(|row| {
            let f: Vec<&str> = row.split_whitespace().collect();
            if f.len() < 10 || f[3] != "0A" {
                return None;
            }
            let port = u16::from_str_radix(f[1].rsplit_once(':')?.1, 16).ok()?;
            let inode = f[9].parse().ok()?;
            Some((port, inode))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::process::{Command, Stdio};

    #[test]
    fn finds_a_listener_of_this_process_by_pid() {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        assert!(
            listening_ports(std::process::id()).contains(&port),
            "{port} not in {:?}",
            listening_ports(std::process::id())
        );
        // IPv6 listeners are in tcp6 (where the machine has IPv6 loopback).
        if let Ok(l6) = TcpListener::bind("[::1]:0") {
            let p6 = l6.local_addr().expect("addr").port();
            assert!(listening_ports(std::process::id()).contains(&p6));
        }
        drop(l);
        assert!(!listening_ports(std::process::id()).contains(&port));
    }

    #[test]
    fn a_connected_socket_is_not_a_listener() {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let client = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let (server, _) = l.accept().expect("accept");
        drop(l);
        let client_port = client.local_addr().expect("addr").port();
        let ports = listening_ports(std::process::id());
        assert!(
            !ports.contains(&port) && !ports.contains(&client_port),
            "{ports:?}"
        );
        drop(server);
    }

    #[test]
    fn a_process_that_listens_on_nothing_has_no_ports() {
        let mut child = Command::new("sleep")
            .arg("30")
            .stdin(Stdio::null())
            .spawn()
            .expect("sleep");
        assert_eq!(listening_ports(child.id()), Vec::<u16>::new());
        let _ = child.kill();
        let _ = child.wait();
        // Gone: nothing, no panic.
        assert_eq!(listening_ports(child.id()), Vec::<u16>::new());
    }

    #[test]
    fn parses_listen_rows_only() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
           0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n\
           1: 0100007F:A2C4 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1\n";
        assert_eq!(listen_rows(table), vec![(8080, 4242)]);
        assert_eq!(socket_inode(Path::new("socket:[4242]")), Some(4242));
        assert_eq!(socket_inode(Path::new("pipe:[4242]")), None);
    }
}
