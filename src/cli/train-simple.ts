/**
 * `npm run train -- simple ...`: the model-based agent (src/rl/simple.ts) on Lunar Lander into a run folder,
 * laid out as PPO's (run-folder.ts): config.json, one metrics line per iteration, atomic checkpoints keyed
 * by iteration (policy, optimiser, dynamics model, familiarity model, replay buffer, the real env's action
 * log and the loop's state), a progress bar over the real-step budget, and `--resume` that continues a
 * killed run to the same metrics an unbroken run gives (the real env is rebuilt by replaying its log).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ENV_IDS, type EnvId, type LunarLanderOptions, makeVectorEnv, optionsForId } from '../env/index.ts';
import { loadModule, loadOptimizer, saveModule, saveOptimizer, writeFileAtomic } from '../nn/index.ts';
import { defaultPpoConfig, type PpoConfig } from '../rl/ppo-config.ts';
import { RecordedVectorEnv } from '../rl/recorded-env.ts';
import {
  realBudgetSpent,
  Simple,
  type SimpleIterationMetrics,
  type SimpleModel,
  type SimpleState,
} from '../rl/simple.ts';
import {
  defaultSimpleConfig,
  resolveSimpleConfig,
  SIMPLE_FIXED_DURING_RUN,
  type SimpleConfig,
} from '../rl/simple-config.ts';
import { TORCH_POLICY_FILE, torchPolicySafetensors } from '../rl/torch-export.ts';
import { actionSize, type RlVectorEnv } from '../rl/vector-env.ts';
import { errorAtHorizon } from '../rl/world-model/diagnostics/fresh-errors.ts';
import { FamiliarityModel, loadModel, ReplayBuffer } from '../rl/world-model/index.ts';
import { replayActionLog, writeActionLog } from './action-log-file.ts';
import {
  type CommandSpec,
  extractSets,
  parseArgs,
  parseSetValue,
  resumeOptions,
  STOP_AT_STEPS_FLAG,
  UsageError,
} from './args.ts';
import { type ChangedConfig, changedOnResume, keysChangedAt } from './config-changes.ts';
import { type EvalSummary, evaluatePolicy, withEvaluation } from './evaluate.ts';
import { formatCount, ProgressBar } from './progress.ts';
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

/** Everything a model-based run was asked for; written to config.json and read back by resume, eval, plot. */
export interface SimpleRunConfig extends ChangedConfig {
  algorithm: 'simple';
  envId: EnvId;
  envOptions: LunarLanderOptions;
  /** The loop's config, resolved (every field). */
  simple: SimpleConfig;
  /** Checkpoint every this many iterations (and at the end). */
  checkpointEvery: number;
  /** Episodes per evaluation (the same as `simple.evalEpisodes`, here for readers of every algorithm). */
  evalEpisodes: number;
}

/** One metrics.jsonl line: the iteration's metrics, `steps` (= realSteps, for readers of any run) and wall time. */
export type SimpleMetricsLine = SimpleIterationMetrics & { steps: number; wallSeconds: number };

export const CHECKPOINT_FILES = {
  policy: 'policy.safetensors',
  optimizer: 'optimizer.safetensors',
  model: 'model.safetensors',
  familiarity: 'familiarity.safetensors',
  buffer: 'buffer.safetensors',
  actions: 'actions.f32',
  state: 'state.json',
} as const;

const SIMPLE_KEYS = Object.keys(defaultSimpleConfig).filter((k) => k !== 'ppo');
const PPO_KEYS = Object.keys(defaultPpoConfig);
/** PPO fields the loop sets itself (from modelEnvs, the horizon and the seed): not offered in the usage. */
const PPO_LOOP_KEYS = ['totalSteps', 'stepsPerEnv', 'seed'];

