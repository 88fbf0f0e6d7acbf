//! `PRelu` as one tract operation (issue 15).
//!
//! tract-onnx 0.23 expands every `PRelu(x, slope)` into `Iff(0 > x, x · slope, x)`, whose
//! comparison and `Iff` run through ndarray's generic element loops. FaceMesh has 23 PRelu,
//! Iris 53, each MiniFASNet 33, so that was ~17 % of a session's CPU. An earlier rewrite
//! spelled it as four vectorised operations (`Relu`, `Sub`, `Mul` by the per-channel slope,
//! `Add`); each is a pass over the tensor, with a temporary, and the per-channel `Mul` runs
//! one small kernel call per channel plane. [`ChannelPrelu`] does the same arithmetic in one
//! pass, in place:
//!
//! ```text
//! pos = x > 0 ? x : 0
//! out = pos + (x − pos) · slope[channel]
//! ```
//!
//! which is, value for value, what the four operations computed: for x > 0, `x + 0·slope = x`;
//! for x ≤ 0, `0 + x·slope`, and adding zero is exact. So the models' outputs, and every
//! decision made from them, do not change; a test below compares each pinned model's outputs bit for
//! bit with the four-operation form.
//!
//! The operation is used when the slope is a constant that varies along the channel axis
//! (axis 1) only, as in every model huoti ships. Any other `PRelu` keeps the four-operation
//! form, wired here from tract's own operations.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::math;
use tract_onnx::tract_hir::internal::{check_input_arity, check_output_arity, expand, Expansion, InferenceOp};
use tract_onnx::tract_hir::internal::{InferenceResult, Solver, TensorProxy};

/// Makes `onnx` build every `PRelu` node with [`PreluExpansion`].
pub(crate) fn register(onnx: &mut tract_onnx::Onnx) {
    onnx.op_register.insert("PRelu", build);
}

fn build(_: &ParsingContext, _: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    Ok((expand(PreluExpansion), vec![]))
}

/// The ONNX `PRelu`, wired as [`ChannelPrelu`] where it can be, else as four operations.
#[derive(Debug, Clone)]
pub(crate) struct PreluExpansion;

impl Expansion for PreluExpansion {
    fn name(&self) -> StaticName {
        "HuotiPrelu".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        Ok(())
    }

    fn wire(&self, name: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let (x, slope) = (inputs[0], inputs[1]);
        if let Some(op) = ChannelPrelu::for_facts(model.outlet_fact(x)?, model.outlet_fact(slope)?)? {
            return model.wire_node(name, op, &[x]);
        }
        wire_four_operations(name, model, x, slope)
    }
}

/// `pos = max(x, 0)`, `neg = x − pos`, `out = pos + neg · slope`, on tract's element-wise
/// kernels: the general form, for slopes that are not per-channel constants.
fn wire_four_operations(name: &str, model: &mut TypedModel, x: OutletId, slope: OutletId) -> TractResult<TVec<OutletId>> {
    let fact = model.outlet_fact(x)?.clone();
    let mut slope = slope;
    while model.outlet_fact(slope)?.rank() < fact.rank() {
        let rank = model.outlet_fact(slope)?.rank();
        slope = model.wire_node(format!("{name}.slope_axis_{rank}"), AxisOp::Add(0), &[slope])?[0];
    }
    let zero = tensor0(0.0f32).cast_to_dt(fact.datum_type)?.into_owned().broadcast_into_rank(fact.rank())?;
    let zero = model.add_const(format!("{name}.zero"), zero)?;
    let pos = model.wire_node(format!("{name}.pos"), math::max(), &[x, zero])?[0];
    let neg = model.wire_node(format!("{name}.neg"), math::sub(), &[x, pos])?[0];
    let scaled = model.wire_node(format!("{name}.scaled"), math::mul(), &[neg, slope])?[0];
    model.wire_node(name, math::add(), &[pos, scaled])
}

/// `PRelu` over f32 with one slope per channel (axis 1), in one in-place pass.
#[derive(Debug, Clone)]
pub(crate) struct ChannelPrelu {
    /// One per channel.
    slopes: Vec<f32>,
}

