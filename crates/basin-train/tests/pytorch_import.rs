//! PyTorch-saved nets (tests/reference/export_pytorch.py, torch 2.15.0):
//! imported weights give PyTorch's logits, and three SGD steps (momentum,
//! weight decay, BatchNorm in training mode) give PyTorch's weights and
//! running statistics.

use std::collections::BTreeMap;
use std::path::PathBuf;

use basin_train::{import_pytorch, Architecture, Mode, SgdConfig, SgdMomentum};
use candle_core::{Device, Tensor};
use candle_nn::Optimizer;
use safetensors::{tensor::Dtype, SafeTensors};

fn reference(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference").join(file)
}

/// All tensors of a reference file: f32 as they are, i64 converted to u32.
fn read_io(name: &str) -> (BTreeMap<String, Tensor>, Vec<u32>) {
    let buf = std::fs::read(reference(&format!("{name}_io.safetensors"))).unwrap();
    let st = SafeTensors::deserialize(&buf).unwrap();
    let mut out = BTreeMap::new();
    let mut labels = Vec::new();
    for (k, v) in st.tensors() {
        match v.dtype() {
            Dtype::F32 => {
                let vals: Vec<f32> = v.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
                out.insert(k, Tensor::from_vec(vals, v.shape(), &Device::Cpu).unwrap());
            }
            Dtype::I64 => {
                labels = v
                    .data()
                    .chunks_exact(8)
                    .map(|c| u32::try_from(i64::from_le_bytes(c.try_into().unwrap())).unwrap())
                    .collect();
            }
            other => panic!("unexpected dtype {other:?}"),
        }
    }
    (out, labels)
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    a.sub(b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}

fn check(name: &str) {
    let dev = Device::Cpu;
    let arch: Architecture = serde_json::from_str(&std::fs::read_to_string(reference(&format!("{name}.json"))).unwrap()).unwrap();
    let model = import_pytorch(reference(&format!("{name}.safetensors")), &arch, &dev).unwrap();
    let (io, labels) = read_io(name);
    let logits = model.forward(&io["x"], Mode::Eval).unwrap();
    let diff = max_abs_diff(&logits, &io["logits"]);
    assert!(diff <= 1e-5, "{name}: logits differ from PyTorch by {diff}");

    // Three SGD steps in training mode, as the script does.
    let y = Tensor::from_vec(labels, io["x"].dim(0).unwrap(), &dev).unwrap();
    let cfg = SgdConfig { lr: 0.1, momentum: 0.9, weight_decay: 1e-2, nesterov: false };
    let mut opt = SgdMomentum::new(model.vars(), cfg).unwrap();
    for _ in 0..3 {
        let logits = model.forward(&io["x"], Mode::TRAIN).unwrap();
        opt.backward_step(&candle_nn::loss::cross_entropy(&logits, &y).unwrap()).unwrap();
    }
    let mut compared = 0;
    for (k, t) in model.named_tensors() {
        let expected = &io[&format!("after_sgd.{k}")];
        let diff = max_abs_diff(&t, expected);
        assert!(diff <= 2e-5, "{name}: `{k}` after 3 SGD steps differs from PyTorch by {diff}");
        compared += 1;
    }
    assert_eq!(compared, io.keys().filter(|k| k.starts_with("after_sgd.")).count());
}

#[test]
fn mlp_matches_pytorch() {
    check("mlp");
}

#[test]
fn batchnorm_mlp_matches_pytorch() {
    check("mlp_bn");
}

#[test]
fn strided_cnn_matches_pytorch() {
    check("cnn");
}

#[test]
fn residual_batchnorm_avgpool_cnn_matches_pytorch() {
    check("resnet_bn");
}

#[test]
fn missing_tensor_is_named() {
    let arch: Architecture = serde_json::from_str(&std::fs::read_to_string(reference("cnn.json")).unwrap()).unwrap();
    let err = import_pytorch(reference("mlp.safetensors"), &arch, &Device::Cpu).unwrap_err();
    assert!(err.to_string().contains("conv0"), "{err}");
}

