//! 8-bit weights for size-bound targets (the page's first load, the edge worker's 3 MB bundle).
//!
//! Format `LKQ8` (all little-endian): magic `LKQ8`, `u32` tensor count, then per tensor:
//! `u16` name length, the name (burn's module path, e.g. `conv1.weight`), `u8` rank, `u32`
//! per dimension, `u8` kind, then
//! - kind 0: the values as `f32` (biases: small, kept exact);
//! - kind 1: `u8` channel axis, one `f32` scale per channel along that axis, then the values
//!   as `i8` in row-major order. Value = `i8 × scale[channel]` (symmetric, per output channel:
//!   axis 0 of a conv weight `[out, in, kh, kw]`, axis 1 of a linear weight `[in, out]`).
//!
//! The network still computes in f32: weights are dequantised once, at load.

use burn::store::ModuleSnapshot;
use burn::store::burn_pack::Tensor as PackTensor;
use burn::tensor::{DType, TensorData};

use crate::arch::Cnn;
use crate::weights::WeightsError;

const MAGIC: &[u8; 4] = b"LKQ8";
const KIND_F32: u8 = 0;
const KIND_I8: u8 = 1;
/// More tensors or dimensions than any network of this crate has: a corrupt file.
const MAX_TENSORS: u32 = 1024;
const MAX_RANK: u8 = 8;

/// One dequantised tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct QTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// The channel axis quantised per channel: output channels.
fn channel_axis(rank: usize) -> Option<usize> {
    match rank {
        4 => Some(0), // conv [out, in, kh, kw]
        2 => Some(1), // linear [in, out]
        _ => None,    // biases stay f32
    }
}

