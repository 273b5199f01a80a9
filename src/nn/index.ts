/**
 * The neural-network layer's public face: modules and layers, losses, optimisers, schedules, and
 * safetensors checkpoints. Built only on src/tensor.
 */

export { ACTIVATIONS, type Activation } from './activation.ts';
export {
  DenoisingAutoencoder,
  type DenoisingAutoencoderOptions,
} from './autoencoder.ts';
export {
  type CheckpointFiles,
  loadCheckpoint,
  loadModule,
  loadOptimizer,
  readFileBytes,
  saveCheckpoint,
  saveModule,
  saveOptimizer,
  writeFileAtomic,
} from './checkpoint.ts';
export {
  boundLogVar,
  type EnsembleLayerWeights,
  EnsembleLinear,
  type EnsembleLinearOptions,
  EnsembleMLP,
  type EnsembleMLPOptions,
  ensembleLinear,
  type GaussianOutput,
  ProbabilisticEnsemble,
  type ProbabilisticEnsembleOptions,
} from './ensemble.ts';
export { GRU, GRUCell, type GRUOptions, type GRUResult, gruGates } from './gru.ts';
export { initWeights, orthogonal, uniformFanIn, type WeightInit, xavierUniform } from './init.ts';
export { LayerNorm, type LayerNormOptions, layerNorm } from './layer-norm.ts';
export { Linear, type LinearOptions, linear } from './linear.ts';
export {
  crossEntropy,
  type GaussianNllOptions,
  gaussianNll,
  type HuberOptions,
  huber,
  type LossOptions,
  mse,
  type Reduction,
} from './losses.ts';
export { MLP, type MLPOptions } from './mlp.ts';
export { type LoadStateDictOptions, Module, parameter, type StateDict } from './module.ts';
export { Adam, type AdamOptions, AdamW } from './optim/adam.ts';
export { clipCoefficient, clipGradNorm, gradNorm, scaleGrads } from './optim/clip.ts';
export { Optimizer, type OptimizerState } from './optim/optimizer.ts';
export { SGD, type SGDOptions } from './optim/sgd.ts';
export {
  decodeSafetensors,
  encodeSafetensors,
  type SafetensorsContents,
  type SafetensorsTensor,
} from './safetensors.ts';
export {
  constantSchedule,
  cosineSchedule,
  type DecayOptions,
  linearSchedule,
  type Schedule,
} from './schedules.ts';
export {
  loadModuleFromSafetensors,
  loadOptimizerFromSafetensors,
  moduleToSafetensors,
  optimizerStateFromSafetensors,
  optimizerStateToSafetensors,
  optimizerToSafetensors,
} from './serialize.ts';
