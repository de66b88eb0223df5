//! The seed CNN's forward pass on CPU, fast: what `lookout-model` runs for its CPU backend.
//!
//! burn defines, trains and loads the network (`lookout-model`); this crate takes the loaded
//! parameters once, repacks them into a [`Plan`], and runs inference only:
//! - conv 1 (3 → 32 channels) as an im2col GEMM;
//! - convs 2–4 (3×3, 32/64 channels) as Winograd F(4×4, 3×3) — 36 multiplications per 4×4
//!   outputs instead of 144 — with bias, ReLU and the 2×2 max-pool fused into the output
//!   transform, on channels-last (NHWC) activations;
//! - the dense layers as GEMMs over packed weight panels (fc1's rows permuted once so the
//!   NHWC activations need no transpose).
//!
//! Every GEMM runs one register-blocked microkernel, compiled per instruction set: AVX2+FMA
//! (detected at run time on x86-64), wasm simd128 (the page, the edge worker), and portable
//! Rust elsewhere. Natively the work is split over rayon's threads: across images for a
//! batch, across rows of each layer for a single image, the whole pass running inside the
//! pool. Activations and transform buffers are kept per thread between calls (`scratch`).

mod kernels;
mod scratch;
mod simd;

use kernels::{PackedLayer, WinogradLayer};
use scratch::{Scratch, Slot};

/// Input images: 3 channels of 32 × 32, NCHW, already normalised.
pub const INPUT_SIZE: usize = 32;
pub const INPUT_CHANNELS: usize = 3;
pub const INPUT_LEN: usize = INPUT_CHANNELS * INPUT_SIZE * INPUT_SIZE;
pub const NUM_CLASSES: usize = 10;

/// Side of the last feature map (two 2×2 pools).
const FEATURE_SIZE: usize = INPUT_SIZE / 4;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CpuError {
    #[error("{name}: {got} values, the network needs {expected}")]
    Shape {
        name: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("{0}")]
    Unsupported(String),
    #[error("input has {0} floats, not a non-zero multiple of {INPUT_LEN}")]
    Input(usize),
}

/// One convolution's parameters in burn's layout: weight `[co][ci][3][3]`, bias `[co]`.
#[derive(Clone, Copy)]
pub struct ConvParams<'a> {
    pub weight: &'a [f32],
    pub bias: &'a [f32],
    pub in_channels: usize,
    pub out_channels: usize,
}

/// One linear layer's parameters in burn's layout: weight `[inputs][outputs]`, bias
/// `[outputs]`.
#[derive(Clone, Copy)]
pub struct DenseParams<'a> {
    pub weight: &'a [f32],
    pub bias: &'a [f32],
    pub inputs: usize,
    pub outputs: usize,
}

/// The network's parameters: conv 1–4, fc1 (on the NCHW-flattened features, as burn
/// flattens them), fc2.
#[derive(Clone, Copy)]
pub struct Params<'a> {
    pub conv: [ConvParams<'a>; 4],
    pub fc1: DenseParams<'a>,
    pub fc2: DenseParams<'a>,
}

/// The instruction set a [`Plan`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// x86-64 with AVX-512F (16 lanes, fused multiply-add, 12 × 32 microkernel, halves
    /// converted in hardware).
    Avx512,
    /// x86-64 with AVX2, FMA and F16C (8 lanes, fused multiply-add, 6 × 16 microkernel).
    Avx2,
    /// wasm32 with simd128 (4 lanes, 4 × 8 microkernel); with relaxed SIMD's fused
    /// multiply-add in builds with the `relaxed-simd` feature ([`Kernel::name`] says which).
    Wasm,
    /// Plain Rust (4 × 8 microkernel over arrays the compiler vectorises).
    Portable,
}

impl Kernel {
    /// Every kernel, widest first.
    pub const ALL: [Kernel; 4] = [Kernel::Avx512, Kernel::Avx2, Kernel::Wasm, Kernel::Portable];

    /// The kernel plans use: `LOOKOUT_CPU_KERNEL` (`avx512`, `avx2`, `portable`) when it
    /// names one this CPU runs (to compare them on one machine), else the widest this CPU
    /// runs ([`Kernel::best`]).
    pub fn detect() -> Self {
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(k) = std::env::var("LOOKOUT_CPU_KERNEL")
            .ok()
            .and_then(|v| Kernel::from_name(&v))
            .filter(|k| k.is_supported())
        {
            return k;
        }
        Kernel::best()
    }

