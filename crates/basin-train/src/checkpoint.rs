//! Checkpoints: safetensors files whose header metadata records the
//! architecture, the training settings and the flattened-parameter layout;
//! and import of PyTorch-saved safetensors for the same architectures.
//!
//! Metadata keys (all JSON strings): `basin.architecture`,
//! `basin.train_config` (absent for imported nets), `basin.parameter_layout`
//! (`[{name, shape, offset}]`), `basin.format` (`1`), plus any caller keys
//! (e.g. `split_seed`, `code_version`) from [`Checkpoint::metadata`].

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{Device, Tensor};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use crate::arch::Architecture;
use crate::error::{TrainError, TrainResult};
use crate::model::Model;
use crate::train::TrainConfig;

const KEY_ARCH: &str = "basin.architecture";
const KEY_CONFIG: &str = "basin.train_config";
const KEY_LAYOUT: &str = "basin.parameter_layout";
const KEY_FORMAT: &str = "basin.format";

/// A net with what is needed to retrain it the same way.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The net (its architecture is `model.architecture()`).
    pub model: Model,
    /// How it was trained (label noise and seed matter for jumps); `None` for
    /// imported nets.
    pub train_config: Option<TrainConfig>,
    /// Free-form extra metadata saved in the header (split seed, code
    /// version, data set name, ...).
    pub metadata: BTreeMap<String, String>,
}

impl Checkpoint {
    /// Wraps a model.
    #[must_use]
    pub fn new(model: Model, train_config: Option<TrainConfig>) -> Self {
        Self { model, train_config, metadata: BTreeMap::new() }
    }
}

fn ck_err(path: &Path, reason: impl Into<String>) -> TrainError {
    TrainError::Checkpoint { path: path.to_path_buf(), reason: reason.into() }
}

/// Writes a checkpoint atomically (a temporary file renamed into place, so a
/// killed run leaves no partial file).
///
/// # Errors
/// [`TrainError::Io`] when writing fails; [`TrainError::Checkpoint`] when a
/// metadata key collides with basin's own or serialisation fails.
///
/// # Example
/// ```
/// use basin_train::{load_checkpoint, save_checkpoint, Architecture, Checkpoint, Model};
/// use basin_data::{rng::stream, ImageShape};
/// let dev = candle_core::Device::Cpu;
/// let m = Model::new(&Architecture::mlp(ImageShape::flat(3), &[4], 2), &mut stream(1, "init"), &dev).unwrap();
/// let mut ck = Checkpoint::new(m, None);
/// ck.metadata.insert("split_seed".into(), "7".into());
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("net.safetensors");
/// save_checkpoint(&path, &ck).unwrap();
/// let back = load_checkpoint(&path, &dev).unwrap();
/// assert_eq!(back.metadata["split_seed"], "7");
/// assert_eq!(back.model.flat_weights().unwrap(), ck.model.flat_weights().unwrap());
/// ```
pub fn save_checkpoint(path: impl AsRef<Path>, ck: &Checkpoint) -> TrainResult<()> {
    let path = path.as_ref();
    let json = |v: serde_json::Result<String>| v.map_err(|e| ck_err(path, e.to_string()));
    let mut meta: HashMap<String, String> = HashMap::new();
    for (k, v) in &ck.metadata {
        if k.starts_with("basin.") {
            return Err(ck_err(path, format!("metadata key `{k}` is reserved")));
        }
        meta.insert(k.clone(), v.clone());
    }
    meta.insert(KEY_FORMAT.into(), "1".into());
    meta.insert(KEY_ARCH.into(), json(serde_json::to_string(ck.model.architecture()))?);
    meta.insert(KEY_LAYOUT.into(), json(serde_json::to_string(&ck.model.parameter_layout()))?);
    if let Some(cfg) = &ck.train_config {
        meta.insert(KEY_CONFIG.into(), json(serde_json::to_string(cfg))?);
    }
    let mut owned: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, t) in ck.model.named_tensors() {
        let values = t.flatten_all()?.to_vec1::<f32>()?;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        owned.push((name, t.dims().to_vec(), bytes));
    }
    let views = owned
        .iter()
        .map(|(n, s, b)| TensorView::new(Dtype::F32, s.clone(), b).map(|v| (n.clone(), v)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ck_err(path, e.to_string()))?;
    let bytes = safetensors::serialize(views, Some(meta)).map_err(|e| ck_err(path, e.to_string()))?;
    let bytes = canonical_header(&bytes).map_err(|e| ck_err(path, e))?;
    let tmp = path.with_extension("safetensors.partial");
    let io = |source| TrainError::Io { path: path.to_path_buf(), source };
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Rewrites a safetensors header with its keys sorted.
///
/// safetensors serialises the metadata from a `HashMap`, whose iteration
/// order changes from run to run; sorting makes the same net give the same
/// bytes (and so the same input hashes in every downstream file's
/// provenance). Tensor offsets are relative to the end of the header, so
/// only the header and its length change.
fn canonical_header(bytes: &[u8]) -> Result<Vec<u8>, String> {
    fn sort_keys(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<(String, serde_json::Value)> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, sort_keys(v))).collect())
            }
            other => other,
        }
    }
    let len_bytes: [u8; 8] = bytes.get(..8).and_then(|b| b.try_into().ok()).ok_or("truncated safetensors header")?;
    let n = usize::try_from(u64::from_le_bytes(len_bytes)).map_err(|e| e.to_string())?;
    let header = bytes.get(8..8 + n).ok_or("truncated safetensors header")?;
    let value: serde_json::Value = serde_json::from_slice(header).map_err(|e| e.to_string())?;
    let mut text = serde_json::to_vec(&sort_keys(value)).map_err(|e| e.to_string())?;
    // safetensors pads the header with spaces to a multiple of 8 bytes.
    while text.len() % 8 != 0 {
        text.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + text.len() + bytes.len() - 8 - n);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

