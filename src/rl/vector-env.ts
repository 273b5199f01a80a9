/**
 * The vector-env contract PPO trains on, stated here structurally because `rl` does not import `env`:
 * `src/env`'s `VectorEnv` satisfies it, and so can any other env, a learned model of one included. Copy i's
 * observation sits at [i * observationSize, (i + 1) * observationSize); where terminated[i] or truncated[i]
 * is 1 the copy has already been reset and `finalObservations` holds the last observation of the episode
 * that ended. Returned arrays are overwritten by the next call.
 *
 * Actions are flat numbers: for a discrete space one integer in [0, n) per copy (carried in whatever
 * array-like holds them, a Float32Array included: the value must be a whole number), for a box
 * `actionSize` numbers per copy.
 */
export interface RlVectorStep {
  observations: Float32Array;
  rewards: Float32Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  finalObservations: Float32Array;
  episodeReturns: Float64Array;
  episodeLengths: Int32Array;
}

/** A discrete space ({ n }) or a box ({ shape, low, high }). */
export type RlActionSpace =
  | { readonly n: number }
  | { readonly shape: readonly number[]; readonly low: ArrayLike<number>; readonly high: ArrayLike<number> };

export interface RlVectorEnv {
  readonly numEnvs: number;
  /**
   * True when the steps are imagined (a learned model), not taken in the real environment: trainers count
   * them apart, as sample-efficiency claims need. Absent or false means real.
   */
  readonly imagined?: boolean;
  readonly observationSize: number;
  readonly actionSpace: RlActionSpace;
  reset(seed?: number): { observations: Float32Array };
  step(actions: ArrayLike<number>): RlVectorStep;
  close(): Promise<void>;
}

export function isDiscrete(space: RlActionSpace): space is { readonly n: number } {
  return 'n' in space;
}

/** Number of numbers one action takes: 1 for a discrete space, the box size otherwise. */
export function actionSize(space: RlActionSpace): number {
  return isDiscrete(space) ? 1 : space.shape.reduce((p, d) => p * d, 1);
}

/**
 * Throws unless `actions` holds one valid action per copy: for a discrete space, integers in [0, n); for a
 * box, finite numbers (clipping to the box is the env's business). Names the copy and the value.
 */
export function checkActions(
  where: string,
  space: RlActionSpace,
  numEnvs: number,
  actions: ArrayLike<number>,
): void {
  const perCopy = actionSize(space);
  if (actions.length !== numEnvs * perCopy) {
    throw new Error(
      `${where}: got ${actions.length} action numbers; expected ${numEnvs} copies x ${perCopy}`,
    );
  }
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i]!;
    const ok = isDiscrete(space) ? Number.isInteger(a) && a >= 0 && a < space.n : Number.isFinite(a);
    if (!ok) {
      const expected = isDiscrete(space) ? `an integer in [0, ${space.n})` : 'a finite number';
      throw new Error(
        `${where}: action ${String(a)} of copy ${Math.floor(i / perCopy)} is invalid; expected ${expected}`,
      );
    }
  }
}
