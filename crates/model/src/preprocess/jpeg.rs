//! Large JPEGs decoded at a DCT scale (what libjpeg calls `scale_denom`): the network sees
//! 32×32, so a 24-megapixel photo need not be decoded to 24 million pixels first. At 1/8
//! each 8×8 block becomes its own mean (the block's DC coefficient), which is what the
//! antialiasing filter that follows would have averaged anyway; the input comes out within
//! a unit or two of the full decode (tested below), at a fraction of the memory and time.
//! This is what lets the 128 MB edge isolate take the same camera photos as the server.
//!
//! `jpeg-decoder` does the decoding (`zune-jpeg`, the `image` crate's JPEG decoder, has no
//! scaled decoding). Its frame is checked here first, from the header: only 8-bit Huffman
//! frames (baseline, extended, progressive) of 1, 3 or 4 components take this path, and a
//! progressive frame's coefficients — kept whole until its last scan, whatever the scale —
//! must fit the allocation limit.

use std::io::Cursor;

use image::RgbImage;
use image::metadata::Orientation;

use super::{DecodeLimits, INPUT_SIZE, PreprocessError};

/// The scaled picture keeps at least this many pixels a side (8× the network's input), so
/// the last shrink to 32×32 is still an antialiased average of many pixels.
const MIN_SCALED_SIDE: u32 = 8 * INPUT_SIZE as u32;

/// A JPEG frame's header (its SOF segment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Frame {
    /// The SOF marker's second byte: 0xC0 baseline, 0xC1 extended, 0xC2 progressive, ….
    pub marker: u8,
    pub precision: u8,
    pub width: u32,
    pub height: u32,
    /// Each component's horizontal and vertical sampling factors.
    pub sampling: Vec<(u8, u8)>,
}

impl Frame {
    /// Whether `jpeg-decoder` decodes this frame at a scale into a pixel format handled here.
    fn scalable(&self) -> bool {
        matches!(self.marker, 0xC0..=0xC2)
            && self.precision == 8
            && matches!(self.sampling.len(), 1 | 3 | 4)
            && self
                .sampling
                .iter()
                .all(|&(h, v)| (1..=4).contains(&h) && (1..=4).contains(&v))
            && self.width > 0
            && self.height > 0
    }

    fn progressive(&self) -> bool {
        self.marker == 0xC2
    }

    /// Bytes of DCT coefficients a progressive decode keeps until its last scan: 64 `i16`
    /// per 8×8 block of every component, blocks counted over whole MCUs.
    fn coefficient_bytes(&self) -> u64 {
        let h_max = u64::from(self.sampling.iter().map(|s| s.0).max().unwrap_or(1));
        let v_max = u64::from(self.sampling.iter().map(|s| s.1).max().unwrap_or(1));
        let mcus_x = u64::from(self.width).div_ceil(8 * h_max);
        let mcus_y = u64::from(self.height).div_ceil(8 * v_max);
        self.sampling
            .iter()
            .map(|&(h, v)| mcus_x * u64::from(h) * mcus_y * u64::from(v) * 64 * 2)
            .sum()
    }
}

/// The first frame header of a JPEG, read from its markers; `None` when there is none
/// before the first scan (or the bytes are no JPEG).
pub(super) fn frame(bytes: &[u8]) -> Option<Frame> {
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2;
    loop {
        // Markers start with 0xFF, which may be repeated as fill.
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        while *bytes.get(at)? == 0xFF {
            at += 1;
        }
        let marker = *bytes.get(at)?;
        at += 1;
        match marker {
            // Standalone markers: no length.
            0x01 | 0xD0..=0xD7 => continue,
            // End of image or start of scan before any frame.
            0xD9 | 0xDA => return None,
            _ => {}
        }
        let length = usize::from(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
        let segment = bytes.get(at + 2..at + length.max(2))?;
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let count = usize::from(*segment.get(5)?);
            let sampling = (0..count)
                .map(|i| segment.get(6 + 3 * i + 1).map(|hv| (hv >> 4, hv & 0x0F)))
                .collect::<Option<Vec<_>>>()?;
            return Some(Frame {
                marker,
                precision: *segment.first()?,
                height: u32::from(u16::from_be_bytes([*segment.get(1)?, *segment.get(2)?])),
                width: u32::from(u16::from_be_bytes([*segment.get(3)?, *segment.get(4)?])),
                sampling,
            });
        }
        at += length;
    }
}

