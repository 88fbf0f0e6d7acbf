//! Depthwise 2-D convolution in register-sized blocks (issue 15).
//!
//! FaceMesh, Iris, YuNet and MiniFASNet are mostly depthwise-separable blocks: tract's depthwise
//! convolution was ≈ 15 % of a session's server CPU (`perf`). tract 0.23 walks it by zones and
//! calls its vector kernel once per output row and zone, which suits wide maps; these models'
//! maps shrink to 12, 6 and 3 pixels, where the per-row set-up and the scalar tails cost more
//! than the arithmetic. [`DepthwiseConv`] copies each channel once into zero-padded planes (one
//! per horizontal stride phase, so that every tap reads a contiguous run), then computes blocks
//! of 32 or 8 output points, each block summed over the nine taps before it is written.
//!
//! Every output is bit-identical to tract's: it starts from the channel's bias and adds each
//! tap's product in kernel order (row-major), one rounding per multiply and per add, as tract's
//! zone walk and its AVX kernel do (neither uses FMA). tract skips the taps that fall in the
//! padding; here they add `k × 0 = ±0`, which leaves any sum that is not `-0` unchanged — and a
//! sum that starts from a bias other than `-0` never is `-0` — so the op is used only where
//! every bias differs from `-0` and every weight is finite. A test below runs each pinned model
//! both ways.
//!
//! **The one `unsafe` of this crate** is the call into the AVX build of the loops, after the
//! CPU was seen to have AVX: the same safe Rust, compiled with 8-wide vectors. x86-64's
//! baseline (SSE2, 4-wide) made it slower than tract's own AVX kernel (FaceMesh 4.7 ms against
//! 3.7 ms a run); with AVX it is faster (3.3 ms; Iris 2.7 ms against 3.2 ms). So the op
//! replaces tract's only on x86-64 CPUs with AVX; elsewhere tract's stays.

use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat};
use tract_onnx::tract_core::ops::nn::DataFormat;

/// Output points computed together while the row has this many left: four AVX vectors of
/// sums, each tap's input row and weight found once for all of them (one block of 8 at a
/// time was measured slower: FaceMesh 3.6 ms against 3.3 ms a run).
const WIDE: usize = 32;
/// The block for the rest of a row (and for whole rows of the small maps).
const NARROW: usize = 8;
/// The kernel's height and width: the only size replaced (every pinned model's).
const K: usize = 3;

/// Replaces every depthwise convolution of `model` (before code generation) that
/// [`DepthwiseConv`] computes exactly; returns how many.
pub(crate) fn replace_depthwise(model: &mut TypedModel) -> TractResult<usize> {
    if !available() {
        return Ok(0);
    }
    crate::model::replace_each(model, |model, node| {
        let Some(conv) = node.op_as::<Conv>() else { return Ok(None) };
        let spec = &conv.pool_spec;
        // The convolutions tract itself runs as depthwise (`Conv::codegen`): one input and one
        // output channel per group, more than one group.
        let depthwise = conv.group > 1 && conv.group == spec.input_channels && conv.group == spec.output_channels;
        if !depthwise
            || conv.q_params.is_some()
            || conv.kernel_fmt != KernelFormat::OIHW
            || spec.data_format != DataFormat::NCHW
            || spec.kernel_shape.len() != 2
            || spec.dilations().iter().any(|&d| d != 1)
            || node.inputs.len() != 3
        {
            return Ok(None);
        }
        let x = model.outlet_fact(node.inputs[0])?;
        let (Some(kernel), Some(bias)) = (&model.outlet_fact(node.inputs[1])?.konst, &model.outlet_fact(node.inputs[2])?.konst) else {
            return Ok(None);
        };
        let Some(&[1, channels, h, w]) = x.shape.as_concrete() else { return Ok(None) };
        let (kh, kw) = (spec.kernel_shape[0], spec.kernel_shape[1]);
        let f32s = [x.datum_type, kernel.datum_type(), bias.datum_type()].iter().all(|&t| t == f32::datum_type());
        if !f32s || channels != conv.group || kernel.shape() != [channels, 1, kh, kw] || ![1, channels].contains(&bias.len()) {
            return Ok(None);
        }
        // The padding taps add ±0: a no-op only with finite weights and no bias of -0.
        let finite = kernel.try_as_plain_ram()?.as_slice::<f32>()?.iter().all(|k| k.is_finite());
        let no_negative_zero = bias.try_as_plain_ram()?.as_slice::<f32>()?.iter().all(|b| b.to_bits() != (-0.0f32).to_bits());
        let strides = spec.strides();
        // All the pinned models' depthwise kernels are 3×3, stride 1 or 2: the taps unroll.
        let shape_fits = [kh, kw] == [K, K] && (strides[..] == [1, 1] || strides[..] == [2, 2]);
        if !finite || !no_negative_zero || !shape_fits {
            return Ok(None);
        }
        let padded = spec.padding.compute(&[h, w], &spec.kernel_shape, &[1, 1], &strides);
        Ok(Some(DepthwiseConv {
            channels,
            input: [h, w],
            stride: strides[0],
            pad_before: [padded[0].pad_before, padded[1].pad_before],
            output: [padded[0].convoluted, padded[1].convoluted],
        }))
    })
}

