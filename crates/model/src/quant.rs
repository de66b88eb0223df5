//! 8-bit weights for size-bound targets (the page's first load, the edge worker's 3 MB bundle).
//!
//! Format `LKQ8` (all little-endian): magic `LKQ8`, `u32` tensor count, then per tensor:
//! `u16` name length, the name (burn's module path, e.g. `conv1.weight`), `u8` rank, `u32`
//! per dimension, `u8` kind, then
//! - kind 0: the values as `f32` (biases: small, kept exact);
//! - kind 1: `u8` channel axis, one `f32` scale per channel along that axis, then the values
//!   as `i8` in row-major order. Value = `i8 × scale[channel]` (symmetric, per output channel:
//!   axis 0 of a conv weight `[out, in, kh, kw]`, axis 1 of a linear weight `[in, out]`);
//! - kind 2 (rank 2, `[in, out]` linear weights): `u32` group size `g`, one `f32` scale per
//!   block of `g` input rows and output column (`ceil(in / g) × out`, row-major), then the
//!   values as signed 4-bit integers in −7…7, two per byte (low nibble first). Value =
//!   `q × scale[row / g][col]`. Used by [`Scheme::Mixed4`] for the large first linear layer
//!   (96 % of the parameters), whose error the per-block scales keep small.
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
const KIND_I4_GROUPED: u8 = 2;
/// Linear weights with at least this many inputs get 4 bits under [`Scheme::Mixed4`].
const MIXED4_MIN_INPUTS: usize = 1024;

/// How [`encode_with`] stores weight tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// 8 bits per weight, per output channel (kind 1).
    Q8,
    /// Kind 2 (4 bits, a scale per `group` input rows and output) for linear weights with
    /// ≥ 1024 inputs, kind 1 for the rest.
    Mixed4 { group: usize },
}
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

/// Encodes `(name, shape, values)` tensors as `LKQ8`, 8 bits per weight.
pub fn encode(tensors: &[QTensor]) -> Vec<u8> {
    encode_with(tensors, Scheme::Q8)
}

