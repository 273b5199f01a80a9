/**
 * The synthetic lander of synthetic-lander.ts (`syntheticStep`'s known dynamics) as a real vector env
 * (src/rl/vector-env.ts), for tests of the model-based loop: the lander's 8-number observation [x, y, vx,
 * vy, angle, angular velocity, leg1, leg2], 4 discrete actions (0 nothing, 1 left side engine, 2 main, 3
 * right side engine), autoreset, seeded resets at a random height, x and velocity, and a step limit.
 *
 * The reward follows Gymnasium's rules as the model env applies them to imagined states
 * (world-model/lander-reward.ts): an ordinary step pays exactly `shapingReward(obs, next obs, action)`; a
 * terminal step pays -100 for a crash (touching down faster than 0.12, or |x| >= 1) and +100 for a soft
 * touchdown (the lander at rest), replacing the shaping. So the loop's default `modelReward: 'shaping'` is
 * this env's own reward.
 *
 * Easy to learn and cheap (plain arithmetic, a few microseconds a step): falling freely from its start the
 * lander touches down at about 0.2 and crashes, and a random policy mostly does; firing the main engine
 * whenever it falls faster than 0.06 lands it softly (`landingPolicy`). Measured over 256 episodes: a
 * uniformly random policy returns -57 and lands 3% of them; the landing rule returns 213 and lands all.
 */
import type { ActorCritic } from '../../src/rl/actor-critic.ts';
import { checkActions, type RlVectorEnv, type RlVectorStep } from '../../src/rl/vector-env.ts';
import { shapingReward } from '../../src/rl/world-model/lander-reward.ts';
import { Rng } from '../../src/tensor/index.ts';
import { syntheticStep } from './synthetic-lander.ts';

const OBS = 8;
/** Touching down faster than this is a crash (syntheticStep's threshold). */
export const CRASH_SPEED = 0.12;

export interface SyntheticLanderEnvOptions {
  /** Steps after which an episode is truncated. */
  maxSteps?: number;
  /** Standard deviation of the noise on vy each step. */
  noise?: number;
}

export class SyntheticLanderVectorEnv implements RlVectorEnv {
  readonly observationSize = OBS;
  readonly actionSpace = { n: 4 } as const;
  readonly maxSteps: number;
  readonly noise: number;
  /** Episodes that ended, by how: the test's own account of what happened. */
  readonly endings = { landings: 0, crashes: 0, truncations: 0 };
  private rng = new Rng(0);
  private readonly lengths: Int32Array;
  private readonly returns: Float64Array;
  private readonly action = new Float32Array(1);
  private readonly out: RlVectorStep;

  constructor(
    readonly numEnvs: number,
    options: SyntheticLanderEnvOptions = {},
  ) {
    this.maxSteps = options.maxSteps ?? 100;
    this.noise = options.noise ?? 0.005;
    this.lengths = new Int32Array(numEnvs);
    this.returns = new Float64Array(numEnvs);
    this.out = {
      observations: new Float32Array(numEnvs * OBS),
      rewards: new Float32Array(numEnvs),
      terminated: new Uint8Array(numEnvs),
      truncated: new Uint8Array(numEnvs),
      finalObservations: new Float32Array(numEnvs * OBS),
      episodeReturns: new Float64Array(numEnvs),
      episodeLengths: new Int32Array(numEnvs),
    };
  }

  reset(seed?: number): { observations: Float32Array } {
    if (seed !== undefined) this.rng = new Rng(seed);
    for (let i = 0; i < this.numEnvs; i++) this.startCopy(i);
    return { observations: this.out.observations };
  }

