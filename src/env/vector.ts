// The vector-env contract, and its in-thread implementation.
//
// A VectorEnv steps `numEnvs` copies of an environment together and resets each copy as soon as its
// episode ends ("same-step" autoreset). Everything comes back as flat typed arrays, copy i at
// [i * observationSize, (i + 1) * observationSize):
//
//   reset(seed?)    -> { observations }            copy i is seeded with seed + i (Gymnasium's rule);
//                                                   without a seed each copy's generator carries on.
//   step(actions)   -> { observations, rewards, terminated, truncated, finalObservations,
//                        episodeReturns, episodeLengths }
//       actions: one number per copy (discrete), or actionSize numbers per copy (continuous), flat.
//       Where terminated[i] or truncated[i] is 1, copy i has already been reset: observations holds the
//       first observation of its next episode, finalObservations holds the last one of the episode that
//       ended (bootstrap truncations from it), and episodeReturns / episodeLengths describe that episode.
//       Elsewhere finalObservations, episodeReturns and episodeLengths are stale; ignore them.
//   close()         -> releases threads or other resources; the env cannot be used afterwards.
//
// The returned arrays belong to the env and are overwritten by the next call: copy what you keep.
// PPO trains on anything with this contract, including a learned model of the environment.
import { CONTINUOUS_ACTION_SIZE, OBSERVATION_SIZE } from './constants.ts';
import { LunarLander } from './lunar-lander.ts';
import type { LunarLanderOptions } from './options.ts';
import type { Box, Discrete } from './spaces.ts';

export interface VectorResetResult {
  observations: Float32Array;
}

export interface VectorStepResult {
  observations: Float32Array;
  rewards: Float32Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  finalObservations: Float32Array;
  episodeReturns: Float64Array;
  episodeLengths: Int32Array;
}

export interface VectorEnv {
  readonly numEnvs: number;
  readonly observationSize: number;
  /** The action space of one copy. */
  readonly actionSpace: Box | Discrete;
  reset(seed?: number): VectorResetResult;
  step(actions: ArrayLike<number>): VectorStepResult;
  close(): Promise<void>;
}

export interface VectorEnvOptions {
  numEnvs: number;
  /** Options for every copy. */
  envOptions?: LunarLanderOptions;
  /**
   * Continuous mode: clip each action to [-1, 1] first, as the reference's `step` does (`np.clip`), so a
   * Gaussian policy's raw samples can be passed. Default false: an action outside the space is an error.
   */
  clipActions?: boolean;
}

/**
 * Copies `actions` into `out`, clipped to [-1, 1] (NaN stays NaN, so validation still rejects it). Actions of
 * the wrong length (or not an array) come back unchanged, for validation to report.
 */
export function clipUnitActions(actions: ArrayLike<number>, out: Float64Array): ArrayLike<number> {
  if (actions === null || typeof actions !== 'object' || actions.length !== out.length) return actions;
  for (let i = 0; i < out.length; i++) {
    const a = actions[i]!;
    out[i] = a < -1 ? -1 : a > 1 ? 1 : a;
  }
  return out;
}

/** The arrays a vector env returns, allocated once; `VectorStepResult` is a view of them. */
export type VectorBuffers = VectorStepResult;

/** A typed-array class: `new Type(length)` or over a buffer. */
export interface TypedArrayType<T> {
  new (length: number): T;
  new (buffer: SharedArrayBuffer): T;
  readonly BYTES_PER_ELEMENT: number;
}

/** Makes a typed array of `length` elements (worker-protocol.ts passes one backed by shared memory). */
export type ArrayAllocator = <T>(Type: TypedArrayType<T>, length: number) => T;

const allocateLocal: ArrayAllocator = (Type, length) => new Type(length);

export function allocateVectorBuffers(numEnvs: number, allocate = allocateLocal): VectorBuffers {
  return {
    observations: allocate(Float32Array, numEnvs * OBSERVATION_SIZE),
    rewards: allocate(Float32Array, numEnvs),
    terminated: allocate(Uint8Array, numEnvs),
    truncated: allocate(Uint8Array, numEnvs),
    finalObservations: allocate(Float32Array, numEnvs * OBSERVATION_SIZE),
    episodeReturns: allocate(Float64Array, numEnvs),
    episodeLengths: allocate(Int32Array, numEnvs),
  };
}

export function validateNumEnvs(where: string, numEnvs: unknown): number {
  if (typeof numEnvs !== 'number' || !Number.isSafeInteger(numEnvs) || numEnvs < 1) {
    throw new RangeError(`${where}: numEnvs = ${String(numEnvs)} is invalid; expected a positive integer`);
  }
  return numEnvs;
}

export function validateSeed(where: string, seed: number | undefined): void {
  if (seed !== undefined && (!Number.isSafeInteger(seed) || seed < 0)) {
    throw new RangeError(`${where}: seed = ${String(seed)} is invalid; expected a non-negative integer`);
  }
}

