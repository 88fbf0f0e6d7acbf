//! Loading ONNX files into tract plans: `load → fix input shape → optimise → run`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tract_onnx::prelude::*;

use crate::VisionError;

pub(crate) type Plan = Arc<TypedRunnableModel>;

pub(crate) fn model_error(path: &Path) -> impl Fn(TractError) -> VisionError + '_ {
    move |e| VisionError::Model { path: path.to_path_buf(), message: format!("{e:#}") }
}

fn parse(path: &Path) -> Result<InferenceModel, VisionError> {
    if !path.is_file() {
        return Err(VisionError::ModelMissing { path: path.to_path_buf() });
    }
    // PRelu as one fast operation, same numbers (see `onnx_prelu`).
    let mut onnx = tract_onnx::onnx();
    crate::onnx_prelu::register(&mut onnx);
    onnx.model_for_path(path).map_err(model_error(path))
}

/// Replaces, before code generation, each node of `model` for which `replacement` gives an
/// operation of our own (see `maxpool`, `pad` and `depthwise`); returns how many.
pub(crate) fn replace_each<O: TypedOp>(
    model: &mut TypedModel,
    mut replacement: impl FnMut(&TypedModel, &TypedNode) -> TractResult<Option<O>>,
) -> TractResult<usize> {
    let mut replaced = 0;
    for id in model.eval_order()? {
        let node = model.node(id);
        if let Some(op) = replacement(model, node)? {
            TypedModelPatch::replace_single_op(model, node, &node.inputs, op)?.apply(model)?;
            replaced += 1;
        }
    }
    Ok(replaced)
}

fn optimise(model: InferenceModel, shape: &[usize], path: &Path) -> Result<Plan, VisionError> {
    model
        .with_input_fact(0, f32::fact(shape).into())
        .and_then(|m| m.into_typed())
        .and_then(|m| m.into_decluttered())
        .and_then(|mut m| {
            // 2×2 stride-2 max pools on one tight loop, one-axis pads as block copies, and 3×3
            // depthwise convolutions in blocks of outputs: same numbers (see `maxpool`, `pad`
            // and `depthwise`).
            crate::maxpool::replace_2x2_stride_2(&mut m)?;
            crate::depthwise::replace_depthwise(&mut m)?;
            crate::pad::replace_one_axis_pads(&mut m)?;
            m.into_optimized()
        })
        .and_then(|m| m.into_runnable())
        .map_err(model_error(path))
}

/// A model with one fixed input shape, optimised once at load.
pub(crate) struct FixedModel {
    plan: Plan,
    path: PathBuf,
    shape: Vec<usize>,
}

impl FixedModel {
    pub(crate) fn load(path: &Path, shape: &[usize]) -> Result<Self, VisionError> {
        Self::from_parsed(parse(path)?, path, shape)
    }

    /// Optimises a model parsed elsewhere (SFace, rewritten by
    /// [`onnx_fold`](crate::onnx_fold) before tract sees it); `path` names it in errors.
    pub(crate) fn from_parsed(model: InferenceModel, path: &Path, shape: &[usize]) -> Result<Self, VisionError> {
        let plan = optimise(model, shape, path)?;
        Ok(FixedModel { plan, path: path.to_path_buf(), shape: shape.to_vec() })
    }

    /// Runs on one input buffer laid out as the fixed shape; returns every output flattened.
    pub(crate) fn run(&self, input: Vec<f32>) -> Result<Vec<Vec<f32>>, VisionError> {
        run_plan(&self.plan, vec_tensor(&self.shape, input, &self.path)?, &self.path)
    }

    /// Runs on an input that `fill` writes into the zero-filled input tensor itself: no copy of
    /// the pixels on their way in (tract copies a `Vec` into an aligned buffer of its own).
    pub(crate) fn run_filled(&self, fill: impl FnOnce(&mut [f32])) -> Result<Vec<Vec<f32>>, VisionError> {
        run_plan(&self.plan, filled_tensor(&self.shape, fill, &self.path)?, &self.path)
    }
}

/// A model whose input height and width vary (YuNet): one optimised plan per shape, built on
/// first use and kept, because the frames of one camera all share a shape.
pub(crate) struct ShapeCachedModel {
    parsed: InferenceModel,
    plans: Mutex<HashMap<Vec<usize>, Plan>>,
    path: PathBuf,
}

/// Upper bound on cached shapes, so a stream of odd image sizes can't grow memory forever.
const MAX_CACHED_SHAPES: usize = 16;

impl ShapeCachedModel {
    pub(crate) fn load(path: &Path) -> Result<Self, VisionError> {
        Ok(ShapeCachedModel { parsed: parse(path)?, plans: Mutex::new(HashMap::new()), path: path.to_path_buf() })
    }

    pub(crate) fn plan(&self, shape: &[usize]) -> Result<Plan, VisionError> {
        if let Some(plan) = self.plans.lock().expect("plan cache poisoned").get(shape) {
            return Ok(plan.clone());
        }
        let plan = optimise(self.parsed.clone(), shape, &self.path)?;
        let mut plans = self.plans.lock().expect("plan cache poisoned");
        if plans.len() >= MAX_CACHED_SHAPES {
            plans.clear();
        }
        plans.insert(shape.to_vec(), plan.clone());
        Ok(plan)
    }

    /// [`FixedModel::run_filled`] for the plan of `shape`.
    pub(crate) fn run_filled(&self, shape: &[usize], fill: impl FnOnce(&mut [f32])) -> Result<Vec<Vec<f32>>, VisionError> {
        let plan = self.plan(shape)?;
        run_plan(&plan, filled_tensor(shape, fill, &self.path)?, &self.path)
    }
}

fn vec_tensor(shape: &[usize], input: Vec<f32>, path: &Path) -> Result<Tensor, VisionError> {
    Ok(tract_ndarray::ArrayD::from_shape_vec(shape, input)
        .map_err(|e| VisionError::Model { path: path.to_path_buf(), message: e.to_string() })?
        .into_tensor())
}

fn filled_tensor(shape: &[usize], fill: impl FnOnce(&mut [f32]), path: &Path) -> Result<Tensor, VisionError> {
    let mut tensor = Tensor::zero::<f32>(shape).map_err(model_error(path))?;
    {
        let mut plain = tensor.try_as_plain_ram_mut().map_err(model_error(path))?;
        fill(plain.as_slice_mut::<f32>().map_err(model_error(path))?);
    }
    Ok(tensor)
}

fn run_plan(plan: &Plan, tensor: Tensor, path: &Path) -> Result<Vec<Vec<f32>>, VisionError> {
    let outputs = plan.run(tvec!(tensor.into())).map_err(model_error(path))?;
    outputs
        .iter()
        .map(|t| t.try_as_plain_ram().and_then(|v| v.as_slice::<f32>().map(<[f32]>::to_vec)).map_err(model_error(path)))
        .collect()
}