  step(actions: ArrayLike<number>): RlVectorStep {
    checkActions('SyntheticLanderVectorEnv.step', this.actionSpace, this.numEnvs, actions);
    const o = this.out;
    for (let i = 0; i < this.numEnvs; i++) {
      const base = i * OBS;
      // The observation the agent saw (float32) is the state the step starts from, so the reward is
      // exactly shapingReward of the observations it was given.
      const before = o.observations.subarray(base, base + OBS);
      const a = actions[i]!;
      const { next, terminated: touchdown } = syntheticStep(before, a, this.noise * this.rng.normal());
      for (let j = 0; j < OBS; j++) o.finalObservations[base + j] = next[j]!;
      const after = o.finalObservations.subarray(base, base + OBS);
      const outOfBounds = Math.abs(after[0]!) >= 1;
      const crash = outOfBounds || (touchdown && Math.abs(after[3]!) > CRASH_SPEED);
      const terminated = crash || touchdown;
      this.action[0] = a;
      const reward = crash
        ? -100
        : terminated
          ? 100
          : shapingReward(before, 0, after, 0, true, this.action, 0);
      this.lengths[i]!++;
      this.returns[i]! += reward;
      const truncated = !terminated && this.lengths[i]! >= this.maxSteps;
      o.rewards[i] = reward;
      o.terminated[i] = terminated ? 1 : 0;
      o.truncated[i] = truncated ? 1 : 0;
      if (terminated || truncated) {
        if (crash) this.endings.crashes++;
        else if (terminated) this.endings.landings++;
        else this.endings.truncations++;
        o.episodeReturns[i] = this.returns[i]!;
        o.episodeLengths[i] = this.lengths[i]!;
        this.startCopy(i);
      } else {
        o.observations.set(after, base);
      }
    }
    return o;
  }

  async close(): Promise<void> {}

  /** A new episode for copy i: height 1 to 1.4, x within 0.3 of the middle, a small drift and fall. */
  private startCopy(i: number): void {
    const r = this.rng;
    const obs = [r.uniform(-0.3, 0.3), r.uniform(1, 1.4), r.uniform(-0.02, 0.02), r.uniform(-0.05, 0)];
    this.out.observations.fill(0, i * OBS, (i + 1) * OBS);
    this.out.observations.set(obs, i * OBS);
    this.lengths[i] = 0;
    this.returns[i] = 0;
  }
}

/** The simple good policy: the main engine whenever the lander falls faster than 0.06, else nothing. */
export function landingPolicy(observations: Float32Array, out: Float32Array): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = observations[i * OBS + 3]! < -0.06 ? 2 : 0;
  return out;
}

export interface SyntheticEvaluation {
  meanReturn: number;
  /** Episodes that ended in a soft landing. */
  solvedFraction: number;
}

/**
 * `episodes` episodes of `act` (greedy by default: a policy's `act`) on a fresh env seeded from 1e9, apart
 * from any training env: the mean return and the share of soft landings.
 */
export function evaluateSyntheticLander(
  act: ActorCritic | ((observations: Float32Array, out: Float32Array) => Float32Array),
  episodes = 64,
  copies = 16,
  options: SyntheticLanderEnvOptions = {},
): SyntheticEvaluation {
  const env = new SyntheticLanderVectorEnv(copies, options);
  const choose = typeof act === 'function' ? act : (o: Float32Array, out: Float32Array) => act.act(o, out);
  let observations = env.reset(1e9).observations;
  const actions = new Float32Array(copies);
  const returns: number[] = [];
  let landed = 0;
  // Each copy runs its share of the episodes; copies that are done keep stepping but are not counted.
  const quota = Math.ceil(episodes / copies);
  const finished = new Int32Array(copies);
  while (returns.length < episodes) {
    const r = env.step(choose(observations, actions));
    for (let i = 0; i < copies; i++) {
      if (!(r.terminated[i] || r.truncated[i]) || finished[i]! >= quota || returns.length >= episodes)
        continue;
      finished[i]!++;
      returns.push(r.episodeReturns[i]!);
      if (r.terminated[i] && r.rewards[i]! > 0) landed++;
    }
    observations = r.observations;
  }
  return {
    meanReturn: returns.reduce((a, b) => a + b, 0) / returns.length,
    solvedFraction: landed / returns.length,
  };
}
