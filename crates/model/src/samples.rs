//! A few CIFAR-10 test images (JPEG, 32×32), compiled in for galleries and the traffic
//! simulator, so neither needs files at run time.

/// `(file name, JPEG bytes)`; the name is `<test index>_<class>.jpg`.
pub static SAMPLES: &[(&str, &[u8])] = &[
    ("0000_cat.jpg", include_bytes!("../samples/0000_cat.jpg")),
    ("0001_ship.jpg", include_bytes!("../samples/0001_ship.jpg")),
    ("0002_ship.jpg", include_bytes!("../samples/0002_ship.jpg")),
    (
        "0003_airplane.jpg",
        include_bytes!("../samples/0003_airplane.jpg"),
    ),
    ("0004_frog.jpg", include_bytes!("../samples/0004_frog.jpg")),
    ("0005_frog.jpg", include_bytes!("../samples/0005_frog.jpg")),
    (
        "0006_automobile.jpg",
        include_bytes!("../samples/0006_automobile.jpg"),
    ),
    ("0008_cat.jpg", include_bytes!("../samples/0008_cat.jpg")),
    (
        "0009_automobile.jpg",
        include_bytes!("../samples/0009_automobile.jpg"),
    ),
    (
        "0010_airplane.jpg",
        include_bytes!("../samples/0010_airplane.jpg"),
    ),
    (
        "0011_truck.jpg",
        include_bytes!("../samples/0011_truck.jpg"),
    ),
    ("0012_dog.jpg", include_bytes!("../samples/0012_dog.jpg")),
    (
        "0013_horse.jpg",
        include_bytes!("../samples/0013_horse.jpg"),
    ),
    (
        "0014_truck.jpg",
        include_bytes!("../samples/0014_truck.jpg"),
    ),
    ("0016_dog.jpg", include_bytes!("../samples/0016_dog.jpg")),
    (
        "0017_horse.jpg",
        include_bytes!("../samples/0017_horse.jpg"),
    ),
    ("0022_deer.jpg", include_bytes!("../samples/0022_deer.jpg")),
    ("0025_bird.jpg", include_bytes!("../samples/0025_bird.jpg")),
    ("0026_deer.jpg", include_bytes!("../samples/0026_deer.jpg")),
    ("0035_bird.jpg", include_bytes!("../samples/0035_bird.jpg")),
];

/// The true class of a sample, from its name.
pub fn sample_label(name: &str) -> Option<usize> {
    let stem = name.strip_suffix(".jpg")?;
    crate::label_index(stem.split('_').nth(1)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_decodes_and_is_labelled() {
        assert_eq!(SAMPLES.len(), 20);
        for (name, bytes) in SAMPLES {
            assert!(sample_label(name).is_some(), "{name}");
            crate::preprocess::preprocess(bytes, None, &Default::default()).expect(name);
        }
    }
}
