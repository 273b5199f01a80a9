/**
 * A world model's file: one safetensors file with the module's weights under their dotted names, the
 * scalers and other arrays under `extra.*` names, and the kind and config as JSON metadata, written
 * atomically. Reading checks the kind and reports a missing or misshapen entry by name.
 */
import {
  decodeSafetensors,
  encodeSafetensors,
  type Module,
  readFileBytes,
  type SafetensorsTensor,
  writeFileAtomic,
} from '../../nn/index.ts';
import { Tensor } from '../../tensor/index.ts';

export interface ModelFileContents {
  kind: string;
  config: unknown;
  /** The module's state (weights) by dotted name. */
  state: Record<string, Tensor>;
  /** The other arrays by name. */
  extra: Record<string, Float32Array>;
  metadata: Record<string, string>;
}

const EXTRA = 'extra.';

export function saveModelFile(
  file: string,
  kind: string,
  config: unknown,
  module: Module,
  extra: Record<string, Float32Array>,
  metadata: Record<string, string> = {},
): void {
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const [name, t] of Object.entries(module.stateDict()))
    tensors[name] = { shape: t.shape, data: t.data };
  for (const [name, data] of Object.entries(extra)) tensors[EXTRA + name] = { shape: [data.length], data };
  const meta = { ...metadata, kind, config: JSON.stringify(config) };
  writeFileAtomic(file, encodeSafetensors(tensors, meta));
}

export function readModelFile(file: string): ModelFileContents {
  const { tensors, metadata } = decodeSafetensors(readFileBytes(file, 'world model'), file);
  const kind = metadata.kind;
  if (kind === undefined || metadata.config === undefined) {
    throw new Error(`world model: ${file} has no 'kind' and 'config' metadata; is it a world-model file?`);
  }
  const state: Record<string, Tensor> = {};
  const extra: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (name.startsWith(EXTRA)) extra[name.slice(EXTRA.length)] = t.data;
    else state[name] = new Tensor(t.data, [...t.shape]);
  }
  return { kind, config: JSON.parse(metadata.config), state, extra, metadata };
}

/** The array `name` of `contents.extra`, of `length` numbers, or a clear error. */
export function extraArray(
  contents: ModelFileContents,
  name: string,
  length: number,
  file: string,
): Float32Array {
  const values = contents.extra[name];
  if (!values) throw new Error(`world model: ${file} lacks '${name}'`);
  if (values.length !== length) {
    throw new Error(`world model: ${file} holds ${values.length} numbers for '${name}', expected ${length}`);
  }
  return values;
}
