//! The three kernels of the forward pass, generic over the instruction set:
//! - [`micro`]: `C[M × NR] = A[M × K] · B[K × NR]` (+ bias, ReLU) with `A` read in place
//!   (row stride `lda`) and `B` a packed panel, accumulators in registers;
//! - [`winograd_rows`]: a 3×3 convolution (stride 1, padding 1) as Winograd F(4×4, 3×3)
//!   over NHWC images, with bias, ReLU and an optional 2×2 max-pool fused into the output
//!   transform (an F(4×4) output tile is four whole pooling windows);
//! - [`conv_direct_rows`] / [`dense_panels`]: im2col GEMM for the 3-channel first
//!   convolution, and the dense layers.
//!
//! Callers (`lib.rs`) check every length; inside, indices are computed from those checked
//! sizes and accessed through raw pointers.

use crate::scratch::{Scratch, Slot};
use crate::simd::Isa;

/// Winograd F(4×4, 3×3): 6×6 input tiles, 36 transformed points, 4×4 outputs.
pub(crate) const ALPHA: usize = 6;
pub(crate) const POINTS: usize = ALPHA * ALPHA;
pub(crate) const TILE: usize = 4;

/// One 3×3 convolution in the Winograd domain.
pub(crate) struct WinogradLayer {
    pub ci: usize,
    pub co: usize,
    /// `U = G g Gᵀ` per (output, input) channel, packed `[co / NR][36][ci][NR]`.
    pub u: Vec<f32>,
    pub bias: Vec<f32>,
}

/// A layer computed as a plain GEMM over packed panels: `out = a · W + b`.
pub(crate) struct PackedLayer {
    /// Reduction length (inputs per output).
    pub k: usize,
    /// Output columns, and their count rounded up to whole panels.
    pub n: usize,
    pub n_padded: usize,
    /// `[n_padded / NR][k][NR]`, zero columns past `n`.
    pub panels: Vec<f32>,
    /// `n_padded` long, zeros past `n`.
    pub bias: Vec<f32>,
    /// The same panels as IEEE half-precision bits, where every weight is exactly a half
    /// (the shipped f16 weights) and the kernel converts halves in hardware (AVX2 + F16C);
    /// empty otherwise. Single rows read these: half the bytes, the same products.
    pub panels_f16: Vec<u16>,
}

/// `C[M × NR] = A · B (+ bias) (ReLU)`: `A` row `i` at `a + i·lda`, `B` packed `[k][NR]`,
/// `C` row `i` at `c + i·ldc`.
///
/// # Safety
/// `a` valid for `M` rows of `k` floats at stride `lda`, `b` for `k·NR` floats, `c` for `M`
/// rows of `NR` at stride `ldc`, `bias` null or valid for `NR`; the CPU supports `I`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn micro<I: Isa, const M: usize>(
    a: *const f32,
    lda: usize,
    b: *const f32,
    k: usize,
    c: *mut f32,
    ldc: usize,
    bias: *const f32,
    relu: bool,
) {
    unsafe {
        let mut acc = [[I::zero(); 2]; M];
        let mut ap = a;
        let mut bp = b;
        for _ in 0..k {
            let b0 = I::load(bp);
            let b1 = I::load(bp.add(I::LANES));
            for (i, row) in acc.iter_mut().enumerate() {
                let av = I::splat(*ap.add(i * lda));
                row[0] = I::mul_add(av, b0, row[0]);
                row[1] = I::mul_add(av, b1, row[1]);
            }
            ap = ap.add(1);
            bp = bp.add(I::NR);
        }
        for (i, row) in acc.into_iter().enumerate() {
            epilogue::<I>(row, c.add(i * ldc), bias, relu);
        }
    }
}

/// `c[NR] = a[k] · B (+ bias) (ReLU)` for a single row: four accumulator pairs over
/// interleaved `k`, so the FMA latency does not bind as it would with [`micro`]'s two
/// chains for one row (this is the dense layers' batch-1 case).
///
/// # Safety
/// As [`micro`] with `M = 1`.
#[inline(always)]
unsafe fn gemv<I: Isa>(
    a: *const f32,
    b: *const f32,
    k: usize,
    c: *mut f32,
    bias: *const f32,
    relu: bool,
) {
    unsafe {
        let mut acc = [[I::zero(); 2]; 4];
        let quads = k / 4;
        for q in 0..quads {
            for (u, pair) in acc.iter_mut().enumerate() {
                let kk = q * 4 + u;
                let av = I::splat(*a.add(kk));
                let bp = b.add(kk * I::NR);
                pair[0] = I::mul_add(av, I::load(bp), pair[0]);
                pair[1] = I::mul_add(av, I::load(bp.add(I::LANES)), pair[1]);
            }
        }
        for kk in quads * 4..k {
            let av = I::splat(*a.add(kk));
            let bp = b.add(kk * I::NR);
            acc[0][0] = I::mul_add(av, I::load(bp), acc[0][0]);
            acc[0][1] = I::mul_add(av, I::load(bp.add(I::LANES)), acc[0][1]);
        }
        let mut row = [I::zero(); 2];
        for (h, v) in row.iter_mut().enumerate() {
            *v = I::add(I::add(acc[0][h], acc[1][h]), I::add(acc[2][h], acc[3][h]));
        }
        epilogue::<I>(row, c, bias, relu);
    }
}

