/** The tensor layer's public face: Tensor, autodiff, creation, ops, kernels, random numbers. */

export { Rng } from '../rng/index.ts';
export {
  activeBackend,
  type BackendChoice,
  type BackendName,
  type BackendOptions,
  DEFAULT_GPU_THRESHOLD,
  gpuBackendStats,
  setBackend,
} from './gpu/gpu-backend.ts';
export { type AdamKernel, type AdamStep, adamJs } from './kernels/adam.ts';
export { type ActiveKernels, jsKernels, type KernelSet, kernels, setKernels } from './kernels/backend.ts';
export { type BoundLogVarKernel, boundLogVarJs } from './kernels/bound-logvar.ts';
export { type BinaryOp, fastTanh, sigmoid, softplus, type UnaryOp } from './kernels/elementwise.ts';
export { type GaussianNllKernel, gaussianNllJs } from './kernels/gaussian-nll.ts';
export { type GruGatesKernel, type GruSequenceKernel, gruGatesJs } from './kernels/gru.ts';
export type {
  BatchedLayer,
  FusedActivation,
  FusedLinear,
  FusedLinearBatched,
  PackedWeightsKey,
  StackSaved,
} from './kernels/linear.ts';
export { type Gemm, type GemmBatched, gemmBatchedJs, gemmJs } from './kernels/matmul.ts';
export { columnSumJs } from './kernels/reduce.ts';
export { type KernelChoice, useKernels, wasmKernels } from './kernels/select.ts';
export { fromNdarray, toNdarray } from './ndarray-interop.ts';
export { add, clamp, div, maximum, minimum, mul, pow, sub, unary, where } from './ops/elementwise.ts';
export { matmul } from './ops/matmul.ts';
export { logSoftmax, max, mean, softmax, sum } from './ops/reduce.ts';
export { concat, gather, reshape, slice, transpose } from './ops/shape-ops.ts';
export { keep, tidy } from './pool.ts';
export { broadcastShapes, type Shape, shapeSize, shapeString } from './shape.ts';
export {
  arange,
  atTopLevel,
  full,
  gradBuffer,
  gradIsFresh,
  isGradEnabled,
  type NestedArray,
  needsGrad,
  noGrad,
  ones,
  rand,
  randn,
  recordGraph,
  resultTensor,
  Tensor,
  type TensorLike,
  type TensorOptions,
  tensor,
  trackedTensor,
  zeros,
} from './tensor.ts';