    /// The widest kernel this CPU runs.
    pub fn best() -> Self {
        Kernel::ALL
            .into_iter()
            .find(|k| k.is_supported())
            .unwrap_or(Kernel::Portable)
    }

    /// A kernel by [`Kernel::name`] or short name (`avx512`, `avx2`, `wasm`, `portable`).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "avx512" | "avx512f" | "avx-512" => Kernel::Avx512,
            "avx2" | "avx2+fma" => Kernel::Avx2,
            "wasm" | "wasm-simd128" | "wasm-relaxed-simd" => Kernel::Wasm,
            "portable" => Kernel::Portable,
            _ => return None,
        })
    }

    /// Whether this machine (and build) can run the kernel.
    pub fn is_supported(self) -> bool {
        match self {
            Kernel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                    && std::arch::is_x86_feature_detected!("f16c")
            }
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Kernel::Wasm => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Avx512 => "avx512f",
            Kernel::Avx2 => "avx2+fma",
            Kernel::Wasm if cfg!(feature = "relaxed-simd") => "wasm-relaxed-simd",
            Kernel::Wasm => "wasm-simd128",
            Kernel::Portable => "portable",
        }
    }

    /// Whether the kernel reads fc1 as halves for single rows (when every weight is one).
    fn reads_halves(self) -> bool {
        matches!(self, Kernel::Avx2 | Kernel::Avx512)
    }

    fn lanes(self) -> usize {
        match self {
            Kernel::Avx512 => 16,
            Kernel::Avx2 => 8,
            Kernel::Wasm | Kernel::Portable => 4,
        }
    }

    /// Columns of a packed panel.
    fn nr(self) -> usize {
        2 * self.lanes()
    }
}

/// Expands to a `match` on the plan's kernel that runs the generic kernel function `$f`
/// for that instruction set (on x86-64 through an entry point compiled with AVX2 and FMA).
macro_rules! dispatch {
    ($kernel:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match $kernel {
            // SAFETY (all arms): a plan holds a kernel only where `Kernel::is_supported`, and
            // the callers pass the lengths the kernels' contracts ask for.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { avx512::$f($($arg),*) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { avx2::$f($($arg),*) },
            #[cfg(all(
                target_arch = "wasm32",
                target_feature = "simd128",
                feature = "relaxed-simd"
            ))]
            Kernel::Wasm => unsafe { wasm_relaxed::$f($($arg),*) },
            #[cfg(all(
                target_arch = "wasm32",
                target_feature = "simd128",
                not(feature = "relaxed-simd")
            ))]
            Kernel::Wasm => unsafe { kernels::$f::<simd::Wasm>($($arg),*) },
            _ => unsafe { kernels::$f::<simd::Portable>($($arg),*) },
        }
    };
}

/// The convolutions' entry points for one instruction set: the generic kernels compiled
/// with its target features (the generic code, and [`simd::Isa`]'s methods, inline into
/// these).
#[cfg(any(
    target_arch = "x86_64",
    all(
        target_arch = "wasm32",
        target_feature = "simd128",
        feature = "relaxed-simd"
    )
))]
macro_rules! conv_entry_points {
    ($isa:ty, $features:literal) => {
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        pub(crate) unsafe fn winograd_rows(
            layer: &WinogradLayer,
            input: &[f32],
            h: usize,
            w: usize,
            ty0: usize,
            ty1: usize,
            pool: bool,
            out: &mut [f32],
        ) {
            unsafe { kernels::winograd_rows::<$isa>(layer, input, h, w, ty0, ty1, pool, out) }
        }

        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        pub(crate) unsafe fn conv_direct_rows(
            layer: &PackedLayer,
            input: &[f32],
            c: usize,
            h: usize,
            w: usize,
            y0: usize,
            y1: usize,
            out: &mut [f32],
        ) {
            unsafe { kernels::conv_direct_rows::<$isa>(layer, input, c, h, w, y0, y1, out) }
        }
    };
}

