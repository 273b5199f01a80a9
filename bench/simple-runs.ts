// Shared by `bench simple`, `bench simple-ablations` and `bench cem`: a row is one training run (`npm run
// train -- simple`, `-- ppo` or `-- pets`) in its own run folder; a finished row's summary is kept in bench/results/<suite>/<row>.json
// and skipped when the bench runs again, a started one resumes from its last checkpoint, and `jobs` rows run
// side by side (one per core).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, readMetrics, runPaths } from '../src/cli/run-folder.ts';
import { trainOptionsFromArgs } from '../src/cli/train.ts';
import { trainPetsOptionsFromArgs } from '../src/cli/train-pets.ts';
import { readSimpleRunConfig, trainSimpleOptionsFromArgs } from '../src/cli/train-simple.ts';
import { writeFileAtomic } from '../src/nn/index.ts';
import { defaultPetsConfig } from '../src/rl/pets-config.ts';
import { defaultPpoConfig } from '../src/rl/ppo-config.ts';
import { defaultSimpleConfig } from '../src/rl/simple-config.ts';
import { resultsDir } from './report.ts';

const DEFAULTS = { simple: defaultSimpleConfig, pets: defaultPetsConfig, ppo: defaultPpoConfig };

export interface RowPlan {
  /** Unique within the suite: the result file's and run folder's name. */
  name: string;
  algorithm: 'simple' | 'ppo' | 'pets';
  envId: string;
  seed: number;
  /** Real steps of the run. */
  steps: number;
  /** Further `train` flags of a fresh run (--set ..., --model ...). */
  flags: string[];
  /** What the row adds or changes, for the table. */
  label: string;
  /** Iterations (updates) between evaluations; 1 when absent. */
  evalEvery?: number;
}

/** One evaluation of a run: 100 greedy episodes on the real env after `steps` real steps. */
export interface EvalPoint {
  steps: number;
  meanReturn: number;
}

export interface RowResult extends RowPlan {
  dir: string;
  evals: EvalPoint[];
  /** Eval mean at the last evaluation at or before each checkpoint of real steps (null: none yet). */
  evalAt: Record<string, number | null>;
  /** Real steps at the first eval mean >= 200; null if never. */
  firstSolvedSteps: number | null;
  /** After the first solve, the lowest eval mean of the rest of the run (the worst drop); null if never solved. */
  lowestAfterSolved: number | null;
  finalEvalMean: number;
  /** Imagined steps in all (simple runs). */
  imaginedSteps: number | null;
  /** Seconds: all, and without the evaluations; per 100k real steps without them. */
  totalSeconds: number;
  trainSeconds: number;
  trainSecondsPer100k: number;
}

export const CHECKPOINTS = [50_000, 100_000, 200_000];

interface MetricsLine {
  steps?: number;
  realSteps?: number;
  imaginedSteps?: number;
  evalMeanReturn?: number;
  evalSeconds?: number;
  wallSeconds: number;
}

/** Reads a finished run's metrics into the row's summary. */
export function summariseRow(plan: RowPlan, dir: string): RowResult {
  const lines = readMetrics<MetricsLine>(dir);
  const steps = (l: MetricsLine) => l.realSteps ?? l.steps ?? 0;
  const evals = lines
    .filter((l) => typeof l.evalMeanReturn === 'number')
    .map((l) => ({ steps: steps(l), meanReturn: l.evalMeanReturn! }));
  const evalAt: Record<string, number | null> = {};
  for (const c of CHECKPOINTS) {
    if (c > plan.steps) continue;
    const before = evals.filter((e) => e.steps <= c);
    evalAt[String(c)] = before.at(-1)?.meanReturn ?? null;
  }
  const solvedAt = evals.findIndex((e) => e.meanReturn >= 200);
  const last = lines.at(-1);
  if (!last) throw new Error(`bench: ${dir} has no metrics`);
  const evalSeconds = lines.reduce((s, l) => s + (l.evalSeconds ?? 0), 0);
  const trainSeconds = last.wallSeconds - evalSeconds;
  return {
    ...plan,
    dir,
    evals,
    evalAt,
    firstSolvedSteps: solvedAt >= 0 ? evals[solvedAt]!.steps : null,
    lowestAfterSolved: solvedAt >= 0 ? Math.min(...evals.slice(solvedAt).map((e) => e.meanReturn)) : null,
    finalEvalMean: evals.at(-1)?.meanReturn ?? Number.NaN,
    imaginedSteps: last.imaginedSteps ?? null,
    totalSeconds: last.wallSeconds,
    trainSeconds,
    trainSecondsPer100k: (trainSeconds / Math.max(1, steps(last))) * 100_000,
  };
}

function resultFile(suite: string, name: string): string {
  return join(resultsDir, suite, `${name}.json`);
}

/** The kept result of a finished row, or null. */
export function keptResult(suite: string, name: string): RowResult | null {
  const file = resultFile(suite, name);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as RowResult) : null;
}

/** The flags of a fresh run of the row (resume adds nothing: config.json decides). */
function freshFlags(plan: RowPlan, dir: string): string[] {
  return [
    '--env',
    plan.envId,
    '--seed',
    String(plan.seed),
    '--steps',
    String(plan.steps),
    '--out',
    dir,
    '--eval-every',
    String(plan.evalEvery ?? 1),
    ...plan.flags,
  ];
}

