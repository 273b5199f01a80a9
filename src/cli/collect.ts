/**
 * `npm run collect -- --env LunarLander-v3 --policy random|heuristic|runs/<run>[@<update>] --steps 50000
 * --out data/<name>`: runs a policy in the real env and keeps every transition, for fitting world models.
 *
 * Writes `data/<name>/buffer.safetensors` (a ReplayBuffer of exactly --steps transitions, see
 * src/rl/world-model/replay-buffer-file.ts) and then `meta.json` (what was asked for, and every finished
 * episode's return and length as the env reported them), each atomically; meta.json last, so a folder with
 * it is complete.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ENV_IDS, type EnvId, type LunarLanderOptions, makeVectorEnv, optionsForId } from '../env/index.ts';
import { ReplayBuffer } from '../rl/world-model/index.ts';
import { Rng } from '../tensor/index.ts';
import { type CommandSpec, parseArgs, UsageError } from './args.ts';
import { makeCollectPolicy, type PolicySource, parsePolicySource, trainedEnvId } from './collect-policy.ts';
import { ProgressBar } from './progress.ts';
import { writeJson } from './run-folder.ts';

export const collectSpec: CommandSpec = {
  command: 'collect',
  positionals: '',
  minPositionals: 0,
  maxPositionals: 0,
  flags: [
    {
      name: 'policy',
      type: 'string',
      help: "who acts: 'random', 'heuristic', or a PPO run folder, runs/<run>[@<update>] (required)",
    },
    {
      name: 'env',
      type: 'string',
      help: "environment id (default a run's own env, else LunarLander-v3)",
      choices: ENV_IDS,
    },
    { name: 'steps', type: 'int', min: 1, help: 'transitions to collect (default 50000)' },
    {
      name: 'seed',
      type: 'int',
      min: 0,
      help: 'seed of the envs (copy i gets seed + i) and actions (default 1)',
    },
    { name: 'envs', type: 'int', min: 1, help: 'parallel env copies (default 16)' },
    {
      name: 'temperature',
      type: 'number',
      min: 0,
      help: "a run's policy only: divides the logits, or scales the Gaussian's std; 0 = greedy (default 1)",
    },
    {
      name: 'random-fraction',
      type: 'number',
      min: 0,
      help: 'chance per copy and step of a uniformly random action instead, in [0, 1] (default 0)',
    },
    { name: 'wind', type: 'boolean', help: 'wind and turbulence on (an out-of-distribution set)' },
    { name: 'out', type: 'string', help: 'output folder (default data/<policy>-<env>-s<seed>)' },
    { name: 'quiet', type: 'boolean', help: 'no progress bar' },
  ],
};

export interface CollectOptions {
  policy: PolicySource;
  /** --policy as given, for meta.json. */
  policySpec: string;
  envId: EnvId;
  wind: boolean;
  steps: number;
  seed: number;
  numEnvs: number;
  /** null for random and heuristic (no logits to scale). */
  temperature: number | null;
  randomFraction: number;
  out: string;
  quiet?: boolean;
  log?: (line: string) => void;
}

/** What meta.json holds. */
export interface CollectMeta {
  envId: EnvId;
  envOptions: LunarLanderOptions;
  wind: boolean;
  policy: string;
  /** The checkpoint a run's policy came from; null for random and heuristic. */
  update: number | null;
  temperature: number | null;
  randomFraction: number;
  seed: number;
  /** Copy i was reset with envSeeds[0] + i; actions drew from a generator seeded with actionSeed. */
  seeds: { envSeeds: [number, number]; actionSeed: number };
  numEnvs: number;
  steps: number;
  buffer: string;
  observationSize: number;
  actionSize: number;
  /** Finished episodes, in the order they ended; episodes cut off by the end of collection are not. */
  episodes: number;
  unfinishedEpisodes: number;
  meanReturn: number | null;
  returns: number[];
  lengths: number[];
  /** The buffer's episode id of each finished episode. */
  episodeIds: number[];
}

export const BUFFER_FILE = 'buffer.safetensors';
export const META_FILE = 'meta.json';