/// One x86-64 instruction set's entry points: the convolutions', and for a single row over
/// fc1's half-precision panels (see [`PackedLayer::panels_f16`]) the module's own
/// `gemv_f16`, else the generic dense kernel.
#[cfg(target_arch = "x86_64")]
macro_rules! x86_entry_points {
    ($isa:ty, $features:literal, $nr:literal) => {
        conv_entry_points!($isa, $features);

        /// A single row over half-precision panels, else the generic kernel.
        #[target_feature(enable = $features)]
        pub(crate) unsafe fn dense_panels(
            layer: &PackedLayer,
            a: &[f32],
            m: usize,
            p0: usize,
            p1: usize,
            relu: bool,
            out: &mut [f32],
        ) {
            if m != 1 || layer.panels_f16.is_empty() {
                return unsafe { kernels::dense_panels::<$isa>(layer, a, m, p0, p1, relu, out) };
            }
            let (k, nr) = (layer.k, $nr);
            for p in p0..p1 {
                unsafe {
                    gemv_f16(
                        a.as_ptr(),
                        layer.panels_f16.as_ptr().add(p * k * nr),
                        k,
                        out.as_mut_ptr().add((p - p0) * nr),
                        layer.bias.as_ptr().add(p * nr),
                        relu,
                    )
                }
            }
        }
    };
}

/// The kernels compiled with relaxed SIMD (the generic code and [`simd::WasmRelaxed`]'s
/// methods inline into these, as the x86-64 ones do into theirs).
#[cfg(all(
    target_arch = "wasm32",
    target_feature = "simd128",
    feature = "relaxed-simd"
))]
mod wasm_relaxed {
    use super::kernels::{self, PackedLayer, WinogradLayer};
    use super::simd::WasmRelaxed;

    conv_entry_points!(WasmRelaxed, "simd128,relaxed-simd");

    #[target_feature(enable = "simd128,relaxed-simd")]
    pub(crate) unsafe fn dense_panels(
        layer: &PackedLayer,
        a: &[f32],
        m: usize,
        p0: usize,
        p1: usize,
        relu: bool,
        out: &mut [f32],
    ) {
        unsafe { kernels::dense_panels::<WasmRelaxed>(layer, a, m, p0, p1, relu, out) }
    }
}

/// The kernels compiled with AVX2, FMA and F16C.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::kernels::{self, PackedLayer, WinogradLayer};
    use super::simd::Avx2;

    x86_entry_points!(Avx2, "avx2,fma,f16c", 16);

    /// `c[16] = a[k] · B` with `B` a panel of halves `[k][16]`, converted by F16C.
    #[inline(always)]
    unsafe fn gemv_f16(
        a: *const f32,
        b: *const u16,
        k: usize,
        c: *mut f32,
        bias: *const f32,
        relu: bool,
    ) {
        use std::arch::x86_64::*;
        unsafe {
            let mut acc = [[_mm256_setzero_ps(); 2]; 4];
            let quads = k / 4;
            for q in 0..quads {
                for (u, pair) in acc.iter_mut().enumerate() {
                    let kk = q * 4 + u;
                    let av = _mm256_set1_ps(*a.add(kk));
                    let bp = b.add(kk * 16);
                    pair[0] =
                        _mm256_fmadd_ps(av, _mm256_cvtph_ps(_mm_loadu_si128(bp.cast())), pair[0]);
                    pair[1] = _mm256_fmadd_ps(
                        av,
                        _mm256_cvtph_ps(_mm_loadu_si128(bp.add(8).cast())),
                        pair[1],
                    );
                }
            }
            for kk in quads * 4..k {
                let av = _mm256_set1_ps(*a.add(kk));
                let bp = b.add(kk * 16);
                acc[0][0] =
                    _mm256_fmadd_ps(av, _mm256_cvtph_ps(_mm_loadu_si128(bp.cast())), acc[0][0]);
                acc[0][1] = _mm256_fmadd_ps(
                    av,
                    _mm256_cvtph_ps(_mm_loadu_si128(bp.add(8).cast())),
                    acc[0][1],
                );
            }
            let mut row = [_mm256_setzero_ps(); 2];
            for (h, v) in row.iter_mut().enumerate() {
                *v = _mm256_add_ps(
                    _mm256_add_ps(acc[0][h], acc[1][h]),
                    _mm256_add_ps(acc[2][h], acc[3][h]),
                );
            }
            kernels::epilogue::<Avx2>(row, c, bias, relu);
        }
    }
}