export const trainSimpleSpec: CommandSpec = {
  command: 'train simple',
  positionals: '',
  minPositionals: 0,
  maxPositionals: 0,
  flags: [
    { name: 'env', type: 'string', help: 'environment id (default LunarLander-v3)', choices: ENV_IDS },
    {
      name: 'steps',
      type: 'int',
      min: 1,
      help: `real environment steps, the sample budget (default ${defaultSimpleConfig.totalRealSteps})`,
    },
    { name: 'seed', type: 'int', min: 0, help: 'seed of real envs, models, rollouts and PPO (default 1)' },
    { name: 'out', type: 'string', help: 'run folder (default runs/simple-<env>-s<seed>)' },
    {
      name: 'model',
      type: 'string',
      help: `dynamics model (default ${defaultSimpleConfig.model})`,
      choices: ['ensemble', 'mlp', 'gru', 'article'],
    },
    {
      name: 'checkpoint-every',
      type: 'int',
      min: 1,
      help: 'iterations between checkpoints (default 1)',
    },
    {
      name: 'eval-every',
      type: 'int',
      min: 0,
      help: `iterations between evaluations, 0 = only at the end (default ${defaultSimpleConfig.evalEvery})`,
    },
    {
      name: 'eval-episodes',
      type: 'int',
      min: 1,
      help: `episodes per evaluation (default ${defaultSimpleConfig.evalEpisodes})`,
    },
    {
      name: 'set',
      type: 'list',
      help:
        'loop option(s), repeatable, several after one --set, e.g. --set modelEnvs=64 modelHiddenSizes=200,200 ' +
        `ppo.gamma=0.98 (${SIMPLE_KEYS.join(', ')}; ppo.<${PPO_KEYS.filter((k) => !PPO_LOOP_KEYS.includes(k)).join(' | ')}>); ` +
        `with --resume, changes the run's config from its checkpoint on (not ${SIMPLE_FIXED_DURING_RUN.join(', ')})`,
    },
    { name: 'resume', type: 'string', help: 'continue the run in this folder from its last checkpoint' },
    {
      name: 'stop-after',
      type: 'int',
      min: 1,
      help: 'stop after this many iterations in this session (for testing resume)',
    },
    STOP_AT_STEPS_FLAG,
    { name: 'quiet', type: 'boolean', help: 'no progress bar' },
  ],
};

export interface TrainSimpleOptions {
  dir: string;
  /** For a fresh run; ignored on resume (config.json decides). */
  config?: SimpleRunConfig;
  resume?: boolean;
  /** On resume: loop options changed from the checkpoint on, recorded in config.json (config-changes.ts). */
  set?: Partial<SimpleConfig>;
  quiet?: boolean;
  stopAfter?: number;
  /** End the session at the first iteration with at least this many real steps, checkpointed and evaluated. */
  stopAtSteps?: number;
  log?: (line: string) => void;
}

export interface TrainSimpleResult {
  dir: string;
  /** This session's metrics lines. */
  metrics: SimpleMetricsLine[];
  finished: boolean;
  /** The evaluation at the end of the run, when this session reached it. */
  finalEval: EvalSummary | null;
}

/** `--set` entries as loop overrides, `ppo.<field>` entries gathered under `ppo`; unknown keys are errors. */
export function parseSimpleOverrides(entries: readonly string[]): Partial<SimpleConfig> {
  const overrides: Record<string, unknown> = {};
  const ppo: Record<string, unknown> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const key = entry.slice(0, eq);
    const raw = entry.slice(eq + 1);
    if (key.startsWith('ppo.')) {
      const field = key.slice(4);
      if (!PPO_KEYS.includes(field)) {
        throw new UsageError(
          `--set ${entry}: unknown PPO option '${field}'; expected ppo.<one of ${PPO_KEYS.join(', ')}>`,
          trainSimpleSpec,
        );
      }
      ppo[field] = parseSetValue(raw, defaultPpoConfig[field as keyof PpoConfig]);
      continue;
    }
    if (!SIMPLE_KEYS.includes(key)) {
      throw new UsageError(
        `--set ${entry}: unknown option '${key}'; expected one of ${SIMPLE_KEYS.join(', ')}, or ppo.<field>`,
        trainSimpleSpec,
      );
    }
    overrides[key] = parseSetValue(raw, defaultSimpleConfig[key as keyof SimpleConfig]);
  }
  if (Object.keys(ppo).length > 0) overrides.ppo = ppo;
  return overrides as Partial<SimpleConfig>;
}

