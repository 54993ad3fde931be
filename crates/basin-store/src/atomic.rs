//! Atomic file writes: a temporary file in the destination's folder, synced,
//! then renamed over the destination. A reader (or `make`) never sees a
//! half-written file, and a process killed mid-write leaves at most a
//! `.basin-tmp-*` file that no stage reads.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{StoreError, StoreResult};

/// Prefix of every temporary file basin writes; safe to delete at any time
/// when no basin process is running.
pub const TEMP_PREFIX: &str = ".basin-tmp-";

/// Writes `path` atomically: `write` receives a buffered writer over a
/// temporary file next to `path`; only when it returns `Ok` is the data
/// flushed, synced and renamed to `path`. On error (or panic) the temporary
/// file is removed and `path` is untouched.
///
/// # Errors
/// [`StoreError::Io`] naming `path`, or whatever `write` returns.
///
/// # Example
/// ```
/// use std::io::Write;
/// let dir = tempfile::tempdir().unwrap();
/// let p = dir.path().join("hello.txt");
/// basin_store::atomic::write_atomically(&p, |w| Ok(w.write_all(b"hi").map_err(|e| basin_store::StoreError::Io { path: p.clone(), source: e })?)).unwrap();
/// assert_eq!(std::fs::read(&p).unwrap(), b"hi");
/// ```
pub fn write_atomically<F>(path: &Path, write: F) -> StoreResult<()>
where
    F: FnOnce(&mut BufWriter<&mut File>) -> StoreResult<()>,
{
    let io = |source| StoreError::Io { path: path.to_path_buf(), source };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}{file_name}-"))
        .tempfile_in(&dir)
        .map_err(io)?;
    {
        let mut writer = BufWriter::new(tmp.as_file_mut());
        write(&mut writer)?;
        writer.flush().map_err(io)?;
    }
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.parquet");
        let err = write_atomically(&p, |w| {
            w.write_all(b"partial").unwrap();
            Err(StoreError::Metadata { path: p.clone(), reason: "simulated crash".into() })
        });
        assert!(err.is_err());
        assert!(!p.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "temporary file left behind");
    }

    #[test]
    fn panic_mid_write_leaves_old_file_intact() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.bin");
        std::fs::write(&p, b"old").unwrap();
        let p2 = p.clone();
        let result = std::panic::catch_unwind(move || {
            let _ = write_atomically(&p2, |w| {
                w.write_all(b"new but half").unwrap();
                panic!("killed");
            });
        });
        assert!(result.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
