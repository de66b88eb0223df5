//! The few vector operations the kernels need, per instruction set.
//!
//! Kernels are generic over [`Isa`] and marked `#[inline(always)]`; each instruction set has
//! one set of entry points (see `kernels.rs`) compiled with its target features, into which
//! the generic code (and these methods) inline. Every method is `unsafe`: the caller
//! guarantees that the pointers are valid for `LANES` floats and that the CPU has the
//! instruction set ([`Isa`] values are only made after detection).

/// A vector instruction set: `LANES` f32 lanes, a microkernel of `MR` rows × `NR` columns
/// (`NR` = 2 vectors).
pub(crate) trait Isa: Copy + Send + Sync + 'static {
    type V: Copy;
    const LANES: usize;
    /// Rows of the GEMM microkernel (register blocking).
    const MR: usize;
    /// Columns of a packed weight panel: two vectors.
    const NR: usize = 2 * Self::LANES;

    unsafe fn zero() -> Self::V;
    unsafe fn splat(x: f32) -> Self::V;
    unsafe fn load(p: *const f32) -> Self::V;
    unsafe fn store(p: *mut f32, v: Self::V);
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V;
    /// `a * b + c` (fused where the instruction set has it).
    unsafe fn mul_add(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
}

/// AVX2 + FMA: 8 lanes, 6 × 16 microkernel (12 accumulators of 16 registers).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(crate) struct Avx2;

#[cfg(target_arch = "x86_64")]
impl Isa for Avx2 {
    type V = std::arch::x86_64::__m256;
    const LANES: usize = 8;
    const MR: usize = 6;

    #[inline(always)]
    unsafe fn zero() -> Self::V {
        unsafe { std::arch::x86_64::_mm256_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self::V {
        unsafe { std::arch::x86_64::_mm256_set1_ps(x) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        unsafe { std::arch::x86_64::_mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        unsafe { std::arch::x86_64::_mm256_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V {
        unsafe { std::arch::x86_64::_mm256_add_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V {
        unsafe { std::arch::x86_64::_mm256_sub_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V {
        unsafe { std::arch::x86_64::_mm256_mul_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V {
        unsafe { std::arch::x86_64::_mm256_max_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn mul_add(a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        unsafe { std::arch::x86_64::_mm256_fmadd_ps(a, b, c) }
    }
}

/// AVX-512F: 16 lanes, 12 × 32 microkernel (24 accumulators of the 32 vector registers,
/// the two `B` vectors and the broadcast `A` value beside them).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(crate) struct Avx512;

#[cfg(target_arch = "x86_64")]
impl Isa for Avx512 {
    type V = std::arch::x86_64::__m512;
    const LANES: usize = 16;
    const MR: usize = 12;

    #[inline(always)]
    unsafe fn zero() -> Self::V {
        unsafe { std::arch::x86_64::_mm512_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self::V {
        unsafe { std::arch::x86_64::_mm512_set1_ps(x) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        unsafe { std::arch::x86_64::_mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        unsafe { std::arch::x86_64::_mm512_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V {
        unsafe { std::arch::x86_64::_mm512_add_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V {
        unsafe { std::arch::x86_64::_mm512_sub_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V {
        unsafe { std::arch::x86_64::_mm512_mul_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V {
        unsafe { std::arch::x86_64::_mm512_max_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn mul_add(a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        unsafe { std::arch::x86_64::_mm512_fmadd_ps(a, b, c) }
    }
}

/// wasm simd128: 4 lanes, no FMA (a multiply and an add), 4 × 8 microkernel.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[derive(Clone, Copy)]
pub(crate) struct Wasm;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl Isa for Wasm {
    type V = std::arch::wasm32::v128;
    const LANES: usize = 4;
    const MR: usize = 4;

    #[inline(always)]
    unsafe fn zero() -> Self::V {
        std::arch::wasm32::f32x4_splat(0.0)
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self::V {
        std::arch::wasm32::f32x4_splat(x)
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        unsafe { std::arch::wasm32::v128_load(p.cast()) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        unsafe { std::arch::wasm32::v128_store(p.cast(), v) }
    }
    #[inline(always)]
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V {
        std::arch::wasm32::f32x4_add(a, b)
    }
    #[inline(always)]
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V {
        std::arch::wasm32::f32x4_sub(a, b)
    }
    #[inline(always)]
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V {
        std::arch::wasm32::f32x4_mul(a, b)
    }
    #[inline(always)]
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V {
        // Both operands are finite here; pmax is the single-instruction max.
        std::arch::wasm32::f32x4_pmax(a, b)
    }
    #[inline(always)]
    unsafe fn mul_add(a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        std::arch::wasm32::f32x4_add(std::arch::wasm32::f32x4_mul(a, b), c)
    }
}

/// wasm simd128 with relaxed SIMD's fused multiply-add (`f32x4.relaxed_madd`: one FMA
/// where the CPU has it, so it may round otherwise than a multiply and an add, within the
/// oracle tests' tolerance); everything else as [`Wasm`]. Only inside the entry points
/// compiled with `relaxed-simd` (`wasm_relaxed` in lib.rs), so that only builds that ask
/// for it (the `relaxed-simd` feature: the edge worker) need an engine that has it.
#[cfg(all(
    target_arch = "wasm32",
    target_feature = "simd128",
    feature = "relaxed-simd"
))]
#[derive(Clone, Copy)]
pub(crate) struct WasmRelaxed;

#[cfg(all(
    target_arch = "wasm32",
    target_feature = "simd128",
    feature = "relaxed-simd"
))]
impl Isa for WasmRelaxed {
    type V = std::arch::wasm32::v128;
    const LANES: usize = Wasm::LANES;
    const MR: usize = Wasm::MR;

    #[inline(always)]
    unsafe fn zero() -> Self::V {
        unsafe { Wasm::zero() }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self::V {
        unsafe { Wasm::splat(x) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        unsafe { Wasm::load(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        unsafe { Wasm::store(p, v) }
    }
    #[inline(always)]
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V {
        unsafe { Wasm::add(a, b) }
    }
    #[inline(always)]
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V {
        unsafe { Wasm::sub(a, b) }
    }
    #[inline(always)]
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V {
        unsafe { Wasm::mul(a, b) }
    }
    #[inline(always)]
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V {
        unsafe { Wasm::max(a, b) }
    }
    #[inline(always)]
    unsafe fn mul_add(a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        std::arch::wasm32::f32x4_relaxed_madd(a, b, c)
    }
}

/// Plain Rust on 4-lane arrays: every other CPU (the compiler vectorises what it can), and
/// x86-64 machines without AVX2/FMA.
#[derive(Clone, Copy)]
pub(crate) struct Portable;

impl Isa for Portable {
    type V = [f32; 4];
    const LANES: usize = 4;
    const MR: usize = 4;

    #[inline(always)]
    unsafe fn zero() -> Self::V {
        [0.0; 4]
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self::V {
        [x; 4]
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        unsafe { p.cast::<[f32; 4]>().read_unaligned() }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        unsafe { p.cast::<[f32; 4]>().write_unaligned(v) }
    }
    #[inline(always)]
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|i| a[i] + b[i])
    }
    #[inline(always)]
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|i| a[i] - b[i])
    }
    #[inline(always)]
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|i| a[i] * b[i])
    }
    #[inline(always)]
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|i| a[i].max(b[i]))
    }
    #[inline(always)]
    unsafe fn mul_add(a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        std::array::from_fn(|i| a[i] * b[i] + c[i])
    }
}
