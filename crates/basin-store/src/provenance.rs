//! Self-describing files: the key-value metadata basin writes into every
//! Parquet footer.
//!
//! | key | value |
//! |---|---|
//! | `basin.schema` | schema name |
//! | `basin.schema_version` | `major.minor` |
//! | `basin.version` | version of basin that wrote the file |
//! | `basin.command` | the stage that wrote it (`train`, `jump`, …) |
//! | `basin.params` | JSON of the parameters that made it |
//! | `basin.seeds` | JSON of the seeds (root and derived) |
//! | `basin.inputs` | JSON list of `{path, sha256}` of the inputs |
//! | `basin.extra.*` | stage-specific entries (e.g. `basin.extra.parameter_layout`) |
//!
//! Nothing time-dependent is stored, so the same inputs and seeds give the
//! same bytes.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{StoreError, StoreResult};
use crate::schema::SchemaSpec;

/// Content hash of one input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputDigest {
    /// The path as given on the command line.
    pub path: String,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
}

impl InputDigest {
    /// Hashes the file at `path`.
    ///
    /// # Errors
    /// [`StoreError::Io`] naming the file.
    pub fn of_file(path: &Path) -> StoreResult<Self> {
        let io = |source| StoreError::Io { path: path.to_path_buf(), source };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = file.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let digest = hasher.finalize();
        Ok(Self { path: path.to_string_lossy().into_owned(), sha256: digest.iter().map(|b| format!("{b:02x}")).collect() })
    }
}

/// What a file is and how it was made.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Provenance {
    /// Schema name (`basin.schema`).
    pub schema: String,
    /// Schema version `major.minor`.
    pub schema_version: String,
    /// basin's version.
    pub basin_version: String,
    /// The stage that wrote the file.
    pub command: String,
    /// Parameters, as JSON.
    pub params: serde_json::Value,
    /// Seeds, as JSON.
    pub seeds: serde_json::Value,
    /// Input files and their hashes.
    pub inputs: Vec<InputDigest>,
    /// Stage-specific entries, stored as `basin.extra.<key>`.
    pub extra: BTreeMap<String, String>,
}

impl Provenance {
    /// Provenance for a new file of `schema`, written by `command`.
    ///
    /// # Example
    /// ```
    /// use basin_store::{Provenance, schema::RUNS};
    /// let p = Provenance::new(&RUNS, "train").with_params(serde_json::json!({"epochs": 30}));
    /// assert_eq!(p.schema, "runs");
    /// ```
    #[must_use]
    pub fn new(schema: &SchemaSpec, command: &str) -> Self {
        Self {
            schema: schema.name.to_owned(),
            schema_version: schema.version(),
            basin_version: env!("CARGO_PKG_VERSION").to_owned(),
            command: command.to_owned(),
            params: serde_json::Value::Null,
            seeds: serde_json::Value::Null,
            inputs: Vec::new(),
            extra: BTreeMap::new(),
        }
    }

    /// Sets the parameters.
    #[must_use]
    pub fn with_params(mut self, params: serde_json::Value) -> Self {
        self.params = params;
        self
    }

    /// Sets the seeds.
    #[must_use]
    pub fn with_seeds(mut self, seeds: serde_json::Value) -> Self {
        self.seeds = seeds;
        self
    }

    /// Hashes and records the input files.
    ///
    /// # Errors
    /// [`StoreError::Io`] when an input cannot be read.
    pub fn with_inputs<P: AsRef<Path>>(mut self, inputs: &[P]) -> StoreResult<Self> {
        for p in inputs {
            self.inputs.push(InputDigest::of_file(p.as_ref())?);
        }
        Ok(self)
    }

    /// Adds a stage-specific entry.
    #[must_use]
    pub fn with_extra(mut self, key: &str, value: impl Into<String>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    /// The key-value pairs to store in the Parquet footer.
    #[must_use]
    pub fn to_key_values(&self) -> Vec<(String, String)> {
        let mut kv = vec![
            ("basin.schema".to_owned(), self.schema.clone()),
            ("basin.schema_version".to_owned(), self.schema_version.clone()),
            ("basin.version".to_owned(), self.basin_version.clone()),
            ("basin.command".to_owned(), self.command.clone()),
            ("basin.params".to_owned(), self.params.to_string()),
            ("basin.seeds".to_owned(), self.seeds.to_string()),
            ("basin.inputs".to_owned(), serde_json::to_string(&self.inputs).unwrap_or_default()),
        ];
        for (k, v) in &self.extra {
            kv.push((format!("basin.extra.{k}"), v.clone()));
        }
        kv
    }

    /// Reads provenance back from footer key-values.
    ///
    /// # Errors
    /// [`StoreError::Metadata`] when `basin.schema` is absent or a JSON value
    /// does not parse.
    pub fn from_key_values(path: &Path, kv: &[(String, Option<String>)]) -> StoreResult<Self> {
        let get = |k: &str| kv.iter().find(|(key, _)| key == k).and_then(|(_, v)| v.clone());
        let bad = |reason: String| StoreError::Metadata { path: path.to_path_buf(), reason };
        let schema = get("basin.schema")
            .ok_or_else(|| bad("no `basin.schema` metadata: this file was not written by basin".into()))?;
        let json = |k: &str| -> StoreResult<serde_json::Value> {
            get(k).map_or(Ok(serde_json::Value::Null), |s| {
                serde_json::from_str(&s).map_err(|e| bad(format!("metadata `{k}` is not JSON: {e}")))
            })
        };
        let inputs = match get("basin.inputs") {
            Some(s) => serde_json::from_str(&s).map_err(|e| bad(format!("metadata `basin.inputs`: {e}")))?,
            None => Vec::new(),
        };
        let extra = kv
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("basin.extra.")?.to_owned(), v.clone()?)))
            .collect();
        Ok(Self {
            schema,
            schema_version: get("basin.schema_version").unwrap_or_default(),
            basin_version: get("basin.version").unwrap_or_default(),
            command: get("basin.command").unwrap_or_default(),
            params: json("basin.params")?,
            seeds: json("basin.seeds")?,
            inputs,
            extra,
        })
    }
}
