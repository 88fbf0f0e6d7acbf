//! Loading an ONNX file whose weights are block-quantised (SFace `int8bq`), which tract 0.23
//! refuses as it is ("DequantizeLinear: blocked quantization is not supported").
//!
//! The pinned bytes stay the pinned bytes: the file is decoded into tract-onnx's own protobuf
//! types in memory, rewritten, and only then handed to tract. Never is a converted file
//! written or pinned, so the sha256 in `models/MODELS.toml` keeps naming what runs.
//!
//! The rewrite:
//! 1. every `DequantizeLinear` with a `block_size` whose inputs are all initializers becomes
//!    one float32 initializer named as its output, `(q − zero_point) · scale`, where element
//!    `i` along `axis` uses block `i / block_size` of `scale` and `zero_point` (ONNX opset 21);
//! 2. initializers that only fed those nodes are removed;
//! 3. graph inputs that carry no data and that no node reads are dropped (the SFace export
//!    declares 29 weight names as inputs of that kind; tract would make each a model input).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use tract_onnx::pb;
use tract_onnx::prelude::*;

use crate::VisionError;

/// `TensorProto.DataType` codes used here.
const FLOAT: i32 = 1;
const UINT8: i32 = 2;
const INT8: i32 = 3;

/// What the rewrite changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Folded {
    /// `DequantizeLinear` nodes folded into float32 initializers.
    pub nodes: usize,
    /// Data-less, unread graph inputs dropped.
    pub inputs_dropped: usize,
}

/// Reads `path`, folds its block quantisation, and parses the result with tract.
pub(crate) fn load_folded(path: &Path) -> Result<(InferenceModel, Folded), VisionError> {
    if !path.is_file() {
        return Err(VisionError::ModelMissing { path: path.to_path_buf() });
    }
    let onnx = tract_onnx::onnx();
    let mut proto = onnx.proto_model_for_path(path).map_err(crate::model::model_error(path))?;
    let folded = fold_block_quantisation(&mut proto)
        .map_err(|message| VisionError::Model { path: path.to_path_buf(), message })?;
    let model = onnx.model_for_proto_model(&proto).map_err(crate::model::model_error(path))?;
    Ok((model, folded))
}

/// Rewrites `model` in place (see the [module docs](self)). Errors say which node is malformed.
pub(crate) fn fold_block_quantisation(model: &mut pb::ModelProto) -> Result<Folded, String> {
    let graph = model.graph.as_mut().ok_or("the file holds no graph")?;
    let mut initializers: HashMap<String, pb::TensorProto> =
        std::mem::take(&mut graph.initializer).into_iter().map(|t| (t.name.clone(), t)).collect();
    let mut folded = Folded::default();
    let mut kept_nodes = Vec::with_capacity(graph.node.len());
    for node in std::mem::take(&mut graph.node) {
        let foldable =
            is_blocked_dequantize(&node) && node.input.iter().all(|i| i.is_empty() || initializers.contains_key(i));
        if !foldable {
            kept_nodes.push(node);
            continue;
        }
        let constant =
            dequantize_blocks(&node, &initializers).map_err(|e| format!("node `{}`: {e}", node_name(&node)))?;
        initializers.insert(constant.name.clone(), constant);
        folded.nodes += 1;
    }
    graph.node = kept_nodes;

    let read: HashSet<&str> = graph.node.iter().flat_map(|n| n.input.iter().map(String::as_str)).collect();
    let outputs: HashSet<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
    // An initializer whose only readers were folded away is dead weight (tens of megabytes of
    // int8 blocks for SFace): drop it unless something still reads it.
    initializers.retain(|name, _| read.contains(name.as_str()) || outputs.contains(name.as_str()));
    let before = graph.input.len();
    graph.input.retain(|i| initializers.contains_key(&i.name) || read.contains(i.name.as_str()));
    folded.inputs_dropped = before - graph.input.len();
    let mut initializers: Vec<pb::TensorProto> = initializers.into_values().collect();
    initializers.sort_by(|a, b| a.name.cmp(&b.name));
    graph.initializer = initializers;
    Ok(folded)
}

