/**
 * `npm run model-report -- runs/<model run> --data data/<held-out>[,data/<more>] [--ood data/<ood>]
 * [--policies runs/a@10,runs/a@60,heuristic,random] [--out <dir>]`: how wrong the world models of a run
 * folder are (issue 11, "Knowing how wrong"), every kind present (<kind>.safetensors) measured on the same
 * held-out data. Writes into --out (default runs/<model run>/report):
 *   report.json   every number below
 *   report.md     the same as tables
 *   one-step.svg, open-loop.svg, policies.svg, episode.svg   Vega-Lite plots
 *
 * Per dynamics model (mlp, ensemble, gru): one-step error per dimension and contact accuracy; open-loop
 * error at horizons 1, 5, 10, 25, 50 from held-out states under the real actions (the mean over elites fed
 * back, the gru's memory warmed on the real steps before the start); reward error on ordinary, leg-contact
 * and terminal steps; the outcome head as a crash / at-rest detector (precision, recall, F1 at argmax and at
 * the best threshold, AUROC, expected against actual counts); for an ensemble, the rank correlation of its
 * disagreement with its error; and each policy's return in the model against the real env from the same
 * initial states. The dae: its AUROC separating held-out from --ood transitions; the inverse model: its
 * held-out accuracy. The metric computations are plain functions in src/rl/world-model/diagnostics/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { constants, type EnvId, LunarLander, type LunarLanderOptions, optionsForId } from '../env/index.ts';
import { writeFileAtomic } from '../nn/index.ts';
import {
  chooseRows,
  type DisagreementCalibration,
  defaultWarmSteps,
  disagreementCalibration,
  type EpisodeEnding,
  type EpisodeIndex,
  type EpisodeReturns,
  followRows,
  type HorizonError,
  indexEpisodes,
  modelEpisodeReturns,
  type OneStepErrors,
  type OutcomeMetrics,
  oneStepErrors,
  openLoopErrors,
  outcomeMetrics,
  type PolicyAct,
  predictTransitions,
  type RewardErrors,
  rewardErrors,
  rollOpenLoop,
  STATE_NAMES,
  separationAuroc,
  spearman,
  stateValueStd,
} from '../rl/world-model/diagnostics/index.ts';
import {
  DYNAMICS_KINDS,
  type DynamicsModel,
  type EpisodeTransitions,
  FamiliarityModel,
  type InverseEvaluation,
  InverseModel,
  loadModel,
  MODEL_KINDS,
  type ModelActionSpace,
  type ModelKind,
  OBSERVATION_SIZE,
} from '../rl/world-model/index.ts';
import { Rng } from '../tensor/index.ts';
import { type CommandSpec, parseArgs, UsageError } from './args.ts';
import { makeCollectPolicy, parsePolicySource } from './collect-policy.ts';
import { allTransitions, type LoadedData, loadDataFolders } from './data-folders.ts';
import { EVAL_SEED_BASE } from './evaluate.ts';
import { renderChartSvg } from './plot.ts';
import { readJson, runPaths, writeJson } from './run-folder.ts';

export const REPORT_HORIZONS: readonly number[] = [1, 5, 10, 25, 50];

export const modelReportSpec: CommandSpec = {
  command: 'model-report',
  positionals: '<model run>',
  minPositionals: 1,
  maxPositionals: 1,
  flags: [
    { name: 'data', type: 'string', help: 'held-out data folders, comma-separated (required)' },
    { name: 'ood', type: 'string', help: 'out-of-distribution data folders, for the autoencoder (optional)' },
    {
      name: 'policies',
      type: 'string',
      help: 'policies run in each model, comma-separated: random, heuristic, runs/<run>[@<update>], each with an optional ~<share of random actions>, e.g. heuristic~0.3 (default heuristic,random; the heuristic is always added)',
    },
    {
      name: 'episodes',
      type: 'int',
      min: 1,
      help: 'initial states per policy, real env seeds 1e9 + i (default 100)',
    },
    {
      name: 'max-steps',
      type: 'int',
      min: 1,
      help: 'step limit of an episode, real and imagined (default 1000)',
    },
    {
      name: 'starts',
      type: 'int',
      min: 1,
      help: 'held-out rows the open-loop rollouts start from (default 1000)',
    },
    {
      name: 'seed',
      type: 'int',
      min: 0,
      help: 'seed of the start rows and of the model env draws (default 1)',
    },
    { name: 'out', type: 'string', help: 'output folder (default <model run>/report)' },
  ],
};

export interface ModelReportOptions {
  run: string;
  data: string[];
  ood: string[];
  policies: string[];
  episodes: number;
  maxSteps: number;
  starts: number;
  seed: number;
  out: string;
  horizons?: readonly number[];
  log?: (line: string) => void;
}

function list(value: unknown): string[] {
  return ((value as string | undefined) ?? '').split(',').filter((s) => s.trim() !== '');
}

export function modelReportOptionsFromArgs(argv: readonly string[]): ModelReportOptions {
  const { positionals, flags } = parseArgs(argv, modelReportSpec);
  const run = positionals[0]!;
  const data = list(flags.data);
  if (data.length === 0) {
    throw new UsageError(
      '--data is required: one or more held-out folders made by npm run collect',
      modelReportSpec,
    );
  }
  const policies = list(flags.policies ?? 'heuristic,random');
  for (const p of policies) {
    try {
      parsePolicySource(parseGradedPolicy(p).source);
    } catch (e) {
      throw new UsageError((e as Error).message, modelReportSpec);
    }
  }
  if (!policies.includes('heuristic')) policies.push('heuristic');
  return {
    run,
    data,
    ood: list(flags.ood),
    policies,
    episodes: (flags.episodes as number | undefined) ?? 100,
    maxSteps: (flags['max-steps'] as number | undefined) ?? 1000,
    starts: (flags.starts as number | undefined) ?? 1000,
    seed: (flags.seed as number | undefined) ?? 1,
    out: (flags.out as string | undefined) ?? join(run, 'report'),
  };
}

export interface DynamicsReport {
  kind: ModelKind;
  file: string;
  members: number;
  elites: number[];
  memorySize: number;
  /** Real steps the memory was warmed on before each row or start (0 for a memoryless model). */
  warmSteps: number;
  oneStep: OneStepErrors;
  openLoop: { starts: number; horizons: HorizonError[] };
  reward: RewardErrors;
  outcome: OutcomeMetrics;
  /** Disagreement against error; null with fewer than 2 elites. */
  uncertainty: DisagreementCalibration | null;
  seconds: number;
}