impl PartialEq for ChannelPrelu {
    fn eq(&self, other: &Self) -> bool {
        self.slopes.len() == other.slopes.len() && self.slopes.iter().zip(&other.slopes).all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

impl Eq for ChannelPrelu {}

impl ChannelPrelu {
    /// The operation for input `x` and `slope`, or `None` where the slope is not a constant
    /// f32 that varies along axis 1 only (or nowhere), or `x` has no fixed channel count.
    fn for_facts(x: &TypedFact, slope: &TypedFact) -> TractResult<Option<ChannelPrelu>> {
        let Some(values) = slope.konst.as_ref() else { return Ok(None) };
        if x.datum_type != f32::datum_type() || values.datum_type() != f32::datum_type() || x.rank() < 2 || slope.rank() > x.rank() {
            return Ok(None);
        }
        let Some(channels) = x.shape[1].as_i64() else { return Ok(None) };
        let channels = channels as usize;
        // Slope dims aligned on the right, as ONNX broadcasting does.
        let padded: Vec<usize> = std::iter::repeat_n(1, x.rank() - slope.rank()).chain(values.shape().iter().copied()).collect();
        let along_channels = padded[1] == channels || padded[1] == 1;
        if !along_channels || padded.iter().enumerate().any(|(axis, &d)| axis != 1 && d != 1) {
            return Ok(None);
        }
        let values = values.try_as_plain_ram()?.as_slice::<f32>()?.to_vec();
        let slopes = if values.len() == channels { values } else { vec![values[0]; channels] };
        Ok(Some(ChannelPrelu { slopes }))
    }

    fn apply(&self, data: &mut [f32], shape: &[usize]) -> TractResult<()> {
        let channels = self.slopes.len();
        if shape.len() < 2 || shape[1] != channels {
            bail!("ChannelPrelu: input shape {shape:?} does not have {channels} channels on axis 1");
        }
        let plane: usize = shape[2..].iter().product();
        if plane == 0 {
            return Ok(());
        }
        for (index, values) in data.chunks_exact_mut(plane).enumerate() {
            let slope = self.slopes[index % channels];
            for v in values {
                let pos = if *v > 0.0 { *v } else { 0.0 };
                *v = pos + (*v - pos) * slope;
            }
        }
        Ok(())
    }
}

impl Op for ChannelPrelu {
    fn name(&self) -> StaticName {
        "ChannelPrelu".into()
    }

    op_as_typed_op!();
}

impl EvalOp for ChannelPrelu {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let mut x = args_1!(inputs).into_tensor();
        let shape = x.shape().to_vec();
        self.apply(x.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?, &shape)?;
        Ok(tvec!(x.into_tvalue()))
    }
}

impl TypedOp for ChannelPrelu {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(inputs[0].datum_type.fact(inputs[0].shape.clone())))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use tract_onnx::pb;
    use tract_onnx::prelude::*;

    use super::*;
    use crate::rewrite_check::{assert_bit_identical, run_on_varied_input};

    /// The four-operation form as the previous version of this module wrote it, in the
    /// protobuf, before tract parses it: the reference the one-pass operation must equal.
    fn as_four_operations(model: &mut pb::ModelProto) -> usize {
        let graph = model.graph.as_mut().unwrap();
        let mut rewritten = 0;
        let mut nodes = Vec::new();
        for node in std::mem::take(&mut graph.node) {
            if node.op_type != "PRelu" {
                nodes.push(node);
                continue;
            }
            let (x, slope, out) = (&node.input[0], &node.input[1], &node.output[0]);
            let [pos, neg, scaled] = ["pos", "neg", "scaled"].map(|part| format!("{out}.prelu_{part}"));
            let op = |op_type: &str, inputs: &[&String], output: &String| pb::NodeProto {
                name: format!("{output}.node"),
                op_type: op_type.to_owned(),
                input: inputs.iter().map(|s| (*s).clone()).collect(),
                output: vec![output.clone()],
                ..Default::default()
            };
            nodes.push(op("Relu", &[x], &pos));
            nodes.push(op("Sub", &[x, &pos], &neg));
            nodes.push(op("Mul", &[&neg, slope], &scaled));
            nodes.push(op("Add", &[&pos, &scaled], out));
            rewritten += 1;
        }
        graph.node = nodes;
        rewritten
    }

    enum Form {
        TractDefault,
        FourOperations,
        OnePass,
    }

    /// Runs a pinned model (input `shape`) on a fixed, varied input; returns how many
    /// `ChannelPrelu` it holds, and its outputs.
    fn outputs(file: &str, shape: [usize; 4], form: Form) -> (usize, Vec<Vec<f32>>) {
        let mut onnx = tract_onnx::onnx();
        let path = huoti_assets::testing::models_dir().join(file);
        let mut proto = onnx.proto_model_for_path(path).expect("the pinned models (huoti models fetch)");
        let prelus = proto.graph.as_ref().unwrap().node.iter().filter(|n| n.op_type == "PRelu").count();
        match form {
            Form::TractDefault => {}
            Form::FourOperations => assert_eq!(as_four_operations(&mut proto), prelus),
            Form::OnePass => register(&mut onnx),
        }
        let model = onnx
            .model_for_proto_model(&proto)
            .and_then(|m| m.with_input_fact(0, f32::fact(shape).into()))
            .and_then(|m| m.into_optimized())
            .unwrap();
        let one_pass = model.nodes().iter().filter(|n| n.op_is::<ChannelPrelu>()).count();
        (one_pass, run_on_varied_input(&model.into_runnable().unwrap(), shape))
    }