/// Adds the bias (when not null), applies ReLU (when asked) and stores one row of `NR`.
///
/// # Safety
/// `c` valid for `NR` floats, `bias` null or valid for `NR`.
#[inline(always)]
pub(crate) unsafe fn epilogue<I: Isa>(row: [I::V; 2], c: *mut f32, bias: *const f32, relu: bool) {
    unsafe {
        let (mut v0, mut v1) = (row[0], row[1]);
        if !bias.is_null() {
            v0 = I::add(v0, I::load(bias));
            v1 = I::add(v1, I::load(bias.add(I::LANES)));
        }
        if relu {
            v0 = I::max(v0, I::zero());
            v1 = I::max(v1, I::zero());
        }
        I::store(c, v0);
        I::store(c.add(I::LANES), v1);
    }
}

/// [`micro`] over `m` rows, `I::MR` at a time ([`gemv`] for a single row).
///
/// # Safety
/// As [`micro`], for `m` rows.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_panel<I: Isa>(
    m: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    k: usize,
    c: *mut f32,
    ldc: usize,
    bias: *const f32,
    relu: bool,
) {
    if m == 1 {
        unsafe { gemv::<I>(a, b, k, c, bias, relu) };
        return;
    }
    let mut i = 0;
    while i < m {
        let rows = I::MR.min(m - i);
        unsafe {
            let (a, c) = (a.add(i * lda), c.add(i * ldc));
            match rows {
                12 => micro::<I, 12>(a, lda, b, k, c, ldc, bias, relu),
                11 => micro::<I, 11>(a, lda, b, k, c, ldc, bias, relu),
                10 => micro::<I, 10>(a, lda, b, k, c, ldc, bias, relu),
                9 => micro::<I, 9>(a, lda, b, k, c, ldc, bias, relu),
                8 => micro::<I, 8>(a, lda, b, k, c, ldc, bias, relu),
                7 => micro::<I, 7>(a, lda, b, k, c, ldc, bias, relu),
                6 => micro::<I, 6>(a, lda, b, k, c, ldc, bias, relu),
                5 => micro::<I, 5>(a, lda, b, k, c, ldc, bias, relu),
                4 => micro::<I, 4>(a, lda, b, k, c, ldc, bias, relu),
                3 => micro::<I, 3>(a, lda, b, k, c, ldc, bias, relu),
                2 => micro::<I, 2>(a, lda, b, k, c, ldc, bias, relu),
                _ => micro::<I, 1>(a, lda, b, k, c, ldc, bias, relu),
            }
        }
        i += rows;
    }
}

/// Bᵀ of F(4×4, 3×3) applied to 6 values (NNPACK's / Lavin's interpolation points 0,
/// ±1, ±2, ∞):
/// `[4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]`.
#[inline(always)]
unsafe fn input_1d<I: Isa>(d: [I::V; ALPHA], four: I::V, five: I::V, two: I::V) -> [I::V; ALPHA] {
    unsafe {
        let a = I::sub(d[4], I::mul(four, d[2])); // d4 − 4 d2
        let b = I::sub(d[3], I::mul(four, d[1])); // d3 − 4 d1
        let c = I::sub(d[4], d[2]);
        let e = I::mul(two, I::sub(d[3], d[1]));
        [
            I::sub(I::mul_add(four, d[0], d[4]), I::mul(five, d[2])),
            I::add(a, b),
            I::sub(a, b),
            I::add(c, e),
            I::sub(c, e),
            I::sub(I::mul_add(four, d[1], d[5]), I::mul(five, d[3])),
        ]
    }
}

/// Aᵀ of F(4×4, 3×3) applied to 6 values:
/// `[1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]`.
#[inline(always)]
unsafe fn output_1d<I: Isa>(m: [I::V; ALPHA], two: I::V, four: I::V, eight: I::V) -> [I::V; TILE] {
    unsafe {
        let (s1, s2) = (I::add(m[1], m[2]), I::add(m[3], m[4]));
        let (t1, t2) = (I::sub(m[1], m[2]), I::sub(m[3], m[4]));
        [
            I::add(I::add(m[0], s1), s2),
            I::mul_add(two, t2, t1),
            I::mul_add(four, s2, s1),
            I::add(I::mul_add(eight, t2, t1), m[5]),
        ]
    }
}

