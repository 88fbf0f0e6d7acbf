//! Test support for our own operations (`maxpool`, `pad`, `onnx_prelu`, `depthwise`): a
//! pinned model run with and without them on one fixed input, so a test can demand
//! bit-identical outputs.

use tract_onnx::prelude::*;

/// Runs the pinned `file` (input `shape`) on [the fixed input](run_on_varied_input) after
/// `rewrite` (which returns how many nodes it replaced) or
/// without it. Returns the count and each output's values.
pub(crate) fn outputs(file: &str, shape: [usize; 4], rewrite: Option<fn(&mut TypedModel) -> TractResult<usize>>) -> (usize, Vec<Vec<f32>>) {
    let path = huoti_assets::testing::models_dir().join(file);
    let mut model = tract_onnx::onnx()
        .model_for_path(path)
        .and_then(|m| m.with_input_fact(0, f32::fact(shape).into()))
        .and_then(|m| m.into_typed())
        .and_then(|m| m.into_decluttered())
        .unwrap();
    let n = rewrite.map_or(0, |r| r(&mut model).unwrap());
    let plan = model.into_optimized().and_then(|m| m.into_runnable()).unwrap();
    (n, run_on_varied_input(&plan, shape))
}

/// Runs `plan` (input `shape`) on a fixed, varied input: a face-like range of values with
/// structure in every channel (not a constant image, where positive and negative activations
/// could hide a wrong slope). Returns each output's values.
pub(crate) fn run_on_varied_input(plan: &std::sync::Arc<TypedRunnableModel>, shape: [usize; 4]) -> Vec<Vec<f32>> {
    let len = shape.iter().product::<usize>();
    let input: Vec<f32> = (0..len).map(|i| ((i * 7919 % 1009) as f32 / 1009.0) * 2.0 - 1.0).collect();
    let input = tract_ndarray::ArrayD::from_shape_vec(&shape[..], input).unwrap().into_tensor();
    let outs = plan.run(tvec!(input.into())).unwrap();
    outs.iter().map(|t| t.try_as_plain_ram().and_then(|v| v.as_slice::<f32>().map(<[f32]>::to_vec)).unwrap()).collect()
}

/// Asserts that two runs' outputs are bit for bit the same.
pub(crate) fn assert_bit_identical(file: &str, a: &[Vec<f32>], b: &[Vec<f32>]) {
    assert_eq!(a.len(), b.len(), "{file}: output count");
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.len(), y.len(), "{file}: output length");
        assert!(x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits()), "{file}: outputs differ");
    }
}
