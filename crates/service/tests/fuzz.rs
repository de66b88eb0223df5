#![cfg(not(target_arch = "wasm32"))]
//! Hostile bytes where the model server takes them: image decoding and preprocessing (the
//! service's limits, every supported format, the sample photos and crafted headers as seeds)
//! and `POST /predict` bodies (JSON shapes, base64, batches), mutated by `lookout-hostile`.
//! Errors are 4xx answers; a panic or a 5xx is a failure. `FUZZ_CASES` sets the count
//! (FUZZING.md records the long runs).

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lookout_hostile::{Tally, mutated, mutated_json};
use lookout_model::{Backend, Classifier, INPUT_SIZE};
use lookout_service::{Service, native_runtime};
use proptest::prelude::*;
use serde_json::{Value, json};

fn service() -> &'static Service {
    static S: OnceLock<Service> = OnceLock::new();
    S.get_or_init(|| {
        let c = Classifier::embedded(Backend::Cpu).expect("the embedded weights load");
        Service::new(c, native_runtime(Backend::Cpu), "fuzz")
    })
}

/// Sample photos (JPEG), the first also as PNG, GIF and BMP, and crafted headers.
fn image_seeds() -> Vec<Vec<u8>> {
    let samples = lookout_model::samples::SAMPLES;
    let mut seeds: Vec<Vec<u8>> = samples.iter().take(4).map(|(_, b)| b.to_vec()).collect();
    if let Some((_, jpeg)) = samples.first()
        && let Ok(img) = image::load_from_memory(jpeg)
    {
        for format in [
            image::ImageFormat::Png,
            image::ImageFormat::Gif,
            image::ImageFormat::Bmp,
        ] {
            let mut out = std::io::Cursor::new(Vec::new());
            if img.write_to(&mut out, format).is_ok() {
                seeds.push(out.into_inner());
            }
        }
    }
    seeds.push(lookout_model::fixtures::png_header_only(65_000, 65_000));
    seeds.push(lookout_model::fixtures::png_header_only(1, 1));
    seeds
}

/// JPEGs large enough to be decoded at a DCT scale (crates/model `preprocess::jpeg`), kept
/// small in bytes: smooth 512 px and 2048 px pictures, baseline RGB, progressive, CMYK and
/// greyscale, so mutations reach jpeg-decoder's every path and the scaled limits.
fn scaled_jpeg_seeds() -> Vec<Vec<u8>> {
    use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
    let picture = |side: u16, channels: usize| -> Vec<u8> {
        let side = usize::from(side);
        (0..side * side * channels)
            .map(|i| {
                let (x, y, c) = ((i / channels) % side, (i / channels) / side, i % channels);
                ((x * 255 / side) ^ (y * 97 / side) ^ (c * 40)) as u8
            })
            .collect()
    };
    let mut seeds = Vec::new();
    let mut add = |side: u16, color: ColorType, channels: usize, progressive: bool| {
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, 40);
        encoder.set_progressive(progressive);
        encoder.set_sampling_factor(SamplingFactor::F_2_2);
        if encoder
            .encode(&picture(side, channels), side, side, color)
            .is_ok()
        {
            seeds.push(out);
        }
    };
    add(512, ColorType::Rgb, 3, false);
    add(512, ColorType::Rgb, 3, true);
    add(512, ColorType::Cmyk, 4, false);
    add(512, ColorType::Luma, 1, true);
    add(2048, ColorType::Rgb, 3, false);
    seeds
}

/// The seeds themselves decode (so mutations start from valid files of each kind).
#[test]
fn scaled_jpeg_seeds_decode() {
    let seeds = scaled_jpeg_seeds();
    assert_eq!(seeds.len(), 5);
    for (i, seed) in seeds.iter().enumerate() {
        let answer = service().prepare_image(seed, None);
        assert!(answer.is_ok(), "seed {i}: {:?}", answer.err());
    }
}

fn body_seeds() -> Vec<Value> {
    let b64 = |i: usize| STANDARD.encode(lookout_model::samples::SAMPLES[i].1);
    vec![
        json!({"image": b64(0), "format": "JPEG"}),
        json!({"image": b64(1)}),
        json!({"images": [{"image": b64(2), "format": "jpeg"}, {"image": "AAAA", "format": "PNG"}]}),
    ]
}

fn client_error(status: u16) -> bool {
    (400..500).contains(&status)
}

proptest! {
    #![proptest_config(lookout_hostile::config(300))]

    #[test]
    fn image_bytes_never_panic(
        bytes in mutated(image_seeds(), 12),
        hint in prop_oneof![
            Just(None), Just(Some("JPEG")), Just(Some("png")), Just(Some("gif")),
            Just(Some("tiff")), Just(Some("")),
        ],
    ) {
        static T: Tally = Tally::new("image_bytes_never_panic");
        let answer = service().prepare_image(&bytes, hint);
        T.record(answer.is_ok());
        match answer {
            Ok(p) => prop_assert_eq!(p.input().len(), 3 * INPUT_SIZE * INPUT_SIZE),
            Err(e) => prop_assert!(client_error(e.status()), "{e}: {}", e.status()),
        }
    }

    #[test]
    fn scaled_jpeg_bytes_never_panic(bytes in mutated(scaled_jpeg_seeds(), 12)) {
        static T: Tally = Tally::new("scaled_jpeg_bytes_never_panic");
        let answer = service().prepare_image(&bytes, Some("JPEG"));
        T.record(answer.is_ok());
        match answer {
            Ok(p) => prop_assert_eq!(p.input().len(), 3 * INPUT_SIZE * INPUT_SIZE),
            Err(e) => prop_assert!(client_error(e.status()), "{e}: {}", e.status()),
        }
    }

    #[test]
    fn predict_bodies_never_panic(body in mutated_json(body_seeds(), 4)) {
        static T: Tally = Tally::new("predict_bodies_never_panic");
        let answer = service().predict_json(body.to_string().into_bytes());
        T.record(answer.is_ok());
        match answer {
            Ok(answer) => {
                let v: Value = serde_json::from_str(&answer).expect("the answer is JSON");
                prop_assert!(v.get("class").is_some() || v.get("predictions").is_some(), "{answer}");
            }
            Err(e) => prop_assert!(client_error(e.status()), "{e}: {}", e.status()),
        }
    }

    #[test]
    fn predict_body_bytes_never_panic(
        bytes in mutated(body_seeds().iter().map(|b| b.to_string().into_bytes()).collect(), 8),
    ) {
        static T: Tally = Tally::new("predict_body_bytes_never_panic");
        let answer = service().predict_json(bytes);
        T.record(answer.is_ok());
        if let Err(e) = answer {
            prop_assert!(client_error(e.status()), "{e}: {}", e.status());
        }
    }
}