/// Output rows `4·ty0 .. 4·ty1` (pooled: rows `2·ty0 .. 2·ty1`) of a 3×3 convolution with
/// padding 1 over one NHWC image `h × w × ci`, bias and ReLU applied, max-pooled 2×2 when
/// `pool`. `out` holds exactly those rows (NHWC, `co` channels).
///
/// # Safety
/// `input.len() == h·w·ci`, `h` and `w` multiples of 4, `ty0 ≤ ty1 ≤ h/4`, `out` as
/// described, `ci` a multiple of `I::LANES`, `co` of `I::NR`, `layer.u`/`layer.bias` packed
/// for `I`; the CPU supports `I`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn winograd_rows<I: Isa>(
    layer: &WinogradLayer,
    input: &[f32],
    h: usize,
    w: usize,
    ty0: usize,
    ty1: usize,
    pool: bool,
    out: &mut [f32],
) {
    let (ci, co, nr, lanes) = (layer.ci, layer.co, I::NR, I::LANES);
    let tw = w / TILE;
    let (first, last) = (ty0 * tw, ty1 * tw);
    // Tiles per block: the block's transformed inputs (36 × tiles × ci floats) stay within
    // about 160 KiB of L2 next to one panel of weights and products.
    let tiles = (40 * 1024 / (POINTS * ci)).max(I::MR);
    let mut v = Scratch::take(Slot::WinogradInput, POINTS * tiles * ci);
    let mut m = Scratch::take(Slot::WinogradProducts, POINTS * tiles * nr);
    let (vp, mp, inp, outp) = (
        v.as_mut_ptr(),
        m.as_mut_ptr(),
        input.as_ptr(),
        out.as_mut_ptr(),
    );
    let (two, four, five, eight) =
        unsafe { (I::splat(2.0), I::splat(4.0), I::splat(5.0), I::splat(8.0)) };
    let mut b0 = first;
    while b0 < last {
        let tb = tiles.min(last - b0);
        // Input transform V = Bᵀ d B, vectorised over channels; zero padding at the borders.
        for ti in 0..tb {
            let (ty, tx) = ((b0 + ti) / tw, (b0 + ti) % tw);
            let mut c = 0;
            while c < ci {
                unsafe {
                    let mut d = [[I::zero(); ALPHA]; ALPHA];
                    for (r, row) in d.iter_mut().enumerate() {
                        let y = (TILE * ty + r).wrapping_sub(1);
                        if y >= h {
                            continue;
                        }
                        for (s, cell) in row.iter_mut().enumerate() {
                            let x = (TILE * tx + s).wrapping_sub(1);
                            if x < w {
                                *cell = I::load(inp.add((y * w + x) * ci + c));
                            }
                        }
                    }
                    // Columns, then rows.
                    // No closures here (`array::from_fn` and the like): they compile
                    // without this entry point's target features and stop the intrinsics
                    // from inlining.
                    let mut t = [[I::zero(); ALPHA]; ALPHA];
                    #[allow(clippy::needless_range_loop)]
                    for s in 0..ALPHA {
                        let mut col = [I::zero(); ALPHA];
                        for r in 0..ALPHA {
                            col[r] = d[r][s];
                        }
                        let col = input_1d::<I>(col, four, five, two);
                        for r in 0..ALPHA {
                            t[r][s] = col[r];
                        }
                    }
                    for (r, tr) in t.iter().enumerate() {
                        let row = input_1d::<I>(*tr, four, five, two);
                        for (s, val) in row.into_iter().enumerate() {
                            I::store(vp.add(((r * ALPHA + s) * tb + ti) * ci + c), val);
                        }
                    }
                }
                c += lanes;
            }
        }
        // Per panel of NR output channels: 36 GEMMs, then the output transform.
        for p in 0..co / nr {
            for xi in 0..POINTS {
                unsafe {
                    gemm_panel::<I>(
                        tb,
                        vp.add(xi * tb * ci),
                        ci,
                        layer.u.as_ptr().add((p * POINTS + xi) * ci * nr),
                        ci,
                        mp.add(xi * tb * nr),
                        nr,
                        std::ptr::null(),
                        false,
                    );
                }
            }
            for ti in 0..tb {
                let (ty, tx) = ((b0 + ti) / tw, (b0 + ti) % tw);
                for half in 0..2 {
                    let off = half * lanes;
                    let ch = p * nr + off;
                    unsafe {
                        // Y = Aᵀ M A: columns (6 → 4 rows), then rows (6 → 4 columns).
                        let mut q = [[I::zero(); ALPHA]; TILE];
                        #[allow(clippy::needless_range_loop)]
                        for s in 0..ALPHA {
                            let mut col = [I::zero(); ALPHA];
                            for r in 0..ALPHA {
                                col[r] = I::load(mp.add(((r * ALPHA + s) * tb + ti) * nr + off));
                            }
                            let col = output_1d::<I>(col, two, four, eight);
                            for i in 0..TILE {
                                q[i][s] = col[i];
                            }
                        }
                        let bias = I::load(layer.bias.as_ptr().add(ch));
                        let zero = I::zero();
                        let mut y = [[zero; TILE]; TILE];
                        for (yi, qi) in y.iter_mut().zip(q.iter()) {
                            let row = output_1d::<I>(*qi, two, four, eight);
                            for (yij, val) in yi.iter_mut().zip(row) {
                                *yij = I::max(I::add(val, bias), zero);
                            }
                        }
                        if pool {
                            // The 4×4 tile is four 2×2 pooling windows.
                            for py in 0..2 {
                                for px in 0..2 {
                                    let (a, b) = (y[2 * py][2 * px], y[2 * py][2 * px + 1]);
                                    let (c, d) = (y[2 * py + 1][2 * px], y[2 * py + 1][2 * px + 1]);
                                    let (oy, ox) = (2 * (ty - ty0) + py, 2 * tx + px);
                                    I::store(
                                        outp.add((oy * (w / 2) + ox) * co + ch),
                                        I::max(I::max(a, b), I::max(c, d)),
                                    );
                                }
                            }
                        } else {
                            for (i, yi) in y.iter().enumerate() {
                                for (j, val) in yi.iter().enumerate() {
                                    let (oy, ox) = (TILE * (ty - ty0) + i, TILE * tx + j);
                                    I::store(outp.add((oy * w + ox) * co + ch), *val);
                                }
                            }
                        }
                    }
                }
            }
        }
        b0 += tb;
    }
}

