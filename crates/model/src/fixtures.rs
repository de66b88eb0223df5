//! Hostile inputs every adapter's tests need (CLI, server, worker, browser), made here once.

/// A PNG whose header declares `width`×`height` pixels but which carries no pixel data: the
/// classic decompression bomb. Signature, IHDR (8-bit RGB), an empty IDAT, IEND.
pub fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A real (tiny) baseline JPEG whose frame header says `width`×`height`: a camera file with
/// absurd sides, refused from its header before anything is decoded.
pub fn jpeg_declaring(width: u16, height: u16) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let pixels = image::RgbImage::from_pixel(8, 8, image::Rgb([90, 120, 200]));
    // Encoding 64 pixels into memory cannot fail.
    let _ = image::DynamicImage::ImageRgb8(pixels).write_to(&mut out, image::ImageFormat::Jpeg);
    let mut bytes = out.into_inner();
    // SOF0: FF C0, length (2), precision (1), height (2), width (2).
    if let Some(at) = bytes.windows(2).position(|w| w == [0xff, 0xc0])
        && bytes.len() > at + 9
    {
        bytes[at + 5..at + 7].copy_from_slice(&height.to_be_bytes());
        bytes[at + 7..at + 9].copy_from_slice(&width.to_be_bytes());
    }
    bytes
}

/// `png` with an `eXIf` chunk (after IHDR) whose one entry is the orientation `tag` (1–8):
/// how editors mark a picture stored turned or mirrored.
pub fn png_with_orientation(png: &[u8], tag: u16) -> Vec<u8> {
    // TIFF, big-endian: header, one IFD with one SHORT entry (0x0112), no next IFD.
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend_from_slice(&0x0112u16.to_be_bytes());
    tiff.extend_from_slice(&3u16.to_be_bytes());
    tiff.extend_from_slice(&1u32.to_be_bytes());
    tiff.extend_from_slice(&tag.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes());
    // Signature (8) + IHDR (4 + 4 + 13 + 4).
    let split = (8 + 25).min(png.len());
    let mut out = png[..split].to_vec();
    chunk(&mut out, b"eXIf", &tiff);
    out.extend_from_slice(&png[split..]);
    out
}

/// One shipped sample with what the native pipeline answered for it and its input.
pub struct NativeCase {
    pub name: &'static str,
    /// Its entry of `tests/fixtures/native-compact.json`.
    pub expected: serde_json::Value,
    /// The preprocessed `[3][32][32]` input.
    pub input: Vec<f32>,
}

/// The shipped samples with their entries of the native fixture (its text, e.g. by
/// `include_str!`), checked to name the same samples in the same order, and their inputs:
/// what every browser backend's test runs and compares (see [`compare_with_native`]).
pub fn native_cases(fixture: &str) -> Result<Vec<NativeCase>, String> {
    let parsed: serde_json::Value =
        serde_json::from_str(fixture).map_err(|e| format!("fixture: {e}"))?;
    let items = parsed.as_array().ok_or("the fixture is not an array")?;
    if items.len() != crate::samples::SAMPLES.len() {
        return Err(format!(
            "{} fixture entries for {} samples",
            items.len(),
            crate::samples::SAMPLES.len()
        ));
    }
    items
        .iter()
        .zip(crate::samples::SAMPLES)
        .map(|(item, (name, bytes))| {
            if item["name"] != *name {
                return Err(format!(
                    "fixture entry {} where {name} was expected",
                    item["name"]
                ));
            }
            let input = crate::preprocess::preprocess(
                bytes,
                None,
                &crate::preprocess::DecodeLimits::default(),
            )
            .map_err(|e| format!("{name}: {e}"))?;
            Ok(NativeCase {
                name,
                expected: item.clone(),
                input,
            })
        })
        .collect()
}

/// Compares a prediction with one entry of `tests/fixtures/native-compact.json` (what the
/// native pipeline answered for that sample): the same label, and every probability within
/// `tolerance`. For the browser tests (wasm CPU and WebGPU).
pub fn compare_with_native(
    item: &serde_json::Value,
    p: &crate::Prediction,
    tolerance: f64,
) -> Result<(), String> {
    let want = item["label"]
        .as_str()
        .ok_or("fixture entry without a label")?;
    if p.label != want {
        return Err(format!(
            "label {} where the native pipeline said {want}",
            p.label
        ));
    }
    let probabilities = item["probabilities"]
        .as_array()
        .ok_or("fixture entry without probabilities")?;
    if probabilities.len() != p.probabilities.len() {
        return Err(format!(
            "{} probabilities in the fixture",
            probabilities.len()
        ));
    }
    for (i, (v, got)) in probabilities.iter().zip(p.probabilities).enumerate() {
        let v = v.as_f64().ok_or("probability is not a number")?;
        let got = f64::from(got);
        if (got - v).abs() > tolerance {
            return Err(format!(
                "p[{i}] = {got}, native {v} (tolerance {tolerance})"
            ));
        }
    }
    Ok(())
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 (IEEE), as PNG chunks carry it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    #[test]
    fn native_cases_pair_every_sample_with_its_entry_and_refuse_a_mismatch() {
        let text = include_str!("../tests/fixtures/native-compact.json");
        let cases = super::native_cases(text).expect("the shipped fixture");
        assert_eq!(cases.len(), crate::samples::SAMPLES.len());
        for (c, (name, _)) in cases.iter().zip(crate::samples::SAMPLES) {
            assert_eq!(c.name, *name);
            assert_eq!(c.expected["name"], *name);
            assert_eq!(c.input.len(), 3 * 32 * 32);
        }
        let mut items: Vec<serde_json::Value> = serde_json::from_str(text).expect("json");
        items.swap(0, 1);
        let swapped = serde_json::to_string(&items).expect("json");
        let err = super::native_cases(&swapped).err().expect("out of order");
        assert!(err.contains("where"), "{err}");
        items.pop();
        let short = serde_json::to_string(&items).expect("json");
        assert!(super::native_cases(&short).is_err());
        assert!(super::native_cases("{}").is_err());
        assert!(super::native_cases("not json").is_err());
    }

    #[test]
    fn native_comparison_checks_label_and_every_probability() {
        let mut logits = [0.0f32; 10];
        logits[8] = 3.0;
        let p = crate::Prediction::from_logits(&logits, 0.0);
        let item = serde_json::json!({"label": "Ship", "probabilities": p.probabilities});
        assert_eq!(super::compare_with_native(&item, &p, 1e-6), Ok(()));
        let mut off = p.probabilities;
        off[3] += 2e-3;
        let shifted = serde_json::json!({"label": "Ship", "probabilities": off});
        assert!(super::compare_with_native(&shifted, &p, 1e-3).is_err());
        assert_eq!(super::compare_with_native(&shifted, &p, 1e-2), Ok(()));
        let wrong = serde_json::json!({"label": "Cat", "probabilities": p.probabilities});
        assert!(super::compare_with_native(&wrong, &p, 1.0).is_err());
    }

    #[test]
    fn crc_matches_the_png_reference_value() {
        // CRC of "IEND" with no data is the well-known AE 42 60 82.
        assert_eq!(super::crc32(b"IEND"), 0xae42_6082);
    }
}
