/**
 * Module and optimiser state to and from safetensors bytes (no file system here, so it runs in a browser).
 * Module tensors are saved under their dotted names, as PyTorch names them. Optimiser buffers are saved
 * under `<parameter index>.<buffer>`, with the optimiser's kind, step and hyperparameters in the metadata.
 */
import type { Module } from './module.ts';
import type { Optimizer, OptimizerState } from './optim/optimizer.ts';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from './safetensors.ts';

/** A module's parameters and buffers as safetensors bytes, with optional string metadata. */
export function moduleToSafetensors(module: Module, metadata: Record<string, string> = {}): Uint8Array {
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const [name, t] of [...module.namedParameters(), ...module.namedBuffers()]) {
    tensors[name] = { shape: t.shape, data: t.data };
  }
  return encodeSafetensors(tensors, metadata);
}

/**
 * Loads safetensors bytes into `module` (names and shapes must match exactly) and returns the file's
 * metadata.
 */
export function loadModuleFromSafetensors(
  module: Module,
  bytes: Uint8Array,
  source = 'safetensors data',
): Record<string, string> {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  module.loadStateDict(tensors, { source });
  return metadata;
}

export function optimizerStateToSafetensors(state: OptimizerState): Uint8Array {
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const [name, data] of Object.entries(state.buffers)) tensors[name] = { shape: [data.length], data };
  return encodeSafetensors(tensors, {
    kind: state.kind,
    step: String(state.step),
    hyper: JSON.stringify(state.hyper),
  });
}

export function optimizerStateFromSafetensors(
  bytes: Uint8Array,
  source = 'safetensors data',
): OptimizerState {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const { kind, step, hyper } = metadata;
  if (kind === undefined || step === undefined || hyper === undefined) {
    throw new Error(
      `optimizerStateFromSafetensors: ${source} lacks the 'kind', 'step' and 'hyper' metadata of an optimiser state`,
    );
  }
  const buffers: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(tensors)) buffers[name] = t.data;
  let parsed: Record<string, number | boolean>;
  try {
    parsed = JSON.parse(hyper);
  } catch {
    throw new Error(
      `optimizerStateFromSafetensors: ${source} has 'hyper' metadata that is not JSON: ${hyper}`,
    );
  }
  return { kind, step: Number(step), hyper: parsed, buffers };
}

/** Saves an optimiser's state as safetensors bytes. */
export function optimizerToSafetensors(optimizer: Optimizer): Uint8Array {
  return optimizerStateToSafetensors(optimizer.stateDict());
}

/** Restores an optimiser's state from safetensors bytes written by `optimizerToSafetensors`. */
export function loadOptimizerFromSafetensors(
  optimizer: Optimizer,
  bytes: Uint8Array,
  source = 'safetensors data',
): void {
  optimizer.loadStateDict(optimizerStateFromSafetensors(bytes, source));
}
