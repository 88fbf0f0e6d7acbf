//! 2×2 stride-2 max pooling as one tight loop (issue 15).
//!
//! FaceMesh, Iris and YuNet all halve their feature maps with a 2×2, stride-2 `MaxPool` (5 after
//! tract merges two, 6 and 4 of them). tract 0.23 has a fast path for stride 1 only; stride 2 takes a per-pixel
//! walk with bounds tests on every tap, ≈ 110 instructions per output value, which made max
//! pooling ≈ 12 % of a session's instructions. [`MaxPool2x2`] walks pairs of rows instead:
//! no bounds to test, because it is used only where the windows tile the input exactly.
//!
//! It folds the four taps in tract's order with the same `f32::max`, starting from `f32::MIN`
//! as tract does, so every output is bit-identical (a test below runs each pinned model both
//! ways).

use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::{MaxPool, PaddingSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

/// Replaces every max pool of `model` (before code generation) that [`MaxPool2x2`] computes
/// exactly; returns how many.
pub(crate) fn replace_2x2_stride_2(model: &mut TypedModel) -> TractResult<usize> {
    crate::model::replace_each(model, |model, node| {
        let Some(pool) = node.op_as::<MaxPool>() else { return Ok(None) };
        let spec = &pool.pool_spec;
        let no_padding = match &spec.padding {
            PaddingSpec::Valid => true,
            PaddingSpec::Explicit(before, after) | PaddingSpec::ExplicitOnnxPool(before, after, _) => {
                before.iter().chain(after).all(|&p| p == 0)
            }
            _ => false,
        };
        let fact = model.outlet_fact(node.inputs[0])?;
        let tiles = fact.shape.as_concrete().is_some_and(|s| s.len() == 4 && s[2] % 2 == 0 && s[3] % 2 == 0);
        let exact = pool.with_index_outputs.is_none()
            && spec.data_format == DataFormat::NCHW
            && spec.kernel_shape[..] == [2, 2]
            && spec.strides()[..] == [2, 2]
            && spec.dilations()[..] == [1, 1]
            && no_padding
            && fact.datum_type == f32::datum_type()
            && tiles;
        Ok(exact.then_some(MaxPool2x2))
    })
}

/// Max over each 2×2 window, stride 2, of an NCHW f32 tensor with even height and width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MaxPool2x2;

/// Pools `input` (planes of `h`×`w`) into `output` (planes of `h/2`×`w/2`).
fn pool(input: &[f32], output: &mut [f32], h: usize, w: usize) {
    let (oh, ow) = (h / 2, w / 2);
    for (plane, out_plane) in input.chunks_exact(h * w).zip(output.chunks_exact_mut(oh * ow)) {
        for (rows, out_row) in plane.chunks_exact(2 * w).zip(out_plane.chunks_exact_mut(ow)) {
            let (top, bottom) = rows.split_at(w);
            for ((out, t), b) in out_row.iter_mut().zip(top.chunks_exact(2)).zip(bottom.chunks_exact(2)) {
                *out = f32::MIN.max(t[0]).max(t[1]).max(b[0]).max(b[1]);
            }
        }
    }
}

impl Op for MaxPool2x2 {
    fn name(&self) -> StaticName {
        "MaxPool2x2".into()
    }

    op_as_typed_op!();
}

impl EvalOp for MaxPool2x2 {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let &[n, c, h, w] = input.shape() else { bail!("MaxPool2x2: input shape {:?} is not NCHW", input.shape()) };
        if h % 2 != 0 || w % 2 != 0 {
            bail!("MaxPool2x2: input shape {:?} has an odd height or width", input.shape());
        }
        let mut output = Tensor::zero::<f32>(&[n, c, h / 2, w / 2])?;
        pool(input.try_as_plain_ram()?.as_slice::<f32>()?, output.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?, h, w);
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for MaxPool2x2 {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shape = &inputs[0].shape;
        if shape.rank() != 4 {
            bail!("MaxPool2x2: input of rank {} is not NCHW", shape.rank());
        }
        let half = |d: &TDim| d.clone() / 2;
        Ok(tvec!(f32::fact([shape[0].clone(), shape[1].clone(), half(&shape[2]), half(&shape[3])])))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite_check::{assert_bit_identical, outputs};

    #[test]
    fn pools_each_2x2_window_of_each_plane() {
        #[rustfmt::skip]
        let input = [
            1.0, 5.0, -1.0, -2.0,
            3.0, 2.0, -3.0, -0.5,
            f32::MIN, -9.0, 7.0, 7.0,
            -8.0, -7.0, 0.0, 6.0,
        ];
        let mut out = [0.0; 4];
        pool(&input, &mut out, 4, 4);
        assert_eq!(out, [5.0, -0.5, -7.0, 7.0]);
        let mut two = [0.0; 2];
        pool(&[1.0, 2.0, 3.0, 4.0, -1.0, -2.0, -3.0, -4.0], &mut two, 2, 2);
        assert_eq!(two, [4.0, -1.0]);
    }

    #[test]
    fn the_pinned_models_give_bit_identical_outputs() {
        for (file, shape, pools) in [
            // FaceMesh has six, but two pool the same tensor and tract merges them.
            ("face_landmark.onnx", [1, 3, 192, 192], 5),
            ("iris_landmark.onnx", [1, 3, 64, 64], 6),
            ("face_detection_yunet_2026may.onnx", [1, 3, 256, 320], 4),
        ] {
            let (n, fast) = outputs(file, shape, Some(replace_2x2_stride_2));
            let (_, tract) = outputs(file, shape, None);
            assert_eq!(n, pools, "{file}: every 2×2 stride-2 max pool replaced");
            assert_bit_identical(file, &fast, &tract);
        }
    }
}
