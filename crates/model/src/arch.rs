//! The seed architecture, parameter for parameter.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use crate::labels::NUM_CLASSES;
use crate::preprocess::INPUT_SIZE;

/// Parameter count of [`Cnn`]: convs 896 + 18,496 + 36,928 × 2, dense 2,097,664 + 5,130.
pub const NUM_PARAMS: usize = 2_196_042;

/// conv 3→32, conv 32→64, pool, dropout .25; conv 64→64 ×2, pool, dropout .25;
/// linear 4096→512, dropout .5, linear 512→10. ReLU after every conv and the first linear.
#[derive(Module, Debug)]
pub struct Cnn {
    conv1: Conv2d,
    conv2: Conv2d,
    conv3: Conv2d,
    conv4: Conv2d,
    pool: MaxPool2d,
    drop1: Dropout,
    drop2: Dropout,
    drop3: Dropout,
    fc1: Linear,
    fc2: Linear,
}

fn conv(c_in: usize, c_out: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

impl Cnn {
    /// A freshly initialised network on `device`.
    pub fn new(device: &Device) -> Self {
        let flat = 64 * (INPUT_SIZE / 4) * (INPUT_SIZE / 4);
        Self {
            conv1: conv(3, 32, device),
            conv2: conv(32, 64, device),
            conv3: conv(64, 64, device),
            conv4: conv(64, 64, device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            drop1: DropoutConfig::new(0.25).init(),
            drop2: DropoutConfig::new(0.25).init(),
            drop3: DropoutConfig::new(0.5).init(),
            fc1: LinearConfig::new(flat, 512).init(device),
            fc2: LinearConfig::new(512, NUM_CLASSES).init(device),
        }
    }

    /// Logits `[batch, 10]` for normalised images `[batch, 3, 32, 32]`. Dropout is active only
    /// on an autodiff device in training mode.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x = relu(self.conv1.forward(x));
        let x = relu(self.conv2.forward(x));
        let x = self.drop1.forward(self.pool.forward(x));
        let x = relu(self.conv3.forward(x));
        let x = relu(self.conv4.forward(x));
        let x = self.drop2.forward(self.pool.forward(x));
        let x: Tensor<2> = x.flatten(1, 3);
        let x = self.drop3.forward(relu(self.fc1.forward(x)));
        self.fc2.forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_count_matches_the_seed() {
        let model = Cnn::new(&Device::flex());
        assert_eq!(model.num_params(), NUM_PARAMS);
    }

    #[test]
    fn output_shape() {
        let device = Device::flex();
        let model = Cnn::new(&device);
        let x = Tensor::<4>::zeros([3, 3, INPUT_SIZE, INPUT_SIZE], &device);
        assert_eq!(model.forward(x).dims(), [3, NUM_CLASSES]);
    }
}
