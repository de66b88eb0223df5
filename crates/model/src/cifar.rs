//! The canonical CIFAR-10 binary format: 3,073-byte records (label, then the red, green and
//! blue 32×32 planes, row-major), no header.

use std::path::{Path, PathBuf};

use crate::preprocess::INPUT_LEN;

/// Bytes per record: one label byte and 3 × 1024 pixel bytes.
pub const RECORD_LEN: usize = 1 + INPUT_LEN;
/// Environment variable naming the folder with the `.bin` batches.
pub const DATA_ENV: &str = "LOOKOUT_CIFAR10";
/// Training batch files, in order.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test batch file.
pub const TEST_FILE: &str = "test_batch.bin";

#[derive(Debug, thiserror::Error)]
pub enum CifarError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what}: {len} bytes is not a whole number of {RECORD_LEN}-byte CIFAR-10 records")]
    Length { what: String, len: usize },
    #[error("{what}: record {index} has label {label}, outside 0..=9")]
    Label {
        what: String,
        index: usize,
        label: u8,
    },
    #[error("no data folder: pass --data DIR or set {DATA_ENV}")]
    NoDataDir,
}

/// Images (planar CHW bytes) and labels, in file order.
#[derive(Debug, Clone, Default)]
pub struct CifarSet {
    labels: Vec<u8>,
    pixels: Vec<u8>,
}

impl CifarSet {
    /// Parses records; `what` names the source in errors.
    pub fn from_bytes(bytes: &[u8], what: &str) -> Result<Self, CifarError> {
        if !bytes.len().is_multiple_of(RECORD_LEN) {
            return Err(CifarError::Length {
                what: what.into(),
                len: bytes.len(),
            });
        }
        let n = bytes.len() / RECORD_LEN;
        let mut set = Self {
            labels: Vec::with_capacity(n),
            pixels: Vec::with_capacity(n * INPUT_LEN),
        };
        for (index, record) in bytes.chunks_exact(RECORD_LEN).enumerate() {
            let label = record[0];
            if label > 9 {
                return Err(CifarError::Label {
                    what: what.into(),
                    index,
                    label,
                });
            }
            set.labels.push(label);
            set.pixels.extend_from_slice(&record[1..]);
        }
        Ok(set)
    }

    /// Reads and concatenates the given files.
    pub fn load_files(paths: &[PathBuf]) -> Result<Self, CifarError> {
        let mut set = Self::default();
        for path in paths {
            let bytes = std::fs::read(path).map_err(|source| CifarError::Io {
                path: path.clone(),
                source,
            })?;
            let part = Self::from_bytes(&bytes, &path.display().to_string())?;
            set.labels.extend(part.labels);
            set.pixels.extend(part.pixels);
        }
        Ok(set)
    }

    /// The 50,000 training images from `dir`.
    pub fn train(dir: &Path) -> Result<Self, CifarError> {
        Self::load_files(&TRAIN_FILES.map(|f| dir.join(f)))
    }

    /// The 10,000 test images from `dir`.
    pub fn test(dir: &Path) -> Result<Self, CifarError> {
        Self::load_files(&[dir.join(TEST_FILE)])
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Planar CHW bytes of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.pixels[i * INPUT_LEN..(i + 1) * INPUT_LEN]
    }

    /// The first `n` records as a set of their own.
    pub fn head(&self, n: usize) -> Self {
        let n = n.min(self.len());
        Self {
            labels: self.labels[..n].to_vec(),
            pixels: self.pixels[..n * INPUT_LEN].to_vec(),
        }
    }

    /// The first `n` records, re-encoded in the binary format.
    pub fn to_bytes(&self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n * RECORD_LEN);
        for i in 0..n.min(self.len()) {
            out.push(self.labels[i]);
            out.extend_from_slice(self.image(i));
        }
        out
    }
}

/// The data folder: the argument when given, else `$LOOKOUT_CIFAR10`.
pub fn data_dir(arg: Option<&Path>) -> Result<PathBuf, CifarError> {
    match arg {
        Some(p) => Ok(p.to_path_buf()),
        None => std::env::var_os(DATA_ENV)
            .map(PathBuf::from)
            .ok_or(CifarError::NoDataDir),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_records_and_rejects_bad_ones() {
        let mut bytes = vec![0u8; 2 * RECORD_LEN];
        bytes[0] = 3;
        bytes[1] = 7;
        bytes[RECORD_LEN] = 9;
        let set = CifarSet::from_bytes(&bytes, "t").expect("two records");
        assert_eq!(set.len(), 2);
        assert_eq!(set.label(0), 3);
        assert_eq!(set.image(0)[0], 7);
        assert_eq!(set.to_bytes(2), bytes);
        assert!(matches!(
            CifarSet::from_bytes(&bytes[..100], "t"),
            Err(CifarError::Length { .. })
        ));
        bytes[0] = 10;
        assert!(matches!(
            CifarSet::from_bytes(&bytes, "t"),
            Err(CifarError::Label { label: 10, .. })
        ));
    }
}