fn node_name(node: &pb::NodeProto) -> &str {
    if node.name.is_empty() {
        node.output.first().map_or("?", String::as_str)
    } else {
        &node.name
    }
}

fn attr_int(node: &pb::NodeProto, name: &str) -> Option<i64> {
    node.attribute.iter().find(|a| a.name == name).map(|a| a.i)
}

fn is_blocked_dequantize(node: &pb::NodeProto) -> bool {
    node.op_type == "DequantizeLinear"
        && (node.domain.is_empty() || node.domain == "ai.onnx")
        && attr_int(node, "block_size").is_some_and(|b| b > 0)
}

/// The values of an int8 / uint8 tensor, from `raw_data` or `int32_data`.
fn integers(t: &pb::TensorProto) -> Result<Vec<f32>, String> {
    let from_raw = |f: fn(u8) -> f32| t.raw_data.iter().map(|&b| f(b)).collect::<Vec<f32>>();
    match (t.data_type, t.raw_data.is_empty()) {
        (INT8, false) => Ok(from_raw(|b| f32::from(b as i8))),
        (UINT8, false) => Ok(from_raw(f32::from)),
        (INT8 | UINT8, true) => Ok(t.int32_data.iter().map(|&v| v as f32).collect()),
        (other, _) => Err(format!("`{}` has data type {other}; only int8 and uint8 blocks are folded", t.name)),
    }
}

