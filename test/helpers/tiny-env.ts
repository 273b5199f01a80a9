/**
 * A tiny vector env for learning tests. Each step shows a target in {-1, +1}; the episode lasts
 * `episodeLength` steps (then truncates). Discrete: action 1 means "+1", 0 means "-1", reward 1 when it
 * matches. Continuous: one action in [-1, 1], reward 1 - (action - target)^2. A random policy scores about
 * half (discrete) or 1/3 (continuous) of the maximum per step.
 */

import type { RlActionSpace, RlVectorEnv, RlVectorStep } from '../../src/rl/vector-env.ts';
import { Rng } from '../../src/tensor/index.ts';

export interface TinyEnvState {
  rng: number[];
  targets: number[];
  lengths: number[];
  returns: number[];
  observations: number[];
}

export class TinyVectorEnv implements RlVectorEnv {
  readonly observationSize = 2;
  readonly actionSpace: RlActionSpace;
  private readonly targets: Float32Array;
  private readonly lengths: Int32Array;
  private readonly returns: Float64Array;
  private rng = new Rng(0);
  private readonly out: RlVectorStep;

  constructor(
    readonly numEnvs: number,
    readonly continuous = false,
    readonly episodeLength = 4,
  ) {
    this.actionSpace = continuous ? { shape: [1], low: [-1], high: [1] } : { n: 2 };
    this.targets = new Float32Array(numEnvs);
    this.lengths = new Int32Array(numEnvs);
    this.returns = new Float64Array(numEnvs);
    this.out = {
      observations: new Float32Array(numEnvs * 2),
      rewards: new Float32Array(numEnvs),
      terminated: new Uint8Array(numEnvs),
      truncated: new Uint8Array(numEnvs),
      finalObservations: new Float32Array(numEnvs * 2),
      episodeReturns: new Float64Array(numEnvs),
      episodeLengths: new Int32Array(numEnvs),
    };
  }

  reset(seed?: number): { observations: Float32Array } {
    if (seed !== undefined) this.rng = new Rng(seed);
    for (let i = 0; i < this.numEnvs; i++) this.draw(i);
    return { observations: this.out.observations };
  }

  step(actions: ArrayLike<number>): RlVectorStep {
    const o = this.out;
    for (let i = 0; i < this.numEnvs; i++) {
      const a = actions[i]!;
      const target = this.targets[i]!;
      const reward = this.continuous ? 1 - (a - target) ** 2 : (a === 1 ? 1 : -1) === target ? 1 : 0;
      o.rewards[i] = reward;
      this.returns[i]! += reward;
      this.lengths[i]! += 1;
      o.terminated[i] = 0;
      o.truncated[i] = this.lengths[i]! >= this.episodeLength ? 1 : 0;
      if (o.truncated[i]) {
        o.episodeReturns[i] = this.returns[i]!;
        o.episodeLengths[i] = this.lengths[i]!;
        this.returns[i] = 0;
        this.lengths[i] = 0;
      }
      // The observation after this step; where the episode was truncated it is that episode's last one, kept
      // in finalObservations before the copy resets and shows the next episode's start (vector-env.ts).
      this.draw(i);
      if (o.truncated[i]) {
        o.finalObservations.set(o.observations.subarray(i * 2, i * 2 + 2), i * 2);
        this.draw(i);
      }
    }
    return o;
  }

  async close(): Promise<void> {}

  /** Everything that changes, so a test can restore the env without replaying it (as a model env does). */
  snapshot(): TinyEnvState {
    return {
      rng: this.rng.getState(),
      targets: Array.from(this.targets),
      lengths: Array.from(this.lengths),
      returns: Array.from(this.returns),
      observations: Array.from(this.out.observations),
    };
  }

  restoreSnapshot(state: TinyEnvState): void {
    this.rng.setState(state.rng);
    this.targets.set(state.targets);
    this.lengths.set(state.lengths);
    this.returns.set(state.returns);
    this.out.observations.set(state.observations);
  }

  private draw(i: number): void {
    const target = this.rng.uniform() < 0.5 ? -1 : 1;
    this.targets[i] = target;
    this.out.observations[i * 2] = target;
    this.out.observations[i * 2 + 1] = 0.5;
  }
}
