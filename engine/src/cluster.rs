//! The processes of a cluster: `[cluster]` and its hosts file, read and checked into the
//! dataflow's [`Cluster`].

use std::path::{Path, PathBuf};

use thiserror::Error;

use reeltime_operators::harness::Cluster;

use crate::config::{is_host_port, ClusterConfig};

/// A hosts file that cannot be used.
#[derive(Debug, Error)]
pub enum HostsError {
    /// The file could not be read.
    #[error("cannot read the cluster hosts file {path:?}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A line is not `HOST:PORT`.
    #[error("{path:?} line {line}: {text:?} is not HOST:PORT")]
    NotHostPort {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
        /// The line.
        text: String,
    },
    /// The same address twice.
    #[error("{path:?} line {line}: {address} is already the address of process {first}")]
    Repeated {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
        /// The address.
        address: String,
        /// The process that has it.
        first: usize,
    },
    /// Not one address per process.
    #[error("{path:?} has {found} addresses; cluster.processes is {expected}: one per process, in process order")]
    Count {
        /// The file.
        path: PathBuf,
        /// Addresses in the file.
        found: usize,
        /// Processes configured.
        expected: usize,
    },
}

/// The cluster this process belongs to, or `None` when it runs alone.
pub fn cluster(config: &ClusterConfig) -> Result<Option<Cluster>, HostsError> {
    if config.processes <= 1 {
        return Ok(None);
    }
    let path = &config.hosts;
    let text = std::fs::read_to_string(path)
        .map_err(|source| HostsError::Read { path: path.clone(), source })?;
    let addresses = parse_hosts(&text, config.processes, path)?;
    Ok(Some(Cluster { process: config.process_index, addresses }))
}

/// The addresses of a hosts file's text: one `HOST:PORT` per line, blank lines and `#`
/// comments skipped, exactly `processes` of them, all different.
pub fn parse_hosts(text: &str, processes: usize, path: &Path) -> Result<Vec<String>, HostsError> {
    let mut addresses: Vec<String> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let address = line.split('#').next().unwrap_or_default().trim();
        if address.is_empty() {
            continue;
        }
        let line = number + 1;
        if !is_host_port(address) {
            return Err(HostsError::NotHostPort {
                path: path.to_owned(),
                line,
                text: address.to_owned(),
            });
        }
        if let Some(first) = addresses.iter().position(|known| known == address) {
            return Err(HostsError::Repeated {
                path: path.to_owned(),
                line,
                address: address.to_owned(),
                first,
            });
        }
        addresses.push(address.to_owned());
    }
    if addresses.len() != processes {
        return Err(HostsError::Count {
            path: path.to_owned(),
            found: addresses.len(),
            expected: processes,
        });
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, processes: usize) -> Result<Vec<String>, String> {
        parse_hosts(text, processes, Path::new("hosts")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_hosts_file_gives_one_address_per_process_in_order() {
        let text = "# the cluster\n10.0.0.1:2101\n\n10.0.0.2:2101  # the second\n";
        assert_eq!(parse(text, 2).unwrap(), ["10.0.0.1:2101", "10.0.0.2:2101"]);
    }

    #[test]
    fn a_bad_hosts_file_is_refused_with_the_line_and_the_reason() {
        assert_eq!(
            parse("127.0.0.1:2101\nlocalhost\n", 2).unwrap_err(),
            r#""hosts" line 2: "localhost" is not HOST:PORT"#
        );
        assert_eq!(
            parse("127.0.0.1:2101\n127.0.0.1:2101\n", 2).unwrap_err(),
            r#""hosts" line 2: 127.0.0.1:2101 is already the address of process 0"#
        );
        assert!(parse("127.0.0.1:2101\n", 2).unwrap_err().contains("has 1 addresses"));
    }

    #[test]
    fn one_process_needs_no_hosts_file() {
        let config =
            ClusterConfig { processes: 1, process_index: 0, hosts: PathBuf::from("/nowhere") };
        assert!(cluster(&config).unwrap().is_none());
    }
}