/// Whether [`DepthwiseConv`] is faster than tract's own here: x86-64 with AVX (module docs).
fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::is_x86_feature_detected!("avx");
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}

/// A depthwise convolution of a `[1, channels, h, w]` f32 tensor by a `[channels, 1, 3, 3]`
/// kernel plus one bias per channel (or one for all), zero padding, no dilation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct DepthwiseConv {
    channels: usize,
    /// Input height and width.
    input: [usize; 2],
    /// The stride along both axes: 1 or 2.
    stride: usize,
    /// Zero rows above and columns left of the input.
    pad_before: [usize; 2],
    /// Output height and width.
    output: [usize; 2],
}

/// One channel's input, zero-padded and split by horizontal stride phase: padded column
/// `x` is `planes[x % stride][row][x / stride]`, so tap column `kx` of output points `ox..`
/// reads the contiguous run from `kx / stride + ox` of plane `kx % stride`.
struct PhasePlanes {
    data: Vec<f32>,
    rows: usize,
    /// Length of a plane's row: the columns any output point reads, plus a block's overrun.
    row_len: usize,
}

impl PhasePlanes {
    fn new(op: &DepthwiseConv) -> PhasePlanes {
        let ([oh, ow], s) = (op.output, op.stride);
        let rows = (oh - 1) * s + K;
        let row_len = (K - 1) / s + ow.next_multiple_of(NARROW);
        PhasePlanes { data: vec![0.0; s * rows * row_len], rows, row_len }
    }

    /// Copies `plane` (one channel, `h`×`w`) in; the padding stays zero.
    #[inline(always)]
    fn fill<const S: usize>(&mut self, op: &DepthwiseConv, plane: &[f32]) {
        let ([h, w], [pt, pl]) = (op.input, op.pad_before);
        let (rows, row_len) = (self.rows, self.row_len);
        let (phase0, phase1) = self.data.split_at_mut(rows * row_len);
        for (y, src) in plane.chunks_exact(w).enumerate().take(rows.saturating_sub(pt).min(h)) {
            let at = (y + pt) * row_len;
            if S == 1 {
                let dst = phase0[at..at + row_len].get_mut(pl..).unwrap_or_default();
                let n = dst.len().min(w);
                dst[..n].copy_from_slice(&src[..n]);
            } else {
                // Padded column x + pl: each pair of input columns lands one in each phase,
                // at the same position (the first of the pair in phase pl % 2).
                let (even, odd) = (&mut phase0[at..at + row_len], &mut phase1[at..at + row_len]);
                let (first, second) = if pl % 2 == 0 { (even, odd) } else { (odd, even) };
                let first = first.get_mut(pl / 2..).unwrap_or_default();
                let second = second.get_mut(pl.div_ceil(2)..).unwrap_or_default();
                let pairs = src.chunks_exact(2);
                let last = pairs.remainder().first().copied();
                let n = pairs.len();
                for ((pair, a), b) in pairs.zip(first.iter_mut()).zip(second.iter_mut()) {
                    *a = pair[0];
                    *b = pair[1];
                }
                if let (Some(v), Some(d)) = (last, first.get_mut(n)) {
                    *d = v;
                }
            }
        }
    }