/// The kernels compiled with AVX-512F.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::kernels::{self, PackedLayer, WinogradLayer};
    use super::simd::Avx512;

    x86_entry_points!(Avx512, "avx512f,avx2,fma", 32);

    /// `c[32] = a[k] · B` with `B` a panel of halves `[k][32]`, converted by `vcvtph2ps`.
    #[inline(always)]
    unsafe fn gemv_f16(
        a: *const f32,
        b: *const u16,
        k: usize,
        c: *mut f32,
        bias: *const f32,
        relu: bool,
    ) {
        use std::arch::x86_64::*;
        unsafe {
            // A macro, not a closure: closures compile without the entry point's target
            // features and the intrinsics would not inline.
            macro_rules! half {
                ($p:expr) => {
                    _mm512_cvtph_ps(_mm256_loadu_si256($p.cast()))
                };
            }
            let mut acc = [[_mm512_setzero_ps(); 2]; 4];
            let quads = k / 4;
            for q in 0..quads {
                for (u, pair) in acc.iter_mut().enumerate() {
                    let kk = q * 4 + u;
                    let av = _mm512_set1_ps(*a.add(kk));
                    let bp = b.add(kk * 32);
                    pair[0] = _mm512_fmadd_ps(av, half!(bp), pair[0]);
                    pair[1] = _mm512_fmadd_ps(av, half!(bp.add(16)), pair[1]);
                }
            }
            for kk in quads * 4..k {
                let av = _mm512_set1_ps(*a.add(kk));
                let bp = b.add(kk * 32);
                acc[0][0] = _mm512_fmadd_ps(av, half!(bp), acc[0][0]);
                acc[0][1] = _mm512_fmadd_ps(av, half!(bp.add(16)), acc[0][1]);
            }
            let mut row = [_mm512_setzero_ps(); 2];
            for (h, v) in row.iter_mut().enumerate() {
                *v = _mm512_add_ps(
                    _mm512_add_ps(acc[0][h], acc[1][h]),
                    _mm512_add_ps(acc[2][h], acc[3][h]),
                );
            }
            kernels::epilogue::<Avx512>(row, c, bias, relu);
        }
    }
}

/// The network repacked for one [`Kernel`].
pub struct Plan {
    kernel: Kernel,
    conv1: PackedLayer,
    conv2: WinogradLayer,
    conv3: WinogradLayer,
    conv4: WinogradLayer,
    fc1: PackedLayer,
    fc2: PackedLayer,
}

impl Plan {
    /// Packs `params` for the best kernel of this CPU.
    pub fn new(params: &Params<'_>) -> Result<Self, CpuError> {
        Self::with_kernel(params, Kernel::detect())
    }

    /// Packs `params` for a given kernel (e.g. [`Kernel::Portable`] to compare against).
    pub fn with_kernel(params: &Params<'_>, kernel: Kernel) -> Result<Self, CpuError> {
        if !kernel.is_supported() {
            return Err(CpuError::Unsupported(format!(
                "kernel {} does not run on this CPU",
                kernel.name()
            )));
        }
        let [c1, c2, c3, c4] = &params.conv;
        let names = ["conv1", "conv2", "conv3", "conv4"];
        let mut channels = INPUT_CHANNELS;
        for (c, name) in params.conv.iter().zip(names) {
            if c.in_channels != channels {
                return Err(CpuError::Unsupported(format!(
                    "{name} takes {} channels after {channels}",
                    c.in_channels
                )));
            }
            check(name, c.weight.len(), c.out_channels * c.in_channels * 9)?;
            check(name, c.bias.len(), c.out_channels)?;
            if c.out_channels % kernel.nr() != 0 {
                return Err(CpuError::Unsupported(format!(
                    "{name}: {} output channels, not a multiple of {}",
                    c.out_channels,
                    kernel.nr()
                )));
            }
            channels = c.out_channels;
        }
        for (c, name) in [(c2, "conv2"), (c3, "conv3"), (c4, "conv4")] {
            if c.in_channels % kernel.lanes() != 0 {
                return Err(CpuError::Unsupported(format!(
                    "{name}: {} input channels, not a multiple of {}",
                    c.in_channels,
                    kernel.lanes()
                )));
            }
        }
        let (fc1, fc2) = (&params.fc1, &params.fc2);
        let spatial = FEATURE_SIZE * FEATURE_SIZE;
        check("fc1 inputs", fc1.inputs, c4.out_channels * spatial)?;
        check("fc1", fc1.weight.len(), fc1.inputs * fc1.outputs)?;
        check("fc1 bias", fc1.bias.len(), fc1.outputs)?;
        check("fc2 inputs", fc2.inputs, fc1.outputs)?;
        check("fc2 outputs", fc2.outputs, NUM_CLASSES)?;
        check("fc2", fc2.weight.len(), fc2.inputs * fc2.outputs)?;
        check("fc2 bias", fc2.bias.len(), fc2.outputs)?;

        let nr = kernel.nr();
        let k1 = c1.in_channels * 9;
        // conv1 as a GEMM: B[k][o] = weight[o][k] with k = (channel, ky, kx).
        let conv1 = pack_dense(k1, c1.out_channels, nr, c1.bias, |k, o| {
            c1.weight[o * k1 + k]
        });
        // fc1 reads NHWC features (s·C + c) where burn flattened NCHW (c·S + s).
        let c = c4.out_channels;
        let mut fc1p = pack_dense(fc1.inputs, fc1.outputs, nr, fc1.bias, |k, o| {
            let (s, ch) = (k / c, k % c);
            fc1.weight[(ch * spatial + s) * fc1.outputs + o]
        });
        if kernel.reads_halves() {
            // Only where lossless: every weight is exactly a half.
            fc1p.panels_f16 = fc1p
                .panels
                .iter()
                .map(|&v| half_bits(v))
                .collect::<Option<Vec<u16>>>()
                .unwrap_or_default();
        }
        let fc2p = pack_dense(fc2.inputs, fc2.outputs, nr, fc2.bias, |k, o| {
            fc2.weight[k * fc2.outputs + o]
        });
        Ok(Self {
            kernel,
            conv1,
            conv2: pack_winograd(c2, nr),
            conv3: pack_winograd(c3, nr),
            conv4: pack_winograd(c4, nr),
            fc1: fc1p,
            fc2: fc2p,
        })
    }

    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Whether single images read fc1's weights as halves (every weight exactly a half, on
    /// AVX2 + F16C): lossless, half the bytes of the layer that dominates batch-1 memory
    /// traffic.
    pub fn fc1_reads_halves(&self) -> bool {
        !self.fc1.panels_f16.is_empty()
    }

