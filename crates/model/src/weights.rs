//! Weights shipped inside the binary, so nothing is read from disk or network at run time.

use burn::store::{BurnpackStore, FloatCastAdapter, HalfPrecisionAdapter, ModuleSnapshot};
use burn::tensor::DType;

use crate::arch::Cnn;

/// The trained weights, half precision, burnpack format (written by `lookout train --export`).
/// Native builds only: wasm32 builds (page, worker) embed [`EMBEDDED_COMPACT`], a quarter
/// of the size.
#[cfg(not(target_arch = "wasm32"))]
pub static EMBEDDED: &[u8] = &ALIGNED_F16.0;

/// `include_bytes!` guarantees no alignment, but burn reads the tensors in place (an f16
/// slice needs 2-byte alignment; burnpack aligns tensor data within the file): anchor the
/// buffer at a 64-byte boundary, or loading panics whenever the linker happens to place it
/// at an odd address.
#[cfg(not(target_arch = "wasm32"))]
#[repr(C, align(64))]
struct Aligned<T: ?Sized>(T);

#[cfg(not(target_arch = "wasm32"))]
static ALIGNED_F16: &Aligned<[u8]> = &Aligned(*include_bytes!("../weights/cifar10-f16.bpk"));

/// The same weights, compact (`LKQ8` container, see [`crate::quant`]): fc1 at 4 bits with a
/// scale per 128 input rows and output, the rest at 8 bits per output channel; biases f32.
/// 1.22 MB (1.09 MB gzipped); 84.12 % on the CIFAR-10 test set against 84.18 % for the f16
/// weights. Written by `lookout export-q8 --four-bit-group 128` from the f32 checkpoint.
pub static EMBEDDED_COMPACT: &[u8] = include_bytes!("../weights/cifar10-compact.lkq");

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("no embedded weights in this build")]
    Missing,
    #[error("cannot read weights: {0}")]
    Read(String),
    #[error("weights do not fit the network: {0}")]
    Mismatch(String),
    #[error("cannot write weights: {0}")]
    Write(String),
}

/// Loads weights (f16 or f32 burnpack) into `model`.
pub fn load_static(model: &mut Cnn, bytes: &'static [u8]) -> Result<(), WeightsError> {
    if bytes.is_empty() {
        return Err(WeightsError::Missing);
    }
    let mut store = BurnpackStore::from_static(bytes).with_from_adapter(to_f32());
    apply(model, &mut store)
}

/// Loads weights from a file: `LKQ8` (8-bit) or burnpack (f16 or f32).
pub fn load_file(model: &mut Cnn, path: &std::path::Path) -> Result<(), WeightsError> {
    let mut head = [0u8; 4];
    if std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && crate::quant::is_q8(&head)
    {
        let bytes = std::fs::read(path)
            .map_err(|e| WeightsError::Read(format!("{}: {e}", path.display())))?;
        return crate::quant::load(model, &bytes);
    }
    let mut store = BurnpackStore::from_file(path)
        .auto_extension(false)
        .with_from_adapter(to_f32());
    apply(model, &mut store)
}

/// Whatever precision a file holds (f16 shipped weights, f32 checkpoints), the network
/// computes in f32. (`HalfPrecisionAdapter` would flip f32 to f16 on load.)
fn to_f32() -> FloatCastAdapter {
    FloatCastAdapter::to(DType::F32)
}

fn apply(model: &mut Cnn, store: &mut BurnpackStore) -> Result<(), WeightsError> {
    let result = model
        .load_from(store)
        .map_err(|e| WeightsError::Read(e.to_string()))?;
    if !result.is_success() || !result.missing.is_empty() {
        return Err(WeightsError::Mismatch(format!("{result:?}")));
    }
    Ok(())
}

