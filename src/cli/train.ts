/**
 * `npm run train -- ppo ...`: trains PPO on Lunar Lander into a run folder, with a progress bar, one
 * metrics line per update, periodic evaluation, atomic checkpoints, and `--resume` that continues a killed
 * run to the same results an unbroken run gives (the env is rebuilt by replaying its action log).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ENV_IDS, type EnvId, type LunarLanderOptions, makeVectorEnv, optionsForId } from '../env/index.ts';
import { loadModule, loadOptimizer, saveModule, saveOptimizer, writeFileAtomic } from '../nn/index.ts';
import { Ppo, type PpoState, type PpoUpdateMetrics } from '../rl/ppo.ts';
import {
  defaultPpoConfig,
  PPO_FIXED_DURING_RUN,
  type PpoConfig,
  ppoDefaultsForLander,
  resolvePpoConfig,
} from '../rl/ppo-config.ts';
import { RecordedVectorEnv } from '../rl/recorded-env.ts';
import { TORCH_POLICY_FILE, torchPolicySafetensors } from '../rl/torch-export.ts';
import { replayActionLog, writeActionLog } from './action-log-file.ts';
import {
  type CommandSpec,
  parseArgs,
  parseOverrides,
  resumeOptions,
  STOP_AT_STEPS_FLAG,
  UsageError,
} from './args.ts';
import { type ChangedConfig, changedOnResume } from './config-changes.ts';
import { type EvalSummary, evaluatePolicy } from './evaluate.ts';
import { ProgressBar } from './progress.ts';
import {
  appendMetrics,
  checkpointFolder,
  commitCheckpoint,
  latestCheckpoint,
  readJson,
  runPaths,
  truncateMetrics,
  writeJson,
} from './run-folder.ts';

/** Everything a PPO run was asked for; written to config.json and read back by resume, eval and replay. */
export interface PpoRunConfig extends ChangedConfig {
  algorithm: 'ppo';
  envId: EnvId;
  envOptions: LunarLanderOptions;
  numEnvs: number;
  /** Step the envs in worker threads. */
  workers: boolean;
  /** Checkpoint every this many updates (and at the end). */
  checkpointEvery: number;
  /** Evaluate every this many updates (and at the end); 0 never during training. */
  evalEvery: number;
  evalEpisodes: number;
  ppo: PpoConfig;
}

/** Per-env defaults on top of `defaultPpoConfig` (see `ppoDefaultsForLander`). */
export function ppoDefaultsFor(envId: EnvId): Partial<PpoConfig> {
  return ppoDefaultsForLander(envId === 'LunarLanderContinuous-v3');
}

export const trainSpec: CommandSpec = {
  command: 'train ppo',
  positionals: '',
  minPositionals: 0,
  maxPositionals: 0,
  flags: [
    { name: 'env', type: 'string', help: 'environment id (default LunarLander-v3)', choices: ENV_IDS },
    { name: 'steps', type: 'int', min: 1, help: 'real environment steps (default 1000000)' },
    { name: 'seed', type: 'int', min: 0, help: 'seed of envs, weights and sampling (default 1)' },
    { name: 'out', type: 'string', help: 'run folder (default runs/ppo-<env>-s<seed>)' },
    { name: 'envs', type: 'int', min: 1, help: 'parallel env copies (default 16)' },
    { name: 'workers', type: 'boolean', help: 'step the env copies in worker threads' },
    { name: 'checkpoint-every', type: 'int', min: 1, help: 'updates between checkpoints (default 10)' },
    {
      name: 'eval-every',
      type: 'int',
      min: 0,
      help: 'updates between evaluations, 0 = only at the end (default 5)',
    },
    { name: 'eval-episodes', type: 'int', min: 1, help: 'episodes per evaluation (default 100)' },
    {
      name: 'set',
      type: 'list',
      help:
        `PPO option, repeatable, e.g. --set gamma=0.99 (${Object.keys(defaultPpoConfig).join(', ')}); with ` +
        `--resume, changes the run's config from its checkpoint on (not ${PPO_FIXED_DURING_RUN.join(', ')})`,
    },
    { name: 'resume', type: 'string', help: 'continue the run in this folder from its last checkpoint' },
    {
      name: 'stop-after',
      type: 'int',
      min: 1,
      help: 'stop after this many updates in this session (for testing resume)',
    },
    STOP_AT_STEPS_FLAG,
    { name: 'quiet', type: 'boolean', help: 'no progress bar' },
  ],
};

