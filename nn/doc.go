// Package nn is otoseg's tensor engine for volumetric segmentation networks:
// 5-D float32 tensors, layers with forward and backward passes, losses and
// the kernels behind them. No Go library runs 3-D convolutions at a useful
// speed on a CPU, so the engine is built here and held to PyTorch's speed and
// numerics (see the README's engine figures).
//
// Layers follow one contract (Layer): Forward caches what Backward needs when
// training, Backward returns the input gradient and accumulates parameter
// gradients into Param.Grad. Each layer owns and reuses its output buffers
// across steps, so a training loop allocates nothing after its first step.
package nn