export interface FamiliarityScores {
  rows: number;
  meanScore: number;
  meanRelativeScore: number;
  /** Fraction of rows whose relative score passes 1 (its reference quantile on validation data). */
  aboveReference: number;
}

export interface FamiliarityReport {
  file: string;
  referenceQuantile: number;
  heldOut: FamiliarityScores;
  /** The --ood set: its scores and the AUROC of the score separating it from the held-out rows. */
  ood: (FamiliarityScores & { data: string[]; auroc: number | null }) | null;
}

export interface ReturnSummary {
  meanReturn: number;
  stdReturn: number;
  meanLength: number;
  endings: Record<EpisodeEnding, number>;
}

export interface ModelReturnSummary extends ReturnSummary {
  /** Model mean return minus real mean return. */
  gap: number;
  /** Mean over episodes of |model return - real return| from the same initial state. */
  meanAbsoluteDifference: number;
  /** Spearman's correlation over the initial states of the model and real returns. */
  episodeSpearman: number | null;
  seconds: number;
}

export interface PolicyReport {
  policy: string;
  real: ReturnSummary;
  /** Per dynamics model kind. */
  models: Record<string, ModelReturnSummary>;
}

export interface PolicyEvaluation {
  episodes: number;
  seeds: [number, number];
  maxSteps: number;
  envId: EnvId;
  policies: PolicyReport[];
  /** Per model: Spearman's correlation over the policies of their model and real mean returns. */
  rankCorrelation: Record<string, { policies: number; spearman: number | null }>;
  /** Per model: the heuristic's model mean return minus its real mean return. */
  heuristicGap: Record<string, number>;
}

export interface EpisodePicture {
  folder: string;
  /** The real env seed the episode started from (the first episode of a collecting copy). */
  seed: number;
  episode: number;
  steps: number;
  /** Distance (env units of x, y) between the real and each model's final position. */
  finalDistance: Record<string, number>;
}

export interface ModelReport {
  run: string;
  out: string;
  data: string[];
  rows: number;
  episodes: number;
  envId: EnvId;
  conventions: Record<string, string>;
  warnings: string[];
  dynamics: DynamicsReport[];
  familiarity: FamiliarityReport | null;
  inverse: (InverseEvaluation & { file: string }) | null;
  policyEvaluation: PolicyEvaluation | null;
  episode: EpisodePicture | null;
  plots: string[];
  seconds: number;
}

const CONVENTIONS: Record<string, string> = {
  prediction:
    'every prediction is the mean over the elites (mlp and gru: their one member): mean change, mean contact and outcome probabilities, mean ordinary-step reward',
  oneStep:
    'RMSE of the predicted change in env units; relative = RMSE / std of the real change on the held-out rows',
  openLoop:
    "rolled from held-out rows on the model's own predictions (elite-mean change added; contacts 1 where the mean probability > 0.5) under the real actions, stopped where the real episode's rows end; scalar = mean over dims of RMSE / std of the dimension's held-out values",
  memory:
    "the gru's memory is warmed on up to its config.warmup real steps before each row or start (zeros at an episode start)",
  reward:
    'ordinary: non-terminal steps with unchanged leg contacts; legContact: non-terminal steps where a contact turned on or off; both against the reward head. terminal: the expected reward under the outcome probabilities (p(continue) x reward head + p(crash) x -100 + p(rest) x 100) against the real -100 / +100; error = predicted - real',
  outcome:
    'crash and rest one-vs-rest: argmax = the most likely of the three classes; bestThreshold = the threshold on the class probability with the best F1; expected = sum of predicted probabilities',
  uncertainty:
    "Spearman over held-out rows of the elites' disagreement (std of their mean changes in units of the model's change std, averaged over dims) and the one-step error of the mean prediction (mean over dims of |error| / the model's change std)",
  policies:
    'each policy (greedy for PPO runs, as npm run eval) from the same real initial states (seeds 1e9 + i) in the real env and in each model env (copy i from state i, outcomes and noise sampled, an elite drawn per step, |x| >= 1 a crash, no penalties, truncated at max-steps); the heuristic is always included',
};