export interface TrainOptions {
  dir: string;
  /** For a fresh run; ignored on resume (config.json decides). */
  config?: PpoRunConfig;
  resume?: boolean;
  /** On resume: PPO options changed from the checkpoint on, recorded in config.json (config-changes.ts). */
  set?: Partial<PpoConfig>;
  quiet?: boolean;
  stopAfter?: number;
  /** End the session at the first update with at least this many real steps, checkpointed and evaluated. */
  stopAtSteps?: number;
  log?: (line: string) => void;
}

export interface TrainResult {
  dir: string;
  metrics: PpoUpdateMetrics[];
  finished: boolean;
  finalEval: EvalSummary | null;
}

/** Parses `train ppo` arguments into the run folder and config (or a resume). */
export function trainOptionsFromArgs(argv: readonly string[]): TrainOptions {
  const { flags } = parseArgs(argv, trainSpec);
  const overrides = parseOverrides(
    (flags.set as string[] | undefined) ?? [],
    Object.keys(defaultPpoConfig),
    trainSpec,
  ) as Partial<PpoConfig>;
  const resume = resumeOptions(flags, trainSpec);
  if (resume) return { ...resume, set: overrides };
  const envId = (flags.env as EnvId | undefined) ?? 'LunarLander-v3';
  const seed = (flags.seed as number | undefined) ?? 1;
  const numEnvs = (flags.envs as number | undefined) ?? 16;
  let ppo: PpoConfig;
  try {
    ppo = resolvePpoConfig(
      {
        ...ppoDefaultsFor(envId),
        ...overrides,
        totalSteps: (flags.steps as number | undefined) ?? 1_000_000,
        seed,
      },
      numEnvs,
    );
  } catch (e) {
    throw new UsageError((e as Error).message, trainSpec);
  }
  const config: PpoRunConfig = {
    algorithm: 'ppo',
    envId,
    envOptions: optionsForId(envId),
    numEnvs,
    workers: flags.workers === true,
    checkpointEvery: (flags['checkpoint-every'] as number | undefined) ?? 10,
    evalEvery: (flags['eval-every'] as number | undefined) ?? 5,
    evalEpisodes: (flags['eval-episodes'] as number | undefined) ?? 100,
    ppo,
  };
  return {
    dir: (flags.out as string | undefined) ?? join('runs', `ppo-${envId}-s${seed}`),
    config,
    quiet: flags.quiet === true,
    stopAfter: flags['stop-after'] as number | undefined,
    stopAtSteps: flags['stop-at-steps'] as number | undefined,
  };
}

interface SavedState {
  ppo: PpoState;
  /** Seconds spent training before this checkpoint, summed over sessions. */
  wallSeconds: number;
  log: { seed: number; steps: number };
}

function saveRunCheckpoint(dir: string, ppo: Ppo, env: RecordedVectorEnv, wallSeconds: number): void {
  const folder = checkpointFolder(dir, ppo.updates);
  const log = env.log();
  saveModule(join(folder, 'policy.safetensors'), ppo.policy, {
    algorithm: 'ppo',
    update: String(ppo.updates),
  });
  // The same weights in PyTorch's layout, for torch.nn.Sequential.load_state_dict (see README).
  writeFileAtomic(
    join(folder, TORCH_POLICY_FILE),
    torchPolicySafetensors(ppo.policy, { update: String(ppo.updates) }),
  );
  saveOptimizer(join(folder, 'optimizer.safetensors'), ppo.optimizer);
  writeActionLog(join(folder, 'actions.f32'), log);
  writeJson(join(folder, 'state.json'), {
    ppo: ppo.state(),
    wallSeconds,
    log: { seed: log.seed, steps: log.steps },
  } satisfies SavedState);
  commitCheckpoint(dir, ppo.updates);
}