/// Encodes with the given scheme.
pub fn encode_with(tensors: &[QTensor], scheme: Scheme) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&(tensors.len() as u32).to_le_bytes());
    for t in tensors {
        out.extend_from_slice(&(t.name.len() as u16).to_le_bytes());
        out.extend_from_slice(t.name.as_bytes());
        out.push(t.shape.len() as u8);
        for d in &t.shape {
            out.extend_from_slice(&(*d as u32).to_le_bytes());
        }
        let four_bit = match scheme {
            Scheme::Mixed4 { group } if t.shape.len() == 2 && t.shape[0] >= MIXED4_MIN_INPUTS => {
                Some(group.max(1))
            }
            _ => None,
        };
        if let Some(group) = four_bit {
            out.push(KIND_I4_GROUPED);
            encode_i4(&mut out, &t.shape, &t.values, group);
            continue;
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

/// Kind 2's body: group size, per-block scales chosen to minimise the squared error (a few
/// clipping ratios of the block's maximum), packed nibbles.
fn encode_i4(out: &mut Vec<u8>, shape: &[usize], values: &[f32], group: usize) {
    let (rows, cols) = (shape[0], shape[1]);
    let blocks = rows.div_ceil(group);
    let mut scales = vec![1.0f32; blocks * cols];
    for b in 0..blocks {
        let rows_b = b * group..((b + 1) * group).min(rows);
        for c in 0..cols {
            let column = || rows_b.clone().map(|r| values[r * cols + c]);
            let max = column().fold(0.0f32, |m, v| m.max(v.abs()));
            if max == 0.0 {
                continue;
            }
            let err = |scale: f32| -> f32 {
                column()
                    .map(|v| {
                        let d = v - (v / scale).round().clamp(-7.0, 7.0) * scale;
                        d * d
                    })
                    .sum()
            };
            scales[b * cols + c] = [1.0f32, 0.95, 0.9, 0.85, 0.8, 0.75]
                .iter()
                .map(|r| max * r / 7.0)
                .min_by(|x, y| err(*x).total_cmp(&err(*y)))
                .unwrap_or(max / 7.0);
        }
    }
    out.extend_from_slice(&(group as u32).to_le_bytes());
    for s in &scales {
        out.extend_from_slice(&s.to_le_bytes());
    }
    let nibble = |i: usize| -> u8 {
        let (r, c) = (i / cols, i % cols);
        let q = (values[i] / scales[(r / group) * cols + c])
            .round()
            .clamp(-7.0, 7.0) as i8;
        (q as u8) & 0x0f
    };
    for i in (0..values.len()).step_by(2) {
        let hi = if i + 1 < values.len() {
            nibble(i + 1)
        } else {
            0
        };
        out.push(nibble(i) | (hi << 4));
    }
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
            // A value takes at least half a byte (4-bit kind).
            .filter(|n| *n <= bytes.len().saturating_mul(2))
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
            KIND_I4_GROUPED => {
                let [rows, cols] = shape[..] else {
                    return Err(WeightsError::Read(format!("{name}: 4-bit needs rank 2")));
                };
                let group = r.u32()? as usize;
                if group == 0 {
                    return Err(WeightsError::Read(format!("{name}: group size 0")));
                }
                let scales = r.f32s(rows.div_ceil(group) * cols)?;
                let packed = r.take(n.div_ceil(2))?;
                (0..n)
                    .map(|i| {
                        let byte = packed[i / 2];
                        let nib = if i % 2 == 0 { byte << 4 } else { byte & 0xf0 };
                        let q = (nib as i8) >> 4; // sign-extend the nibble
                        f32::from(q) * scales[(i / cols / group) * cols + i % cols]
                    })
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
    fn four_bit_blocks_round_trip_within_half_a_step() {
        // [in = 1030, out = 3]: 1030 rows → blocks of 64 (the last one short), odd count of
        // values so the last byte has one nibble.
        let (rows, cols, group) = (1031, 3, 64);
        let values: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0 + (i % cols) as f32)
            .collect();
        let t = QTensor {
            name: "fc".into(),
            shape: vec![rows, cols],
            values,
        };
        let small = QTensor {
            name: "fc2".into(),
            shape: vec![4, 2],
            values: vec![0.5, -0.25, 1.0, 0.0, -1.0, 0.75, 0.1, 0.2],
        };
        let bytes = encode_with(&[t.clone(), small.clone()], Scheme::Mixed4 { group });
        let q8 = encode(&[t.clone(), small.clone()]);
        assert!(
            bytes.len() < q8.len() * 6 / 10,
            "{} vs {}",
            bytes.len(),
            q8.len()
        );
        let back = decode(&bytes).expect("decode");
        assert_eq!(
            back[1],
            decode(&q8).expect("q8")[1],
            "small tensors stay 8-bit"
        );
        for (i, (x, y)) in t.values.iter().zip(&back[0].values).enumerate() {
            let (r, c) = (i / cols, i % cols);
            let block = (r / group) * group..((r / group + 1) * group).min(rows);
            let max = block
                .map(|r| t.values[r * cols + c].abs())
                .fold(0.0f32, f32::max);
            // The chosen scale is at most max / 7; clipping to 0.75 max at worst.
            assert!((x - y).abs() <= max * 0.25 + 1e-6, "{i}: {x} vs {y}");
        }
        let mse = |a: &[f32], b: &[f32]| -> f64 {
            a.iter()
                .zip(b)
                .map(|(x, y)| f64::from(x - y).powi(2))
                .sum::<f64>()
                / a.len() as f64
        };
        let plain = {
            // The same blocks with the plain max / 7 scale: the search never does worse.
            let mut out = Vec::new();
            for i in 0..rows * cols {
                let (r, c) = (i / cols, i % cols);
                let block = (r / group) * group..((r / group + 1) * group).min(rows);
                let s = block
                    .map(|r| t.values[r * cols + c].abs())
                    .fold(0.0f32, f32::max)
                    / 7.0;
                out.push((t.values[i] / s).round().clamp(-7.0, 7.0) * s);
            }
            out
        };
        assert!(mse(&t.values, &back[0].values) <= mse(&t.values, &plain) + 1e-12);
    }

    #[test]
    fn corrupt_files_are_errors_not_panics() {
        let model = Cnn::new(&Device::flex());
        let snap = snapshot(&model).expect("snapshot");
        let good = encode(&snap);
        assert!(decode(&good).is_ok());
        let good4 = encode_with(&snap, Scheme::Mixed4 { group: 64 });
        assert!(decode(&good4).is_ok());
        for cut in (0..good4.len()).step_by(4093) {
            assert!(decode(&good4[..cut]).is_err(), "4-bit truncated at {cut}");
        }
        for at in (0..200).chain((200..good4.len()).step_by(10_007)) {
            let mut bad = good4.clone();
            bad[at] ^= 0xA5;
            let _ = decode(&bad);
        }
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
