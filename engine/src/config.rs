//! The configuration of `reeltime run`, in layers: built-in defaults, then the file
//! (`--config reeltime.toml`), then `REELTIME__SECTION__KEY` environment variables, then
//! command-line flags; each layer overrides the ones before it.
//!
//! Every layer is checked on its own before it is merged, so an unknown key is reported with
//! the layer it came from (`unknown key engine.wrokers in reeltime.toml`). The librdkafka
//! settings under `[kafka.client]` are passed through as they are; those that hold secrets
//! are masked when the configuration is printed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use toml::{Table, Value};

use reeltime_connectors::kafka::ClientSettings;

use crate::driver::DriverOptions;
use crate::export::ExportOptions;
use crate::render_sink::RenderConfig;

/// The built-in defaults: also the reference of every key the configuration has.
pub const DEFAULTS: &str = r#"
[service]
# Where the input records are kept: "embedded" (an append-only log in data_dir, for one
# machine, no broker needed) or "kafka" (the input topics of [kafka]).
log = "embedded"
# The embedded log's directory (records.jsonl, epochs.log).
data_dir = "reeltime-data"
# Address of the HTTP API and the console, HOST:PORT (port 0: a free port, printed at
# start); empty: no HTTP server. Loopback only by default: exposing it is a decision.
listen = "127.0.0.1:8080"
# Bearer token the write routes require; empty: none. Better set in the environment
# (REELTIME__SERVICE__TOKEN) than in a file; --print-config masks it.
token = ""
# Largest request body in bytes; a larger one is refused (413) before it is read whole.
max_body_bytes = 16777216

[kafka]
# Bootstrap servers, HOST:PORT[,HOST:PORT...].
brokers = "127.0.0.1:9092"
# Prefix of every topic name.
topic_prefix = "reeltime."
# Consumer group under which the consumed input offsets are committed, with each epoch's
# output, in one transaction.
group_id = "reeltime-engine"
# Transactional id of the output producer; a restarted engine with the same id fences the
# old one. One per engine process.
transactional_id = "reeltime-engine"
# Seconds to wait for missing input topics to appear before giving up (0: fail at once).
topic_wait_seconds = 30

# librdkafka settings passed through as they are (SASL, TLS, ...), for example
# "security.protocol" = "SASL_SSL".
[kafka.client]

[engine]
# Worker threads (each owns a fixed share of the input partitions).
workers = 1
# Longest wall-clock length of an epoch: views, versions and outputs advance once per
# epoch. An epoch closes sooner once its workers have read what the input holds.
epoch_ms = 50
# An epoch closes early once its workers have read this many records.
max_epoch_records = 20000
# Records larger than this many bytes are rejected without being parsed.
max_record_bytes = 1048576
# Exit cleanly once every input has been idle (and read to its end) for this many seconds;
# 0 runs until stopped (SIGTERM or Ctrl-C finish the current epoch, then exit).
until_idle_seconds = 0
# Append the timings of every live epoch (closed, dataflow, computed, published, recorded) to this
# file as JSON lines; empty: none.
epoch_stats_file = ""

[cluster]
# Processes of one timely cluster over the Kafka topics, each started with the same
# configuration and its own process_index; 1: this process alone. Process 0 is the one
# writer: it publishes every epoch's outputs with the offsets the whole cluster consumed, in
# one transaction, renders, and serves the HTTP API; every process reads its share of the
# input partitions and computes its share of the events. If one process dies, all stop;
# start them all again and they resume exactly once.
processes = 1
# This process's index, 0 to processes - 1.
process_index = 0
# A file with the HOST:PORT every process listens on for the others, one line per process
# in process order (blank lines and # comments are skipped); needed when processes > 1.
hosts = ""

[output]
# The output directory: the same layout as `reeltime process`.
dir = "reeltime-out"
# Write drop-frame timecode in the EDLs of 29.97 and 59.94 fps events.
drop_frame = false
# Seconds between writes of the files of what changed while running (everything is written
# at exit).
write_interval_seconds = 5

[render]
# Render segment clips, event playlists and replay videos into the output directory from
# the `chunk` records, whose `uri` must be a file (or URL) FFmpeg can open on this machine.
enabled = true
# Clips cut at once (stream copy is cheap; one keeps each event playlist in segment order).
clip_workers = 1
# Replays rendered at once (each re-encodes, on several cores).
replay_workers = 1
# Cut clips frame-accurately by re-encoding instead of stream copy from the keyframe at or
# before the in-point.
reencode_clips = false
# Width of clip thumbnails in pixels.
thumbnail_width = 320
# Shortest HLS segment of a clip in the event playlists, in milliseconds.
hls_segment_ms = 4000
# Target duration of the event playlists, in seconds (a segment plus the source's longest
# keyframe interval must fit).
playlist_target_seconds = 10
"#;

