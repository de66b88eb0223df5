//! Bytes → normalised `[3, 32, 32]` tensor data. The only place images are decoded, so the
//! browser, the worker and the server refuse the same inputs with the same errors.

use std::io::Cursor;

use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits, RgbImage};

mod jpeg;

/// Side of the square input the network sees.
pub const INPUT_SIZE: usize = 32;
/// Per-channel mean of the CIFAR-10 training set (RGB).
pub const MEAN: [f32; 3] = [0.4914, 0.4822, 0.4465];
/// Per-channel standard deviation used for normalisation (RGB).
pub const STD: [f32; 3] = [0.2023, 0.1994, 0.2010];
/// Number of floats in one preprocessed image.
pub const INPUT_LEN: usize = 3 * INPUT_SIZE * INPUT_SIZE;

/// What an input may cost before it is decoded. Checked against the encoded size and the
/// header's dimensions, before any pixel is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest encoded input accepted, in bytes.
    pub max_bytes: usize,
    /// Largest width and height the header may declare.
    pub max_side: u32,
    /// Largest number of pixels the header may declare (width × height).
    pub max_pixels: u64,
    /// Upper bound on the decoder's allocations, in bytes.
    pub max_alloc: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_bytes: 16 * 1024 * 1024,
            max_side: 16_384,
            max_pixels: 40_000_000,
            max_alloc: 256 * 1024 * 1024,
        }
    }
}

/// Why an input could not be turned into model input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PreprocessError {
    #[error("empty input: no image bytes")]
    Empty,
    #[error("input is {size} bytes, over the limit of {limit} bytes")]
    TooManyBytes { size: usize, limit: usize },
    #[error("unsupported format {0:?}: expected JPEG, PNG, WebP, GIF or BMP")]
    UnsupportedFormat(String),
    #[error("not a recognised image (expected JPEG, PNG, WebP, GIF or BMP)")]
    UnknownFormat,
    #[error("image declares {width}x{height} pixels, over the limit ({limit})")]
    TooManyPixels {
        width: u32,
        height: u32,
        limit: String,
    },
    #[error("image is over the decoder's limits: {0}")]
    Limits(String),
    #[error("corrupt or truncated image: {0}")]
    Corrupt(String),
}

/// Parses a format name as clients send it (`"JPEG"`, `"png"`, `"image/webp"`, `"jpg"`).
pub fn parse_format(name: &str) -> Result<ImageFormat, PreprocessError> {
    let lower = name.trim().to_ascii_lowercase();
    let bare = lower.strip_prefix("image/").unwrap_or(&lower);
    match bare {
        "jpeg" | "jpg" => Ok(ImageFormat::Jpeg),
        "png" => Ok(ImageFormat::Png),
        "webp" => Ok(ImageFormat::WebP),
        "gif" => Ok(ImageFormat::Gif),
        "bmp" => Ok(ImageFormat::Bmp),
        _ => Err(PreprocessError::UnsupportedFormat(name.to_string())),
    }
}

fn supported(format: ImageFormat) -> bool {
    matches!(
        format,
        ImageFormat::Jpeg
            | ImageFormat::Png
            | ImageFormat::WebP
            | ImageFormat::Gif
            | ImageFormat::Bmp
    )
}