export async function trainPpo(options: TrainOptions): Promise<TrainResult> {
  const { dir } = options;
  const paths = runPaths(dir);
  const log = options.log ?? ((line: string) => console.log(line));
  let config: PpoRunConfig;
  if (options.resume) {
    if (!existsSync(paths.config)) throw new Error(`resume: ${dir} has no config.json; is it a run folder?`);
    config = readJson<PpoRunConfig>(paths.config, 'resume');
    const { numEnvs } = config;
    config = changedOnResume(
      dir,
      config,
      'ppo',
      options.set,
      {
        resolve: (ppo) => resolvePpoConfig(ppo, numEnvs),
        fixed: PPO_FIXED_DURING_RUN,
        counter: 'update',
      },
      (changed) => writeJson(paths.config, changed),
    );
  } else {
    if (!options.config) throw new Error('train: a config is required for a fresh run');
    if (existsSync(paths.config)) {
      throw new Error(
        `train: ${dir} already holds a run; continue it with --resume ${dir} or choose another --out`,
      );
    }
    config = options.config;
    writeJson(paths.config, config);
  }
  const env = new RecordedVectorEnv(
    await makeVectorEnv(config.envId, {
      numEnvs: config.numEnvs,
      envOptions: config.envOptions,
      threads: config.workers,
    }),
  );
  try {
    const ppo = new Ppo(env, config.ppo);
    let wallBefore = 0;
    const checkpoint = options.resume ? latestCheckpoint(dir) : null;
    if (checkpoint) {
      const saved = readJson<SavedState>(join(checkpoint.path, 'state.json'), 'resume');
      loadModule(join(checkpoint.path, 'policy.safetensors'), ppo.policy);
      loadOptimizer(join(checkpoint.path, 'optimizer.safetensors'), ppo.optimizer);
      log(
        `resuming ${dir} at update ${checkpoint.update} (${saved.ppo.steps} steps); replaying ${saved.log.steps} env steps`,
      );
      // PPO's state carries the observations it stopped at; the physics env gets there by replay, and
      // the two must agree, or the env is not the deterministic function of seed and actions replay needs.
      const observations = replayActionLog(
        env,
        join(checkpoint.path, 'actions.f32'),
        saved.log,
        saved.ppo.observations,
        dir,
      );
      ppo.resume(saved.ppo, observations);
      truncateMetrics(dir, checkpoint.update);
      wallBefore = saved.wallSeconds;
    } else {
      if (options.resume) log(`resume: ${dir} has no checkpoint yet; starting it from the beginning`);
      truncateMetrics(dir, 0);
      ppo.start();
    }
    const started = performance.now();
    const wall = () => wallBefore + (performance.now() - started) / 1000;
    const progress = new ProgressBar(config.ppo.totalSteps, ppo.steps, process.stderr, !options.quiet);
    const metrics: PpoUpdateMetrics[] = [];
    let finalEval: EvalSummary | null = null;
    let sessionUpdates = 0;
    const reachedStop = () => options.stopAtSteps !== undefined && ppo.steps >= options.stopAtSteps;
    while (
      !ppo.done &&
      !reachedStop() &&
      (options.stopAfter === undefined || sessionUpdates < options.stopAfter)
    ) {
      const m = ppo.update();
      sessionUpdates++;
      metrics.push(m);
      // A stop at a real-step count is a point to rank the run at and to resume from: evaluated, checkpointed.
      const ending = ppo.done || reachedStop();
      let evaluation: Record<string, number> = {};
      if ((config.evalEvery > 0 && m.update % config.evalEvery === 0) || ending) {
        const evalStarted = performance.now();
        const summary = evaluatePolicy(ppo.policy, config.envId, config.envOptions, config.evalEpisodes);
        evaluation = {
          evalMeanReturn: summary.meanReturn,
          evalSolvedFraction: summary.solvedFraction,
          evalSeconds: (performance.now() - evalStarted) / 1000,
        };
        if (ppo.done) finalEval = summary;
      }
      appendMetrics(dir, { ...m, ...evaluation, wallSeconds: wall() });
      if (m.update % config.checkpointEvery === 0 || ending) saveRunCheckpoint(dir, ppo, env, wall());
      progress.update({
        steps: m.steps,
        meanReturn: m.meanReturn,
        extra:
          evaluation.evalMeanReturn === undefined
            ? undefined
            : `eval ${evaluation.evalMeanReturn.toFixed(1)}`,
      });
    }
    progress.finish();
    return { dir, metrics, finished: ppo.done, finalEval };
  } finally {
    await env.close();
  }
}