    /// Logits, [`NUM_CLASSES`] per image, for normalised NCHW images (`[n][3][32][32]`).
    pub fn logits(&self, inputs: &[f32]) -> Result<Vec<f32>, CpuError> {
        if inputs.is_empty() || !inputs.len().is_multiple_of(INPUT_LEN) {
            return Err(CpuError::Input(inputs.len()));
        }
        let n = inputs.len() / INPUT_LEN;
        let feature_len = self.fc1.k;
        in_pool(|| {
            let mut features = Scratch::take(Slot::Features, n * feature_len);
            if n == 1 {
                self.features(inputs, &mut features, true);
            } else {
                par_zip(
                    inputs,
                    INPUT_LEN,
                    &mut features,
                    feature_len,
                    |img, feat| self.features(img, feat, false),
                );
            }
            let hidden = self.dense(&self.fc1, &features, n, true, Slot::Hidden);
            let out = self.dense(&self.fc2, &hidden, n, false, Slot::Logits);
            Ok(out
                .chunks_exact(self.fc2.n_padded)
                .flat_map(|row| &row[..self.fc2.n])
                .copied()
                .collect())
        })
    }

    /// One image's pooled conv4 output (NHWC, `8 × 8 × 64`). `split`: spread each layer's
    /// rows over the threads (one image); otherwise run on this thread (a batch is spread
    /// across images instead).
    fn features(&self, image: &[f32], out: &mut [f32], split: bool) {
        let k = self.kernel;
        let (s1, s2) = (INPUT_SIZE, INPUT_SIZE / 2);
        let (c1, c2, c3) = (self.conv1.n_padded, self.conv2.co, self.conv3.co);

        let mut a1 = Scratch::take(Slot::Conv1, s1 * s1 * c1);
        par_rows(&mut a1, s1, s1 * c1, split, |y0, y1, chunk| {
            let (layer, input, c, h, w, out) = (&self.conv1, image, INPUT_CHANNELS, s1, s1, chunk);
            dispatch!(k, conv_direct_rows(layer, input, c, h, w, y0, y1, out))
        });
        // conv2 + pool → 16 × 16.
        let mut a2 = Scratch::take(Slot::Conv2, s2 * s2 * c2);
        self.winograd(&self.conv2, &a1, s1, true, &mut a2, split);
        let mut a3 = Scratch::take(Slot::Conv3, s2 * s2 * c3);
        self.winograd(&self.conv3, &a2, s2, false, &mut a3, split);
        self.winograd(&self.conv4, &a3, s2, true, out, split);
    }