/** Parses `train simple` arguments into the run folder and config (or a resume). */
export function trainSimpleOptionsFromArgs(argv: readonly string[]): TrainSimpleOptions {
  const { sets, rest } = extractSets(argv, trainSimpleSpec);
  const { flags } = parseArgs(rest, trainSimpleSpec);
  const resume = resumeOptions(flags, trainSimpleSpec);
  if (resume) return { ...resume, set: parseSimpleOverrides(sets) };
  const envId = (flags.env as EnvId | undefined) ?? 'LunarLander-v3';
  const overrides: Partial<SimpleConfig> = parseSimpleOverrides(sets);
  // The flags win over --set of the same option.
  const fromFlags: [string, keyof SimpleConfig][] = [
    ['steps', 'totalRealSteps'],
    ['seed', 'seed'],
    ['model', 'model'],
    ['eval-every', 'evalEvery'],
    ['eval-episodes', 'evalEpisodes'],
  ];
  for (const [flag, key] of fromFlags) {
    if (flags[flag] !== undefined) (overrides as Record<string, unknown>)[key] = flags[flag];
  }
  let simple: SimpleConfig;
  try {
    simple = resolveSimpleConfig(overrides, optionsForId(envId).continuous === true);
  } catch (e) {
    throw new UsageError((e as Error).message, trainSimpleSpec);
  }
  const config: SimpleRunConfig = {
    algorithm: 'simple',
    envId,
    envOptions: optionsForId(envId),
    simple,
    checkpointEvery: (flags['checkpoint-every'] as number | undefined) ?? 1,
    evalEpisodes: simple.evalEpisodes,
  };
  return {
    dir: (flags.out as string | undefined) ?? join('runs', `simple-${envId}-s${simple.seed}`),
    config,
    quiet: flags.quiet === true,
    stopAfter: flags['stop-after'] as number | undefined,
    stopAtSteps: flags['stop-at-steps'] as number | undefined,
  };
}

/** config.json's text: JSON, with infinite numbers (disagreementLimit's default) written as "Infinity". */
function configJson(config: SimpleRunConfig): string {
  const replacer = (_key: string, value: unknown) =>
    typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
  return `${JSON.stringify(config, replacer, 2)}\n`;
}

/** A model-based run's config.json, its loop config checked again (and "Infinity" read back as a number). */
export function readSimpleRunConfig(dir: string, what = `run ${dir}`): SimpleRunConfig {
  const config = readJson<SimpleRunConfig>(runPaths(dir).config, what);
  if (config.algorithm !== 'simple') {
    throw new Error(`${what}: ${dir} holds a '${config.algorithm}' run, not a 'simple' one`);
  }
  const simple = { ...config.simple } as Record<string, unknown>;
  // A run from before step 5's trials ran without them, and one from before trialKeepFrom and trialGuardFrom
  // tried the old policy beside every new one, whatever today's defaults for its lander.
  if (!('trialEpisodes' in simple)) simple.trialEpisodes = 0;
  if (!('trialKeepFrom' in simple)) simple.trialKeepFrom = Number.POSITIVE_INFINITY;
  if (!('trialGuardFrom' in simple)) simple.trialGuardFrom = Number.NEGATIVE_INFINITY;
  for (const [key, value] of Object.entries(simple)) {
    const like = (defaultSimpleConfig as Record<string, unknown>)[key];
    if (typeof like === 'number' && typeof value === 'string') simple[key] = Number(value);
  }
  try {
    return {
      ...config,
      simple: resolveSimpleConfig(simple as Partial<SimpleConfig>, config.envOptions?.continuous === true),
    };
  } catch (e) {
    throw new Error(`${what}: ${runPaths(dir).config}: ${(e as Error).message}`);
  }
}

interface SavedState {
  simple: SimpleState;
  /** Seconds spent training before this checkpoint, summed over sessions. */
  wallSeconds: number;
  log: { seed: number; steps: number };
}

/** The saved state of the run's newest checkpoint, or null when it has none. */
export function latestSimpleState(dir: string): SimpleState | null {
  const checkpoint = latestCheckpoint(dir);
  if (!checkpoint) return null;
  return readJson<SavedState>(join(checkpoint.path, CHECKPOINT_FILES.state), `run ${dir}`).simple;
}

/** Whether the run's newest checkpoint has spent its real-step budget (as `Simple.done` decides). */
export function simpleRunFinished(dir: string): boolean {
  const config = readSimpleRunConfig(dir);
  const state = latestSimpleState(dir);
  return state !== null && realBudgetSpent(config.simple, state.realSteps);
}

/** The fresh open-loop error at the iteration's horizon, else the one-step error; null before any. */
export function modelError(m: Pick<SimpleIterationMetrics, 'fresh' | 'horizon'>): {
  value: number;
  label: string;
} | null {
  if (!m.fresh) return null;
  const atH = errorAtHorizon(m.fresh, m.horizon);
  if (atH !== null) return { value: atH, label: `err@H ${atH.toFixed(2)}` };
  return { value: m.fresh.meanOneStepError, label: `1-step err ${m.fresh.meanOneStepError.toFixed(2)}` };
}