/// Output rows `y0 .. y1` of a 3×3 convolution with padding 1 (bias, ReLU) over one NCHW
/// image `c × h × w` with few channels, as an im2col GEMM; `out` holds those rows (NHWC).
///
/// # Safety
/// `input.len() == c·h·w`, `layer.k == c·9`, `y0 ≤ y1 ≤ h`, `out.len() == (y1−y0)·w·n`
/// with `layer.n == layer.n_padded`; the CPU supports `I`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn conv_direct_rows<I: Isa>(
    layer: &PackedLayer,
    input: &[f32],
    c: usize,
    h: usize,
    w: usize,
    y0: usize,
    y1: usize,
    out: &mut [f32],
) {
    let k = layer.k;
    let rows = (y1 - y0) * w;
    // Every entry is written (zeros for the padding): the buffer holds an earlier call's.
    let mut cols = Scratch::take(Slot::Im2col, rows * k);
    for y in y0..y1 {
        for x in 0..w {
            let row = &mut cols[((y - y0) * w + x) * k..][..k];
            for ch in 0..c {
                for ky in 0..3 {
                    let yy = (y + ky).wrapping_sub(1);
                    for kx in 0..3 {
                        let xx = (x + kx).wrapping_sub(1);
                        row[ch * 9 + ky * 3 + kx] = if yy < h && xx < w {
                            input[(ch * h + yy) * w + xx]
                        } else {
                            0.0
                        };
                    }
                }
            }
        }
    }
    let nr = I::NR;
    for p in 0..layer.n_padded / nr {
        unsafe {
            gemm_panel::<I>(
                rows,
                cols.as_ptr(),
                k,
                layer.panels.as_ptr().add(p * k * nr),
                k,
                out.as_mut_ptr().add(p * nr),
                layer.n_padded,
                layer.bias.as_ptr().add(p * nr),
                true,
            );
        }
    }
}

/// Panels `p0 .. p1` of a dense layer over `m` rows of `a` (`m × k`): `out` is panel-major,
/// `[p1 − p0][m][NR]`.
///
/// # Safety
/// `a.len() == m·k` with `k == layer.k`, `p1 ≤ layer.n_padded / NR`, `out.len() ==
/// (p1 − p0)·m·NR`; the CPU supports `I`.
#[inline(always)]
pub(crate) unsafe fn dense_panels<I: Isa>(
    layer: &PackedLayer,
    a: &[f32],
    m: usize,
    p0: usize,
    p1: usize,
    relu: bool,
    out: &mut [f32],
) {
    let (k, nr) = (layer.k, I::NR);
    for p in p0..p1 {
        unsafe {
            gemm_panel::<I>(
                m,
                a.as_ptr(),
                k,
                layer.panels.as_ptr().add(p * k * nr),
                k,
                out.as_mut_ptr().add((p - p0) * m * nr),
                nr,
                layer.bias.as_ptr().add(p * nr),
                relu,
            );
        }
    }
}