/** Runs the whole report and writes it; returns what report.json holds. */
export async function modelReport(options: ModelReportOptions): Promise<ModelReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const began = performance.now();
  const horizons = options.horizons ?? REPORT_HORIZONS;
  const warnings: string[] = [];
  const files = MODEL_KINDS.map((kind) => ({ kind, file: join(options.run, `${kind}.safetensors`) })).filter(
    (f) => existsSync(f.file),
  );
  if (files.length === 0) {
    throw new Error(
      `model-report: ${options.run} holds no model (expected one of ${MODEL_KINDS.map((k) => `${k}.safetensors`).join(', ')})`,
    );
  }
  warnings.push(...overlapWarnings(options.run, options.data));
  const data = loadDataFolders(options.data);
  const t = allTransitions(data);
  if (t.count === 0) throw new Error(`model-report: ${options.data.join(', ')} hold no transitions`);
  const index = indexEpisodes(t);
  const meta = data.folders[0]!.meta;
  log(
    `model-report: ${files.map((f) => f.kind).join(', ')} of ${options.run} on ${t.count} held-out transitions ` +
      `(${index.firstRows.length} episodes) from ${options.data.join(', ')}`,
  );
  mkdirSync(options.out, { recursive: true });

  const dynamics: { kind: ModelKind; file: string; model: DynamicsModel }[] = [];
  let familiarity: FamiliarityReport | null = null;
  let inverse: ModelReport['inverse'] = null;
  for (const { kind, file } of files) {
    const model = loadModel(file);
    checkActionSpace(file, model.actionSpace, data.actionSpace);
    if ((DYNAMICS_KINDS as readonly string[]).includes(kind)) {
      dynamics.push({ kind, file, model: model as DynamicsModel });
    } else if (model instanceof FamiliarityModel) {
      familiarity = familiarityReport(model, file, t, options.ood, data.actionSpace);
      log(
        `dae: held-out mean relative score ${familiarity.heldOut.meanRelativeScore.toFixed(3)}` +
          (familiarity.ood ? `, AUROC against ${options.ood.join(',')} ${fmt(familiarity.ood.auroc)}` : ''),
      );
    } else if (model instanceof InverseModel) {
      inverse = { file, ...model.evaluate(t) };
      log(`inverse: held-out accuracy ${fmt(inverse.accuracy)}`);
    }
  }

  const valueStd = stateValueStd(t);
  const starts = chooseRows(t.count, options.starts, options.seed);
  const maxHorizon = Math.max(...horizons);
  const dynamicsReports: DynamicsReport[] = dynamics.map(({ kind, file, model }) => {
    const began = performance.now();
    const warmSteps = defaultWarmSteps(model);
    const pred = predictTransitions(model, t, index, { warmSteps });
    const rollout = rollOpenLoop(model, t, index, starts, maxHorizon, { warmSteps });
    const report: DynamicsReport = {
      kind,
      file,
      members: model.members,
      elites: [...model.elites],
      memorySize: model.memorySize,
      warmSteps,
      oneStep: oneStepErrors(t, pred),
      openLoop: { starts: starts.length, horizons: openLoopErrors(rollout, t, horizons, valueStd) },
      reward: rewardErrors(t, pred),
      outcome: outcomeMetrics(t, pred),
      uncertainty:
        model.elites.length >= 2 ? disagreementCalibration(t, pred, model.scalers.delta.std) : null,
      seconds: (performance.now() - began) / 1000,
    };
    const last = report.openLoop.horizons[report.openLoop.horizons.length - 1]!;
    log(
      `${kind}: one-step relative RMSE ${report.oneStep.relative.map((v) => fmt(v, 2)).join(' ')}; ` +
        `open-loop scalar at ${last.horizon} steps ${fmt(last.scalar)} (${last.trajectories} trajectories)`,
    );
    return report;
  });

  let policyEvaluation: PolicyEvaluation | null = null;
  if (dynamics.length > 0) {
    policyEvaluation = evaluatePolicies(dynamics, meta.envId, meta.envOptions, options, log);
  }

  const picture = dynamics.length > 0 ? episodePicture(data, t, index, dynamics) : null;
  if (!picture && dynamics.length > 0) {
    warnings.push(
      'no held-out episode could be matched to its seed (the first episode of a collecting copy), so episode.svg is not drawn',
    );
  }

  const plots: string[] = [];
  const writeSvg = async (name: string, spec: TopLevelSpec) => {
    writeFileAtomic(join(options.out, name), await renderChartSvg(spec));
    plots.push(name);
  };
  if (dynamicsReports.length > 0) {
    await writeSvg('one-step.svg', oneStepSpec(dynamicsReports));
    await writeSvg('open-loop.svg', openLoopSpec(dynamicsReports));
  }
  if (policyEvaluation) await writeSvg('policies.svg', policiesSpec(policyEvaluation));
  if (picture) await writeSvg('episode.svg', picture.spec);

  const report: ModelReport = {
    run: options.run,
    out: options.out,
    data: options.data,
    rows: t.count,
    episodes: index.firstRows.length,
    envId: meta.envId,
    conventions: CONVENTIONS,
    warnings,
    dynamics: dynamicsReports,
    familiarity,
    inverse,
    policyEvaluation,
    episode: picture?.info ?? null,
    plots,
    seconds: (performance.now() - began) / 1000,
  };
  writeJson(join(options.out, 'report.json'), report);
  writeFileAtomic(join(options.out, 'report.md'), reportMarkdown(report));
  for (const w of warnings) log(`warning: ${w}`);
  log(`model-report: report.json, report.md and ${plots.length} plots -> ${options.out}`);
  return report;
}

