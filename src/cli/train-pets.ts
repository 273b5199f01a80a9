/**
 * `npm run train -- pets ...`: PETS (src/rl/pets.ts), CEM planning in a learned ensemble with no policy, on
 * Lunar Lander into a run folder laid out as the other algorithms' (run-folder.ts): config.json, one metrics
 * line per iteration, atomic checkpoints keyed by iteration (the ensemble, the replay buffer and the loop's
 * state), a progress bar over the real-step budget, and `--resume` (iterations end at episode boundaries and
 * episodes reset from their own seeds, so no env replay is needed).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ENV_IDS, type EnvId, type LunarLanderOptions, makeVectorEnv, optionsForId } from '../env/index.ts';
import { writeFileAtomic } from '../nn/index.ts';
import { defaultCemConfig } from '../rl/cem-config.ts';
import { Pets, type PetsIterationMetrics, type PetsState } from '../rl/pets.ts';
import {
  defaultPetsConfig,
  PETS_FIXED_DURING_RUN,
  type PetsConfig,
  resolvePetsConfig,
} from '../rl/pets-config.ts';
import { actionSize } from '../rl/vector-env.ts';
import { EnsembleModel, loadModel, ReplayBuffer } from '../rl/world-model/index.ts';
import {
  type CommandSpec,
  extractSets,
  parseArgs,
  parseSetValue,
  resumeOptions,
  STOP_AT_STEPS_FLAG,
  UsageError,
} from './args.ts';
import { type ChangedConfig, changedOnResume } from './config-changes.ts';
import { type EvalSummary, evaluatePlanner, withEvaluation } from './evaluate.ts';
import { ProgressBar } from './progress.ts';
import {
  appendMetrics,
  checkpointFolder,
  commitCheckpoint,
  latestCheckpoint,
  readJson,
  readMetrics,
  runPaths,
  truncateMetrics,
} from './run-folder.ts';

/** Everything a PETS run was asked for; written to config.json and read back by resume, eval, plot. */
export interface PetsRunConfig extends ChangedConfig {
  algorithm: 'pets';
  envId: EnvId;
  envOptions: LunarLanderOptions;
  /** The loop's config, resolved (every field). */
  pets: PetsConfig;
  /** Checkpoint every this many iterations (and at the end). */
  checkpointEvery: number;
  /** Episodes per evaluation (the same as `pets.evalEpisodes`, here for readers of every algorithm). */
  evalEpisodes: number;
}

/** One metrics.jsonl line: the iteration's metrics, `steps` (= realSteps) and wall time. */
export type PetsMetricsLine = PetsIterationMetrics & { steps: number; wallSeconds: number };

const CHECKPOINT_FILES = {
  model: 'model.safetensors',
  buffer: 'buffer.safetensors',
  state: 'state.json',
} as const;

const PETS_KEYS = Object.keys(defaultPetsConfig).filter((k) => k !== 'cem');
const CEM_FIELDS = Object.keys(defaultCemConfig);

export const trainPetsSpec: CommandSpec = {
  command: 'train pets',
  positionals: '',
  minPositionals: 0,
  maxPositionals: 0,
  flags: [
    { name: 'env', type: 'string', help: 'environment id (default LunarLander-v3)', choices: ENV_IDS },
    {
      name: 'steps',
      type: 'int',
      min: 1,
      help: `real environment steps, the sample budget (default ${defaultPetsConfig.totalRealSteps})`,
    },
    {
      name: 'seed',
      type: 'int',
      min: 0,
      help: 'seed of real episodes, the model and the planner (default 1)',
    },
    { name: 'out', type: 'string', help: 'run folder (default runs/pets-<env>-s<seed>)' },
    { name: 'checkpoint-every', type: 'int', min: 1, help: 'iterations between checkpoints (default 1)' },
    {
      name: 'eval-every',
      type: 'int',
      min: 0,
      help: `iterations between evaluations, 0 = only at the end (default ${defaultPetsConfig.evalEvery})`,
    },
    {
      name: 'eval-episodes',
      type: 'int',
      min: 1,
      help: `episodes per evaluation (default ${defaultPetsConfig.evalEpisodes})`,
    },
    {
      name: 'set',
      type: 'list',
      help:
        `loop option(s), repeatable (${PETS_KEYS.join(', ')}; cem.<${CEM_FIELDS.join(' | ')}>); with --resume, ` +
        `changes the run's config from its checkpoint on (not ${PETS_FIXED_DURING_RUN.join(', ')})`,
    },
    { name: 'resume', type: 'string', help: 'continue the run in this folder from its last checkpoint' },
    { name: 'stop-after', type: 'int', min: 1, help: 'stop after this many iterations in this session' },
    STOP_AT_STEPS_FLAG,
    { name: 'quiet', type: 'boolean', help: 'no progress bar' },
  ],
};

