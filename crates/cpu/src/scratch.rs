//! Per-thread buffers the forward pass reuses from one call to the next.
//!
//! One image's pass needs about 0.8 MB of activations and transform buffers. Allocated and
//! freed on every call, they went back to the system and came back as fresh pages: a third
//! of a single-threaded batch-1 pass was the kernel's page faults and zeroing (`perf
//! record`, AMD EPYC with AVX-512). A [`Scratch`] takes this thread's buffer for one
//! [`Slot`] and gives it back when dropped; a nested use of the same slot on the same thread
//! (rayon may run another pass's job while this one waits in a join) finds the slot empty
//! and allocates its own.
//!
//! The contents are whatever the previous user left: every caller writes what it reads.

use std::cell::Cell;
use std::ops::{Deref, DerefMut};

/// What a buffer is for: one buffer per slot and thread.
#[derive(Clone, Copy)]
pub(crate) enum Slot {
    /// The pooled conv4 output of every image of a call (fc1's input).
    Features,
    /// conv1's, conv2's (pooled) and conv3's outputs for one image.
    Conv1,
    Conv2,
    Conv3,
    /// conv1's im2col matrix.
    Im2col,
    /// A Winograd block's transformed inputs and its products for one panel.
    WinogradInput,
    WinogradProducts,
    /// A dense layer's output panel by panel, then fc1's and fc2's outputs row by row.
    DensePanels,
    Hidden,
    Logits,
}

const SLOTS: usize = 10;

/// Buffers larger than this (in floats: 16 MB) are freed after use rather than kept: a
/// batch of thousands of images should not pin its features for the thread's lifetime.
const KEEP_AT_MOST: usize = 4 << 20;

thread_local! {
    static FREE: [Cell<Vec<f32>>; SLOTS] = Default::default();
}

/// `len` floats of this thread's buffer for one slot, given back when dropped.
pub(crate) struct Scratch {
    slot: Slot,
    buf: Vec<f32>,
    len: usize,
}

impl Scratch {
    /// The slot's buffer, grown to `len` floats; the values in it are unspecified (zeros
    /// where it grew).
    pub(crate) fn take(slot: Slot, len: usize) -> Self {
        let mut buf = FREE
            .try_with(|free| free[slot as usize].take())
            .unwrap_or_default();
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
        Self { slot, buf, len }
    }
}

impl Deref for Scratch {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.buf[..self.len]
    }
}

impl DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.buf[..self.len]
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        if buf.len() <= KEEP_AT_MOST {
            // After the thread's locals are gone (thread exit) the buffer is just freed.
            let _ = FREE.try_with(|free| free[self.slot as usize].set(buf));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_comes_back_to_its_slot_and_a_nested_take_gets_its_own() {
        let first_ptr = {
            let mut a = Scratch::take(Slot::Conv1, 100);
            a.fill(7.0);
            // The same slot while it is taken: a separate, new buffer.
            let b = Scratch::take(Slot::Conv1, 50);
            assert_eq!(b.len(), 50);
            assert!(b.iter().all(|&v| v == 0.0));
            assert_ne!(a.as_ptr(), b.as_ptr());
            drop(b);
            a.as_ptr()
        };
        // The last one dropped is what the slot holds: `a`, with its values.
        let again = Scratch::take(Slot::Conv1, 80);
        assert_eq!(again.as_ptr(), first_ptr);
        assert_eq!(again.len(), 80);
        assert!(again.iter().all(|&v| v == 7.0));
    }

    #[test]
    fn huge_buffers_are_not_kept() {
        let kept = || {
            FREE.with(|free| {
                let v = free[Slot::Features as usize].take();
                let len = v.len();
                free[Slot::Features as usize].set(v);
                len
            })
        };
        drop(Scratch::take(Slot::Features, 1000));
        assert_eq!(kept(), 1000);
        drop(Scratch::take(Slot::Features, KEEP_AT_MOST + 1));
        assert_eq!(kept(), 0);
    }
}