    fn row(&self, phase: usize, row: usize) -> &[f32] {
        &self.data[(phase * self.rows + row) * self.row_len..][..self.row_len]
    }
}

impl DepthwiseConv {
    /// Convolves `input` (the whole tensor) and returns the output's values.
    fn run(&self, input: &[f32], kernel: &[f32], bias: &[f32]) -> Vec<f32> {
        #[cfg(target_arch = "x86_64")]
        if available() {
            // SAFETY: `run_avx` needs AVX, which `available` just saw this CPU has.
            #[allow(unsafe_code)]
            return unsafe { self.run_avx(input, kernel, bias) };
        }
        self.run_any(input, kernel, bias)
    }

    /// [`run_any`](Self::run_any) compiled with AVX.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx")]
    fn run_avx(&self, input: &[f32], kernel: &[f32], bias: &[f32]) -> Vec<f32> {
        self.run_any(input, kernel, bias)
    }

    /// The convolution in portable Rust (inlined into each build that calls it).
    #[inline(always)]
    fn run_any(&self, input: &[f32], kernel: &[f32], bias: &[f32]) -> Vec<f32> {
        match self.stride {
            1 => self.run_strided::<1>(input, kernel, bias),
            _ => self.run_strided::<2>(input, kernel, bias),
        }
    }

    #[inline(always)]
    fn run_strided<const S: usize>(&self, input: &[f32], kernel: &[f32], bias: &[f32]) -> Vec<f32> {
        let [h, w] = self.input;
        let [oh, ow] = self.output;
        let mut out = Vec::with_capacity(self.channels * oh * ow);
        if oh == 0 || ow == 0 {
            return out;
        }
        let mut planes = PhasePlanes::new(self);
        for (c, (plane, taps)) in input.chunks_exact(h * w).zip(kernel.chunks_exact(K * K)).enumerate() {
            let taps: &[f32; 9] = taps.try_into().expect("3×3 taps");
            let b = if bias.len() == 1 { bias[0] } else { bias[c] };
            planes.fill::<S>(self, plane);
            for oy in 0..oh {
                let rows: [[&[f32]; S]; 3] = std::array::from_fn(|ky| std::array::from_fn(|phase| planes.row(phase, oy * S + ky)));
                let mut x0 = 0;
                while ow - x0 >= WIDE {
                    out.extend_from_slice(&block::<WIDE, S>(&rows, taps, b, x0));
                    x0 += WIDE;
                }
                while x0 < ow {
                    let n = NARROW.min(ow - x0);
                    out.extend_from_slice(&block::<NARROW, S>(&rows, taps, b, x0)[..n]);
                    x0 += n;
                }
            }
        }
        out
    }
}

/// Output points `x0..x0 + N` of one row, `rows` being the three padded input rows it reads,
/// by phase: the bias, then each tap in kernel order.
#[inline(always)]
fn block<const N: usize, const S: usize>(rows: &[[&[f32]; S]; 3], taps: &[f32; 9], bias: f32, x0: usize) -> [f32; N] {
    let mut acc = [bias; N];
    for (ky, phases) in rows.iter().enumerate() {
        for kx in 0..3 {
            let k = taps[ky * 3 + kx];
            let src: &[f32; N] = phases[kx % S][x0 + kx / S..][..N].try_into().expect("N values");
            for (a, &v) in acc.iter_mut().zip(src) {
                *a += k * v;
            }
        }
    }
    acc
}

impl Op for DepthwiseConv {
    fn name(&self) -> StaticName {
        "DepthwiseConv".into()
    }

    op_as_typed_op!();
}