export interface TrainPetsOptions {
  dir: string;
  config?: PetsRunConfig;
  resume?: boolean;
  /** On resume: loop options changed from the checkpoint on, recorded in config.json (config-changes.ts). */
  set?: Partial<PetsConfig>;
  quiet?: boolean;
  stopAfter?: number;
  /** End the session at the first iteration with at least this many real steps, checkpointed and evaluated. */
  stopAtSteps?: number;
  log?: (line: string) => void;
}

export interface TrainPetsResult {
  dir: string;
  metrics: PetsMetricsLine[];
  finished: boolean;
  finalEval: EvalSummary | null;
}

/** `--set` entries as loop overrides, `cem.<field>` entries gathered under `cem`; unknown keys are errors. */
export function parsePetsOverrides(entries: readonly string[]): Partial<PetsConfig> {
  const overrides: Record<string, unknown> = {};
  const cem: Record<string, unknown> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const key = entry.slice(0, eq);
    const raw = entry.slice(eq + 1);
    if (key.startsWith('cem.') && CEM_FIELDS.includes(key.slice(4))) {
      cem[key.slice(4)] = parseSetValue(raw, (defaultCemConfig as Record<string, unknown>)[key.slice(4)]);
      continue;
    }
    if (!PETS_KEYS.includes(key)) {
      throw new UsageError(
        `--set ${entry}: unknown option '${key}'; expected one of ${PETS_KEYS.join(', ')}, or cem.<${CEM_FIELDS.join(' | ')}>`,
        trainPetsSpec,
      );
    }
    overrides[key] = parseSetValue(raw, (defaultPetsConfig as Record<string, unknown>)[key]);
  }
  if (Object.keys(cem).length > 0) overrides.cem = cem;
  return overrides as Partial<PetsConfig>;
}

export function trainPetsOptionsFromArgs(argv: readonly string[]): TrainPetsOptions {
  const { sets, rest } = extractSets(argv, trainPetsSpec);
  const { flags } = parseArgs(rest, trainPetsSpec);
  const resume = resumeOptions(flags, trainPetsSpec);
  if (resume) return { ...resume, set: parsePetsOverrides(sets) };
  const envId = (flags.env as EnvId | undefined) ?? 'LunarLander-v3';
  const overrides = parsePetsOverrides(sets) as Record<string, unknown>;
  const fromFlags: [string, keyof PetsConfig][] = [
    ['steps', 'totalRealSteps'],
    ['seed', 'seed'],
    ['eval-every', 'evalEvery'],
    ['eval-episodes', 'evalEpisodes'],
  ];
  for (const [flag, key] of fromFlags) if (flags[flag] !== undefined) overrides[key] = flags[flag];
  let pets: PetsConfig;
  try {
    pets = resolvePetsConfig(overrides as Partial<PetsConfig>);
  } catch (e) {
    throw new UsageError((e as Error).message, trainPetsSpec);
  }
  return {
    dir: (flags.out as string | undefined) ?? join('runs', `pets-${envId}-s${pets.seed}`),
    config: {
      algorithm: 'pets',
      envId,
      envOptions: optionsForId(envId),
      pets,
      checkpointEvery: (flags['checkpoint-every'] as number | undefined) ?? 1,
      evalEpisodes: pets.evalEpisodes,
    },
    quiet: flags.quiet === true,
    stopAfter: flags['stop-after'] as number | undefined,
    stopAtSteps: flags['stop-at-steps'] as number | undefined,
  };
}

/** A PETS run's config.json, its loop config checked again. */
export function readPetsRunConfig(dir: string, what = `run ${dir}`): PetsRunConfig {
  const config = readJson<PetsRunConfig>(runPaths(dir).config, what);
  if (config.algorithm !== 'pets') {
    throw new Error(`${what}: ${dir} holds a '${config.algorithm}' run, not a 'pets' one`);
  }
  try {
    return { ...config, pets: resolvePetsConfig(config.pets) };
  } catch (e) {
    throw new Error(`${what}: ${runPaths(dir).config}: ${(e as Error).message}`);
  }
}

interface SavedState {
  pets: PetsState;
  wallSeconds: number;
}

function saveRunCheckpoint(dir: string, loop: Pets, wallSeconds: number): void {
  const folder = checkpointFolder(dir, loop.iteration);
  const metadata = { algorithm: 'pets', iteration: String(loop.iteration) };
  loop.model.save(join(folder, CHECKPOINT_FILES.model), metadata);
  loop.buffer.save(join(folder, CHECKPOINT_FILES.buffer));
  writeFileAtomic(
    join(folder, CHECKPOINT_FILES.state),
    `${JSON.stringify({ pets: loop.state(), wallSeconds } satisfies SavedState)}\n`,
  );
  commitCheckpoint(dir, loop.iteration);
}