/// Writes `model`'s weights; `half` stores them as f16 (the shipped form).
pub fn save_file(model: &Cnn, path: &std::path::Path, half: bool) -> Result<(), WeightsError> {
    let mut store = BurnpackStore::from_file(path)
        .auto_extension(false)
        .overwrite(true);
    if half {
        store = store.with_to_adapter(HalfPrecisionAdapter::new());
    }
    model
        .save_into(&mut store)
        .map_err(|e| WeightsError::Write(e.to_string()))
}

/// Writes every parameter as little-endian f32 for other runtimes (the ONNX export script):
/// `LKW1`, a u32 (LE) header length, a JSON header `[{"name","shape","offset","len"}]`, then
/// the data. Names are burn's module paths (`conv1.weight`, `fc1.bias`, …).
pub fn export_raw(model: &Cnn, path: &std::path::Path) -> Result<(), WeightsError> {
    let tensors = model.collect(None, None, false);
    let mut header = Vec::new();
    let mut data = Vec::new();
    for t in tensors {
        let name = t.name.clone();
        let shape: Vec<usize> = t.shape.iter().copied().collect();
        let bytes = t
            .to_bytes()
            .map_err(|e| WeightsError::Write(e.to_string()))?;
        let values: Vec<f32> = burn::tensor::TensorData::from_bytes(bytes, shape.clone(), t.dtype)
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| WeightsError::Write(format!("{name}: {e:?}")))?;
        header.push(serde_json::json!({
            "name": name,
            "shape": shape,
            "offset": data.len(),
            "len": values.len() * 4,
        }));
        for v in values {
            data.extend_from_slice(&v.to_le_bytes());
        }
    }
    let header = serde_json::to_vec(&header).map_err(|e| WeightsError::Write(e.to_string()))?;
    let mut out = b"LKW1".to_vec();
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&data);
    std::fs::write(path, out).map_err(|e| WeightsError::Write(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocess::INPUT_LEN;
    use crate::{Backend, Classifier};
    use burn::tensor::Device;

    #[test]
    #[cfg(not(target_arch = "wasm32"))]
    fn embedded_f16_weights_are_aligned_for_in_place_reads() {
        assert_eq!(EMBEDDED.as_ptr() as usize % 64, 0);
        assert_eq!(
            EMBEDDED.len(),
            include_bytes!("../weights/cifar10-f16.bpk").len()
        );
    }

    #[test]
    fn f32_and_f16_files_round_trip() {
        let device = Device::flex();
        device.seed(3);
        let model = Cnn::new(&device);
        let dir = std::env::temp_dir().join(format!("lookout-weights-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (full, half) = (dir.join("full.bpk"), dir.join("half.bpk"));
        save_file(&model, &full, false).expect("save f32");
        save_file(&model, &half, true).expect("save f16");
        let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        assert!(
            size(&half) * 10 < size(&full) * 6,
            "f16 file is about half the f32 one"
        );

        let input: Vec<f32> = (0..INPUT_LEN).map(|i| (i % 7) as f32 / 3.0 - 1.0).collect();
        let reference = Classifier::from_model(model, device, Backend::Cpu)
            .expect("original")
            .logits(&input)
            .expect("logits");
        let a = Classifier::from_file(&full, Backend::Cpu).expect("load f32");
        let b = Classifier::from_file(&half, Backend::Cpu).expect("load f16");
        assert_eq!(a.logits(&input).expect("f32 logits"), reference);
        let lb = b.logits(&input).expect("f16 logits");
        for (x, y) in lb.iter().zip(&reference) {
            assert!((x - y).abs() < 1e-2, "f16 {x} vs f32 {y}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn wrong_or_missing_weights_are_errors() {
        let device = Device::flex();
        let mut model = Cnn::new(&device);
        assert!(matches!(
            load_static(&mut model, &[]),
            Err(WeightsError::Missing)
        ));
        assert!(load_static(&mut model, b"not a burnpack file at all").is_err());
        assert!(load_file(&mut model, std::path::Path::new("/nonexistent.bpk")).is_err());
    }
}