    fn winograd(
        &self,
        layer: &WinogradLayer,
        input: &[f32],
        size: usize,
        pool: bool,
        out: &mut [f32],
        split: bool,
    ) {
        let k = self.kernel;
        let (h, w) = (size, size);
        // Per row of 4×4 tiles: four output rows, or two pooled ones.
        let row_len = if pool { w * layer.co } else { 4 * w * layer.co };
        par_rows(out, size / 4, row_len, split, |ty0, ty1, out| {
            dispatch!(k, winograd_rows(layer, input, h, w, ty0, ty1, pool, out))
        });
    }

    /// `a (m × k) · W + b`, row-major `m × n_padded`, in this thread's buffer for `slot`.
    fn dense(&self, layer: &PackedLayer, a: &[f32], m: usize, relu: bool, slot: Slot) -> Scratch {
        let k = self.kernel;
        let nr = k.nr();
        let panels = layer.n_padded / nr;
        let mut by_panel = Scratch::take(Slot::DensePanels, panels * m * nr);
        par_rows(&mut by_panel, panels, m * nr, true, |p0, p1, out| {
            dispatch!(k, dense_panels(layer, a, m, p0, p1, relu, out))
        });
        let mut rows = Scratch::take(slot, m * layer.n_padded);
        for (p, panel) in by_panel.chunks_exact(m * nr).enumerate() {
            for (i, vals) in panel.chunks_exact(nr).enumerate() {
                rows[i * layer.n_padded + p * nr..][..nr].copy_from_slice(vals);
            }
        }
        rows
    }
}

fn check(name: &'static str, got: usize, expected: usize) -> Result<(), CpuError> {
    if got == expected {
        Ok(())
    } else {
        Err(CpuError::Shape {
            name,
            expected,
            got,
        })
    }
}

/// A GEMM layer: `B[k][o] = value(k, o)` packed into panels of `nr` columns.
fn pack_dense(
    k: usize,
    n: usize,
    nr: usize,
    bias: &[f32],
    value: impl Fn(usize, usize) -> f32,
) -> PackedLayer {
    let n_padded = n.div_ceil(nr) * nr;
    let mut panels = vec![0.0f32; n_padded * k];
    for p in 0..n_padded / nr {
        for kk in 0..k {
            for j in 0..nr {
                let o = p * nr + j;
                if o < n {
                    panels[(p * k + kk) * nr + j] = value(kk, o);
                }
            }
        }
    }
    let mut b = vec![0.0f32; n_padded];
    b[..n].copy_from_slice(bias);
    PackedLayer {
        k,
        n,
        n_padded,
        panels,
        bias: b,
        panels_f16: Vec::new(),
    }
}

/// The IEEE half-precision bits of `x` when `x` is exactly a half (zero, normal or
/// subnormal), else `None`.
fn half_bits(x: f32) -> Option<u16> {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let man = bits & 0x7f_ffff;
    if exp == 0 && man == 0 {
        return Some(sign);
    }
    if exp == 0 || exp == 0xff {
        return None; // f32 subnormals (far below any half) and non-finite values
    }
    let e = exp - 127;
    if (-14..=15).contains(&e) {
        // Normal half: 10 mantissa bits.
        return (man & 0x1fff == 0).then(|| sign | (((e + 15) as u16) << 10) | (man >> 13) as u16);
    }
    if (-24..-14).contains(&e) {
        // Subnormal half: x = m · 2⁻²⁴ with m < 1024.
        let shift = (-(e + 1)) as u32;
        let full = man | 0x80_0000;
        return (full & ((1 << shift) - 1) == 0).then(|| sign | (full >> shift) as u16);
    }
    None
}

