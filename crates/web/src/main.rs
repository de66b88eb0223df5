//! Lookout's web page. See `app.rs`; natively this binary does nothing.
#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod gpu;

fn main() {
    #[cfg(target_arch = "wasm32")]
    app::start();
}