/// The prefix of the environment variables that set configuration keys.
pub const ENV_PREFIX: &str = "REELTIME__";

/// The effective configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The service: its log and its HTTP API.
    pub service: ServiceConfig,
    /// Where Kafka is and how reeltime uses it.
    pub kafka: KafkaConfig,
    /// The dataflow.
    pub engine: EngineConfig,
    /// The processes of a cluster.
    pub cluster: ClusterConfig,
    /// The output directory.
    pub output: OutputConfig,
    /// Rendering.
    pub render: RenderSection,
}

/// Where a service keeps its input records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogKind {
    /// The append-only log in `service.data_dir`.
    Embedded,
    /// The input topics.
    Kafka,
}

/// `[service]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Embedded log or Kafka.
    pub log: LogKind,
    /// The embedded log's directory.
    pub data_dir: PathBuf,
    /// The HTTP address; empty: none.
    pub listen: String,
    /// The write routes' bearer token; empty: none.
    pub token: String,
    /// The request body limit in bytes.
    pub max_body_bytes: usize,
}

impl ServiceConfig {
    /// The token, when one is set.
    pub fn token(&self) -> Option<&str> {
        Some(self.token.as_str()).filter(|token| !token.is_empty())
    }
}

/// `[render]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RenderSection {
    /// Whether to render at all.
    pub enabled: bool,
    /// How (unknown keys are caught against [`DEFAULTS`] before this is read).
    #[serde(flatten)]
    pub settings: RenderConfig,
}

/// `[kafka]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap servers.
    pub brokers: String,
    /// Prefix of every topic name.
    pub topic_prefix: String,
    /// Consumer group of the committed input offsets.
    pub group_id: String,
    /// Transactional id of the output producer.
    pub transactional_id: String,
    /// Seconds to wait for missing input topics.
    pub topic_wait_seconds: u64,
    /// librdkafka settings passed through.
    pub client: BTreeMap<String, String>,
}

/// `[engine]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    /// Worker threads.
    pub workers: usize,
    /// Wall-clock length of an epoch in milliseconds.
    pub epoch_ms: u64,
    /// Records after which an epoch closes early.
    pub max_epoch_records: usize,
    /// The record size limit in bytes.
    pub max_record_bytes: usize,
    /// Idle seconds after which the run ends; 0: never.
    pub until_idle_seconds: f64,
    /// Where each live epoch's timings are appended as JSON lines; empty: nowhere.
    pub epoch_stats_file: PathBuf,
}

/// `[cluster]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Processes in the cluster.
    pub processes: usize,
    /// This process's index.
    pub process_index: usize,
    /// The file of every process's `HOST:PORT`; empty: none.
    pub hosts: PathBuf,
}

/// `[output]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// The output directory.
    pub dir: PathBuf,
    /// Drop-frame timecode in EDLs.
    pub drop_frame: bool,
    /// Seconds between writes of the files of what changed.
    pub write_interval_seconds: f64,
}

/// A configuration that cannot be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {path:?}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A layer is not TOML.
    #[error("{layer} is not valid TOML: {message}")]
    Syntax {
        /// Which layer.
        layer: String,
        /// What the parser said.
        message: String,
    },
    /// A layer sets a key the configuration does not have.
    #[error("unknown key {key} in {layer} (the keys are those of `reeltime run --print-config`)")]
    UnknownKey {
        /// The dotted key.
        key: String,
        /// Which layer.
        layer: String,
    },
    /// A key has a value of the wrong type or out of range.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// One layer of settings and where it came from.
struct Layer {
    name: String,
    table: Table,
}