    #[test]
    fn the_pinned_models_give_bit_identical_outputs_with_the_one_pass_prelu() {
        for (file, shape, prelus) in [
            ("face_landmark.onnx", [1, 3, 192, 192], 23),
            ("iris_landmark.onnx", [1, 3, 64, 64], 53),
            ("2.7_80x80_MiniFASNetV2.onnx", [1, 3, 80, 80], 33),
            ("4_0_0_80x80_MiniFASNetV1SE.onnx", [1, 3, 80, 80], 33),
        ] {
            let (n, one_pass) = outputs(file, shape, Form::OnePass);
            let (_, four) = outputs(file, shape, Form::FourOperations);
            let (_, original) = outputs(file, shape, Form::TractDefault);
            assert_eq!(n, prelus, "{file}: each PRelu node becomes one ChannelPrelu");
            assert_bit_identical(file, &one_pass, &four);
            // And both stay within rounding of tract's own `Iff` expansion.
            for (a, b) in one_pass.iter().zip(&original) {
                let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
                assert!(worst <= 1e-5, "{file}: outputs differ from tract's expansion by up to {worst}");
            }
        }
    }

    /// A tiny graph `y = PRelu(x, s)` with slope `s` of the given shape and values.
    fn prelu_graph(x_shape: &[usize], slope_shape: &[usize], slope: &[f32]) -> std::sync::Arc<TypedRunnableModel> {
        let mut onnx = tract_onnx::onnx();
        register(&mut onnx);
        let float_type = pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor { elem_type: pb::tensor_proto::DataType::Float as i32, shape: None })),
            ..Default::default()
        };
        let proto = pb::ModelProto {
            ir_version: 7,
            opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: 13 }],
            graph: Some(pb::GraphProto {
                node: vec![pb::NodeProto { op_type: "PRelu".into(), input: vec!["x".into(), "s".into()], output: vec!["y".into()], ..Default::default() }],
                initializer: vec![pb::TensorProto {
                    name: "s".into(),
                    dims: slope_shape.iter().map(|&d| d as i64).collect(),
                    data_type: pb::tensor_proto::DataType::Float as i32,
                    float_data: slope.to_vec(),
                    ..Default::default()
                }],
                input: vec![pb::ValueInfoProto { name: "x".into(), r#type: Some(float_type), ..Default::default() }],
                output: vec![pb::ValueInfoProto { name: "y".into(), ..Default::default() }],
                ..Default::default()
            }),
            ..Default::default()
        };
        onnx.model_for_proto_model(&proto)
            .and_then(|m| m.with_input_fact(0, f32::fact(x_shape).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .unwrap()
    }

    fn run(plan: &std::sync::Arc<TypedRunnableModel>, shape: &[usize], x: &[f32]) -> Vec<f32> {
        let input = tract_ndarray::ArrayD::from_shape_vec(shape, x.to_vec()).unwrap().into_tensor();
        let out = plan.run(tvec!(input.into())).unwrap();
        out[0].try_as_plain_ram().unwrap().as_slice::<f32>().unwrap().to_vec()
    }

    #[test]
    fn per_channel_slopes_scale_each_channels_negative_values() {
        let plan = prelu_graph(&[1, 2, 1, 3], &[2, 1, 1], &[0.5, -2.0]);
        assert!(plan.model().nodes().iter().any(|n| n.op_is::<ChannelPrelu>()));
        let y = run(&plan, &[1, 2, 1, 3], &[-2.0, 0.0, 3.0, -1.0, -0.0, 4.0]);
        assert_eq!(y, [-1.0, 0.0, 3.0, 2.0, 0.0, 4.0]);
    }

    #[test]
    fn a_slope_that_varies_along_another_axis_keeps_the_four_operations() {
        // One slope per column: not per channel, so the general form, with the same meaning.
        let plan = prelu_graph(&[1, 1, 2, 2], &[2], &[0.5, 3.0]);
        assert!(!plan.model().nodes().iter().any(|n| n.op_is::<ChannelPrelu>()));
        let y = run(&plan, &[1, 1, 2, 2], &[-2.0, -2.0, 1.0, -1.0]);
        assert_eq!(y, [-1.0, -6.0, 1.0, -3.0]);
    }
}