export function collectOptionsFromArgs(argv: readonly string[]): CollectOptions {
  const { flags } = parseArgs(argv, collectSpec);
  const policySpec = flags.policy as string | undefined;
  if (policySpec === undefined) {
    throw new UsageError('--policy is required: random, heuristic or runs/<run>[@<update>]', collectSpec);
  }
  let policy: PolicySource;
  try {
    policy = parsePolicySource(policySpec);
  } catch (e) {
    throw new UsageError((e as Error).message, collectSpec);
  }
  const trained = trainedEnvId(policy);
  const temperature = flags.temperature as number | undefined;
  if (temperature !== undefined && policy.kind !== 'run') {
    throw new UsageError(
      `--temperature applies to a run's policy; --policy ${policySpec} has no logits to scale`,
      collectSpec,
    );
  }
  const randomFraction = (flags['random-fraction'] as number | undefined) ?? 0;
  if (randomFraction > 1) {
    throw new UsageError(
      `--random-fraction = ${randomFraction} is invalid; expected a number in [0, 1]`,
      collectSpec,
    );
  }
  const envId = (flags.env as EnvId | undefined) ?? trained ?? 'LunarLander-v3';
  const seed = (flags.seed as number | undefined) ?? 1;
  return {
    policy,
    policySpec,
    envId,
    wind: flags.wind === true,
    steps: (flags.steps as number | undefined) ?? 50_000,
    seed,
    numEnvs: (flags.envs as number | undefined) ?? 16,
    temperature: policy.kind === 'run' ? (temperature ?? 1) : null,
    randomFraction,
    out: (flags.out as string | undefined) ?? join('data', `${policyLabel(policy)}-${envId}-s${seed}`),
    quiet: flags.quiet === true,
  };
}

function policyLabel(policy: PolicySource): string {
  if (policy.kind !== 'run') return policy.kind;
  const name = basename(policy.dir);
  return policy.update === undefined ? name : `${name}-u${policy.update}`;
}

export async function collectData(options: CollectOptions): Promise<CollectMeta> {
  const { out, steps, seed, numEnvs, envId } = options;
  const log = options.log ?? ((line: string) => console.log(line));
  for (const file of [BUFFER_FILE, META_FILE]) {
    if (existsSync(join(out, file))) {
      throw new Error(`collect: ${join(out, file)} already exists; choose another --out or delete it`);
    }
  }
  const envOptions = optionsForId(envId, options.wind ? { enableWind: true } : {});
  const env = await makeVectorEnv(envId, { numEnvs, envOptions });
  try {
    const space = env.actionSpace;
    const actionSize = space.kind === 'discrete' ? 1 : space.size;
    const actionRng = new Rng(seed);
    const policy = makeCollectPolicy(options.policy, {
      envId,
      actionSpace: space,
      observationSize: env.observationSize,
      temperature: options.temperature ?? 1,
      randomFraction: options.randomFraction,
      policyRng: actionRng.fork(),
      exploreRng: actionRng.fork(),
    });
    const buffer = new ReplayBuffer({ observationSize: env.observationSize, actionSize, capacity: steps });
    const observations = Float32Array.from(env.reset(seed).observations);
    const actions = new Float32Array(numEnvs * actionSize);
    const returns: number[] = [];
    const lengths: number[] = [];
    const episodeIds: number[] = [];
    const progress = new ProgressBar(steps, 0, process.stderr, !options.quiet);
    const recentMean = () => {
      const recent = returns.slice(-100);
      return recent.length === 0 ? null : recent.reduce((a, b) => a + b, 0) / recent.length;
    };
    for (let vectorStep = 0; buffer.size < steps; vectorStep++) {
      policy.act(observations, actions);
      const result = env.step(actions);
      // The last step keeps only as many copies as --steps still needs.
      const copies = Math.min(numEnvs, steps - buffer.size);
      buffer.addVectorStep(observations, actions, result, copies);
      for (let i = 0; i < copies; i++) {
        if (result.terminated[i] === 1 || result.truncated[i] === 1) {
          returns.push(result.episodeReturns[i]!);
          lengths.push(result.episodeLengths[i]!);
          episodeIds.push(buffer.view(buffer.size - copies + i).episode);
        }
      }
      observations.set(result.observations);
      if (vectorStep % 64 === 0 || buffer.size === steps) {
        progress.update({ steps: buffer.size, meanReturn: recentMean() });
      }
    }
    progress.finish();
    const meta: CollectMeta = {
      envId,
      envOptions,
      wind: options.wind,
      policy: options.policySpec,
      update: policy.update,
      temperature: options.temperature,
      randomFraction: options.randomFraction,
      seed,
      seeds: { envSeeds: [seed, seed + numEnvs - 1], actionSeed: seed },
      numEnvs,
      steps: buffer.size,
      buffer: BUFFER_FILE,
      observationSize: env.observationSize,
      actionSize,
      episodes: returns.length,
      unfinishedEpisodes: buffer.episodesStarted - returns.length,
      meanReturn: returns.length === 0 ? null : returns.reduce((a, b) => a + b, 0) / returns.length,
      returns,
      lengths,
      episodeIds,
    };
    buffer.save(join(out, BUFFER_FILE));
    writeJson(join(out, META_FILE), meta);
    log(
      `collected ${meta.steps} steps of ${envId}${options.wind ? ' (wind)' : ''} with ${options.policySpec}: ` +
        `${meta.episodes} finished episodes, mean return ` +
        `${meta.meanReturn === null ? '-' : meta.meanReturn.toFixed(1)} -> ${out}`,
    );
    return meta;
  } finally {
    await env.close();
  }
}
