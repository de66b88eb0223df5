//! [`Backend::Cpu`](crate::Backend::Cpu): the burn model's parameters handed to
//! `lookout-cpu`, which repacks them for this CPU's kernels. burn stays the one definition of
//! the network (and trains it, loads every weights format, runs it on wgpu); the plan only
//! runs inference, and is tested against burn's own forward pass (`Backend::Flex`).

use lookout_cpu::{ConvParams, DenseParams, Params, Plan};

use crate::arch::Cnn;
use crate::classifier::ClassifierError;
use crate::quant::{QTensor, snapshot};
use crate::weights::WeightsError;

/// The plan for `model`'s current parameters.
pub(crate) fn plan(model: &Cnn) -> Result<Plan, ClassifierError> {
    let tensors = snapshot(model)?;
    let get = |name: &str| -> Result<&QTensor, WeightsError> {
        tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| WeightsError::Mismatch(format!("the network has no {name}")))
    };
    let conv = |i: usize| -> Result<ConvParams<'_>, WeightsError> {
        let (w, b) = (
            get(&format!("conv{i}.weight"))?,
            get(&format!("conv{i}.bias"))?,
        );
        match w.shape[..] {
            [co, ci, 3, 3] => Ok(ConvParams {
                weight: &w.values,
                bias: &b.values,
                in_channels: ci,
                out_channels: co,
            }),
            _ => Err(WeightsError::Mismatch(format!(
                "conv{i}.weight has shape {:?}, not [out, in, 3, 3]",
                w.shape
            ))),
        }
    };
    let dense = |name: &str| -> Result<DenseParams<'_>, WeightsError> {
        let (w, b) = (
            get(&format!("{name}.weight"))?,
            get(&format!("{name}.bias"))?,
        );
        match w.shape[..] {
            [inputs, outputs] => Ok(DenseParams {
                weight: &w.values,
                bias: &b.values,
                inputs,
                outputs,
            }),
            _ => Err(WeightsError::Mismatch(format!(
                "{name}.weight has shape {:?}, not [in, out]",
                w.shape
            ))),
        }
    };
    let params = Params {
        conv: [conv(1)?, conv(2)?, conv(3)?, conv(4)?],
        fc1: dense("fc1")?,
        fc2: dense("fc2")?,
    };
    Ok(Plan::new(&params)?)
}