/** A model-based run's settings of step 5's trials, which mean nothing when `trialEpisodes` is 0. */
const TRIAL_SETTINGS = ['trialFromReturn', 'trialMargin', 'trialKeepFrom', 'trialGuardFrom'];

/** A value as config.json stores it (infinite numbers as strings, as train-simple writes them). */
function asConfigJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
}

/** The algorithm's config a fresh run of the row would get today, as config.json holds it. */
function configToday(plan: RowPlan, dir: string): unknown {
  const args = freshFlags(plan, dir);
  const config =
    plan.algorithm === 'simple'
      ? trainSimpleOptionsFromArgs(args).config
      : plan.algorithm === 'pets'
        ? trainPetsOptionsFromArgs(args).config
        : trainOptionsFromArgs(args).config;
  return JSON.parse(asConfigJson(config));
}

/** The config a resume of the run in `dir` would go on with: a model-based run's as `readSimpleRunConfig` reads it back. */
function configKept(plan: RowPlan, dir: string, what: string): Record<string, unknown> {
  const kept =
    plan.algorithm === 'simple'
      ? readSimpleRunConfig(dir, what)
      : readJson<unknown>(runPaths(dir).config, what);
  return JSON.parse(asConfigJson(kept)) as Record<string, unknown>;
}

/**
 * Throws unless a kept row (or a started run folder) was made with the config a fresh run would get today:
 * a changed default must not pass old rows off as new ones.
 */
export function checkSameConfig(plan: RowPlan, dir: string, what: string): void {
  if (!existsSync(runPaths(dir).config)) return;
  const kept = configKept(plan, dir, what);
  const today = configToday(plan, dir) as Record<string, unknown>;
  const part = plan.algorithm;
  const a = (kept[part] ?? {}) as Record<string, unknown>;
  const b = (today[part] ?? {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  // A field added since the run was made reads back as its default on resume, so at its default it matches
  // (a model-based run's are filled in already, as a resume reads them).
  const defaults = DEFAULTS[part] as Record<string, unknown>;
  // With trials off on both sides, their settings take no part in the run.
  const untried = part === 'simple' && a.trialEpisodes === 0 && b.trialEpisodes === 0;
  const differ = keys.filter(
    (k) =>
      !(untried && TRIAL_SETTINGS.includes(k)) &&
      asConfigJson(k in a ? a[k] : defaults[k]) !== asConfigJson(b[k]),
  );
  if (differ.length > 0) {
    throw new Error(
      `bench: ${what} ${plan.name} (${dir}) was made with another config: ${differ
        .map((k) => `${k} ${JSON.stringify(a[k])} (today ${JSON.stringify(b[k])})`)
        .join(', ')}; move its result and run folder away to run it again`,
    );
  }
}

function runRow(plan: RowPlan, dir: string): Promise<void> {
  const argv = ['--import', 'tsx', 'src/cli/main.ts', 'train', plan.algorithm];
  if (existsSync(runPaths(dir).config)) {
    checkSameConfig(plan, dir, 'the started run of');
    argv.push('--resume', dir);
  } else argv.push(...freshFlags(plan, dir));
  argv.push('--quiet');
  console.log(`> ${argv.slice(2).join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${dir}: exit code ${code}`))));
  });
}

/**
 * Runs every row not yet kept, `jobs` at a time, keeping each finished row's result as it lands; returns
 * every row's result (kept or new) in plan order.
 */
export async function runRows(
  suite: string,
  plans: RowPlan[],
  runsRoot: string,
  jobs: number,
): Promise<RowResult[]> {
  keptResults(suite, plans);
  const queue = plans.filter((p) => !keptResult(suite, p.name));
  const failures: string[] = [];
  async function worker(): Promise<void> {
    for (let plan = queue.shift(); plan; plan = queue.shift()) {
      const dir = join(runsRoot, plan.name);
      try {
        await runRow(plan, dir);
        const result = summariseRow(plan, dir);
        writeFileAtomic(resultFile(suite, plan.name), `${JSON.stringify(result, null, 2)}\n`);
        console.log(
          `${plan.name}: eval ${CHECKPOINTS.map((c) => result.evalAt[String(c)]?.toFixed(0) ?? '-').join(' / ')}, ` +
            `first 200 at ${result.firstSolvedSteps ?? 'never'}, ${(result.trainSecondsPer100k / 60).toFixed(1)} min per 100k`,
        );
      } catch (error) {
        failures.push(`${plan.name}: ${(error as Error).message}`);
      }
    }
  }
  await Promise.all(Array.from({ length: jobs }, worker));
  if (failures.length > 0) console.error(`failed rows:\n${failures.join('\n')}`);
  return keptResults(suite, plans);
}

/** The kept results of those rows that have one, in plan order, each checked against today's config. */
export function keptResults(suite: string, plans: RowPlan[]): RowResult[] {
  return plans.flatMap((plan) => {
    const kept = keptResult(suite, plan.name);
    if (!kept) return [];
    checkSameConfig(plan, kept.dir, 'the kept row');
    return [kept];
  });
}

export function formatReturn(value: number | null | undefined): string {
  return value === null || value === undefined || Number.isNaN(value) ? '-' : value.toFixed(0);
}