function checkActionSpace(file: string, model: ModelActionSpace, data: ModelActionSpace): void {
  if (JSON.stringify(model) !== JSON.stringify(data)) {
    throw new Error(
      `model-report: ${file} models actions ${JSON.stringify(model)} but the data holds ${JSON.stringify(data)}`,
    );
  }
}

/** A warning for every --data folder the run was fitted on: those rows are not held out. */
function overlapWarnings(run: string, data: readonly string[]): string[] {
  const config = runPaths(run).config;
  if (!existsSync(config)) return [];
  const trainedOn = readJson<{ data?: string[] }>(config, `model-report: ${run}`).data ?? [];
  const fitted = new Set(trainedOn.map((d) => resolve(d)));
  return data
    .filter((d) => fitted.has(resolve(d)))
    .map((d) => `${d} is among the data ${run} was fitted on (config.json): its rows are not held out`);
}

function familiarityScores(
  model: FamiliarityModel,
  t: EpisodeTransitions,
): { scores: Float32Array; summary: FamiliarityScores } {
  const scores = model.score(t.observations, t.actions, t.count);
  const reference = model.quantile(model.config.referenceQuantile);
  let total = 0;
  let above = 0;
  for (let r = 0; r < t.count; r++) {
    total += scores[r]!;
    if (scores[r]! > reference) above++;
  }
  const meanScore = total / t.count;
  return {
    scores,
    summary: {
      rows: t.count,
      meanScore,
      meanRelativeScore: meanScore / reference,
      aboveReference: above / t.count,
    },
  };
}

function familiarityReport(
  model: FamiliarityModel,
  file: string,
  t: EpisodeTransitions,
  ood: readonly string[],
  space: ModelActionSpace,
): FamiliarityReport {
  const heldOut = familiarityScores(model, t);
  let oodReport: FamiliarityReport['ood'] = null;
  if (ood.length > 0) {
    const oodData = loadDataFolders(ood);
    checkActionSpace(ood.join(','), oodData.actionSpace, space);
    const other = familiarityScores(model, allTransitions(oodData));
    oodReport = { data: [...ood], ...other.summary, auroc: separationAuroc(heldOut.scores, other.scores) };
  }
  return {
    file,
    referenceQuantile: model.config.referenceQuantile,
    heldOut: heldOut.summary,
    ood: oodReport,
  };
}

/** The real env's initial observations and each episode of `act` from seeds `seeds`. */
function realEpisodes(
  envId: EnvId,
  envOptions: LunarLanderOptions,
  seeds: readonly number[],
  act: PolicyAct,
): { initial: Float32Array; episodes: EpisodeReturns } {
  const O = OBSERVATION_SIZE;
  const n = seeds.length;
  const envs = seeds.map(() => new LunarLander(optionsForId(envId, envOptions)));
  const continuous = envs[0]!.continuous;
  const actSize = continuous ? 2 : 1;
  const observations = new Float32Array(n * O);
  envs.forEach((env, i) => {
    env.reset({ seed: seeds[i]! });
    env.writeObservation(observations, i * O);
  });
  const initial = observations.slice();
  const returns = new Float64Array(n);
  const lengths = new Int32Array(n);
  const endings = new Array<EpisodeEnding>(n).fill('truncated');
  const batch = new Float32Array(n * O);
  const actions = new Float32Array(n * actSize);
  let active = envs.map((_, i) => i);
  while (active.length > 0) {
    active.forEach((i, row) => {
      batch.set(observations.subarray(i * O, (i + 1) * O), row * O);
    });
    act(batch.subarray(0, active.length * O), actions.subarray(0, active.length * actSize));
    const still: number[] = [];
    active.forEach((i, row) => {
      const env = envs[i]!;
      const reward = continuous
        ? env.stepInPlace(0, actions[row * 2]!, actions[row * 2 + 1]!)
        : env.stepInPlace(actions[row]!, 0, 0);
      returns[i]! += reward;
      lengths[i]!++;
      env.writeObservation(observations, i * O);
      if (env.terminated) endings[i] = reward < 0 ? 'crash' : 'rest';
      else if (!env.truncated) still.push(i);
    });
    active = still;
  }
  return { initial, episodes: { returns, lengths, endings } };
}

