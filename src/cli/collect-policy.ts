/**
 * The policies `npm run collect` acts with: uniformly random actions, the reference heuristic, or a PPO
 * run's policy sampled at a temperature; any of them with a fraction of uniformly random actions mixed in
 * (epsilon-greedy style), so data of graded quality is one flag away.
 *
 * `runs/<run>` is the run's newest checkpoint, `runs/<run>@<update>` the checkpoint of that update.
 * `constant:<action>` (e.g. `constant:1`, or `constant:0.5,-1` for the continuous lander) repeats one action:
 * a policy no trainer produces, whose states (a lander spinning on one side engine) are out of distribution.
 */
import { type Box, type Discrete, type EnvId, heuristicAction } from '../env/index.ts';
import type { ActorCritic } from '../rl/actor-critic.ts';
import { exploringActions } from '../rl/explore.ts';
import type { Rng } from '../tensor/index.ts';
import { readJson, runPaths } from './run-folder.ts';
import { loadRunPolicy } from './run-policy.ts';
import type { PpoRunConfig } from './train.ts';

export type PolicySource =
  | { kind: 'random' }
  | { kind: 'heuristic' }
  | { kind: 'constant'; action: number[] }
  | { kind: 'run'; dir: string; update: number | undefined };

/** Fills `actions` (one action per copy, flat) for a batch of raw observations. */
export type ActFn = (observations: Float32Array, actions: Float32Array) => void;

export interface CollectPolicy {
  source: PolicySource;
  act: ActFn;
  /** The checkpoint a run's policy came from; null for random and heuristic. */
  update: number | null;
}

export interface CollectPolicyOptions {
  /** The env the policy acts in; a run's policy must have been trained on it. */
  envId: EnvId;
  actionSpace: Box | Discrete;
  observationSize: number;
  /**
   * Run policies only: the temperature on the logits (discrete) or a scale on the Gaussian's standard
   * deviation (continuous); 1 is the policy itself, 0 the greedy action.
   */
  temperature: number;
  /** Per copy and step, the chance of a uniformly random action instead. */
  randomFraction: number;
  /** Draws of the policy's own sampling. */
  policyRng: Rng;
  /** Draws of the random actions and of which steps take one. */
  exploreRng: Rng;
}

/** `random`, `heuristic`, or a run folder with an optional `@<update>`. */
export function parsePolicySource(spec: string): PolicySource {
  if (spec === 'random' || spec === 'heuristic') return { kind: spec };
  if (spec.startsWith('constant:')) {
    const pieces = spec.slice('constant:'.length).split(',');
    const action = pieces.map(Number);
    if (pieces.some((piece) => piece.trim() === '') || !action.every(Number.isFinite)) {
      throw new Error(
        `--policy = '${spec}' is invalid; expected constant:<action> with numbers, e.g. constant:1`,
      );
    }
    return { kind: 'constant', action };
  }
  if (spec.trim() === '') {
    throw new Error(`--policy = '${spec}' is invalid; expected random, heuristic or runs/<run>[@<update>]`);
  }
  const at = /^(.*)@(\d+)$/.exec(spec);
  return at
    ? { kind: 'run', dir: at[1]!, update: Number(at[2]) }
    : { kind: 'run', dir: spec, update: undefined };
}

export function makeCollectPolicy(source: PolicySource, options: CollectPolicyOptions): CollectPolicy {
  const { actionSpace, randomFraction, exploreRng } = options;
  if (!(randomFraction >= 0 && randomFraction <= 1)) {
    throw new RangeError(
      `collect: randomFraction = ${randomFraction} is invalid; expected a number in [0, 1]`,
    );
  }
  let base: ActFn;
  let update: number | null = null;
  if (source.kind === 'random') {
    base = (_, actions) => fillRandom(actionSpace, exploreRng, actions, 0, actions.length);
  } else if (source.kind === 'heuristic') {
    base = heuristicActor(actionSpace, options.observationSize);
  } else if (source.kind === 'constant') {
    const width = actionWidth(actionSpace);
    const action = source.action;
    if (action.length !== width) {
      throw new Error(
        `collect: constant:${action.join(',')} has ${action.length} numbers; the env's action takes ${width}`,
      );
    }
    base = (_, actions) => {
      for (let i = 0; i < actions.length; i++) actions[i] = action[i % width]!;
    };
  } else {
    const trainedOn = trainedEnvId(source);
    if (trainedOn !== options.envId) {
      throw new Error(
        `collect: run ${source.dir} was trained on ${trainedOn}; expected --env ${trainedOn} (or no --env)`,
      );
    }
    const run = loadRunPolicy(source.dir, source.update);
    update = run.update;
    base = runPolicyActor(run.policy, options.temperature, options.policyRng);
  }
  const act: ActFn =
    randomFraction === 0
      ? base
      : (observations, actions) => {
          base(observations, actions);
          const size = actionWidth(actionSpace);
          for (let row = 0; row < actions.length / size; row++) {
            if (exploreRng.uniform() < randomFraction) {
              fillRandom(actionSpace, exploreRng, actions, row * size, (row + 1) * size);
            }
          }
        };
  return { source, act, update };
}

/** The env id a run was trained on (from its config.json); null for random and heuristic. */
export function trainedEnvId(source: PolicySource): EnvId | null {
  if (source.kind !== 'run') return null;
  return readJson<PpoRunConfig>(runPaths(source.dir).config, `--policy ${source.dir}`).envId;
}

function actionWidth(space: Box | Discrete): number {
  return space.kind === 'discrete' ? 1 : space.size;
}

/** Uniform actions into actions[from, to): an integer in [0, n), or a point of the box. */
function fillRandom(space: Box | Discrete, rng: Rng, actions: Float32Array, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    if (space.kind === 'discrete') {
      actions[i] = rng.integer(0, space.n);
    } else {
      const d = i % space.size;
      actions[i] = Math.min(space.high[d]!, Math.fround(rng.uniform(space.low[d]!, space.high[d]!)));
    }
  }
}

function heuristicActor(space: Box | Discrete, observationSize: number): ActFn {
  const continuous = space.kind === 'box';
  return (observations, actions) => {
    const rows = observations.length / observationSize;
    for (let row = 0; row < rows; row++) {
      const obs = observations.subarray(row * observationSize, (row + 1) * observationSize);
      if (continuous) actions.set(heuristicAction(obs, true), row * 2);
      else actions[row] = heuristicAction(obs, false);
    }
  };
}

/** A PPO policy: sampled from its logits / temperature, or its mean plus temperature x its noise. */
function runPolicyActor(policy: ActorCritic, temperature: number, rng: Rng): ActFn {
  return (observations, actions) => {
    exploringActions(policy, observations, temperature, rng, actions);
  };
}
