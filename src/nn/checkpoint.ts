/**
 * Checkpoints on disk (Node only: in a browser each function here throws, pointing to the byte encoding in
 * serialize.ts and safetensors.ts, which works anywhere). Every write
 * goes to a temporary file in the same folder, is flushed to disk, and is then renamed over the target:
 * rename within a folder is atomic, so a crash leaves either the old file or the new one, never half a file.
 */
import { nodeBuiltin } from '../node-builtins/index.ts';
import type { Module } from './module.ts';
import type { Optimizer } from './optim/optimizer.ts';
import {
  loadModuleFromSafetensors,
  loadOptimizerFromSafetensors,
  moduleToSafetensors,
  optimizerToSafetensors,
} from './serialize.ts';

let tmpCounter = 0;

const BYTES_INSTEAD =
  'elsewhere, moduleToSafetensors and loadModuleFromSafetensors (or encodeSafetensors) work on bytes';
const fileSystem = (caller: string) => nodeBuiltin('node:fs', caller, BYTES_INSTEAD);
const paths = (caller: string) => nodeBuiltin('node:path', caller, BYTES_INSTEAD);

/** Writes `bytes` to `file` atomically (temporary file in the same folder, fsync, rename). */
export function writeFileAtomic(file: string, bytes: Uint8Array | string): void {
  const { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } =
    fileSystem('writeFileAtomic');
  mkdirSync(paths('writeFileAtomic').dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${tmpCounter++}.tmp`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
      let written = 0;
      while (written < data.length) written += writeSync(fd, data, written, data.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** The bytes of `file`; `what` (the caller) is quoted in the error, as is the file. */
export function readFileBytes(file: string, what: string): Uint8Array {
  const { readFileSync } = fileSystem(what);
  try {
    return readFileSync(file);
  } catch (e) {
    throw new Error(`${what}: cannot read ${file}: ${(e as Error).message}`);
  }
}

/** Saves a module's parameters and buffers to a safetensors file. */
export function saveModule(file: string, module: Module, metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, moduleToSafetensors(module, metadata));
}

/** Loads a safetensors file into `module` and returns its metadata. */
export function loadModule(file: string, module: Module): Record<string, string> {
  return loadModuleFromSafetensors(module, readFileBytes(file, 'loadModule'), file);
}

export function saveOptimizer(file: string, optimizer: Optimizer): void {
  writeFileAtomic(file, optimizerToSafetensors(optimizer));
}

export function loadOptimizer(file: string, optimizer: Optimizer): void {
  loadOptimizerFromSafetensors(optimizer, readFileBytes(file, 'loadOptimizer'), file);
}

export interface CheckpointFiles {
  model: string;
  optimizer: string | null;
}

/**
 * Saves `<dir>/<name>.safetensors` (the model) and, when an optimiser is given,
 * `<dir>/<name>.optim.safetensors` beside it. Returns the paths written.
 */
export function saveCheckpoint(
  dir: string,
  name: string,
  parts: { model: Module; optimizer?: Optimizer; metadata?: Record<string, string> },
): CheckpointFiles {
  const { join } = paths('saveCheckpoint');
  const model = join(dir, `${name}.safetensors`);
  const optimizer = parts.optimizer ? join(dir, `${name}.optim.safetensors`) : null;
  const metadata = { ...parts.metadata };
  if (parts.optimizer && optimizer) {
    saveOptimizer(optimizer, parts.optimizer);
    // Each file is atomic but the pair is not: the model, written second, records the optimiser's step
    // count, so a crash between the two writes is caught at load time instead of resuming out of step.
    metadata[OPTIMIZER_STEPS_KEY] = String(parts.optimizer.steps);
  }
  saveModule(model, parts.model, metadata);
  return { model, optimizer };
}

const OPTIMIZER_STEPS_KEY = 'optimizer_steps';

/** Loads what `saveCheckpoint` wrote; returns the model file's metadata. */
export function loadCheckpoint(
  dir: string,
  name: string,
  parts: { model: Module; optimizer?: Optimizer },
): Record<string, string> {
  const { join } = paths('loadCheckpoint');
  const { [OPTIMIZER_STEPS_KEY]: recordedSteps, ...metadata } = loadModule(
    join(dir, `${name}.safetensors`),
    parts.model,
  );
  if (parts.optimizer) {
    const file = join(dir, `${name}.optim.safetensors`);
    loadOptimizer(file, parts.optimizer);
    if (recordedSteps !== undefined && Number(recordedSteps) !== parts.optimizer.steps) {
      throw new Error(
        `loadCheckpoint: ${file} holds the optimizer after ${parts.optimizer.steps} steps but the model ` +
          `${name}.safetensors was saved after ${recordedSteps}; the pair is out of step (a save was interrupted)`,
      );
    }
  }
  return metadata;
}
