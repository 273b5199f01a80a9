/**
 * What a world model of Lunar Lander reads and predicts, and how a real transition becomes its targets.
 *
 * The observation is [x, y, vx, vy, angle, angular velocity, left leg contact, right leg contact]
 * (`../shared/lunar-lander-spec.md`). Gymnasium's reward is the change of a shaping function of the state
 * minus fuel, except on the last step, where it is replaced by -100 (crash or out of bounds) or +100 (the
 * body fell asleep: at rest). So a model predicts, per transition:
 *   - the change of the 6 continuous dimensions (normalised by the training data's statistics),
 *   - the 2 leg contacts of the next state as Bernoulli logits (they are 0/1, not numbers to regress),
 *   - the step reward of an ordinary step (normalised; the terminal reward belongs to the outcome),
 *   - the outcome as three classes, continue / crash / at rest, so the +100 and -100 are events.
 * Its input is the normalised observation and the action (one-hot when discrete).
 */

/** The continuous state dimensions whose change a model predicts: x, y, vx, vy, angle, angular velocity. */
export const STATE_DIMS = 6;
/** The leg contacts, observation entries 6 and 7. */
export const CONTACT_DIMS = 2;
export const OBSERVATION_SIZE = STATE_DIMS + CONTACT_DIMS;
/**
 * Gymnasium's observation box for the continuous state (x, y, vx, vy, angle, angular velocity). The real
 * lander stays inside it in all but rare cases (Gymnasium does not guarantee y, which has no limit when the
 * lander climbs), so an imagined step that leaves it is taken for the model's divergence.
 */
export const STATE_LOW: readonly number[] = [-2.5, -2.5, -10, -10, -2 * Math.PI, -10];
export const STATE_HIGH: readonly number[] = [2.5, 2.5, 10, 10, 2 * Math.PI, 10];

export const OUTCOMES = ['continue', 'crash', 'rest'] as const;
export type Outcome = 0 | 1 | 2;
export const CONTINUE: Outcome = 0;
export const CRASH: Outcome = 1;
export const REST: Outcome = 2;
/** The reward the env gives on a terminal step of each outcome (spec: replaced, not added). */
export const TERMINAL_REWARD: readonly number[] = [0, -100, 100];

/** Offsets of each prediction in a model's output row. */
export const OUT_DELTA = 0;
export const OUT_CONTACTS = OUT_DELTA + STATE_DIMS;
export const OUT_REWARD = OUT_CONTACTS + CONTACT_DIMS;
export const OUT_OUTCOME = OUT_REWARD + 1;
export const OUTPUT_SIZE = OUT_OUTCOME + OUTCOMES.length;

/** The outcome of a transition: terminated with +100 is at rest, terminated otherwise a crash. */
export function outcomeOf(terminated: number, reward: number): Outcome {
  if (!terminated) return CONTINUE;
  return reward > 0 ? REST : CRASH;
}

/** A discrete space ({ n }) or a box of `size` numbers, as a model encodes actions. */
export type ModelActionSpace = { readonly n: number } | { readonly size: number };

/** Numbers the encoded action takes in a model's input: n (one-hot) or the box size. */
export function encodedActionSize(space: ModelActionSpace): number {
  return 'n' in space ? space.n : space.size;
}

/** Numbers one raw action takes: 1 (discrete) or the box size. */
export function rawActionSize(space: ModelActionSpace): number {
  return 'n' in space ? 1 : space.size;
}

/** Real transitions as columns: what a model is fitted on and evaluated against. */
export interface Transitions {
  count: number;
  /** [count, 8] */
  observations: Float32Array;
  /** [count, rawActionSize] */
  actions: Float32Array;
  /** [count] */
  rewards: Float32Array;
  /** [count, 8] */
  nextObservations: Float32Array;
  /** [count], 0 or 1 */
  terminated: ArrayLike<number>;
}

/**
 * Throws naming `where`, `name` and the row unless `values` holds `rows` x `width` finite numbers.
 */
export function checkFiniteRows(
  where: string,
  name: string,
  values: ArrayLike<number>,
  rows: number,
  width: number,
): void {
  if (!Number.isSafeInteger(rows) || rows < 0) {
    throw new Error(`${where}: rows = ${rows} is invalid; expected an integer >= 0`);
  }
  if (values.length < rows * width) {
    throw new Error(`${where}: ${name} holds ${values.length} numbers, expected ${rows} rows x ${width}`);
  }
  for (let i = 0; i < rows * width; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new Error(
        `${where}: ${name} row ${Math.floor(i / width)} holds ${values[i]}; expected finite numbers`,
      );
    }
  }
}

/** Throws unless `actions` holds `rows` raw actions of `space` (integers in [0, n) when discrete). */
export function checkActionRows(
  where: string,
  space: ModelActionSpace,
  actions: ArrayLike<number>,
  rows: number,
): void {
  checkFiniteRows(where, 'actions', actions, rows, rawActionSize(space));
  if ('n' in space) {
    for (let r = 0; r < rows; r++) {
      const v = actions[r]!;
      if (!Number.isInteger(v) || v < 0 || v >= space.n) {
        throw new Error(`${where}: action ${v} of row ${r} is not an integer in [0, ${space.n})`);
      }
    }
  }
}

/** Throws naming the field and row unless every number of `t` is finite and the sizes agree. */
export function checkTransitions(where: string, t: Transitions, space: ModelActionSpace): void {
  checkFiniteRows(where, 'observations', t.observations, t.count, OBSERVATION_SIZE);
  checkActionRows(where, space, t.actions, t.count);
  checkFiniteRows(where, 'rewards', t.rewards, t.count, 1);
  checkFiniteRows(where, 'nextObservations', t.nextObservations, t.count, OBSERVATION_SIZE);
  checkFiniteRows(where, 'terminated', t.terminated, t.count, 1);
}

/** Writes the action of each row into `out` [rows, encodedActionSize] (one-hot when discrete). */
export function encodeActions(
  space: ModelActionSpace,
  actions: ArrayLike<number>,
  rows: number,
  out: Float32Array,
  outStride: number,
  outOffset: number,
): void {
  if ('n' in space) {
    for (let r = 0; r < rows; r++) {
      const base = r * outStride + outOffset;
      for (let j = 0; j < space.n; j++) out[base + j] = 0;
      out[base + actions[r]!] = 1;
    }
  } else {
    const a = space.size;
    for (let r = 0; r < rows; r++) {
      const base = r * outStride + outOffset;
      for (let j = 0; j < a; j++) out[base + j] = actions[r * a + j]!;
    }
  }
}