export async function trainPets(options: TrainPetsOptions): Promise<TrainPetsResult> {
  const { dir } = options;
  const paths = runPaths(dir);
  const log = options.log ?? ((line: string) => console.log(line));
  let config: PetsRunConfig;
  if (options.resume) {
    if (!existsSync(paths.config)) throw new Error(`resume: ${dir} has no config.json; is it a run folder?`);
    config = readPetsRunConfig(dir, 'resume');
    config = changedOnResume(
      dir,
      config,
      'pets',
      options.set,
      { resolve: resolvePetsConfig, fixed: PETS_FIXED_DURING_RUN, counter: 'iteration' },
      (changed) => writeFileAtomic(paths.config, `${JSON.stringify(changed, null, 2)}\n`),
    );
  } else {
    if (!options.config) throw new Error('train pets: a config is required for a fresh run');
    if (existsSync(paths.config)) {
      throw new Error(
        `train pets: ${dir} already holds a run; continue it with --resume ${dir} or choose another --out`,
      );
    }
    config = options.config;
    writeFileAtomic(paths.config, `${JSON.stringify(config, null, 2)}\n`);
  }
  const c = config.pets;
  const env = await makeVectorEnv(config.envId, { numEnvs: 1, envOptions: config.envOptions });
  try {
    let lastEval: EvalSummary | null = null;
    const evaluate = (controller: Parameters<typeof evaluatePlanner>[0]) => {
      lastEval = evaluatePlanner(controller, config.envId, config.envOptions, c.evalEpisodes);
      return lastEval;
    };
    const checkpoint = options.resume ? latestCheckpoint(dir) : null;
    let loop: Pets;
    let wallBefore = 0;
    if (checkpoint) {
      const file = (name: string) => join(checkpoint.path, name);
      const saved = readJson<SavedState>(file(CHECKPOINT_FILES.state), 'resume');
      const model = loadModel(file(CHECKPOINT_FILES.model));
      if (!(model instanceof EnsembleModel)) {
        throw new Error(
          `resume: ${file(CHECKPOINT_FILES.model)} holds a '${model.kind}' model, not an ensemble`,
        );
      }
      const buffer = ReplayBuffer.load(file(CHECKPOINT_FILES.buffer), {
        observationSize: env.observationSize,
        actionSize: actionSize(env.actionSpace),
        capacity: c.bufferCapacity,
      });
      loop = new Pets(env, c, { model, buffer, evaluate });
      loop.resume(saved.pets);
      truncateMetrics(dir, checkpoint.update, 'iteration');
      wallBefore = saved.wallSeconds;
      log(`resuming ${dir} at iteration ${checkpoint.update} (${saved.pets.realSteps} real steps)`);
    } else {
      if (options.resume) log(`resume: ${dir} has no checkpoint yet; starting it from the beginning`);
      truncateMetrics(dir, 0, 'iteration');
      loop = new Pets(env, c, { evaluate });
    }
    if (loop.done) log(`${dir} has already spent its ${c.totalRealSteps} real steps; nothing to train`);
    const started = performance.now();
    const wall = () => wallBefore + (performance.now() - started) / 1000;
    let lastEvalReturn = [...readMetrics<Partial<PetsMetricsLine>>(dir)]
      .reverse()
      .find((m) => typeof m.evalMeanReturn === 'number')?.evalMeanReturn;
    const progress = new ProgressBar(
      c.totalRealSteps,
      loop.realSteps,
      process.stderr,
      !options.quiet,
      'real steps',
    );
    const metrics: PetsMetricsLine[] = [];
    let finalEval: EvalSummary | null = null;
    let session = 0;
    const reachedStop = () => options.stopAtSteps !== undefined && loop.realSteps >= options.stopAtSteps;
    while (!loop.done && !reachedStop() && (options.stopAfter === undefined || session < options.stopAfter)) {
      lastEval = null;
      let m = loop.iterate();
      session++;
      // A stop at a real-step count is a point to rank the run at and to resume from: evaluated, checkpointed.
      const ending = loop.done || reachedStop();
      if (ending) m = withEvaluation(m, () => evaluate(loop.evaluationController()));
      const line: PetsMetricsLine = { ...m, steps: m.realSteps, wallSeconds: wall() };
      metrics.push(line);
      appendMetrics(dir, line);
      if (m.iteration % config.checkpointEvery === 0 || ending) saveRunCheckpoint(dir, loop, wall());
      if (loop.done) finalEval = lastEval;
      if (m.evalMeanReturn !== undefined) lastEvalReturn = m.evalMeanReturn;
      progress.update({
        steps: m.realSteps,
        meanReturn: m.realMeanReturn,
        extra: [
          m.planMsPerAction === null ? 'plan -' : `plan ${m.planMsPerAction.toFixed(0)} ms/action`,
          `eval ${lastEvalReturn === undefined ? '-' : lastEvalReturn.toFixed(1)}`,
        ].join(' | '),
      });
    }
    progress.finish();
    return { dir, metrics, finished: loop.done, finalEval };
  } finally {
    await env.close();
  }
}