/// Builds the configuration from the defaults, the file (if any), the environment variables
/// `vars` (those starting with [`ENV_PREFIX`]) and the flags' settings `overrides` (dotted
/// keys, e.g. `("kafka.brokers", "127.0.0.1:9092")`), in that order.
pub fn load(
    file: Option<&Path>,
    vars: impl IntoIterator<Item = (String, String)>,
    overrides: Vec<(&str, Value)>,
) -> Result<Config, ConfigError> {
    let defaults: Table = DEFAULTS.parse().expect("the built-in defaults are TOML");
    let mut layers = Vec::new();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        let name = path.display().to_string();
        let table = text
            .parse::<Table>()
            .map_err(|e| ConfigError::Syntax { layer: name.clone(), message: e.to_string() })?;
        layers.push(Layer { name, table });
    }
    let mut env = Table::new();
    for (name, value) in vars {
        let Some(key) = name.strip_prefix(ENV_PREFIX) else { continue };
        let path = env_key(key);
        insert_dotted(&mut env, &path, env_value(&value));
    }
    layers.push(Layer { name: format!("the environment ({ENV_PREFIX}...)"), table: env });
    let mut flags = Table::new();
    for (key, value) in overrides {
        let path: Vec<String> = key.split('.').map(str::to_owned).collect();
        insert_dotted(&mut flags, &path, value);
    }
    layers.push(Layer { name: "the command line".to_owned(), table: flags });

    let mut merged = defaults.clone();
    for layer in layers {
        check_keys(&defaults, &layer.table, &mut Vec::new(), &layer.name)?;
        merge(&mut merged, layer.table);
    }
    client_settings_as_text(&mut merged);
    let config: Config = serde_path_to_error::deserialize(Value::Table(merged))
        .map_err(|e| ConfigError::Invalid(format!("{}: {}", e.path(), e.inner().message())))?;
    config.validate()?;
    Ok(config)
}

/// The key path of an environment variable after the prefix: sections and keys are separated
/// by `__` and lower-cased; under `kafka.client`, `_` stands for the `.` of librdkafka's
/// names (`REELTIME__KAFKA__CLIENT__SECURITY_PROTOCOL` sets `security.protocol`).
fn env_key(key: &str) -> Vec<String> {
    let mut path: Vec<String> = key.split("__").map(str::to_lowercase).collect();
    if path.len() == 3 && path[0] == "kafka" && path[1] == "client" {
        path[2] = path[2].replace('_', ".");
    }
    path
}

/// An environment variable's value: a TOML number or boolean when it reads as one, else the
/// text as it is.
fn env_value(text: &str) -> Value {
    let parsed = format!("v = {text}").parse::<Table>().ok().and_then(|mut t| t.remove("v"));
    match parsed {
        Some(value @ (Value::Integer(_) | Value::Float(_) | Value::Boolean(_))) => value,
        _ => Value::String(text.to_owned()),
    }
}

/// librdkafka takes every setting as text, so `"linger.ms" = 5` in a file, or `5` in an
/// environment variable (read as a number), is the setting `"5"`.
fn client_settings_as_text(merged: &mut Table) {
    let client = merged
        .get_mut("kafka")
        .and_then(Value::as_table_mut)
        .and_then(|kafka| kafka.get_mut("client"))
        .and_then(Value::as_table_mut);
    for (_, value) in client.into_iter().flat_map(|client| client.iter_mut()) {
        if matches!(value, Value::Integer(_) | Value::Float(_) | Value::Boolean(_)) {
            *value = Value::String(value.to_string());
        }
    }
}

fn insert_dotted(table: &mut Table, path: &[String], value: Value) {
    let (last, sections) = path.split_last().expect("a key has a name");
    let mut table = table;
    for section in sections {
        let entry = table.entry(section.clone()).or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        table = entry.as_table_mut().expect("made a table above");
    }
    table.insert(last.clone(), value);
}

/// Checks that every key of `layer` is a key of `reference`; anything goes under
/// `kafka.client`.
fn check_keys(
    reference: &Table,
    layer: &Table,
    path: &mut Vec<String>,
    name: &str,
) -> Result<(), ConfigError> {
    for (key, value) in layer {
        path.push(key.clone());
        let free_form = path.len() == 3 && path[0] == "kafka" && path[1] == "client";
        let client = path.as_slice() == ["kafka", "client"];
        match reference.get(key) {
            Some(Value::Table(_)) if client => {
                if !value.is_table() {
                    return Err(ConfigError::Invalid(format!(
                        "kafka.client in {name} must be a table of librdkafka settings"
                    )));
                }
            }
            Some(Value::Table(inner)) => match value {
                Value::Table(table) => check_keys(inner, table, path, name)?,
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "{} in {name} must be a table",
                        path.join(".")
                    )))
                }
            },
            Some(_) => {}
            None if free_form => {}
            None => {
                return Err(ConfigError::UnknownKey { key: path.join("."), layer: name.into() })
            }
        }
        path.pop();
    }
    Ok(())
}

/// Merges `layer` into `base`, tables key by key, other values replaced whole.
fn merge(base: &mut Table, layer: Table) {
    for (key, value) in layer {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(base)), Value::Table(layer)) => merge(base, layer),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

