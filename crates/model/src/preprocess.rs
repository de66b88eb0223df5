//! Bytes → normalised `[3, 32, 32]` tensor data. The only place images are decoded, so the
//! browser, the worker and the server refuse the same inputs with the same errors.

use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, ImageError, ImageFormat, ImageReader, Limits, RgbImage};

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
/// refusing anything over `limits` before decoding. GIFs give their first frame.
pub fn decode(
    bytes: &[u8],
    hint: Option<ImageFormat>,
    limits: &DecodeLimits,
) -> Result<DynamicImage, PreprocessError> {
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
    let format = match (guessed, hint) {
        (Some(f), _) if supported(f) => f,
        (Some(f), _) => return Err(PreprocessError::UnsupportedFormat(format!("{f:?}"))),
        (None, Some(f)) if supported(f) => f,
        (None, _) => return Err(PreprocessError::UnknownFormat),
    };

    // Read the header alone first: absurd dimensions are refused before a pixel is decoded.
    let mut probe = ImageReader::new(Cursor::new(bytes));
    probe.set_format(format);
    let (width, height) = probe.into_dimensions().map_err(map_image_error)?;
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
    reader.limits(image_limits);
    reader.decode().map_err(map_image_error)
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
    let rgb = image.to_rgb8();
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
    let image = decode(bytes, hint, limits)?;
    Ok(normalize_rgb(to_input_rgb(&image).as_raw()))
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
}