/// A 3×3 convolution's Winograd weights `U = G g Gᵀ` (computed in f64), packed
/// `[co / nr][36][ci][nr]`.
fn pack_winograd(c: &ConvParams<'_>, nr: usize) -> WinogradLayer {
    /// G of F(4×4, 3×3), matching the transforms in `kernels.rs`.
    const G: [[f64; 3]; 6] = [
        [1.0 / 4.0, 0.0, 0.0],
        [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
        [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
        [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
        [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
        [0.0, 0.0, 1.0],
    ];
    const A: usize = kernels::ALPHA;
    let (ci, co) = (c.in_channels, c.out_channels);
    let mut u = vec![0.0f32; kernels::POINTS * ci * co];
    for o in 0..co {
        for i in 0..ci {
            let g = &c.weight[(o * ci + i) * 9..][..9];
            // Gg: 6 × 3, then (Gg)Gᵀ: 6 × 6.
            let mut gg = [[0.0f64; 3]; A];
            for (r, row) in gg.iter_mut().enumerate() {
                for (col, v) in row.iter_mut().enumerate() {
                    *v = (0..3).map(|t| G[r][t] * f64::from(g[t * 3 + col])).sum();
                }
            }
            let (p, j) = (o / nr, o % nr);
            for r in 0..A {
                for s in 0..A {
                    let val: f64 = (0..3).map(|t| gg[r][t] * G[s][t]).sum();
                    u[((p * kernels::POINTS + r * A + s) * ci + i) * nr + j] = val as f32;
                }
            }
        }
    }
    WinogradLayer {
        ci,
        co,
        u,
        bias: c.bias.to_vec(),
    }
}

/// Calls `f(u0, u1, chunk)` for contiguous ranges of `units` units of `unit_len` floats of
/// `out`, on rayon's threads when `split` (one range per thread), else once.
fn par_rows<F>(out: &mut [f32], units: usize, unit_len: usize, split: bool, f: F)
where
    F: Fn(usize, usize, &mut [f32]) + Sync,
{
    debug_assert_eq!(out.len(), units * unit_len);
    let parts = if split { threads().min(units) } else { 1 };
    let per = units.div_ceil(parts.max(1)).max(1);
    #[cfg(not(target_arch = "wasm32"))]
    if parts > 1 {
        use rayon::prelude::*;
        out.par_chunks_mut(per * unit_len)
            .enumerate()
            .for_each(|(i, chunk)| f(i * per, (i * per + per).min(units), chunk));
        return;
    }
    for (i, chunk) in out.chunks_mut(per * unit_len).enumerate() {
        f(i * per, (i * per + per).min(units), chunk);
    }
}

/// `f(input chunk, output chunk)` for each pair, on rayon's threads natively.
fn par_zip<F>(input: &[f32], in_len: usize, out: &mut [f32], out_len: usize, f: F)
where
    F: Fn(&[f32], &mut [f32]) + Sync,
{
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(out_len)
            .zip(input.par_chunks(in_len))
            .for_each(|(o, i)| f(i, o));
    }
    #[cfg(target_arch = "wasm32")]
    for (o, i) in out.chunks_mut(out_len).zip(input.chunks(in_len)) {
        f(i, o);
    }
}

/// Runs `f` on one of rayon's threads natively (on this one when it already is one), so that
/// a pass's fork-joins (five for one image) are joins inside the pool, not five hand-offs
/// from a thread outside it, each a wake-up of the pool and then of the caller: batch 1
/// took 0.25–0.28 ms this way against 0.32–0.36 ms (2 threads, AMD EPYC with AVX-512).
/// With one thread nothing is split, and the hand-off alone cost 0.08–0.1 ms: the caller
/// runs the pass itself.
fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    #[cfg(not(target_arch = "wasm32"))]
    if threads() > 1 {
        return rayon::scope(|_| f());
    }
    f()
}

fn threads() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    return rayon::current_num_threads();
    #[cfg(target_arch = "wasm32")]
    1
}

/// The value of half-precision bits (for tests).
#[cfg(test)]
fn half_value(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0f32 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let man = f32::from(h & 0x3ff);
    match exp {
        0 => sign * man * 2f32.powi(-24),
        e => sign * (1.0 + man / 1024.0) * 2f32.powi(e - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_finite_half_round_trips_and_nothing_else_is_taken() {
        for h in 0..=u16::MAX {
            if (h >> 10) & 0x1f == 0x1f {
                continue; // infinities and NaNs
            }
            let v = half_value(h);
            // −0 and +0 both map to their own bits.
            assert_eq!(half_bits(v), Some(h), "{h:#06x} = {v:e}");
            // The next f32 above a half is not a half (mantissa bits below the half's).
            if v != 0.0 {
                assert_eq!(half_bits(f32::from_bits(v.to_bits() + 1)), None, "{v:e}");
            }
        }
        for v in [1e-9f32, 65520.0, 1.0 / 3.0, f32::INFINITY, f32::NAN] {
            assert_eq!(half_bits(v), None, "{v:e}");
        }
    }
}