impl Config {
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: &str| Err(ConfigError::Invalid(message.to_owned()));
        if self.service.log == LogKind::Kafka && self.kafka.brokers.trim().is_empty() {
            return invalid("kafka.brokers is empty");
        }
        if self.engine.workers == 0 {
            return invalid("engine.workers must be at least 1");
        }
        if self.engine.epoch_ms == 0 {
            return invalid("engine.epoch_ms must be at least 1");
        }
        if self.engine.max_epoch_records == 0 {
            return invalid("engine.max_epoch_records must be at least 1");
        }
        if !(self.engine.until_idle_seconds >= 0.0 && self.engine.until_idle_seconds.is_finite()) {
            return invalid("engine.until_idle_seconds must be a number of seconds >= 0");
        }
        let cluster = &self.cluster;
        if cluster.processes == 0 {
            return invalid("cluster.processes must be at least 1");
        }
        if cluster.process_index >= cluster.processes {
            return Err(ConfigError::Invalid(format!(
                "cluster.process_index is {}; it must be below cluster.processes ({})",
                cluster.process_index, cluster.processes
            )));
        }
        if cluster.processes > 1 && self.service.log != LogKind::Kafka {
            return invalid(
                "a cluster (cluster.processes > 1) reads the Kafka topics: set service.log = \"kafka\" (--brokers); the embedded log belongs to one process",
            );
        }
        if cluster.processes > 1 && cluster.hosts.as_os_str().is_empty() {
            return invalid(
                "cluster.processes > 1 needs cluster.hosts, the file of every process's HOST:PORT",
            );
        }
        self.render.settings.validate().map_err(ConfigError::Invalid)?;
        if self.service.max_body_bytes == 0 {
            return invalid("service.max_body_bytes must be at least 1");
        }
        if !self.service.listen.is_empty() && !is_host_port(&self.service.listen) {
            return invalid("service.listen must be HOST:PORT (e.g. 127.0.0.1:8080) or empty");
        }
        if !(self.output.write_interval_seconds > 0.0
            && self.output.write_interval_seconds.is_finite())
        {
            return invalid("output.write_interval_seconds must be a number of seconds > 0");
        }
        Ok(())
    }

    /// How a service's epochs are sunk: rendering as `[render]` says, the exports as
    /// `[output]` says, the files written every `output.write_interval_seconds`.
    pub fn driver_options(&self) -> DriverOptions {
        DriverOptions {
            render: self.render.enabled.then(|| self.render.settings.clone()),
            export: ExportOptions { drop_frame: self.output.drop_frame },
            progress: false,
            write_every: Some(Duration::from_secs_f64(self.output.write_interval_seconds)),
        }
    }

    /// The Kafka client settings every client of the run starts from.
    pub fn client_settings(&self) -> ClientSettings {
        ClientSettings { brokers: self.kafka.brokers.clone(), extra: self.kafka.client.clone() }
    }

    /// The configuration as TOML, with the service's token and the secrets of
    /// `[kafka.client]` masked.
    pub fn to_masked_toml(&self) -> String {
        let mut shown = self.clone();
        if !shown.service.token.is_empty() {
            shown.service.token = "********".to_owned();
        }
        for (key, value) in &mut shown.kafka.client {
            if is_secret(key) {
                *value = "********".to_owned();
            }
        }
        toml::to_string(&shown).expect("the configuration serializes")
    }
}

/// Whether an address reads as `HOST:PORT` (a name, an IPv4 address or a bracketed IPv6
/// one, and a port number).
pub(crate) fn is_host_port(address: &str) -> bool {
    address
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
}