/** Throws unless `actions` holds one valid action per copy (flat [main, lateral] pairs when continuous). */
export function validateVectorActions(
  where: string,
  actions: ArrayLike<number>,
  numEnvs: number,
  continuous: boolean,
): void {
  const expected = continuous ? numEnvs * CONTINUOUS_ACTION_SIZE : numEnvs;
  if (actions === null || typeof actions !== 'object' || actions.length !== expected) {
    throw new RangeError(
      `${where}: got ${actions?.length ?? String(actions)} actions; expected ${expected} ` +
        (continuous ? `(numEnvs ${numEnvs} x [main, lateral])` : `(one per copy, numEnvs ${numEnvs})`),
    );
  }
  for (let i = 0; i < expected; i++) {
    const a = actions[i]!;
    const ok = continuous ? a >= -1 && a <= 1 : Number.isInteger(a) && a >= 0 && a <= 3;
    if (!ok) {
      const copy = continuous ? Math.floor(i / CONTINUOUS_ACTION_SIZE) : i;
      throw new RangeError(
        `${where}: action ${String(a)} of copy ${copy} is outside the action space; expected ` +
          (continuous ? 'a number in [-1, 1]' : 'an integer in {0, 1, 2, 3}'),
      );
    }
  }
}

/** Resets copies `envs[k]` (global index start + k), writing their observations into `buffers`. */
export function resetSlice(
  envs: LunarLander[],
  start: number,
  seed: number | undefined,
  buffers: VectorBuffers,
): void {
  for (let k = 0; k < envs.length; k++) {
    const env = envs[k]!;
    env.resetInPlace(seed === undefined ? undefined : seed + start + k);
    env.writeObservation(buffers.observations, (start + k) * OBSERVATION_SIZE);
  }
}

/** Steps copies `envs[k]` (global index start + k) with same-step autoreset, writing into `buffers`. */
export function stepSlice(
  envs: LunarLander[],
  start: number,
  actions: ArrayLike<number>,
  continuous: boolean,
  buffers: VectorBuffers,
): void {
  for (let k = 0; k < envs.length; k++) {
    const env = envs[k]!;
    const i = start + k;
    const reward = continuous
      ? env.stepInPlace(0, actions[i * CONTINUOUS_ACTION_SIZE]!, actions[i * CONTINUOUS_ACTION_SIZE + 1]!)
      : env.stepInPlace(actions[i]!, 0, 0);
    const terminated = env.terminated;
    const truncated = env.truncated;
    buffers.rewards[i] = reward;
    buffers.terminated[i] = terminated ? 1 : 0;
    buffers.truncated[i] = truncated ? 1 : 0;
    if (terminated || truncated) {
      env.writeObservation(buffers.finalObservations, i * OBSERVATION_SIZE);
      buffers.episodeReturns[i] = env.episodeReturn;
      buffers.episodeLengths[i] = env.episodeSteps;
      env.resetInPlace();
    }
    env.writeObservation(buffers.observations, i * OBSERVATION_SIZE);
  }
}

/** All copies in this thread, one after another. */
export class SyncVectorEnv implements VectorEnv {
  readonly numEnvs: number;
  readonly observationSize = OBSERVATION_SIZE;
  readonly actionSpace: Box | Discrete;
  private readonly envs: LunarLander[];
  private readonly continuous: boolean;
  private readonly buffers: VectorBuffers;
  /** Clipped continuous actions, when `clipActions`. */
  private readonly clipped: Float64Array | null;
  private started = false;
  private closed = false;

  constructor(options: VectorEnvOptions) {
    this.numEnvs = validateNumEnvs('SyncVectorEnv', options.numEnvs);
    this.envs = Array.from({ length: this.numEnvs }, () => new LunarLander(options.envOptions));
    this.continuous = this.envs[0]!.continuous;
    this.actionSpace = this.envs[0]!.actionSpace;
    this.buffers = allocateVectorBuffers(this.numEnvs);
    this.clipped =
      options.clipActions && this.continuous ? new Float64Array(this.numEnvs * CONTINUOUS_ACTION_SIZE) : null;
  }

  reset(seed?: number): VectorResetResult {
    this.assertOpen();
    validateSeed('SyncVectorEnv.reset', seed);
    resetSlice(this.envs, 0, seed, this.buffers);
    this.started = true;
    return { observations: this.buffers.observations };
  }

  step(actions: ArrayLike<number>): VectorStepResult {
    this.assertOpen();
    if (!this.started) throw new Error('SyncVectorEnv.step: called before reset(); expected reset() first');
    if (this.clipped !== null) actions = clipUnitActions(actions, this.clipped);
    validateVectorActions('SyncVectorEnv.step', actions, this.numEnvs, this.continuous);
    stepSlice(this.envs, 0, actions, this.continuous, this.buffers);
    return this.buffers;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('SyncVectorEnv: used after close()');
  }
}