function summarizeReturns(e: EpisodeReturns): ReturnSummary {
  const n = e.returns.length;
  const mean = e.returns.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(e.returns.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  const endings: Record<EpisodeEnding, number> = { crash: 0, rest: 0, truncated: 0 };
  for (const ending of e.endings) endings[ending]++;
  return { meanReturn: mean, stdReturn: std, meanLength: e.lengths.reduce((a, b) => a + b, 0) / n, endings };
}

/**
 * A policy spec with an optional share of random actions: `heuristic~0.3` is the heuristic with 30% of its
 * actions replaced by uniformly random ones (graded policies between random and heuristic).
 */
function parseGradedPolicy(spec: string): { source: string; randomFraction: number } {
  const tilde = spec.lastIndexOf('~');
  if (tilde < 0) return { source: spec, randomFraction: 0 };
  const randomFraction = Number(spec.slice(tilde + 1));
  if (!(randomFraction >= 0 && randomFraction <= 1)) {
    throw new Error(`policy '${spec}': the share of random actions after '~' must be in [0, 1]`);
  }
  return { source: spec.slice(0, tilde), randomFraction };
}

/** A policy as an act function; PPO runs act greedily, random draws from a generator seeded with `seed`. */
function policyAct(spec: string, envId: EnvId, envOptions: LunarLanderOptions, seed: number): PolicyAct {
  const probe = new LunarLander(optionsForId(envId, envOptions));
  const rng = new Rng(seed);
  const { source, randomFraction } = parseGradedPolicy(spec);
  return makeCollectPolicy(parsePolicySource(source), {
    envId,
    actionSpace: probe.actionSpace,
    observationSize: OBSERVATION_SIZE,
    temperature: 0,
    randomFraction,
    policyRng: rng.fork(),
    exploreRng: rng.fork(),
  }).act;
}

function evaluatePolicies(
  dynamics: readonly { kind: ModelKind; model: DynamicsModel }[],
  envId: EnvId,
  metaOptions: LunarLanderOptions,
  options: ModelReportOptions,
  log: (line: string) => void,
): PolicyEvaluation {
  const envOptions: LunarLanderOptions = { ...metaOptions, maxEpisodeSteps: options.maxSteps };
  const seeds = Array.from({ length: options.episodes }, (_, i) => EVAL_SEED_BASE + i);
  const policies: PolicyReport[] = [];
  for (const spec of options.policies) {
    const real = realEpisodes(envId, envOptions, seeds, policyAct(spec, envId, envOptions, options.seed));
    const realSummary = summarizeReturns(real.episodes);
    const models: Record<string, ModelReturnSummary> = {};
    for (const { kind, model } of dynamics) {
      const began = performance.now();
      const imagined = modelEpisodeReturns(
        model,
        real.initial,
        policyAct(spec, envId, envOptions, options.seed),
        {
          maxSteps: options.maxSteps,
          seed: options.seed,
        },
      );
      const summary = summarizeReturns(imagined);
      let absolute = 0;
      for (let i = 0; i < seeds.length; i++) {
        absolute += Math.abs(imagined.returns[i]! - real.episodes.returns[i]!);
      }
      models[kind] = {
        ...summary,
        gap: summary.meanReturn - realSummary.meanReturn,
        meanAbsoluteDifference: absolute / seeds.length,
        episodeSpearman: spearman(imagined.returns, real.episodes.returns),
        seconds: (performance.now() - began) / 1000,
      };
    }
    policies.push({ policy: spec, real: realSummary, models });
    log(
      `policy ${spec}: real mean return ${realSummary.meanReturn.toFixed(1)}; ` +
        Object.entries(models)
          .map(([k, m]) => `${k} ${m.meanReturn.toFixed(1)}`)
          .join(', '),
    );
  }
  const rankCorrelation: PolicyEvaluation['rankCorrelation'] = {};
  const heuristicGap: Record<string, number> = {};
  for (const { kind } of dynamics) {
    rankCorrelation[kind] = {
      policies: policies.length,
      spearman: spearman(
        policies.map((p) => p.models[kind]!.meanReturn),
        policies.map((p) => p.real.meanReturn),
      ),
    };
    const heuristic = policies.find((p) => p.policy === 'heuristic');
    if (heuristic) heuristicGap[kind] = heuristic.models[kind]!.gap;
  }
  return {
    episodes: seeds.length,
    seeds: [seeds[0]!, seeds[seeds.length - 1]!],
    maxSteps: options.maxSteps,
    envId,
    policies,
    rankCorrelation,
    heuristicGap,
  };
}

/** World metres of an observation's x and y (lunar-lander.ts's observation, inverted). */
function worldPoint(x: number, y: number, helipadY: number): { x: number; y: number } {
  const { W, H, LEG_DOWN, SCALE } = constants;
  return { x: x * (W / 2) + W / 2, y: y * (H / 2) + helipadY + LEG_DOWN / SCALE };
}

/**
 * A held-out episode whose terrain can be rebuilt: the first episode of a collecting copy starts from seed
 * envSeeds[0] + i, so a reset with that seed gives its initial observation (and terrain) exactly.
 */
function findSeededEpisode(
  data: LoadedData,
  t: EpisodeTransitions,
  index: EpisodeIndex,
): { folder: string; seed: number; row: number; env: LunarLander } | null {
  const firstRows = new Map<string, number>();
  for (let r = 0; r < t.count; r++) {
    if (t.steps[r] === 0 && index.next[r]! >= 0) {
      firstRows.set(
        Array.from(t.observations.subarray(r * OBSERVATION_SIZE, (r + 1) * OBSERVATION_SIZE)).join(),
        r,
      );
    }
  }
  for (const f of data.folders) {
    const [from, to] = f.meta.seeds.envSeeds;
    for (let seed = from; seed <= to; seed++) {
      const env = new LunarLander(f.meta.envOptions);
      const row = firstRows.get(Array.from(env.reset({ seed }).observation).join());
      if (row !== undefined) return { folder: f.dir, seed, row, env };
    }
  }
  return null;
}

function episodePicture(
  data: LoadedData,
  t: EpisodeTransitions,
  index: EpisodeIndex,
  dynamics: readonly { kind: ModelKind; model: DynamicsModel }[],
): { info: EpisodePicture; spec: TopLevelSpec } | null {
  const found = findSeededEpisode(data, t, index);
  if (!found) return null;
  const O = OBSERVATION_SIZE;
  const terrain = found.env.terrainProfile;
  const padY = terrain.helipadY;
  const rows = followRows(index, found.row, Number.MAX_SAFE_INTEGER);
  const points: { path: string; step: number; x: number; y: number }[] = [];
  const realXY: number[] = [];
  rows.forEach((r, s) => {
    realXY.push(t.observations[r * O]!, t.observations[r * O + 1]!);
    if (s === rows.length - 1) realXY.push(t.nextObservations[r * O]!, t.nextObservations[r * O + 1]!);
  });
  for (let s = 0; s < realXY.length / 2; s++) {
    points.push({ path: 'real', step: s, ...worldPoint(realXY[2 * s]!, realXY[2 * s + 1]!, padY) });
  }
  const finalDistance: Record<string, number> = {};
  for (const { kind, model } of dynamics) {
    const rollout = rollOpenLoop(model, t, index, [found.row], rows.length);
    points.push({ path: kind, step: 0, ...worldPoint(realXY[0]!, realXY[1]!, padY) });
    for (let s = 0; s < rollout.lengths[0]!; s++) {
      const x = rollout.predicted[s * O]!;
      const y = rollout.predicted[s * O + 1]!;
      points.push({ path: kind, step: s + 1, ...worldPoint(x, y, padY) });
      if (s === rollout.lengths[0]! - 1) {
        finalDistance[kind] = Math.hypot(x - realXY[realXY.length - 2]!, y - realXY[realXY.length - 1]!);
      }
    }
  }
  const ground = Array.from(terrain.chunkX, (x, i) => ({ x, y: terrain.smoothY[i]! }));
  const { W, H } = constants;
  const x = { field: 'x', type: 'quantitative' as const, title: 'x (m)', scale: { domain: [0, W] } };
  const y = { field: 'y', type: 'quantitative' as const, title: 'y (m)', scale: { domain: [0, H] } };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Held-out episode (${found.folder}, seed ${found.seed}, ${rows.length} steps): real path and open-loop paths under the real actions`,
    width: 600,
    height: 400,
    layer: [
      { data: { values: ground }, mark: { type: 'area', color: '#444', opacity: 0.85 }, encoding: { x, y } },
      {
        data: { values: [{ x: terrain.helipadX1, x2: terrain.helipadX2, y: padY }] },
        mark: { type: 'rule', color: 'gold', strokeWidth: 3 },
        encoding: { x, x2: { field: 'x2' }, y },
      },
      {
        data: { values: points },
        mark: { type: 'line', clip: true, strokeWidth: 2 },
        encoding: {
          x,
          y,
          color: {
            field: 'path',
            type: 'nominal',
            title: 'path',
            scale: { domain: ['real', ...dynamics.map((d) => d.kind)] },
          },
          order: { field: 'step' },
        },
      },
    ],
  } as TopLevelSpec;
  const episode = t.episodes[found.row]!;
  return {
    info: { folder: found.folder, seed: found.seed, episode, steps: rows.length, finalDistance },
    spec,
  };
}

function oneStepSpec(reports: readonly DynamicsReport[]): TopLevelSpec {
  const values = reports.flatMap((r) =>
    STATE_NAMES.map((dimension, d) => ({ model: r.kind, dimension, relative: r.oneStep.relative[d] })),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'One-step error on held-out data: RMSE / std of the real change',
    width: 480,
    height: 280,
    data: { values },
    mark: 'bar',
    encoding: {
      x: { field: 'dimension', type: 'nominal', sort: [...STATE_NAMES], title: null },
      xOffset: { field: 'model', type: 'nominal' },
      y: { field: 'relative', type: 'quantitative', title: 'relative RMSE' },
      color: { field: 'model', type: 'nominal' },
    },
  } as TopLevelSpec;
}

function openLoopSpec(reports: readonly DynamicsReport[]): TopLevelSpec {
  const values = reports.flatMap((r) =>
    r.openLoop.horizons
      .filter((h) => h.scalar !== null)
      .map((h) => ({ model: r.kind, horizon: h.horizon, error: h.scalar, trajectories: h.trajectories })),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Open-loop error under the real actions (mean over dims of RMSE / std of values)',
    width: 480,
    height: 280,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'horizon', type: 'quantitative', title: 'steps' },
      y: { field: 'error', type: 'quantitative', title: 'scaled RMSE' },
      color: { field: 'model', type: 'nominal' },
      tooltip: [{ field: 'trajectories' }],
    },
  } as TopLevelSpec;
}

function policiesSpec(p: PolicyEvaluation): TopLevelSpec {
  const values = p.policies.flatMap((policy) =>
    Object.entries(policy.models).map(([model, m]) => ({
      model,
      policy: policy.policy,
      real: policy.real.meanReturn,
      imagined: m.meanReturn,
    })),
  );
  const all = values.flatMap((v) => [v.real, v.imagined]);
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const x = { field: 'real', type: 'quantitative', title: 'real mean return' } as const;
  const y = { field: 'imagined', type: 'quantitative', title: 'model mean return' } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Policies in each model against the real env (${p.episodes} initial states)`,
    width: 420,
    height: 420,
    layer: [
      {
        data: {
          values: [
            { real: lo, imagined: lo },
            { real: hi, imagined: hi },
          ],
        },
        mark: { type: 'line', color: 'gray', strokeDash: [4, 4] },
        encoding: { x, y },
      },
      {
        data: { values },
        mark: { type: 'point', filled: true, size: 80 },
        encoding: {
          x,
          y,
          color: { field: 'model', type: 'nominal' },
          shape: { field: 'policy', type: 'nominal' },
        },
      },
    ],
  } as TopLevelSpec;
}