/// Whether a librdkafka setting holds a secret (passwords, keys and tokens, not file paths).
fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password")
        || key.contains("secret")
        || key.contains("token")
        || key.ends_with(".pem")
        || key == "sasl.jaas.config"
        || key == "sasl.oauthbearer.config"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn layers_override_in_order() {
        let f =
            file("[kafka]\nbrokers = \"file:1\"\ntopic_prefix = \"f.\"\n[engine]\nworkers = 3\n");
        let config = load(
            Some(f.path()),
            vars(&[
                ("REELTIME__KAFKA__TOPIC_PREFIX", "env."),
                ("REELTIME__ENGINE__EPOCH_MS", "250"),
                ("OTHER__ENGINE__WORKERS", "9"),
            ]),
            vec![("kafka.brokers", Value::String("flag:2".into()))],
        )
        .unwrap();
        assert_eq!(config.kafka.brokers, "flag:2");
        assert_eq!(config.kafka.topic_prefix, "env.");
        assert_eq!(config.engine.workers, 3);
        assert_eq!(config.engine.epoch_ms, 250);
        assert_eq!(config.engine.max_record_bytes, 1_048_576);
        assert_eq!(config.kafka.group_id, "reeltime-engine");
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_layer() {
        let f = file("[engine]\nwrokers = 3\n");
        let error = load(Some(f.path()), vec![], vec![]).unwrap_err().to_string();
        assert!(
            error.contains("engine.wrokers") && error.contains(&f.path().display().to_string()),
            "{error}"
        );
        let error =
            load(None, vars(&[("REELTIME__OUTPUT__DIRR", "x")]), vec![]).unwrap_err().to_string();
        assert!(error.contains("output.dirr") && error.contains("environment"), "{error}");
        let error = load(None, vars(&[("REELTIME__NOPE", "x")]), vec![]).unwrap_err().to_string();
        assert!(error.contains("unknown key nope"), "{error}");
    }

    #[test]
    fn wrong_types_and_ranges_are_named() {
        let f = file("[engine]\nworkers = \"two\"\n");
        let error = load(Some(f.path()), vec![], vec![]).unwrap_err().to_string();
        assert!(error.contains("workers"), "{error}");
        let error = load(None, vars(&[("REELTIME__ENGINE__WORKERS", "0")]), vec![])
            .unwrap_err()
            .to_string();
        assert!(error.contains("engine.workers must be at least 1"), "{error}");
        let error = load(Some(file("[kafka\n").path()), vec![], vec![]).unwrap_err().to_string();
        assert!(error.contains("not valid TOML"), "{error}");
    }

    #[test]
    fn numeric_client_settings_are_passed_as_text() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("reeltime.toml");
        std::fs::write(&file, "[kafka.client]\n\"linger.ms\" = 5\n").unwrap();
        let vars = [("REELTIME__KAFKA__CLIENT__BATCH_SIZE".to_owned(), "65536".to_owned())];
        let config = load(Some(&file), vars, Vec::new()).unwrap();
        assert_eq!(config.kafka.client["linger.ms"], "5");
        assert_eq!(config.kafka.client["batch.size"], "65536");
    }

    #[test]
    fn client_settings_pass_through_and_secrets_are_masked() {
        let f = file(
            "[kafka.client]\n\"security.protocol\" = \"SASL_SSL\"\n\"sasl.password\" = \"hunter2\"\n",
        );
        let config = load(
            Some(f.path()),
            vars(&[("REELTIME__KAFKA__CLIENT__SASL_USERNAME", "alice")]),
            vec![],
        )
        .unwrap();
        let settings = config.client_settings();
        assert_eq!(settings.extra["security.protocol"], "SASL_SSL");
        assert_eq!(settings.extra["sasl.username"], "alice");
        assert_eq!(settings.extra["sasl.password"], "hunter2");
        let shown = config.to_masked_toml();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("alice") && shown.contains("********"), "{shown}");
    }

    #[test]
    fn the_service_token_is_masked_and_a_bad_listen_address_refused() {
        let config = load(None, vars(&[("REELTIME__SERVICE__TOKEN", "hunter2")]), vec![]).unwrap();
        assert_eq!(config.service.token(), Some("hunter2"));
        assert_eq!(config.service.log, LogKind::Embedded);
        let shown = config.to_masked_toml();
        assert!(!shown.contains("hunter2") && shown.contains("********"), "{shown}");
        for listen in ["8080", "localhost", ":8080", "127.0.0.1:http"] {
            let error = load(None, vec![], vec![("service.listen", Value::String(listen.into()))])
                .unwrap_err()
                .to_string();
            assert!(error.contains("service.listen"), "{listen}: {error}");
        }
        let unset = load(None, vec![], vec![("service.listen", Value::String("".into()))]);
        assert_eq!(unset.unwrap().service.listen, "");
    }

    #[test]
    fn the_docker_image_configuration_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docker/reeltime.toml");
        let config = load(Some(&path), vec![], vec![]).unwrap();
        assert_eq!(config.kafka.brokers, "kafka:19092");
        assert_eq!(config.service.log, LogKind::Kafka);
        assert_eq!(config.output.dir, Path::new("/data/out"));
    }

    #[test]
    fn the_defaults_are_a_valid_configuration() {
        let config = load(None, vec![], vec![]).unwrap();
        assert_eq!(config.engine.until_idle_seconds, 0.0);
        let round_trip: Config = toml::from_str(&config.to_masked_toml()).unwrap();
        assert_eq!(round_trip, config);
    }
}
