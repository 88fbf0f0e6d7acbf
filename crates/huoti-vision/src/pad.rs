//! Constant padding along one axis as block copies (issue 15).
//!
//! FaceMesh and Iris widen their residual branches by padding the channel axis with zeros
//! (`Pad` on axis 1 only). tract 0.23 pads through ndarray's generic slice assignment, which
//! made padding ≈ 4 % of a session's server instructions (FaceMesh has 3 such pads, Iris 1). Along one axis of a contiguous
//! tensor, a pad is a run of copies of whole blocks with constant fill between them;
//! [`PadOneAxis`] does exactly that. It is used only for constant f32 padding of a single
//! axis, and its outputs are the same values (a copy is a copy; a test below runs each pinned
//! model both ways).

use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::array::{Pad, PadMode};

/// Replaces every `Pad` of `model` (before code generation) that [`PadOneAxis`] computes
/// exactly; returns how many.
pub(crate) fn replace_one_axis_pads(model: &mut TypedModel) -> TractResult<usize> {
    crate::model::replace_each(model, |model, node| {
        let Some(pad) = node.op_as::<Pad>() else { return Ok(None) };
        let PadMode::Constant(value) = &pad.mode else { return Ok(None) };
        let padded: Vec<usize> = (0..pad.pads.len()).filter(|&a| pad.pads[a] != (0, 0)).collect();
        let fact = model.outlet_fact(node.inputs[0])?;
        let &[axis] = padded.as_slice() else { return Ok(None) };
        if fact.datum_type != f32::datum_type() || fact.shape.as_concrete().is_none() {
            return Ok(None);
        }
        let Ok(value) = value.cast_to_scalar::<f32>() else { return Ok(None) };
        let (before, after) = pad.pads[axis];
        Ok(Some(PadOneAxis { axis, before, after, value: value.to_bits() }))
    })
}

/// Pads axis `axis` of an f32 tensor with `before` and `after` entries of a constant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PadOneAxis {
    axis: usize,
    before: usize,
    after: usize,
    /// The fill value's bits (so that the operation compares as `Eq`).
    value: u32,
}

impl PadOneAxis {
    /// Pads `input` (of `shape`) into `output`.
    fn pad(&self, input: &[f32], shape: &[usize], output: &mut [f32]) {
        // Each outer index holds one block: `shape[axis]` rows of `inner` values in, with
        // `before` and `after` rows of fill around them out.
        let inner: usize = shape[self.axis + 1..].iter().product();
        let block_in = shape[self.axis] * inner;
        let (head, tail) = (self.before * inner, self.after * inner);
        let fill = f32::from_bits(self.value);
        if block_in == 0 {
            output.fill(fill);
            return;
        }
        for (block, out) in input.chunks_exact(block_in).zip(output.chunks_exact_mut(head + block_in + tail)) {
            let (front, rest) = out.split_at_mut(head);
            let (middle, back) = rest.split_at_mut(block_in);
            front.fill(fill);
            middle.copy_from_slice(block);
            back.fill(fill);
        }
    }
}

impl Op for PadOneAxis {
    fn name(&self) -> StaticName {
        "PadOneAxis".into()
    }

    op_as_typed_op!();
}

impl EvalOp for PadOneAxis {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let shape = input.shape().to_vec();
        if self.axis >= shape.len() {
            bail!("PadOneAxis: axis {} of an input of rank {}", self.axis, shape.len());
        }
        let mut out_shape = shape.clone();
        out_shape[self.axis] += self.before + self.after;
        let mut output = Tensor::zero::<f32>(&out_shape)?;
        self.pad(input.try_as_plain_ram()?.as_slice::<f32>()?, &shape, output.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?);
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for PadOneAxis {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut fact = inputs[0].without_value();
        if self.axis >= fact.rank() {
            bail!("PadOneAxis: axis {} of an input of rank {}", self.axis, fact.rank());
        }
        fact.shape.set(self.axis, fact.shape[self.axis].clone() + self.before + self.after);
        Ok(tvec!(fact))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite_check::{assert_bit_identical, outputs};

    #[test]
    fn pads_each_block_before_and_after() {
        let op = PadOneAxis { axis: 1, before: 1, after: 2, value: 7.0f32.to_bits() };
        // Shape [2, 2, 2]: two blocks of two rows of two.
        let input = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.5, 8.0];
        let mut out = [0.0; 2 * 5 * 2];
        op.pad(&input, &[2, 2, 2], &mut out);
        #[rustfmt::skip]
        assert_eq!(out, [
            7.0, 7.0, 1.0, 2.0, 3.0, 4.0, 7.0, 7.0, 7.0, 7.0,
            7.0, 7.0, 5.0, 6.0, 7.5, 8.0, 7.0, 7.0, 7.0, 7.0,
        ]);
    }

    #[test]
    fn the_pinned_models_give_bit_identical_outputs() {
        for (file, shape) in [("face_landmark.onnx", [1, 3, 192, 192]), ("iris_landmark.onnx", [1, 3, 64, 64])] {
            let (n, fast) = outputs(file, shape, Some(replace_one_axis_pads));
            let (_, tract) = outputs(file, shape, None);
            assert!(n > 0, "{file}: its channel pads replaced");
            assert_bit_identical(file, &fast, &tract);
            eprintln!("{file}: {n} pads replaced");
        }
    }
}