/// Reads all tensors (f32 or f64, converted to f32) and the metadata.
fn read_safetensors(path: &Path, device: &Device) -> TrainResult<(BTreeMap<String, Tensor>, HashMap<String, String>)> {
    let buf = std::fs::read(path).map_err(|source| TrainError::Io { path: path.to_path_buf(), source })?;
    let (_, header) = SafeTensors::read_metadata(&buf).map_err(|e| ck_err(path, e.to_string()))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let st = SafeTensors::deserialize(&buf).map_err(|e| ck_err(path, e.to_string()))?;
    let mut tensors = BTreeMap::new();
    for (name, view) in st.tensors() {
        let data = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            #[allow(clippy::cast_possible_truncation)]
            Dtype::F64 => data
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
                .collect(),
            // PyTorch's BatchNorm counter; basin does not use it.
            Dtype::I64 if name.ends_with("num_batches_tracked") => continue,
            other => return Err(ck_err(path, format!("tensor `{name}` has dtype {other:?}; only F32/F64 are read"))),
        };
        tensors.insert(name.clone(), Tensor::from_vec(values, view.shape(), device)?);
    }
    Ok((tensors, meta))
}

/// Loads a checkpoint written by [`save_checkpoint`].
///
/// # Errors
/// [`TrainError::Io`] when the file cannot be read; [`TrainError::Checkpoint`]
/// when it is not safetensors, lacks basin's metadata, or a tensor is missing
/// or mis-shaped.
pub fn load_checkpoint(path: impl AsRef<Path>, device: &Device) -> TrainResult<Checkpoint> {
    let path = path.as_ref();
    let (tensors, mut meta) = read_safetensors(path, device)?;
    let arch_json = meta
        .remove(KEY_ARCH)
        .ok_or_else(|| ck_err(path, format!("no `{KEY_ARCH}` metadata (use import_pytorch for foreign files)")))?;
    let arch: Architecture = serde_json::from_str(&arch_json).map_err(|e| ck_err(path, format!("{KEY_ARCH}: {e}")))?;
    let train_config = match meta.remove(KEY_CONFIG) {
        Some(s) => Some(serde_json::from_str(&s).map_err(|e| ck_err(path, format!("{KEY_CONFIG}: {e}")))?),
        None => None,
    };
    meta.remove(KEY_LAYOUT);
    meta.remove(KEY_FORMAT);
    let model = Model::from_tensors(&arch, &tensors, device).map_err(|e| ck_err(path, e.to_string()))?;
    Ok(Checkpoint { model, train_config, metadata: meta.into_iter().collect() })
}

/// Imports a PyTorch `state_dict` saved with `safetensors.torch.save_file`
/// for a module whose parameter names follow [`crate::Layers`] (see
/// `tests/reference/export_pytorch.py`). `num_batches_tracked` is ignored.
///
/// # Errors
/// As [`load_checkpoint`], for a missing or mis-shaped tensor.
pub fn import_pytorch(path: impl AsRef<Path>, arch: &Architecture, device: &Device) -> TrainResult<Model> {
    let path = path.as_ref();
    let (tensors, _) = read_safetensors(path, device)?;
    Model::from_tensors(arch, &tensors, device).map_err(|e| ck_err(path, e.to_string()))
}
