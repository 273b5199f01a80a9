// The shared-memory protocol between WorkerVectorEnv (main thread) and its workers (vector-worker.ts).
//
// Each worker owns a contiguous slice of the copies. The main thread writes the command (and actions)
// into shared memory, bumps each worker's request counter and notifies it; the worker runs the command on
// its slice, writing straight into the shared result arrays, then sets its done counter to the request
// counter and notifies back. No message is sent per step, and nothing is copied but the results.
import type { LunarLanderOptions } from './options.ts';
import { type ArrayAllocator, allocateVectorBuffers, type VectorBuffers } from './vector.ts';

export const COMMAND_RESET = 1;
export const COMMAND_STEP = 2;
export const COMMAND_CLOSE = 3;

/** Int32 slots of the control array. */
export const CONTROL_COMMAND = 0;
/** 1 when the reset carries a seed (the seed itself is in `seed[0]`). */
export const CONTROL_HAS_SEED = 1;
const CONTROL_FIXED = 2;
export const requestSlot = (worker: number): number => CONTROL_FIXED + 3 * worker;
export const doneSlot = (worker: number): number => CONTROL_FIXED + 3 * worker + 1;
/** Set to 1 by a worker whose command threw; the message follows on its error port. */
export const failedSlot = (worker: number): number => CONTROL_FIXED + 3 * worker + 2;
export const controlLength = (workers: number): number => CONTROL_FIXED + 3 * workers;

export interface SharedVectorMemory {
  control: Int32Array;
  seed: Float64Array;
  actions: Float64Array;
  buffers: VectorBuffers;
}

export interface WorkerInit {
  workerIndex: number;
  start: number;
  count: number;
  envOptions: LunarLanderOptions;
  memory: SharedVectorMemory;
}

/** A typed array over a new SharedArrayBuffer, so that every thread sees the same elements. */
const allocateShared: ArrayAllocator = (Type, length) =>
  new Type(new SharedArrayBuffer(length * Type.BYTES_PER_ELEMENT));

export function allocateSharedMemory(
  numEnvs: number,
  workers: number,
  actionSize: number,
): SharedVectorMemory {
  return {
    control: allocateShared(Int32Array, controlLength(workers)),
    seed: allocateShared(Float64Array, 1),
    actions: allocateShared(Float64Array, numEnvs * actionSize),
    buffers: allocateVectorBuffers(numEnvs, allocateShared),
  };
}

/**
 * Polls of a shared slot before falling back to Atomics.wait. A futex wake-up costs ~40 µs round trip on
 * the 2-core test machine against ~1.5 µs when the other side is polling, and a step of a few copies takes
 * only ~100 µs, so both sides poll briefly first (about 50-100 µs) and only then sleep.
 */
export const SPIN_POLLS = 20_000;

/** Blocks until `control[slot]` differs from `value` (spinning first), or `timeoutMs` passes. */
export function waitWhileEqual(control: Int32Array, slot: number, value: number, timeoutMs: number): boolean {
  for (let k = 0; k < SPIN_POLLS; k++) {
    if (Atomics.load(control, slot) !== value) return true;
  }
  return Atomics.wait(control, slot, value, timeoutMs) !== 'timed-out';
}