function saveRunCheckpoint(dir: string, loop: Simple, env: RecordedVectorEnv, wallSeconds: number): void {
  const iteration = loop.iteration;
  const folder = checkpointFolder(dir, iteration);
  const file = (name: string) => join(folder, name);
  const metadata = { algorithm: 'simple', iteration: String(iteration) };
  const log = env.log();
  saveModule(file(CHECKPOINT_FILES.policy), loop.policy, metadata);
  // The same weights in PyTorch's layout, for torch.nn.Sequential.load_state_dict (see README).
  writeFileAtomic(file(TORCH_POLICY_FILE), torchPolicySafetensors(loop.policy, metadata));
  saveOptimizer(file(CHECKPOINT_FILES.optimizer), loop.optimizer);
  loop.model.save(file(CHECKPOINT_FILES.model), metadata);
  loop.familiarity?.save(file(CHECKPOINT_FILES.familiarity), metadata);
  loop.buffer.save(file(CHECKPOINT_FILES.buffer));
  writeActionLog(file(CHECKPOINT_FILES.actions), log);
  writeFileAtomic(
    file(CHECKPOINT_FILES.state),
    `${JSON.stringify({ simple: loop.state(), wallSeconds, log: { seed: log.seed, steps: log.steps } } satisfies SavedState)}\n`,
  );
  commitCheckpoint(dir, iteration);
}

/** The dynamics model of a checkpoint, which must be of the kind the config asks for. */
function loadSimpleModel(file: string, kind: SimpleConfig['model']): SimpleModel {
  const model = loadModel(file);
  if (model.kind !== kind) {
    throw new Error(`resume: ${file} holds a '${model.kind}' model; the run's config asks for '${kind}'`);
  }
  return model as SimpleModel;
}