function fmt(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  return v.toFixed(digits);
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

export function reportMarkdown(r: ModelReport): string {
  const out: string[] = [
    `# Model report: ${r.run}`,
    '',
    `Held-out data: ${r.data.join(', ')} (${r.rows} transitions, ${r.episodes} episodes, ${r.envId}).`,
    '',
  ];
  for (const w of r.warnings) out.push(`> Warning: ${w}`, '');
  if (r.dynamics.length > 0) {
    out.push('## One-step error', '', 'RMSE in env units (relative: / std of the real change).', '');
    out.push(
      table(
        ['model', ...STATE_NAMES, 'contacts right (L, R, both)'],
        r.dynamics.map((d) => [
          d.kind,
          ...STATE_NAMES.map((_, j) => `${fmt(d.oneStep.rmse[j], 4)} (${fmt(d.oneStep.relative[j], 2)})`),
          `${d.oneStep.contactAccuracy.map((v) => fmt(v)).join(', ')}, ${fmt(d.oneStep.contactAccuracyBoth)}`,
        ]),
      ),
      '',
    );
    out.push(
      '## Open-loop error',
      '',
      `From ${r.dynamics[0]!.openLoop.starts} held-out rows under the real actions, elite-mean predictions fed back. ` +
        'Scalar: mean over dims of RMSE / std of the values; n: trajectories that lasted that long.',
      '',
    );
    out.push(
      table(
        ['model', 'horizon', 'n', 'scalar', ...STATE_NAMES],
        r.dynamics.flatMap((d) =>
          d.openLoop.horizons.map((h) => [
            d.kind,
            String(h.horizon),
            String(h.trajectories),
            fmt(h.scalar),
            ...h.rmse.map((v) => fmt(v, 4)),
          ]),
        ),
      ),
      '',
    );
    out.push('## Reward error', '', 'Predicted - real: rows, bias, RMSE.', '');
    out.push(
      table(
        ['model', 'ordinary', 'leg contact', 'terminal (expected)'],
        r.dynamics.map((d) => [
          d.kind,
          ...[d.reward.ordinary, d.reward.legContact, d.reward.terminal].map(
            (e) => `${e.rows}: ${fmt(e.bias, 2)}, ${fmt(e.rmse, 2)}`,
          ),
        ]),
      ),
      '',
    );
    out.push(
      '## Outcomes',
      '',
      'Precision / recall / F1 at argmax and at the best threshold; expected vs actual count.',
      '',
    );
    out.push(
      table(
        ['model', 'class', 'actual', 'expected', 'argmax P/R/F1', 'best threshold', 'best P/R/F1', 'AUROC'],
        r.dynamics.flatMap((d) =>
          (['crash', 'rest'] as const).map((c) => {
            const m = d.outcome[c];
            const b = m.bestThreshold;
            return [
              d.kind,
              c,
              String(m.actual),
              fmt(m.expected, 1),
              `${fmt(m.argmax.precision, 2)} / ${fmt(m.argmax.recall, 2)} / ${fmt(m.argmax.f1, 2)}`,
              fmt(b?.threshold),
              b ? `${fmt(b.precision, 2)} / ${fmt(b.recall, 2)} / ${fmt(b.f1, 2)}` : '-',
              fmt(m.auroc),
            ];
          }),
        ),
      ),
      '',
    );
    const calibrated = r.dynamics.filter((d) => d.uncertainty);
    if (calibrated.length > 0) {
      out.push('## Disagreement against error', '');
      out.push(
        table(
          ['model', 'rows', 'Spearman', 'mean disagreement', 'mean error'],
          calibrated.map((d) => [
            d.kind,
            String(d.uncertainty!.rows),
            fmt(d.uncertainty!.spearman),
            fmt(d.uncertainty!.meanDisagreement),
            fmt(d.uncertainty!.meanError),
          ]),
        ),
        '',
      );
    }
  }
  if (r.familiarity) {
    const f = r.familiarity;
    out.push('## Autoencoder (dae)', '');
    out.push(
      `Held-out: mean relative score ${fmt(f.heldOut.meanRelativeScore)}, ${fmt(100 * f.heldOut.aboveReference, 1)}% above the p${Math.round(100 * f.referenceQuantile)} reference.`,
    );
    out.push(
      f.ood
        ? `OOD ${f.ood.data.join(', ')} (${f.ood.rows} rows): mean relative score ${fmt(f.ood.meanRelativeScore)}, ${fmt(100 * f.ood.aboveReference, 1)}% above; AUROC held-out vs OOD ${fmt(f.ood.auroc)}.`
        : 'No --ood set given: no AUROC.',
      '',
    );
  }
  if (r.inverse) {
    out.push(
      '## Inverse model',
      '',
      r.inverse.accuracy !== null
        ? `Held-out accuracy ${fmt(r.inverse.accuracy)} (cross-entropy ${fmt(r.inverse.crossEntropy)}) on ${r.inverse.rows} rows.`
        : `Held-out action MSE ${fmt(r.inverse.actionMse)} on ${r.inverse.rows} rows.`,
      '',
    );
  }
  const p = r.policyEvaluation;
  if (p) {
    const kinds = Object.keys(p.rankCorrelation);
    out.push(
      '## Policies in the models',
      '',
      `${p.episodes} initial states (real seeds ${p.seeds[0]}..${p.seeds[1]}), at most ${p.maxSteps} steps. Mean return (model: mean |model - real| per state).`,
      '',
    );
    out.push(
      table(
        ['policy', 'real', ...kinds],
        p.policies.map((policy) => [
          policy.policy,
          fmt(policy.real.meanReturn, 1),
          ...kinds.map((k) => {
            const m = policy.models[k]!;
            return `${fmt(m.meanReturn, 1)} (${fmt(m.meanAbsoluteDifference, 1)})`;
          }),
        ]),
      ),
      '',
    );
    out.push(
      table(
        ['model', 'Spearman over policies', 'heuristic gap (model - real)'],
        kinds.map((k) => [
          k,
          `${fmt(p.rankCorrelation[k]!.spearman, 2)} (${p.rankCorrelation[k]!.policies} policies)`,
          fmt(p.heuristicGap[k], 1),
        ]),
      ),
      '',
    );
  }
  if (r.episode) {
    out.push(
      '## A held-out episode',
      '',
      `${r.episode.folder}, seed ${r.episode.seed}, ${r.episode.steps} steps; final distance (obs units): ` +
        Object.entries(r.episode.finalDistance)
          .map(([k, v]) => `${k} ${fmt(v)}`)
          .join(', '),
      '',
      '![episode](episode.svg)',
      '',
    );
  }
  if (r.plots.length > 0) {
    out.push('## Plots', '', ...r.plots.filter((f) => f !== 'episode.svg').map((f) => `![${f}](${f})`), '');
  }
  out.push('## Conventions', '', ...Object.entries(r.conventions).map(([k, v]) => `- ${k}: ${v}`), '');
  return `${out.join('\n')}\n`;
}

/** `npm run model-report -- ...` */
export async function modelReportFromArgs(argv: readonly string[]): Promise<ModelReport> {
  return modelReport(modelReportOptionsFromArgs(argv));
}