/// Encodes `(name, shape, values)` tensors as `LKQ8`.
pub fn encode(tensors: &[QTensor]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&(tensors.len() as u32).to_le_bytes());
    for t in tensors {
        out.extend_from_slice(&(t.name.len() as u16).to_le_bytes());
        out.extend_from_slice(t.name.as_bytes());
        out.push(t.shape.len() as u8);
        for d in &t.shape {
            out.extend_from_slice(&(*d as u32).to_le_bytes());
        }
        match channel_axis(t.shape.len()) {
            None => {
                out.push(KIND_F32);
                for v in &t.values {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            Some(axis) => {
                out.push(KIND_I8);
                out.push(axis as u8);
                let channels = t.shape[axis];
                let inner: usize = t.shape[axis + 1..].iter().product();
                let channel_of = |i: usize| (i / inner) % channels;
                let mut max = vec![0.0f32; channels];
                for (i, v) in t.values.iter().enumerate() {
                    let c = channel_of(i);
                    max[c] = max[c].max(v.abs());
                }
                let scales: Vec<f32> = max
                    .iter()
                    .map(|m| if *m > 0.0 { m / 127.0 } else { 1.0 })
                    .collect();
                for s in &scales {
                    out.extend_from_slice(&s.to_le_bytes());
                }
                for (i, v) in t.values.iter().enumerate() {
                    let q = (v / scales[channel_of(i)]).round().clamp(-127.0, 127.0) as i8;
                    out.push(q as u8);
                }
            }
        }
    }
    out
}

/// A bounds-checked reader: a corrupt or truncated file is an error, never a panic.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WeightsError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| WeightsError::Read(format!("LKQ8 truncated at byte {}", self.pos)))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, WeightsError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, WeightsError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, WeightsError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn f32s(&mut self, n: usize) -> Result<Vec<f32>, WeightsError> {
        let len = n
            .checked_mul(4)
            .ok_or_else(|| WeightsError::Read("LKQ8 tensor too large".into()))?;
        Ok(self
            .take(len)?
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}

/// Whether `bytes` look like an `LKQ8` file.
pub fn is_q8(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Decodes and dequantises an `LKQ8` file.
pub fn decode(bytes: &[u8]) -> Result<Vec<QTensor>, WeightsError> {
    let mut r = Reader { bytes, pos: 0 };
    if r.take(4)? != MAGIC {
        return Err(WeightsError::Read("not an LKQ8 file".into()));
    }
    let count = r.u32()?;
    if count > MAX_TENSORS {
        return Err(WeightsError::Read(format!("LKQ8 claims {count} tensors")));
    }
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let name_len = usize::from(r.u16()?);
        let name = String::from_utf8(r.take(name_len)?.to_vec())
            .map_err(|_| WeightsError::Read("LKQ8 tensor name is not UTF-8".into()))?;
        let rank = r.u8()?;
        if rank > MAX_RANK {
            return Err(WeightsError::Read(format!("{name}: rank {rank}")));
        }
        let mut shape = Vec::with_capacity(usize::from(rank));
        for _ in 0..rank {
            shape.push(r.u32()? as usize);
        }
        let n = shape
            .iter()
            .try_fold(1usize, |a, d| a.checked_mul(*d))
            .filter(|n| *n <= bytes.len())
            .ok_or_else(|| WeightsError::Read(format!("{name}: shape {shape:?} too large")))?;
        let values = match r.u8()? {
            KIND_F32 => r.f32s(n)?,
            KIND_I8 => {
                let axis = usize::from(r.u8()?);
                let channels = *shape
                    .get(axis)
                    .ok_or_else(|| WeightsError::Read(format!("{name}: axis {axis}")))?;
                let inner: usize = shape[axis + 1..].iter().product();
                let scales = r.f32s(channels)?;
                r.take(n)?
                    .iter()
                    .enumerate()
                    .map(|(i, q)| f32::from(*q as i8) * scales[(i / inner.max(1)) % channels])
                    .collect()
            }
            k => return Err(WeightsError::Read(format!("{name}: unknown kind {k}"))),
        };
        out.push(QTensor {
            name,
            shape,
            values,
        });
    }
    if r.pos != bytes.len() {
        return Err(WeightsError::Read(format!(
            "LKQ8 has {} trailing bytes",
            bytes.len() - r.pos
        )));
    }
    Ok(out)
}

/// `model`'s parameters as f32 tensors (for [`encode`]).
pub fn snapshot(model: &Cnn) -> Result<Vec<QTensor>, WeightsError> {
    model
        .collect(None, None, false)
        .into_iter()
        .map(|t| {
            let shape: Vec<usize> = t.shape.iter().copied().collect();
            let bytes = t
                .to_bytes()
                .map_err(|e| WeightsError::Write(e.to_string()))?;
            let values = TensorData::from_bytes(bytes, shape.clone(), t.dtype)
                .convert::<f32>()
                .try_into_vec::<f32>()
                .map_err(|e| WeightsError::Write(format!("{}: {e:?}", t.name)))?;
            Ok(QTensor {
                name: t.name.clone(),
                shape,
                values,
            })
        })
        .collect()
}

/// Loads an `LKQ8` file into `model`: every parameter must be present with its shape.
pub fn load(model: &mut Cnn, bytes: &[u8]) -> Result<(), WeightsError> {
    let tensors = decode(bytes)?;
    let expected = model.collect(None, None, false);
    if tensors.len() != expected.len() {
        return Err(WeightsError::Mismatch(format!(
            "{} tensors in the file, the network has {}",
            tensors.len(),
            expected.len()
        )));
    }
    let mut pack = Vec::with_capacity(tensors.len());
    for t in tensors {
        let want = expected
            .iter()
            .find(|e| e.name == t.name)
            .ok_or_else(|| WeightsError::Mismatch(format!("unknown tensor {}", t.name)))?;
        let want_shape: Vec<usize> = want.shape.iter().copied().collect();
        if want_shape != t.shape {
            return Err(WeightsError::Mismatch(format!(
                "{}: shape {:?} in the file, {want_shape:?} in the network",
                t.name, t.shape
            )));
        }
        let data = TensorData::new(t.values, t.shape.clone());
        pack.push(PackTensor::new(
            t.name,
            DType::F32,
            t.shape,
            want.param_id,
            data.into_bytes(),
        ));
    }
    let result = model.apply(pack, None, None, false);
    if !result.is_success() || !result.missing.is_empty() {
        return Err(WeightsError::Mismatch(format!("{result:?}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn round_trip_is_within_half_a_step_per_channel() {
        let t = QTensor {
            name: "w".into(),
            shape: vec![3, 2],
            values: vec![1.0, -0.5, 0.25, 0.0, -1.0, 0.125],
        };
        let b = QTensor {
            name: "b".into(),
            shape: vec![2],
            values: vec![0.1, -3.0],
        };
        let bytes = encode(&[t.clone(), b.clone()]);
        let back = decode(&bytes).expect("decode");
        assert_eq!(back[1], b, "biases are exact");
        // Axis 1 (output channels of a [in, out] linear weight): scales 1/127 and 0.5/127.
        for (i, (x, y)) in t.values.iter().zip(&back[0].values).enumerate() {
            let step = if i % 2 == 0 { 1.0 / 127.0 } else { 0.5 / 127.0 };
            assert!((x - y).abs() <= step / 2.0 + 1e-7, "{i}: {x} vs {y}");
        }
    }

    #[test]
    fn corrupt_files_are_errors_not_panics() {
        let model = Cnn::new(&Device::flex());
        let good = encode(&snapshot(&model).expect("snapshot"));
        assert!(decode(&good).is_ok());
        // Every truncation, and a byte flipped at many offsets, is refused or decodes.
        for cut in (0..good.len()).step_by(4093).chain([good.len() - 1]) {
            assert!(decode(&good[..cut]).is_err(), "truncated at {cut}");
        }
        for at in (0..200).chain((200..good.len()).step_by(10_007)) {
            let mut bad = good.clone();
            bad[at] ^= 0xA5;
            let _ = decode(&bad);
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(decode(&trailing).is_err());
        let mut m = Cnn::new(&Device::flex());
        assert!(load(&mut m, b"LKQ8\x00\x00\x00\x00").is_err(), "no tensors");
    }

    #[test]
    fn loads_into_the_network() {
        let device = Device::flex();
        device.seed(5);
        let model = Cnn::new(&device);
        let snap = snapshot(&model).expect("snapshot");
        let mut other = Cnn::new(&device);
        load(&mut other, &encode(&snap)).expect("load");
        let back = snapshot(&other).expect("snapshot");
        for (a, b) in snap.iter().zip(&back) {
            assert_eq!(a.name, b.name);
            let max = a.values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (x, y) in a.values.iter().zip(&b.values) {
                assert!((x - y).abs() <= max / 254.0 + 1e-6, "{}", a.name);
            }
        }
    }
}