export async function trainSimple(options: TrainSimpleOptions): Promise<TrainSimpleResult> {
  const { dir } = options;
  const paths = runPaths(dir);
  const log = options.log ?? ((line: string) => console.log(line));
  let config: SimpleRunConfig;
  if (options.resume) {
    if (!existsSync(paths.config)) throw new Error(`resume: ${dir} has no config.json; is it a run folder?`);
    config = readSimpleRunConfig(dir, 'resume');
    config = changedOnResume(
      dir,
      config,
      'simple',
      options.set,
      { resolve: resolveSimpleConfig, fixed: SIMPLE_FIXED_DURING_RUN, counter: 'iteration' },
      (changed) => writeFileAtomic(paths.config, configJson(changed)),
    );
  } else {
    if (!options.config) throw new Error('train simple: a config is required for a fresh run');
    if (existsSync(paths.config)) {
      throw new Error(
        `train simple: ${dir} already holds a run; continue it with --resume ${dir} or choose another --out`,
      );
    }
    config = options.config;
    writeFileAtomic(paths.config, configJson(config));
  }
  const c = config.simple;
  const env = new RecordedVectorEnv(
    await makeVectorEnv(config.envId, { numEnvs: c.realEnvs, envOptions: config.envOptions }),
  );
  // The loop, once made: closed at the end (it may hold the refit's helper thread).
  let opened: Simple | null = null;
  let trialEnv: RlVectorEnv | undefined;
  try {
    // The trials' env needs no action log: each trial resets it from its own seeds.
    if (c.trialEpisodes > 0) {
      trialEnv = await makeVectorEnv(config.envId, { numEnvs: 1, envOptions: config.envOptions });
    }
    let lastEval: EvalSummary | null = null;
    const evaluate = (policy: Simple['policy']) => {
      // Greedy episodes from seeds 1e9 on, apart from training's.
      lastEval = evaluatePolicy(policy, config.envId, config.envOptions, c.evalEpisodes);
      return lastEval;
    };
    const checkpoint = options.resume ? latestCheckpoint(dir) : null;
    let loop: Simple;
    let wallBefore = 0;
    if (checkpoint) {
      const file = (name: string) => join(checkpoint.path, name);
      const saved = readJson<SavedState>(file(CHECKPOINT_FILES.state), 'resume');
      const actionNumbers = actionSize(env.actionSpace);
      loop = new Simple(env, c, {
        model: loadSimpleModel(file(CHECKPOINT_FILES.model), c.model),
        familiarity: c.familiarity ? FamiliarityModel.load(file(CHECKPOINT_FILES.familiarity)) : undefined,
        buffer: ReplayBuffer.load(file(CHECKPOINT_FILES.buffer), {
          observationSize: env.observationSize,
          actionSize: actionNumbers,
          capacity: c.bufferCapacity,
        }),
        evaluate,
        trialEnv,
      });
      loadModule(file(CHECKPOINT_FILES.policy), loop.policy);
      loadOptimizer(file(CHECKPOINT_FILES.optimizer), loop.optimizer);
      log(
        `resuming ${dir} at iteration ${checkpoint.update} (${saved.simple.realSteps} real steps); ` +
          `replaying ${saved.log.steps} env steps`,
      );
      replayActionLog(env, file(CHECKPOINT_FILES.actions), saved.log, saved.simple.observations, dir);
      loop.resume(saved.simple);
      // A starting value changed at this checkpoint starts again from there (the dynamic rule then moves it as
      // usual); one set again to the value it has, or changed at an earlier checkpoint, keeps the saved state.
      const changed = keysChangedAt(config, checkpoint.update);
      for (const key of ['horizon', 'temperature', 'lambdaUncertainty'] as const) {
        if (changed.has(key)) loop[key] = c[key];
      }
      truncateMetrics(dir, checkpoint.update, 'iteration');
      wallBefore = saved.wallSeconds;
    } else {
      if (options.resume) log(`resume: ${dir} has no checkpoint yet; starting it from the beginning`);
      truncateMetrics(dir, 0, 'iteration');
      loop = new Simple(env, c, { evaluate, trialEnv });
      loop.start();
    }
    opened = loop;
    if (loop.done) log(`${dir} has already spent its ${c.totalRealSteps} real steps; nothing to train`);
    const started = performance.now();
    const wall = () => wallBefore + (performance.now() - started) / 1000;
    const previous = readMetrics<Partial<SimpleMetricsLine>>(dir);
    let lastEvalReturn = [...previous]
      .reverse()
      .find((m) => typeof m.evalMeanReturn === 'number')?.evalMeanReturn;
    const progress = new ProgressBar(
      c.totalRealSteps,
      loop.realSteps,
      process.stderr,
      !options.quiet,
      'real steps',
    );
    const metrics: SimpleMetricsLine[] = [];
    let finalEval: EvalSummary | null = null;
    let sessionIterations = 0;
    const reachedStop = () => options.stopAtSteps !== undefined && loop.realSteps >= options.stopAtSteps;
    while (
      !loop.done &&
      !reachedStop() &&
      (options.stopAfter === undefined || sessionIterations < options.stopAfter)
    ) {
      lastEval = null;
      let m = loop.iterate();
      sessionIterations++;
      // A stop at a real-step count is a point to rank the run at and to resume from: evaluated, checkpointed.
      const ending = loop.done || reachedStop();
      if (ending) m = withEvaluation(m, () => evaluate(loop.policy));
      const line: SimpleMetricsLine = { ...m, steps: m.realSteps, wallSeconds: wall() };
      metrics.push(line);
      appendMetrics(dir, line);
      if (m.iteration % config.checkpointEvery === 0 || ending) saveRunCheckpoint(dir, loop, env, wall());
      if (loop.done) finalEval = lastEval;
      if (m.evalMeanReturn !== undefined) lastEvalReturn = m.evalMeanReturn;
      const error = modelError(m);
      progress.update({
        steps: m.realSteps,
        meanReturn: m.realMeanReturn,
        extra: [
          `imagined ${formatCount(m.imaginedSteps)}`,
          error?.label ?? 'err -',
          `H ${m.horizon}`,
          `T ${m.temperature.toFixed(2)}`,
          ...(m.trialVerdict === 'untried'
            ? []
            : [
                `trial ${m.trialReturn?.toFixed(0) ?? '-'} vs ${m.keptTrialReturn?.toFixed(0) ?? '-'} ${m.trialVerdict}`,
              ]),
          `eval ${lastEvalReturn === undefined ? '-' : lastEvalReturn.toFixed(1)}`,
        ].join(' | '),
      });
    }
    progress.finish();
    return { dir, metrics, finished: loop.done, finalEval };
  } finally {
    await opened?.close();
    try {
      await env.close();
    } finally {
      await trialEnv?.close();
    }
  }
}