/// The DCT scale (1, 2, 4 or 8) this frame is decoded at: the largest whose picture keeps
/// [`MIN_SCALED_SIDE`] pixels a side, and 1 for frames this path does not take.
pub(super) fn denominator(frame: &Frame) -> u32 {
    if !frame.scalable() {
        return 1;
    }
    [8, 4, 2]
        .into_iter()
        .find(|&d| {
            frame.width.div_ceil(d) >= MIN_SCALED_SIDE
                && frame.height.div_ceil(d) >= MIN_SCALED_SIDE
        })
        .unwrap_or(1)
}

/// Decodes `bytes` (whose header is `frame`) at 1/`scale`, within `limits`: the picture as
/// stored, RGB, and the EXIF orientation that shows it upright.
pub(super) fn decode_scaled(
    bytes: &[u8],
    frame: &Frame,
    scale: u32,
    limits: &DecodeLimits,
) -> Result<(RgbImage, Orientation), PreprocessError> {
    let (width, height) = (frame.width.div_ceil(scale), frame.height.div_ceil(scale));
    let pixels = u64::from(width) * u64::from(height);
    if width > limits.max_side || height > limits.max_side || pixels > limits.max_pixels {
        return Err(PreprocessError::TooManyPixels {
            width: frame.width,
            height: frame.height,
            limit: format!(
                "{} px a side, {} px in all, decoding JPEGs at 1/{scale}: {width}x{height}",
                limits.max_side, limits.max_pixels
            ),
        });
    }
    let components = frame.sampling.len() as u64;
    // The decoder's planes and its interleaved output, then the RGB copy made here.
    let mut need = pixels * (2 * components + 3);
    if frame.progressive() {
        need += frame.coefficient_bytes();
    }
    if need > limits.max_alloc {
        return Err(PreprocessError::Limits(format!(
            "decoding this {}x{} {} JPEG needs {:.1} MB, over the limit of {:.1} MB",
            frame.width,
            frame.height,
            if frame.progressive() {
                "progressive"
            } else {
                "baseline"
            },
            need as f64 / 1e6,
            limits.max_alloc as f64 / 1e6
        )));
    }

    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.set_max_decoding_buffer_size(usize::try_from(limits.max_alloc).unwrap_or(usize::MAX));
    // Sides fit in u16: they come from the frame header's 16-bit fields.
    let request = |side: u32| u16::try_from(side).unwrap_or(u16::MAX);
    let got = decoder
        .scale(request(width), request(height))
        .map_err(map_error)?;
    if (u32::from(got.0), u32::from(got.1)) != (width, height) {
        return Err(PreprocessError::Corrupt(format!(
            "JPEG decoded at {}x{}, expected {width}x{height}",
            got.0, got.1
        )));
    }
    let data = decoder.decode().map_err(map_error)?;
    let expected = usize::try_from(pixels * components).unwrap_or(usize::MAX);
    if data.len() != expected {
        return Err(PreprocessError::Corrupt(format!(
            "JPEG gave {} bytes for {width}x{height}x{components}",
            data.len()
        )));
    }
    let rgb = match components {
        1 => data.iter().flat_map(|&l| [l, l, l]).collect(),
        3 => data,
        _ => data.chunks_exact(4).flat_map(cmyk_to_rgb).collect(),
    };
    let image = RgbImage::from_raw(width, height, rgb)
        .ok_or_else(|| PreprocessError::Corrupt("JPEG pixel buffer of the wrong size".into()))?;
    // A broken or absent EXIF block is no reason to refuse the picture: show it as stored.
    let orientation = decoder
        .exif_data()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    Ok((image, orientation))
}

/// `jpeg-decoder` hands CMYK as ink (0: none; it undoes Adobe's inverted storage); each
/// channel is then the light left after its ink and the black.
fn cmyk_to_rgb(px: &[u8]) -> [u8; 3] {
    let k = 255 - u16::from(px[3]);
    let channel = |c: u8| (((255 - u16::from(c)) * k + 127) / 255) as u8;
    [channel(px[0]), channel(px[1]), channel(px[2])]
}