impl EvalOp for DepthwiseConv {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (x, kernel, bias) = args_3!(inputs);
        let [h, w] = self.input;
        if x.shape() != [1, self.channels, h, w] || kernel.shape() != [self.channels, 1, K, K] || ![1, self.channels].contains(&bias.len()) {
            bail!("DepthwiseConv: input {:?}, kernel {:?}, bias {:?} do not fit {self:?}", x.shape(), kernel.shape(), bias.shape());
        }
        let values = self.run(
            x.try_as_plain_ram()?.as_slice::<f32>()?,
            kernel.try_as_plain_ram()?.as_slice::<f32>()?,
            bias.try_as_plain_ram()?.as_slice::<f32>()?,
        );
        let output = tract_ndarray::Array4::from_shape_vec((1, self.channels, self.output[0], self.output[1]), values)?;
        Ok(tvec!(output.into_tensor().into_tvalue()))
    }
}

impl TypedOp for DepthwiseConv {
    fn output_facts(&self, _: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(f32::fact([1, self.channels, self.output[0], self.output[1]])))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite_check::{assert_bit_identical, outputs};

    /// The plain definition: every output is the bias plus each in-bounds tap, in kernel order.
    fn reference(op: &DepthwiseConv, input: &[f32], kernel: &[f32], bias: &[f32]) -> Vec<f32> {
        let ([h, w], [oh, ow]) = (op.input, op.output);
        let mut out = Vec::new();
        for c in 0..op.channels {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut sum = bias[c % bias.len()];
                    for ky in 0..K {
                        for kx in 0..K {
                            let iy = (oy * op.stride + ky) as isize - op.pad_before[0] as isize;
                            let ix = (ox * op.stride + kx) as isize - op.pad_before[1] as isize;
                            if (0..h as isize).contains(&iy) && (0..w as isize).contains(&ix) {
                                sum += kernel[(c * K + ky) * K + kx] * input[(c * h + iy as usize) * w + ix as usize];
                            }
                        }
                    }
                    out.push(sum);
                }
            }
        }
        out
    }

    #[test]
    fn matches_the_definition_for_strides_paddings_and_tiny_maps() {
        let cases = [
            // (channels, input, stride, pad before, output)
            (3, [5, 7], 1, [1, 1], [5, 7]),
            (2, [4, 75], 1, [1, 1], [4, 75]), // wide and narrow blocks
            (2, [6, 6], 2, [0, 0], [2, 2]),   // no padding
            (2, [6, 6], 2, [0, 0], [3, 3]),   // padding after only (TensorFlow's "same")
            (2, [6, 6], 2, [1, 1], [3, 3]),
            (1, [5, 77], 2, [1, 1], [3, 39]),
            (4, [1, 2], 1, [1, 1], [1, 2]),   // taps outside on every side
            (4, [1, 1], 2, [1, 1], [1, 1]),
        ];
        for (channels, input, stride, pad_before, output) in cases {
            let op = DepthwiseConv { channels, input, stride, pad_before, output };
            let x: Vec<f32> = (0..channels * input[0] * input[1]).map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.173).collect();
            let k: Vec<f32> = (0..channels * K * K).map(|i| ((i * 13 % 17) as f32 - 8.0) * 0.311).collect();
            for bias in [vec![0.5], (0..channels).map(|c| c as f32 - 0.25).collect()] {
                let want = reference(&op, &x, &k, &bias);
                // The build this CPU runs, and the portable one.
                assert_bit_identical(&format!("{op:?}"), &[op.run(&x, &k, &bias)], std::slice::from_ref(&want));
                assert_bit_identical(&format!("{op:?}"), &[op.run_any(&x, &k, &bias)], &[want]);
            }
        }
    }

    #[test]
    fn the_pinned_models_give_bit_identical_outputs() {
        for (file, shape) in [
            ("face_landmark.onnx", [1, 3, 192, 192]),
            ("iris_landmark.onnx", [1, 3, 64, 64]),
            ("face_detection_yunet_2026may.onnx", [1, 3, 256, 320]),
            ("2.7_80x80_MiniFASNetV2.onnx", [1, 3, 80, 80]),
            ("4_0_0_80x80_MiniFASNetV1SE.onnx", [1, 3, 80, 80]),
        ] {
            let (n, fast) = outputs(file, shape, Some(replace_depthwise));
            let (_, tract) = outputs(file, shape, None);
            assert!(n > 0 || !available(), "{file}: its depthwise convolutions replaced");
            assert_bit_identical(file, &fast, &tract);
            eprintln!("{file}: {n} depthwise convolutions replaced");
        }
    }
}