/// Decodes `bytes` (format from its content; `hint` only when the content says nothing),
/// refusing anything over `limits` before decoding, and turns it upright as its EXIF
/// orientation says (phones store pictures sideways with a tag). GIFs give their first frame.
pub fn decode(
    bytes: &[u8],
    hint: Option<ImageFormat>,
    limits: &DecodeLimits,
) -> Result<DynamicImage, PreprocessError> {
    let (mut image, orientation) = decode_stored(bytes, hint, limits)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// The network's input for `bytes`: decoded with `limits`, 32×32 RGB, upright. Turns the
/// 32×32 result rather than the decoded picture, so a sideways 24-megapixel photo costs no
/// second full-size buffer (the filter is symmetric: turning first gives the same pixels,
/// up to rounding). A JPEG of at least 512 px a side is decoded at a DCT scale (1/2, 1/4
/// or 1/8, keeping 256 px a side; the limits then apply to the scaled picture): the
/// network's input is the same within a unit or two, for a fraction of the memory. One
/// jpeg-decoder cannot read goes to the full decode, within the full-size limits.
pub fn decode_input(
    bytes: &[u8],
    hint: Option<ImageFormat>,
    limits: &DecodeLimits,
) -> Result<RgbImage, PreprocessError> {
    let format = sniff(bytes, hint, limits)?;
    if let Some(frame) = (format == ImageFormat::Jpeg)
        .then(|| jpeg::frame(bytes))
        .flatten()
    {
        let scale = jpeg::denominator(&frame);
        if scale > 1 {
            match jpeg::decode_scaled(bytes, &frame, scale, limits) {
                Ok((stored, orientation)) => return Ok(upright_input(stored, orientation)),
                // What jpeg-decoder cannot read, the full decode may (zune-jpeg tolerates
                // other damage): it answers within the full-size limits.
                Err(PreprocessError::Corrupt(_) | PreprocessError::UnsupportedFormat(_)) => {}
                Err(refused) => return Err(refused),
            }
        }
    }
    let (image, orientation) = decode_checked(bytes, format, limits)?;
    Ok(upright_input(shrink_to_rgb(image), orientation))
}

/// Shrinks in the decoded colour type and only then converts the 32×32 result to RGB 8-bit:
/// an 8-megapixel RGBA picture costs no second, RGB copy of itself (24 MB, in a 128 MB
/// isolate). The filter works on each channel alone, so 8-bit pictures give the same
/// pixels as converting first; 16-bit ones round once instead of twice (±1).
fn shrink_to_rgb(image: DynamicImage) -> RgbImage {
    let side = INPUT_SIZE as u32;
    match image {
        DynamicImage::ImageRgb8(rgb) => rgb,
        other if other.width() == side && other.height() == side => other.into_rgb8(),
        other => other
            .resize_exact(side, side, FilterType::Triangle)
            .into_rgb8(),
    }
}

fn upright_input(stored: RgbImage, orientation: Orientation) -> RgbImage {
    let mut small = DynamicImage::ImageRgb8(resize_rgb(stored));
    small.apply_orientation(orientation);
    small.into_rgb8()
}

/// The pixels as stored, and the EXIF orientation that shows them upright.
fn decode_stored(
    bytes: &[u8],
    hint: Option<ImageFormat>,
    limits: &DecodeLimits,
) -> Result<(DynamicImage, Orientation), PreprocessError> {
    decode_checked(bytes, sniff(bytes, hint, limits)?, limits)
}

/// The format of `bytes` (from its content; `hint` only when the content says nothing),
/// after the checks that need no header: not empty, not over the byte limit, supported.
fn sniff(
    bytes: &[u8],
    hint: Option<ImageFormat>,
    limits: &DecodeLimits,
) -> Result<ImageFormat, PreprocessError> {
    if bytes.is_empty() {
        return Err(PreprocessError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(PreprocessError::TooManyBytes {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let guessed = image::guess_format(bytes).ok();
    match (guessed, hint) {
        (Some(f), _) if supported(f) => Ok(f),
        (Some(f), _) => Err(PreprocessError::UnsupportedFormat(format!("{f:?}"))),
        (None, Some(f)) if supported(f) => Ok(f),
        (None, _) => Err(PreprocessError::UnknownFormat),
    }
}

/// Decodes `bytes` of `format` at full size, refusing from the header what is over `limits`.
fn decode_checked(
    bytes: &[u8],
    format: ImageFormat,
    limits: &DecodeLimits,
) -> Result<(DynamicImage, Orientation), PreprocessError> {
    // Read the header alone first: absurd dimensions are refused before a pixel is decoded.
    let (width, height) = match png_sides(format, bytes) {
        Some(sides) => sides,
        None => {
            let mut probe = ImageReader::new(Cursor::new(bytes));
            probe.set_format(format);
            probe.into_dimensions().map_err(map_image_error)?
        }
    };
    let pixels = u64::from(width) * u64::from(height);
    if width > limits.max_side || height > limits.max_side || pixels > limits.max_pixels {
        return Err(PreprocessError::TooManyPixels {
            width,
            height,
            limit: format!(
                "{} px a side, {} px in all",
                limits.max_side, limits.max_pixels
            ),
        });
    }
    if width == 0 || height == 0 {
        return Err(PreprocessError::Corrupt("image has no pixels".into()));
    }

    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(format);
    let mut image_limits = Limits::default();
    image_limits.max_image_width = Some(limits.max_side);
    image_limits.max_image_height = Some(limits.max_side);
    image_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(image_limits.clone());
    let mut decoder = reader.into_decoder().map_err(map_image_error)?;
    // What `ImageReader::decode` checks: the decoded buffer itself fits the allocation limit.
    image_limits
        .reserve(decoder.total_bytes())
        .map_err(map_image_error)?;
    // A broken or absent EXIF block is no reason to refuse the picture: show it as stored.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
    Ok((image, orientation))
}

/// A PNG's sides from its IHDR (always the first chunk), read here because the PNG
/// decoder sizes its buffers while reading the header, against its own default limits and,
/// on wasm32, in 32-bit arithmetic that a side of 65,000 px overflows: either way another
/// refusal than "declares W×H pixels, over the limit".
fn png_sides(format: ImageFormat, bytes: &[u8]) -> Option<(u32, u32)> {
    if format != ImageFormat::Png || bytes.get(12..16) != Some(b"IHDR".as_slice()) {
        return None;
    }
    let side = |at: usize| {
        bytes
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
    };
    Some((side(16)?, side(20)?))
}

fn map_image_error(err: ImageError) -> PreprocessError {
    match err {
        ImageError::Limits(e) => PreprocessError::Limits(one_line(&e.to_string())),
        ImageError::Unsupported(e) => PreprocessError::UnsupportedFormat(one_line(&e.to_string())),
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            PreprocessError::Corrupt("truncated image data".into())
        }
        other => PreprocessError::Corrupt(one_line(&other.to_string())),
    }
}

/// Decoder messages sometimes span lines; errors here are one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Any decoded image → RGB, 32×32 (bilinear, antialiased when shrinking).
pub fn to_input_rgb(image: &DynamicImage) -> RgbImage {
    resize_rgb(image.to_rgb8())
}

fn resize_rgb(rgb: RgbImage) -> RgbImage {
    let side = INPUT_SIZE as u32;
    if rgb.width() == side && rgb.height() == side {
        rgb
    } else {
        image::imageops::resize(&rgb, side, side, FilterType::Triangle)
    }
}

/// Normalises 32×32 RGB pixels (row-major, interleaved) into CHW floats.
pub fn normalize_rgb(rgb: &[u8]) -> Vec<f32> {
    let plane = INPUT_SIZE * INPUT_SIZE;
    let mut out = vec![0.0f32; INPUT_LEN];
    for (i, px) in rgb.chunks_exact(3).take(plane).enumerate() {
        for c in 0..3 {
            out[c * plane + i] = (f32::from(px[c]) / 255.0 - MEAN[c]) / STD[c];
        }
    }
    out
}

/// Normalises planar CHW bytes (the CIFAR binary layout) into CHW floats.
pub fn normalize_planar(chw: &[u8]) -> Vec<f32> {
    let plane = INPUT_SIZE * INPUT_SIZE;
    chw.iter()
        .take(INPUT_LEN)
        .enumerate()
        .map(|(i, &v)| {
            let c = i / plane;
            (f32::from(v) / 255.0 - MEAN[c]) / STD[c]
        })
        .collect()
}

/// The whole preprocessing: encoded bytes → `[3, 32, 32]` normalised floats.
pub fn preprocess(
    bytes: &[u8],
    hint: Option<ImageFormat>,
    limits: &DecodeLimits,
) -> Result<Vec<f32>, PreprocessError> {
    Ok(normalize_rgb(decode_input(bytes, hint, limits)?.as_raw()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Luma, LumaA, Rgb, Rgba};

    fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).expect("encode test image");
        out.into_inner()
    }

    fn gradient(w: u32, h: u32) -> RgbImage {
        ImageBuffer::from_fn(w, h, |x, y| {
            Rgb([(x * 255 / w.max(1)) as u8, (y * 255 / h.max(1)) as u8, 128])
        })
    }

    #[test]
    fn normalisation_matches_the_formula() {
        let mut rgb = vec![0u8; INPUT_SIZE * INPUT_SIZE * 3];
        rgb[0] = 255; // red of pixel 0
        rgb[4] = 51; // green of pixel 1
        let x = normalize_rgb(&rgb);
        let plane = INPUT_SIZE * INPUT_SIZE;
        assert!((x[0] - (1.0 - 0.4914) / 0.2023).abs() < 1e-6);
        assert!((x[plane + 1] - (0.2 - 0.4822) / 0.1994).abs() < 1e-6);
        assert!((x[2 * plane] - (0.0 - 0.4465) / 0.2010).abs() < 1e-6);
    }

    #[test]
    fn planar_and_interleaved_agree() {
        let img = gradient(32, 32);
        let mut planar = vec![0u8; INPUT_LEN];
        for (i, px) in img.pixels().enumerate() {
            for c in 0..3 {
                planar[c * 1024 + i] = px[c];
            }
        }
        assert_eq!(normalize_planar(&planar), normalize_rgb(img.as_raw()));
    }

    #[test]
    fn every_format_decodes_to_the_same_lossless_pixels() {
        let img = DynamicImage::ImageRgb8(gradient(32, 32));
        let expected = normalize_rgb(img.to_rgb8().as_raw());
        for format in [ImageFormat::Png, ImageFormat::Bmp, ImageFormat::WebP] {
            let bytes = encode(&img, format);
            let got = preprocess(&bytes, None, &DecodeLimits::default())
                .unwrap_or_else(|e| panic!("{format:?}: {e}"));
            assert_eq!(got, expected, "{format:?}");
        }
        // Lossy formats: close, not equal.
        for format in [ImageFormat::Jpeg, ImageFormat::Gif] {
            let bytes = encode(&img, format);
            let got = preprocess(&bytes, None, &DecodeLimits::default())
                .unwrap_or_else(|e| panic!("{format:?}: {e}"));
            let err: f32 = got
                .iter()
                .zip(&expected)
                .map(|(a, b)| (a - b).abs())
                .sum::<f32>()
                / expected.len() as f32;
            assert!(err < 0.25, "{format:?} mean abs error {err}");
        }
    }

    #[test]
    fn colour_types_become_rgb() {
        let limits = DecodeLimits::default();
        let grey = DynamicImage::ImageLuma8(ImageBuffer::from_pixel(32, 32, Luma([200u8])));
        let x = preprocess(&encode(&grey, ImageFormat::Png), None, &limits).expect("grey");
        for c in 0..3 {
            let want = (200.0 / 255.0 - MEAN[c]) / STD[c];
            assert!((x[c * 1024] - want).abs() < 1e-6);
        }
        let grey_alpha =
            DynamicImage::ImageLumaA8(ImageBuffer::from_pixel(32, 32, LumaA([10u8, 20])));
        let x = preprocess(&encode(&grey_alpha, ImageFormat::Png), None, &limits).expect("la");
        assert!((x[0] - (10.0 / 255.0 - MEAN[0]) / STD[0]).abs() < 1e-6);
        let rgba = DynamicImage::ImageRgba8(ImageBuffer::from_pixel(32, 32, Rgba([1u8, 2, 3, 0])));
        let x = preprocess(&encode(&rgba, ImageFormat::Png), None, &limits).expect("rgba");
        assert!((x[1024] - (2.0 / 255.0 - MEAN[1]) / STD[1]).abs() < 1e-6);
        let rgb16 =
            DynamicImage::ImageRgb16(ImageBuffer::from_pixel(32, 32, Rgb([65535u16, 0, 32896])));
        let x = preprocess(&encode(&rgb16, ImageFormat::Png), None, &limits).expect("rgb16");
        assert!((x[0] - (1.0 - MEAN[0]) / STD[0]).abs() < 1e-6);
        assert!((x[2048] - (128.0 / 255.0 - MEAN[2]) / STD[2]).abs() < 1e-6);
    }

    #[test]
    fn tiny_and_large_images_are_resized() {
        let limits = DecodeLimits::default();
        let one = DynamicImage::ImageRgb8(ImageBuffer::from_pixel(1, 1, Rgb([255u8, 0, 0])));
        let x = preprocess(&encode(&one, ImageFormat::Png), None, &limits).expect("1x1");
        assert_eq!(x.len(), INPUT_LEN);
        assert!(
            x[..1024]
                .iter()
                .all(|v| (v - (1.0 - MEAN[0]) / STD[0]).abs() < 1e-5)
        );
        let big = DynamicImage::ImageRgb8(ImageBuffer::from_pixel(3000, 2000, Rgb([0u8, 255, 0])));
        let x = preprocess(&encode(&big, ImageFormat::Png), None, &limits).expect("3000x2000");
        assert!(
            x[1024..2048]
                .iter()
                .all(|v| (v - (1.0 - MEAN[1]) / STD[1]).abs() < 1e-5)
        );
        let thin = DynamicImage::ImageRgb8(gradient(500, 3));
        assert!(preprocess(&encode(&thin, ImageFormat::Bmp), None, &limits).is_ok());
    }

    #[test]
    fn gif_gives_its_first_frame() {
        use image::codecs::gif::GifEncoder;
        use image::{Delay, Frame};
        let mut bytes = Vec::new();
        {
            let mut enc = GifEncoder::new(&mut bytes);
            let red = ImageBuffer::from_pixel(32, 32, Rgba([255u8, 0, 0, 255]));
            let blue = ImageBuffer::from_pixel(32, 32, Rgba([0u8, 0, 255, 255]));
            enc.encode_frames([
                Frame::from_parts(red, 0, 0, Delay::from_numer_denom_ms(10, 1)),
                Frame::from_parts(blue, 0, 0, Delay::from_numer_denom_ms(10, 1)),
            ])
            .expect("gif");
        }
        let x = preprocess(&bytes, None, &DecodeLimits::default()).expect("gif");
        assert!(
            (x[0] - (1.0 - MEAN[0]) / STD[0]).abs() < 1e-5,
            "first frame is red"
        );
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        let limits = DecodeLimits::default();
        assert_eq!(preprocess(&[], None, &limits), Err(PreprocessError::Empty));
        assert_eq!(
            preprocess(b"hello world, not an image", None, &limits),
            Err(PreprocessError::UnknownFormat)
        );
        let png = encode(&DynamicImage::ImageRgb8(gradient(64, 64)), ImageFormat::Png);
        let truncated = &png[..png.len() / 2];
        assert!(matches!(
            preprocess(truncated, None, &limits),
            Err(PreprocessError::Corrupt(_))
        ));
        let jpeg = encode(
            &DynamicImage::ImageRgb8(gradient(64, 64)),
            ImageFormat::Jpeg,
        );
        assert!(matches!(
            preprocess(&jpeg[..jpeg.len() / 3], None, &limits),
            Err(PreprocessError::Corrupt(_))
        ));
        let small = DecodeLimits {
            max_bytes: 10,
            ..limits
        };
        assert!(matches!(
            preprocess(&png, None, &small),
            Err(PreprocessError::TooManyBytes { .. })
        ));
        // TIFF magic: recognised, not supported.
        assert!(matches!(
            preprocess(b"II*\0\x08\0\0\0rest", None, &limits),
            Err(PreprocessError::UnsupportedFormat(_))
        ));
        assert!(parse_format("TIFF").is_err());
        assert_eq!(parse_format("JPEG"), Ok(ImageFormat::Jpeg));
        assert_eq!(parse_format("image/png"), Ok(ImageFormat::Png));
    }

    /// A PNG whose header claims 40000×40000 but carries almost no data: refused from the
    /// header, before any allocation for pixels.
    #[test]
    fn absurd_dimensions_are_refused_before_decoding() {
        let bytes = crate::fixtures::png_header_only(40_000, 40_000);
        match preprocess(&bytes, None, &DecodeLimits::default()) {
            Err(PreprocessError::TooManyPixels {
                width: 40_000,
                height: 40_000,
                ..
            }) => {}
            other => panic!("expected TooManyPixels, got {other:?}"),
        }
        // Within the side limit but over the pixel budget.
        let bytes = crate::fixtures::png_header_only(16_000, 16_000);
        assert!(matches!(
            preprocess(&bytes, None, &DecodeLimits::default()),
            Err(PreprocessError::TooManyPixels { .. })
        ));
    }

    #[test]
    fn headers_declaring_65000_px_sides_are_refused_alike() {
        for bytes in [
            crate::fixtures::jpeg_declaring(65_000, 65_000),
            crate::fixtures::png_header_only(65_000, 65_000),
        ] {
            match preprocess(&bytes, None, &DecodeLimits::default()) {
                Err(PreprocessError::TooManyPixels {
                    width: 65_000,
                    height: 65_000,
                    ..
                }) => {}
                other => panic!("expected TooManyPixels, got {other:?}"),
            }
        }
        // The same file with its real sides decodes: the refusal came from the header.
        assert!(
            preprocess(
                &crate::fixtures::jpeg_declaring(8, 8),
                None,
                &DecodeLimits::default()
            )
            .is_ok()
        );
    }

    /// The picture each EXIF orientation (1–8) shows, given the pixels as stored: what
    /// viewers do. Written out here from the EXIF table, not with the decoder's own code.
    fn shown(stored: &RgbImage, tag: u16) -> RgbImage {
        use image::imageops::{flip_horizontal, flip_vertical, rotate90, rotate180, rotate270};
        match tag {
            2 => flip_horizontal(stored),
            3 => rotate180(stored),
            4 => flip_vertical(stored),
            5 => flip_horizontal(&rotate90(stored)),
            6 => rotate90(stored),
            7 => flip_horizontal(&rotate270(stored)),
            8 => rotate270(stored),
            _ => stored.clone(),
        }
    }

    #[test]
    fn exif_orientation_turns_pictures_upright() {
        // Not square, so a turn shows in the sides too; every pixel distinct.
        let stored = gradient(48, 20);
        let png = encode(&DynamicImage::ImageRgb8(stored.clone()), ImageFormat::Png);
        for tag in 1..=8u16 {
            let bytes = crate::fixtures::png_with_orientation(&png, tag);
            let want = shown(&stored, tag);
            let got = decode(&bytes, None, &DecodeLimits::default())
                .unwrap_or_else(|e| panic!("orientation {tag}: {e}"))
                .into_rgb8();
            assert_eq!(got.dimensions(), want.dimensions(), "orientation {tag}");
            assert!(got == want, "orientation {tag}: pixels differ");
            // The network's input: turned after shrinking, the same up to rounding.
            let input = decode_input(&bytes, None, &DecodeLimits::default())
                .unwrap_or_else(|e| panic!("orientation {tag}: {e}"));
            let reference = to_input_rgb(&DynamicImage::ImageRgb8(want));
            let worst = input
                .as_raw()
                .iter()
                .zip(reference.as_raw())
                .map(|(a, b)| a.abs_diff(*b))
                .max();
            assert!(worst <= Some(1), "orientation {tag}: off by {worst:?}");
        }
    }

    /// Mean absolute difference of two 32×32 inputs, per channel value.
    fn distance(a: &RgbImage, b: &RgbImage) -> f64 {
        let sum: u64 = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| u64::from(x.abs_diff(*y)))
            .sum();
        sum as f64 / a.as_raw().len() as f64
    }

    /// Real camera-style files (tests/data/odd, written by Pillow/libjpeg-turbo): a JPEG
    /// stored turned with its EXIF tag gives the upright picture, as the plain JPEG does.
    #[test]
    fn sideways_jpegs_from_a_camera_come_out_upright() {
        let odd = std::path::PathBuf::from(
            std::env::var("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../../tests/data/odd");
        let read =
            |name: &str| std::fs::read(odd.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let limits = DecodeLimits::default();
        let upright = decode_input(&read("ship_baseline.jpg"), None, &limits).expect("baseline");
        for tag in [3, 6, 8] {
            let bytes = read(&format!("ship_exif_orientation_{tag}.jpg"));
            let full = decode(&bytes, None, &limits).expect("decode");
            assert_eq!(
                (full.width(), full.height()),
                (320, 240),
                "orientation {tag}"
            );
            let input = decode_input(&bytes, None, &limits).expect("input");
            let stored = to_input_rgb(
                &ImageReader::new(Cursor::new(&bytes))
                    .with_guessed_format()
                    .expect("guess")
                    .decode()
                    .expect("stored pixels"),
            );
            let (near, far) = (distance(&input, &upright), distance(&stored, &upright));
            assert!(near < 3.0, "orientation {tag}: {near} from upright");
            assert!(
                far > 4.0 * near.max(1.0),
                "orientation {tag}: stored pixels {far} from upright"
            );
        }
    }
}