/// The values of a float32 tensor, from `raw_data` (little-endian) or `float_data`.
fn floats(t: &pb::TensorProto) -> Result<Vec<f32>, String> {
    if t.data_type != FLOAT {
        return Err(format!("`{}` has data type {}; scales must be float32", t.name, t.data_type));
    }
    if t.raw_data.is_empty() {
        return Ok(t.float_data.clone());
    }
    if !t.raw_data.len().is_multiple_of(4) {
        return Err(format!("`{}`: raw data of {} bytes is not a whole number of float32", t.name, t.raw_data.len()));
    }
    Ok(t.raw_data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

fn element_count(dims: &[i64]) -> Result<usize, String> {
    dims.iter().try_fold(1usize, |n, &d| {
        usize::try_from(d).ok().and_then(|d| n.checked_mul(d)).ok_or(format!("bad dimensions {dims:?}"))
    })
}

/// `(q − zero_point) · scale` per block, as a float32 initializer named as the node's output.
fn dequantize_blocks(
    node: &pb::NodeProto,
    initializers: &HashMap<String, pb::TensorProto>,
) -> Result<pb::TensorProto, String> {
    let get = |i: usize| node.input.get(i).filter(|n| !n.is_empty()).map(|n| &initializers[n]);
    let (Some(q), Some(scale)) = (get(0), get(1)) else {
        return Err("needs a quantised input and a scale".into());
    };
    let output = node.output.first().filter(|o| !o.is_empty()).ok_or("has no output")?;
    let block = usize::try_from(attr_int(node, "block_size").unwrap_or(0)).map_err(|_| "negative block_size")?;
    let rank = q.dims.len() as i64;
    let axis = attr_int(node, "axis").unwrap_or(1);
    let axis = usize::try_from(if axis < 0 { axis + rank } else { axis })
        .ok()
        .filter(|&a| a < q.dims.len())
        .ok_or(format!("axis {axis} outside rank {rank}"))?;

    let values = integers(q)?;
    let scales = floats(scale)?;
    let zero_points = match get(2) {
        Some(z) => integers(z)?,
        None => vec![0.0; scales.len()],
    };
    let dims: Vec<usize> = q.dims.iter().map(|&d| d as usize).collect();
    let mut scale_dims = dims.clone();
    scale_dims[axis] = dims[axis].div_ceil(block);
    let scale_shape: Vec<i64> = scale_dims.iter().map(|&d| d as i64).collect();
    if values.len() != element_count(&q.dims)? {
        return Err(format!("`{}` holds {} values for dimensions {:?}", q.name, values.len(), q.dims));
    }
    if scale.dims != scale_shape || scales.len() != element_count(&scale_shape)? || zero_points.len() != scales.len() {
        return Err(format!(
            "scale `{}` has dimensions {:?} ({} values, {} zero points); block size {block} along axis {axis} of {:?} needs {scale_shape:?}",
            scale.name,
            scale.dims,
            scales.len(),
            zero_points.len(),
            q.dims
        ));
    }
    // Row-major: an element's index splits into (outer, i along axis, inner); the scale of
    // (outer, i, inner) is at (outer, i / block, inner). Chunked loops, no per-element
    // division: this runs over ~6.5 M weights at every load.
    let inner: usize = dims[axis + 1..].iter().product();
    let (along, blocks) = (dims[axis], scale_dims[axis]);
    let mut raw = vec![0u8; values.len() * 4];
    let mut out = raw.chunks_exact_mut(4);
    for (outer, slab) in values.chunks_exact(along * inner).enumerate() {
        for (i, row) in slab.chunks_exact(inner).enumerate() {
            let first = (outer * blocks + i / block) * inner;
            let (z, s) = (&zero_points[first..first + inner], &scales[first..first + inner]);
            for ((v, (z, s)), o) in row.iter().zip(z.iter().zip(s)).zip(out.by_ref()) {
                o.copy_from_slice(&((v - z) * s).to_le_bytes());
            }
        }
    }
    Ok(pb::TensorProto {
        name: output.clone(),
        dims: q.dims.clone(),
        data_type: FLOAT,
        raw_data: raw,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(name: &str, dims: &[i64], data_type: i32, raw: Vec<u8>) -> pb::TensorProto {
        pb::TensorProto { name: name.into(), dims: dims.to_vec(), data_type, raw_data: raw, ..Default::default() }
    }

    fn f32s(t: &pb::TensorProto) -> Vec<f32> {
        floats(t).unwrap()
    }

    fn attr(name: &str, i: i64) -> pb::AttributeProto {
        pb::AttributeProto { name: name.into(), i, r#type: 2, ..Default::default() }
    }

    fn model(axis: i64, block: i64) -> pb::ModelProto {
        // q: 2×5 int8, blocks of 2 along axis 1 → scale/zero point 2×3 (the last block short).
        let q: Vec<u8> = [1i8, 2, 3, 4, 5, -1, -2, -3, -4, -5].iter().map(|&v| v as u8).collect();
        let scales: Vec<u8> = [1.0f32, 10.0, 100.0, 0.5, 2.0, 4.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let zeros: Vec<u8> = [0i8, 1, 0, 0, 0, -1].iter().map(|&v| v as u8).collect();
        let node = pb::NodeProto {
            op_type: "DequantizeLinear".into(),
            input: vec!["w_q".into(), "w_s".into(), "w_z".into()],
            output: vec!["w".into()],
            attribute: vec![attr("axis", axis), attr("block_size", block)],
            ..Default::default()
        };
        let reader = pb::NodeProto {
            op_type: "MatMul".into(),
            input: vec!["x".into(), "w".into()],
            output: vec!["y".into()],
            ..Default::default()
        };
        let input = |name: &str| pb::ValueInfoProto { name: name.into(), ..Default::default() };
        pb::ModelProto {
            graph: Some(pb::GraphProto {
                node: vec![node, reader],
                initializer: vec![
                    tensor("w_q", &[2, 5], INT8, q),
                    tensor("w_s", &[2, 3], FLOAT, scales),
                    tensor("w_z", &[2, 3], INT8, zeros),
                ],
                input: vec![input("x"), input("w_dangling")],
                output: vec![input("y")],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn blocks_are_dequantised_with_their_own_scale_and_zero_point() {
        let mut m = model(1, 2);
        let folded = fold_block_quantisation(&mut m).unwrap();
        assert_eq!(folded, Folded { nodes: 1, inputs_dropped: 1 });
        let g = m.graph.unwrap();
        assert_eq!(g.node.len(), 1, "only the reader is left");
        assert_eq!(
            g.initializer.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["w"],
            "the int8 blocks are gone"
        );
        assert_eq!(g.input.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["x"]);
        // row 0: blocks (1,2)·1, (3−1, 4−1)·10, 5·100; row 1: (−1,−2)·0.5, (−3,−4)·2, (−5+1)·4
        assert_eq!(f32s(&g.initializer[0]), [1.0, 2.0, 20.0, 30.0, 500.0, -0.5, -1.0, -6.0, -8.0, -16.0]);
        assert_eq!(g.initializer[0].dims, [2, 5]);
    }

    #[test]
    fn blocks_along_axis_zero_and_a_negative_axis() {
        // Axis 0 of a 1-D tensor (SFace's `pre_fc1_bias`): blocks of 2 → 3 scales.
        let mut m = model(0, 2);
        let g = m.graph.as_mut().unwrap();
        g.initializer[0] = tensor("w_q", &[5], INT8, [1i8, 2, 3, 4, 5].iter().map(|&v| v as u8).collect());
        g.initializer[1] =
            tensor("w_s", &[3], FLOAT, [1.0f32, 2.0, 3.0].iter().flat_map(|v| v.to_le_bytes()).collect());
        g.initializer[2] = tensor("w_z", &[3], INT8, vec![0, 1, 0]);
        fold_block_quantisation(&mut m).unwrap();
        assert_eq!(f32s(&m.graph.unwrap().initializer[0]), [1.0, 2.0, 4.0, 6.0, 15.0]);
        // axis −1 of a 2-D tensor is axis 1.
        let mut m = model(-1, 2);
        fold_block_quantisation(&mut m).unwrap();
        assert_eq!(f32s(&m.graph.unwrap().initializer[0])[..3], [1.0, 2.0, 20.0]);
    }

    #[test]
    fn malformed_blocks_are_a_clear_error() {
        let mut m = model(1, 3); // block 3 needs 2×2 scales, not 2×3
        let err = fold_block_quantisation(&mut m).unwrap_err();
        assert!(err.contains("node `w`") && err.contains("needs [2, 2]"), "{err}");
        let mut m = model(2, 2);
        assert!(fold_block_quantisation(&mut m).unwrap_err().contains("axis 2 outside rank 2"));
        let mut m = model(1, 2);
        m.graph.as_mut().unwrap().initializer[1].data_type = INT8;
        assert!(fold_block_quantisation(&mut m).unwrap_err().contains("scales must be float32"));
    }

    fn pinned_sface() -> std::path::PathBuf {
        huoti_assets::testing::models_dir().join("face_recognition_sface_2021dec_int8bq.onnx")
    }

    #[test]
    fn the_pinned_sface_file_folds_29_blocks_and_drops_29_dataless_inputs() {
        let (model, folded) = load_folded(&pinned_sface()).unwrap();
        assert_eq!(folded, Folded { nodes: 29, inputs_dropped: 29 });
        assert_eq!(model.input_outlets().unwrap().len(), 1, "one input left: `data`");
    }

    /// Why the fold exists: tract 0.23 alone refuses the file. When a tract upgrade makes this
    /// test fail, the fold can go.
    #[test]
    fn tract_alone_refuses_the_block_quantised_file() {
        let plain = tract_onnx::onnx()
            .model_for_path(pinned_sface())
            .and_then(|m| m.with_input_fact(0, f32::fact([1, 3, 112, 112]).into()))
            .and_then(|m| m.into_optimized());
        let err = format!("{:#}", plain.expect_err("tract refuses the unfolded file"));
        assert!(err.to_lowercase().contains("block"), "{err}");
    }

    #[test]
    fn per_tensor_dequantisation_and_dynamic_inputs_are_left_to_tract() {
        let mut m = model(1, 0);
        m.graph.as_mut().unwrap().node[0].attribute.retain(|a| a.name != "block_size");
        let folded = fold_block_quantisation(&mut m).unwrap();
        assert_eq!(folded.nodes, 0);
        assert_eq!(m.graph.as_ref().unwrap().node.len(), 2);
        let mut m = model(1, 2);
        m.graph.as_mut().unwrap().node[0].input[0] = "x".into(); // not a constant
        assert_eq!(fold_block_quantisation(&mut m).unwrap().nodes, 0);
    }
}
