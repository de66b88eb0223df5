/// Number of classes the model predicts.
pub const NUM_CLASSES: usize = 10;

/// Class names in the order of the model's outputs (the CIFAR-10 label order).
pub const LABELS: [&str; NUM_CLASSES] = [
    "Airplane",
    "Automobile",
    "Bird",
    "Cat",
    "Deer",
    "Dog",
    "Frog",
    "Horse",
    "Ship",
    "Truck",
];

/// Index of a label, case-insensitively; `None` for an unknown name.
pub fn label_index(name: &str) -> Option<usize> {
    LABELS.iter().position(|l| l.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_in_cifar_order() {
        assert_eq!(LABELS.len(), NUM_CLASSES);
        assert_eq!(label_index("ship"), Some(8));
        assert_eq!(label_index("Airplane"), Some(0));
        assert_eq!(label_index("truck"), Some(9));
        assert_eq!(label_index("zebra"), None);
    }
}
