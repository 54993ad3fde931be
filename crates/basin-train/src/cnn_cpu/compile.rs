//! The layer list of a [`CnnStep`](super::CnnStep), compiled from the model's program.

use super::{BnState, Grid, Layer, Param};
use crate::model::{Model, Op};

/// Builds the layer list from the model's program.
pub(super) struct Compiler<'a> {
    pub(super) model: &'a Model,
    pub(super) grid: Grid,
    /// Flat width once flattened.
    pub(super) width: Option<usize>,
    pub(super) layers: Vec<Layer>,
    pub(super) params: Vec<Param>,
    pub(super) bns: Vec<BnState>,
}

impl Compiler<'_> {
    fn dims(&self, name: &str) -> Option<Vec<usize>> {
        self.model.parameters().get(name).map(|v| v.dims().to_vec())
    }

    fn conv(&mut self, name: &str, stride: usize) -> Option<()> {
        if self.width.is_some() {
            return None;
        }
        let weight = format!("{name}.weight");
        let dims = self.dims(&weight)?;
        let c_out = *dims.first()?;
        let bias = format!("{name}.bias");
        if dims != [c_out, self.grid.c, 3, 3] || self.dims(&bias)? != [c_out] || stride == 0 {
            return None;
        }
        let input = self.grid;
        let output = Grid { h: (input.h - 1) / stride + 1, w: (input.w - 1) / stride + 1, c: c_out };
        self.layers.push(Layer::Conv { param: self.params.len(), input, output, stride, relu: false });
        self.params.push(Param::new(weight, bias, Some(input.c), (c_out * 9 * input.c, c_out)));
        self.grid = output;
        Some(())
    }

    fn batch_norm(&mut self, name: &str) -> Option<()> {
        let c = self.grid.c;
        if self.width.is_some() || self.dims(&format!("{name}.weight"))? != [c] || self.dims(&format!("{name}.bias"))? != [c] {
            return None;
        }
        let buffer = |what: &str| format!("{name}.{what}");
        if !self.model.buffers().contains_key(&buffer("running_mean"))
            || !self.model.buffers().contains_key(&buffer("running_var"))
        {
            return None;
        }
        self.layers.push(Layer::BatchNorm { param: self.params.len(), bn: self.bns.len(), grid: self.grid, relu: false });
        self.params.push(Param::new(format!("{name}.weight"), format!("{name}.bias"), None, (c, c)));
        self.bns.push(BnState {
            running_mean_name: buffer("running_mean"),
            running_var_name: buffer("running_var"),
            running_mean: Vec::new(),
            running_var: Vec::new(),
            mean: Vec::new(),
            inv_std: Vec::new(),
            batch_var: Vec::new(),
            count: 0,
        });
        Some(())
    }

    fn relu(&mut self) -> Option<()> {
        let relu = self.layers.last_mut()?.relu_mut()?;
        if *relu {
            return None;
        }
        *relu = true;
        Some(())
    }

    /// Appends the layers of one program step; `None` when this pass does not cover it.
    pub(super) fn op(&mut self, op: &Op) -> Option<()> {
        match op {
            Op::Conv { name, stride } => self.conv(name, *stride)?,
            Op::BatchNorm(name) => self.batch_norm(name)?,
            Op::Relu => self.relu()?,
            Op::AvgPool2 => {
                let g = self.grid;
                if self.width.is_some() || g.h < 2 || g.w < 2 {
                    return None;
                }
                let output = Grid { h: g.h / 2, w: g.w / 2, c: g.c };
                self.layers.push(Layer::AvgPool { input: g, output });
                self.grid = output;
            }
            Op::Flatten => {
                if self.width.is_some() {
                    return None;
                }
                self.layers.push(Layer::Flatten { input: self.grid });
                self.width = Some(self.grid.len());
            }
            Op::Linear(name) => {
                let k = self.width?;
                let weight = format!("{name}.weight");
                let dims = self.dims(&weight)?;
                let bias = format!("{name}.bias");
                if dims.len() != 2 || dims[1] != k || self.dims(&bias)? != [dims[0]] {
                    return None;
                }
                self.layers.push(Layer::Linear { param: self.params.len(), k, m: dims[0], relu: false });
                self.params.push(Param::new(weight, bias, None, (dims[0] * k, dims[0])));
                self.width = Some(dims[0]);
            }
            // Model::forward: relu(h + bn_b(conv_b(relu(bn_a(conv_a(h)))))).
            Op::Residual { name, batch_norm } => {
                let (from, grid) = (self.layers.len(), self.grid);
                self.conv(&format!("{name}.conv_a"), 1)?;
                if *batch_norm {
                    self.batch_norm(&format!("{name}.bn_a"))?;
                }
                self.relu()?;
                self.conv(&format!("{name}.conv_b"), 1)?;
                if *batch_norm {
                    self.batch_norm(&format!("{name}.bn_b"))?;
                }
                if self.grid != grid || from == 0 {
                    return None;
                }
                self.layers.push(Layer::AddSkip { from, grid, relu: true });
            }
            Op::ToImage { .. } => return None,
        }
        Some(())
    }
}
