/**
 * Exact resume for any deterministic vector env. A physics world cannot be saved and loaded bit for bit,
 * but it can be rebuilt: the env is a pure function of its reset seed and the actions it was given, so
 * `RecordedVectorEnv` logs both, and `replayActionLog` rebuilds the same state in a fresh env by replaying
 * them. Replaying costs one env step per logged step without any policy work (a 1M-step run replays in
 * well under a minute), and the log is small: one float32 per action number.
 */
import type { RlVectorEnv, RlVectorStep } from './vector-env.ts';
import { actionSize, checkActions } from './vector-env.ts';

export interface ActionLog {
  /** The seed of the one reset at the start. */
  seed: number;
  /** Vector steps taken since. */
  steps: number;
  /** steps x numEnvs x actionSize action numbers, in order. */
  actions: Float32Array;
}

export class RecordedVectorEnv implements RlVectorEnv {
  private seed: number | null = null;
  private actions = new Float32Array(1 << 12);
  private length = 0;
  private readonly perStep: number;

  constructor(readonly inner: RlVectorEnv) {
    this.perStep = inner.numEnvs * actionSize(inner.actionSpace);
  }

  get numEnvs(): number {
    return this.inner.numEnvs;
  }

  get observationSize(): number {
    return this.inner.observationSize;
  }

  get actionSpace(): RlVectorEnv['actionSpace'] {
    return this.inner.actionSpace;
  }

  get imagined(): boolean {
    return this.inner.imagined === true;
  }

  reset(seed?: number): { observations: Float32Array } {
    if (seed === undefined) {
      throw new Error('RecordedVectorEnv.reset: a seed is required, so that the episode can be replayed');
    }
    if (this.seed !== null) {
      throw new Error('RecordedVectorEnv.reset: reset once per run; the log replays from that one reset');
    }
    this.seed = seed;
    return this.inner.reset(seed);
  }

  step(actions: ArrayLike<number>): RlVectorStep {
    // A discrete action is logged as a float: only a whole number in range replays as itself.
    checkActions('RecordedVectorEnv.step', this.inner.actionSpace, this.inner.numEnvs, actions);
    if (this.length + this.perStep > this.actions.length) {
      const grown = new Float32Array(Math.max(this.actions.length * 2, this.length + this.perStep));
      grown.set(this.actions.subarray(0, this.length));
      this.actions = grown;
    }
    for (let i = 0; i < this.perStep; i++) this.actions[this.length + i] = actions[i]!;
    this.length += this.perStep;
    return this.inner.step(actions);
  }

  /** The log so far (a view: copy or write it before the next step). */
  log(): ActionLog {
    if (this.seed === null) throw new Error('RecordedVectorEnv.log: reset(seed) has not been called');
    return {
      seed: this.seed,
      steps: this.length / this.perStep,
      actions: this.actions.subarray(0, this.length),
    };
  }

  /** Replays `log` into this (fresh) env and keeps recording from there; returns the current observations. */
  restore(log: ActionLog): Float32Array {
    this.seed = null;
    this.length = 0;
    let observations = this.reset(log.seed).observations;
    const expected = log.steps * this.perStep;
    if (log.actions.length < expected) {
      throw new Error(
        `RecordedVectorEnv.restore: the log holds ${log.actions.length} action numbers, expected ${log.steps} steps x ${this.perStep} = ${expected}`,
      );
    }
    for (let s = 0; s < log.steps; s++) {
      observations = this.step(log.actions.subarray(s * this.perStep, (s + 1) * this.perStep)).observations;
    }
    return observations.slice();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