fn map_error(err: jpeg_decoder::Error) -> PreprocessError {
    match err {
        jpeg_decoder::Error::Unsupported(feature) => {
            PreprocessError::UnsupportedFormat(format!("JPEG with {feature:?}"))
        }
        jpeg_decoder::Error::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            PreprocessError::Corrupt("truncated image data".into())
        }
        other => PreprocessError::Corrupt(super::one_line(&other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode_input, resize_rgb};
    use super::*;
    use image::{DynamicImage, ImageDecoder, ImageReader};

    fn odd(name: &str) -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/odd");
        std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// The full-size decode by the `image` crate (zune-jpeg), shrunk and turned upright: what
    /// the scaled decode must agree with.
    fn reference(bytes: &[u8]) -> RgbImage {
        let mut decoder = ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .expect("guess")
            .into_decoder()
            .expect("decoder");
        let orientation = decoder.orientation().expect("orientation");
        let stored = DynamicImage::from_decoder(decoder).expect("decode");
        let mut small = DynamicImage::ImageRgb8(resize_rgb(stored.into_rgb8()));
        small.apply_orientation(orientation);
        small.into_rgb8()
    }

    /// Mean and largest absolute difference per channel value.
    fn difference(a: &RgbImage, b: &RgbImage) -> (f64, u8) {
        assert_eq!(a.dimensions(), b.dimensions());
        let diffs = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| x.abs_diff(*y));
        let (sum, max) = diffs.fold((0u64, 0u8), |(s, m), d| (s + u64::from(d), m.max(d)));
        (sum as f64 / a.as_raw().len() as f64, max)
    }

    fn scaled_input(bytes: &[u8], scale: u32) -> RgbImage {
        let frame = frame(bytes).expect("frame");
        let (stored, orientation) =
            decode_scaled(bytes, &frame, scale, &DecodeLimits::default()).expect("scaled");
        let mut small = DynamicImage::ImageRgb8(resize_rgb(stored));
        small.apply_orientation(orientation);
        small.into_rgb8()
    }

    #[test]
    fn frames_are_read_from_the_header() {
        let baseline = frame(&odd("ship_baseline.jpg")).expect("baseline");
        assert_eq!((baseline.marker, baseline.precision), (0xC0, 8));
        assert_eq!((baseline.width, baseline.height), (320, 240));
        assert_eq!(baseline.sampling.len(), 3);
        assert_eq!(frame(&odd("ship_progressive.jpg")).expect("p").marker, 0xC2);
        assert_eq!(
            frame(&odd("ship_cmyk.jpg")).expect("cmyk").sampling.len(),
            4
        );
        let declared = crate::fixtures::jpeg_declaring(65_000, 60_000);
        let f = frame(&declared).expect("declared");
        assert_eq!((f.width, f.height), (65_000, 60_000));
        for bytes in [
            &b""[..],
            b"\xFF\xD8",
            b"\xFF\xD8\xFF\xDA\x00\x02",
            b"\xFF\xD8\xFF\xC0\x00",
        ] {
            assert_eq!(frame(bytes), None, "{bytes:?}");
        }
    }

    #[test]
    fn the_scale_keeps_256_px_a_side() {
        let sized = |width, height| Frame {
            marker: 0xC0,
            precision: 8,
            width,
            height,
            sampling: vec![(2, 2), (1, 1), (1, 1)],
        };
        assert_eq!(denominator(&sized(6000, 4000)), 8);
        assert_eq!(denominator(&sized(4032, 3024)), 8);
        assert_eq!(denominator(&sized(2048, 1024)), 4);
        assert_eq!(denominator(&sized(1024, 768)), 2);
        assert_eq!(denominator(&sized(512, 512)), 2);
        assert_eq!(denominator(&sized(511, 4000)), 2);
        assert_eq!(denominator(&sized(510, 4000)), 1);
        assert_eq!(denominator(&sized(320, 240)), 1);
        // Frames jpeg-decoder is not asked to scale: 12-bit, lossless, arithmetic, 2 channels.
        for other in [
            Frame {
                precision: 12,
                ..sized(6000, 4000)
            },
            Frame {
                marker: 0xC3,
                ..sized(6000, 4000)
            },
            Frame {
                marker: 0xC9,
                ..sized(6000, 4000)
            },
            Frame {
                sampling: vec![(1, 1), (1, 1)],
                ..sized(6000, 4000)
            },
        ] {
            assert_eq!(denominator(&other), 1, "{other:?}");
        }
    }

    /// Every kind of committed JPEG (baseline, progressive, CMYK, turned by EXIF) decoded at
    /// each scale that leaves it over 32 px a side (these are 320×240) gives the network's
    /// input within a unit or two of the full-size decode (measured: mean ≤ 0.61, max ≤ 5).
    #[test]
    fn scaled_decodes_agree_with_the_full_decode() {
        for name in [
            "ship_baseline.jpg",
            "ship_progressive.jpg",
            "ship_cmyk.jpg",
            "ship_exif_orientation_3.jpg",
            "ship_exif_orientation_6.jpg",
            "ship_exif_orientation_8.jpg",
        ] {
            let bytes = odd(name);
            let want = reference(&bytes);
            for scale in [1, 2, 4] {
                let (mean, max) = difference(&scaled_input(&bytes, scale), &want);
                assert!(
                    mean < 1.0 && max <= 6,
                    "{name} at 1/{scale}: mean {mean:.2}, max {max}"
                );
            }
        }
    }

    /// Camera-sized JPEGs take the scaled path through `decode_input` and still give the
    /// full decode's input, under limits that the full decode is over.
    #[test]
    fn large_jpegs_are_decoded_scaled() {
        let ship = image::open(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/data/odd/ship_baseline.jpg"),
        )
        .expect("ship")
        .into_rgb8();
        for ((width, height), scale) in [((2400, 1800), 4), ((4096, 3072), 8)] {
            let big = image::imageops::resize(
                &ship,
                width,
                height,
                image::imageops::FilterType::Triangle,
            );
            let mut bytes = Cursor::new(Vec::new());
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
                .encode_image(&big)
                .expect("encode");
            let bytes = bytes.into_inner();
            assert_eq!(denominator(&frame(&bytes).expect("frame")), scale);
            let small = DecodeLimits {
                max_side: 1024,
                max_pixels: 1 << 20,
                max_alloc: 8 << 20,
                ..DecodeLimits::default()
            };
            let got = decode_input(&bytes, None, &small).expect("scaled under small limits");
            let (mean, max) = difference(&got, &reference(&bytes));
            assert!(
                mean < 1.0 && max <= 6,
                "{width}x{height}: mean {mean:.2}, max {max}"
            );
            // The full decode alone is over those limits.
            assert!(super::super::decode(&bytes, None, &small).is_err());
        }
    }

    #[test]
    fn progressive_coefficients_count_against_the_limit() {
        let mut f = frame(&odd("ship_progressive.jpg")).expect("frame");
        f.width = 6000;
        f.height = 4000;
        f.sampling = vec![(2, 2), (1, 1), (1, 1)];
        // Y: 750 × 500 blocks; Cb, Cr: 375 × 250 each; 128 bytes a block.
        assert_eq!(f.coefficient_bytes(), (375_000 + 2 * 93_750) * 128);
        let limits = DecodeLimits {
            max_alloc: 48 << 20,
            ..DecodeLimits::default()
        };
        match decode_scaled(&odd("ship_progressive.jpg"), &f, 8, &limits) {
            Err(PreprocessError::Limits(message)) => {
                assert!(message.contains("progressive"), "{message}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn broken_scaled_jpegs_are_typed_errors() {
        let ship = reference(&odd("ship_baseline.jpg"));
        let big = image::imageops::resize(&ship, 1024, 1024, image::imageops::FilterType::Nearest);
        let mut bytes = Cursor::new(Vec::new());
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 80)
            .encode_image(&big)
            .expect("encode");
        let bytes = bytes.into_inner();
        for cut in [bytes.len() / 3, bytes.len() / 2, bytes.len() - 10] {
            match decode_input(&bytes[..cut], None, &DecodeLimits::default()) {
                Ok(_) | Err(PreprocessError::Corrupt(_)) => {}
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
    }
}
