//! A plain f64 forward pass written from the architecture's definition (direct convolution,
//! NCHW, burn's flatten order) over random He-scaled weights: the oracle for the plan, sharing
//! no code with it. Used by `reference.rs` (natively) and `browser.rs` (wasm32 in Chromium).

#![allow(dead_code)] // each test binary uses part of it

use lookout_cpu::{ConvParams, DenseParams, INPUT_LEN, Kernel, NUM_CLASSES, Params, Plan};

/// Deterministic pseudo-random values in [-scale, scale] (xorshift).
fn values(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

pub struct Net {
    conv: Vec<(Vec<f32>, Vec<f32>, usize, usize)>,
    fc1: (Vec<f32>, Vec<f32>),
    fc2: (Vec<f32>, Vec<f32>),
}

impl Net {
    /// He-like scales so activations stay in a realistic range through the layers.
    pub fn random(seed: u64) -> Self {
        let shapes = [(3, 32), (32, 64), (64, 64), (64, 64)];
        let conv = shapes
            .iter()
            .enumerate()
            .map(|(i, &(ci, co))| {
                let scale = (6.0 / (ci * 9) as f32).sqrt();
                (
                    values(co * ci * 9, seed + i as u64, scale),
                    values(co, seed + 10 + i as u64, 0.1),
                    ci,
                    co,
                )
            })
            .collect();
        Self {
            conv,
            fc1: (
                values(4096 * 512, seed + 20, (6.0f32 / 4096.0).sqrt()),
                values(512, seed + 21, 0.1),
            ),
            fc2: (
                values(512 * 10, seed + 22, (6.0f32 / 512.0).sqrt()),
                values(10, seed + 23, 0.1),
            ),
        }
    }

    /// [`Net::random`] with fc1's weights made exact halves, as the shipped f16 weights are:
    /// 10 mantissa bits, and multiples of 2⁻²⁴ below the smallest normal half.
    pub fn random_halves(seed: u64) -> Self {
        let mut net = Self::random(seed);
        for w in &mut net.fc1.0 {
            *w = if w.abs() < 2f32.powi(-14) {
                (*w * 2f32.powi(24)).round() / 2f32.powi(24)
            } else {
                f32::from_bits(w.to_bits() & !0x1fff)
            };
        }
        net
    }

    pub fn params(&self) -> Params<'_> {
        let c = |i: usize| {
            let (w, b, ci, co) = &self.conv[i];
            ConvParams {
                weight: w,
                bias: b,
                in_channels: *ci,
                out_channels: *co,
            }
        };
        Params {
            conv: [c(0), c(1), c(2), c(3)],
            fc1: DenseParams {
                weight: &self.fc1.0,
                bias: &self.fc1.1,
                inputs: 4096,
                outputs: 512,
            },
            fc2: DenseParams {
                weight: &self.fc2.0,
                bias: &self.fc2.1,
                inputs: 512,
                outputs: 10,
            },
        }
    }

    /// Direct convolution, ReLU, pools and dense layers in f64, NCHW throughout.
    pub fn forward(&self, image: &[f32]) -> Vec<f64> {
        let mut x: Vec<f64> = image.iter().map(|&v| f64::from(v)).collect();
        let mut size = 32;
        for (i, (w, b, ci, co)) in self.conv.iter().enumerate() {
            let mut y = vec![0.0f64; co * size * size];
            for o in 0..*co {
                for oy in 0..size {
                    for ox in 0..size {
                        let mut acc = f64::from(b[o]);
                        for c in 0..*ci {
                            for ky in 0..3 {
                                for kx in 0..3 {
                                    let (iy, ix) = (oy + ky, ox + kx);
                                    if iy == 0 || ix == 0 || iy > size || ix > size {
                                        continue;
                                    }
                                    acc += x[(c * size + iy - 1) * size + ix - 1]
                                        * f64::from(w[((o * ci + c) * 3 + ky) * 3 + kx]);
                                }
                            }
                        }
                        y[(o * size + oy) * size + ox] = acc.max(0.0);
                    }
                }
            }
            x = y;
            if i == 1 || i == 3 {
                let half = size / 2;
                let mut p = vec![0.0f64; co * half * half];
                for c in 0..*co {
                    for py in 0..half {
                        for px in 0..half {
                            let at = |dy: usize, dx: usize| {
                                x[(c * size + 2 * py + dy) * size + 2 * px + dx]
                            };
                            p[(c * half + py) * half + px] =
                                at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1));
                        }
                    }
                }
                x = p;
                size = half;
            }
        }
        let dense =
            |x: &[f64], (w, b): &(Vec<f32>, Vec<f32>), outs: usize, relu: bool| -> Vec<f64> {
                (0..outs)
                    .map(|o| {
                        let v = f64::from(b[o])
                            + x.iter()
                                .enumerate()
                                .map(|(k, xv)| xv * f64::from(w[k * outs + o]))
                                .sum::<f64>();
                        if relu { v.max(0.0) } else { v }
                    })
                    .collect()
            };
        let h = dense(&x, &self.fc1, 512, true);
        dense(&h, &self.fc2, 10, false)
    }
}

pub fn images(n: usize, seed: u64) -> Vec<f32> {
    // Normalised CIFAR inputs lie in about [-2.5, 2.5].
    values(n * INPUT_LEN, seed, 2.0)
}

/// The worst logit error of `kernel` at `batch` images against the oracle, relative to each
/// image's largest logit.
pub fn worst_error(kernel: Kernel, batch: usize) -> f64 {
    worst_error_of(&Net::random(7), kernel, batch)
}

/// [`worst_error`] for a given network.
pub fn worst_error_of(net: &Net, kernel: Kernel, batch: usize) -> f64 {
    let plan = Plan::with_kernel(&net.params(), kernel).expect("plan");
    let inputs = images(batch, 99);
    let got = plan.logits(&inputs).expect("logits");
    assert_eq!(got.len(), batch * NUM_CLASSES);
    let mut worst = 0.0f64;
    for (i, image) in inputs.chunks_exact(INPUT_LEN).enumerate() {
        let want = net.forward(image);
        let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (g, w) in got[i * NUM_CLASSES..][..NUM_CLASSES].iter().zip(&want) {
            worst = worst.max((f64::from(*g) - w).abs() / scale);
        }
    }
    worst
}
