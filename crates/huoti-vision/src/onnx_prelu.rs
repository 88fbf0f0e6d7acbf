//! `PRelu` rewritten into operations tract runs fast (issue 15).
//!
//! tract-onnx 0.23 expands every `PRelu(x, slope)` into `Iff(0 > x, x · slope, x)`; the
//! comparison and the `Iff` run through ndarray's generic element loops, which in a profile of
//! the server took ~17 % of a session's CPU time (FaceMesh has 23 PRelu, Iris 53, each
//! MiniFASNet 33). The same function written as
//!
//! ```text
//! pos = Relu(x)          max(x, 0)
//! neg = Sub(x, pos)      min(x, 0), exactly: x − x = 0 and x − 0 = x
//! out = Add(pos, Mul(neg, slope))
//! ```
//!
//! runs on tract's vectorised element-wise kernels. It gives the same numbers: for x > 0,
//! `x + 0·slope = x`; for x < 0, `0 + x·slope = x·slope` (adding zero is exact); at 0 both
//! give zero. So the models' outputs, and every decision made from them, do not change — a
//! test below compares FaceMesh's outputs with and without the rewrite.
//!
//! As with [`onnx_fold`](crate::onnx_fold), the pinned file is never changed: the rewrite is
//! made on the decoded protobuf in memory, before tract parses it.

use tract_onnx::pb;

/// Rewrites every `PRelu` node of `model` (see the [module docs](self)); returns how many.
pub(crate) fn prelu_as_relu_arithmetic(model: &mut pb::ModelProto) -> usize {
    let Some(graph) = model.graph.as_mut() else { return 0 };
    let mut rewritten = 0;
    let mut nodes = Vec::with_capacity(graph.node.len());
    for node in std::mem::take(&mut graph.node) {
        let is_prelu = node.op_type == "PRelu" && node.domain.is_empty() && node.input.len() == 2 && node.output.len() == 1;
        if !is_prelu {
            nodes.push(node);
            continue;
        }
        let (x, slope, out) = (&node.input[0], &node.input[1], &node.output[0]);
        // Names derived from the output's, which is unique in the graph.
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

#[cfg(test)]
mod tests {
    use tract_onnx::prelude::*;

    use super::*;

    fn facemesh() -> std::path::PathBuf {
        huoti_assets::testing::models_dir().join("face_landmark.onnx")
    }

    /// Runs FaceMesh (input 1×3×192×192) on a fixed, varied input; with or without the rewrite.
    fn facemesh_outputs(rewrite: bool) -> (usize, Vec<Vec<f32>>) {
        let onnx = tract_onnx::onnx();
        let mut proto = onnx.proto_model_for_path(facemesh()).expect("the pinned FaceMesh (huoti models fetch)");
        let n = if rewrite { prelu_as_relu_arithmetic(&mut proto) } else { 0 };
        let plan = onnx
            .model_for_proto_model(&proto)
            .and_then(|m| m.with_input_fact(0, f32::fact([1, 3, 192, 192]).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .unwrap();
        // A face-like range of values with structure in every channel (not a constant image,
        // where positive and negative activations could hide a wrong slope).
        let input: Vec<f32> = (0..3 * 192 * 192).map(|i| ((i * 7919 % 1009) as f32 / 1009.0) * 2.0 - 1.0).collect();
        let input = tract_ndarray::Array4::from_shape_vec((1, 3, 192, 192), input).unwrap().into_tensor();
        let outputs = plan.run(tvec!(input.into())).unwrap();
        (n, outputs.iter().map(|t| t.try_as_plain_ram().and_then(|v| v.as_slice::<f32>().map(<[f32]>::to_vec)).unwrap()).collect())
    }

    #[test]
    fn facemesh_gives_the_same_outputs_with_prelu_rewritten() {
        let (n, rewritten) = facemesh_outputs(true);
        let (_, original) = facemesh_outputs(false);
        assert_eq!(n, 23, "FaceMesh has 23 PRelu nodes");
        assert_eq!(rewritten.len(), original.len());
        for (a, b) in rewritten.iter().zip(&original) {
            assert_eq!(a.len(), b.len());
            let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
            assert!(worst <= 1e-5, "outputs differ by up to {worst}");
        }
    }

    #[test]
    fn only_prelu_nodes_are_rewritten() {
        let mut model = pb::ModelProto {
            graph: Some(pb::GraphProto {
                node: vec![
                    pb::NodeProto { op_type: "Conv".into(), input: vec!["x".into(), "w".into()], output: vec!["c".into()], ..Default::default() },
                    pb::NodeProto { op_type: "PRelu".into(), input: vec!["c".into(), "s".into()], output: vec!["y".into()], ..Default::default() },
                ],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(prelu_as_relu_arithmetic(&mut model), 1);
        let ops: Vec<(&str, Vec<&str>, &str)> = model.graph.as_ref().unwrap().node.iter().map(|n| (n.op_type.as_str(), n.input.iter().map(String::as_str).collect(), n.output[0].as_str())).collect();
        assert_eq!(
            ops,
            [
                ("Conv", vec!["x", "w"], "c"),
                ("Relu", vec!["c"], "y.prelu_pos"),
                ("Sub", vec!["c", "y.prelu_pos"], "y.prelu_neg"),
                ("Mul", vec!["y.prelu_neg", "s"], "y.prelu_scaled"),
                ("Add", vec!["y.prelu_pos", "y.prelu_scaled"], "y"),
            ]
        );
    }
}
