//! Lookout's one predict pipeline: the CIFAR-10 CNN, its preprocessing, its labels and its
//! embedded weights. The browser, the edge worker, the native server and the CLI are thin
//! adapters around [`Classifier`].

mod arch;
pub mod cifar;
mod classifier;
mod cpu;
pub mod eval;
pub mod fixtures;
mod labels;
pub mod preprocess;
pub mod quant;
pub mod samples;
pub mod weights;

pub use arch::{Cnn, NUM_PARAMS};
pub use classifier::{Backend, Classifier, ClassifierError, Prediction, device_for, softmax};
pub use labels::{LABELS, NUM_CLASSES, label_index};
pub use preprocess::{DecodeLimits, INPUT_SIZE, MEAN, PreprocessError, STD};

/// Re-exported so that adapters name burn's device without depending on burn's feature set.
pub use burn::tensor::Device;
