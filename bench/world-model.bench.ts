// `npm run bench -- world-model [--dir runs/wm-bench] [--data-dir data/wm-bench] [--seed 1] [--fit-seconds 240]`:
// issue 11's targets, end to end, each stage skipped when its output exists (so a killed bench resumes):
//   1. graded policies: PPO on LunarLander-v3 for 100k, 300k and 1M steps (seed 11);
//   2. data: ~110k training transitions from random, the heuristic with 0/30/60% random actions and the
//      three PPO policies (seeds 1-7), held-out sets of the same policies (seeds 101-107), and two
//      out-of-distribution sets: a policy no trainer makes (the left engine forever, seed 109), which the
//      report's autoencoder AUROC uses, and the heuristic with 30% random actions in wind (seed 108);
//   3. every model kind fitted on the training data (`npm run train -- model --model all`);
//   4. `npm run model-report` on the held-out sets, with the 7 policies evaluated inside each model;
//   5. speed: ModelVectorEnv at N = 1024 with the default ensemble and both penalties, on one core, and the
//      training steps against PyTorch from `npm run bench -- world-model-speed` (run if its result is
//      missing).
// Then the targets, MET or MISS, and bench/results/world-model-s<seed>.json (the report beside it in the run folder).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandSpec } from '../src/cli/args.ts';
import { allTransitions, loadDataFolders } from '../src/cli/data-folders.ts';
import { latestCheckpoint, readJson, runPaths } from '../src/cli/run-folder.ts';
import type { PpoRunConfig } from '../src/cli/train.ts';
import { plannedUpdates } from '../src/rl/ppo.ts';
import { separationAuroc } from '../src/rl/world-model/diagnostics/index.ts';
import {
  type EnsembleModel,
  type FamiliarityModel,
  familiarityScorer,
  loadModel,
  ModelVectorEnv,
} from '../src/rl/world-model/index.ts';
import { machineInfo, parseBenchArgs, resultsDir, saveResult } from './report.ts';

const spec: CommandSpec = {
  command: 'bench world-model',
  positionals: '',
  minPositionals: 0,
  maxPositionals: 0,
  flags: [
    {
      name: 'dir',
      type: 'string',
      help: 'folder for policies, models and the report (default runs/wm-bench)',
    },
    { name: 'data-dir', type: 'string', help: 'folder for the collected data (default data/wm-bench)' },
    { name: 'seed', type: 'int', min: 0, help: 'seed of the models (default 1)' },
    { name: 'fit-seconds', type: 'int', min: 1, help: 'most seconds each model may fit (default 240)' },
  ],
};
const { flags } = parseBenchArgs(spec);
const dir = (flags.dir as string | undefined) ?? join('runs', 'wm-bench');
const dataDir = (flags['data-dir'] as string | undefined) ?? join('data', 'wm-bench');
const seed = (flags.seed as number | undefined) ?? 1;
const fitSeconds = (flags['fit-seconds'] as number | undefined) ?? 240;

/** Runs `npm run <args>` unless `done` exists; stops the bench if it fails. */
function stage(done: string, args: string[]): void {
  if (!existsSync(done)) npmRun(args);
}

/** Runs `npm run <args>`; stops the bench if it fails. */
function npmRun(args: string[]): void {
  console.log(`> npm run ${args.join(' ')}`);
  const result = spawnSync('npm', ['run', '--silent', ...args], { stdio: 'inherit' });
  if (result.status !== 0)
    throw new Error(`bench world-model: 'npm run ${args.join(' ')}' failed (${result.status})`);
}

// 1. Graded policies: a run whose last checkpoint is its planned last update is done; one cut short resumes.
const ppoSteps = [100_000, 300_000, 1_000_000];
const ppoRun = (steps: number) => join(dir, `ppo-${steps}`);
function ppoFinished(run: string): boolean {
  if (!existsSync(runPaths(run).config)) return false;
  const config = readJson<PpoRunConfig>(runPaths(run).config, 'bench world-model');
  return latestCheckpoint(run)?.update === plannedUpdates(config.ppo, config.numEnvs);
}
for (const steps of ppoSteps) {
  const run = ppoRun(steps);
  if (ppoFinished(run)) continue;
  const fresh = [
    '--steps',
    String(steps),
    '--seed',
    '11',
    '--eval-every',
    '0',
    '--eval-episodes',
    '20',
    '--out',
    run,
  ];
  npmRun([
    'train',
    '--',
    'ppo',
    ...(existsSync(runPaths(run).config) ? ['--resume', run] : fresh),
    '--quiet',
  ]);
}

// 2. Data: [name, policy, random fraction, steps, seed].
const plan: [string, string, number, number, number][] = [
  ['random', 'random', 0, 20_000, 1],
  ['heuristic', 'heuristic', 0, 15_000, 2],
  ['heuristic-r30', 'heuristic', 0.3, 15_000, 3],
  ['heuristic-r60', 'heuristic', 0.6, 15_000, 4],
  ['ppo100k', ppoRun(100_000), 0, 15_000, 5],
  ['ppo300k', ppoRun(300_000), 0, 15_000, 6],
  ['ppo1m', ppoRun(1_000_000), 0, 15_000, 7],
];
const collect = (
  name: string,
  policy: string,
  fraction: number,
  steps: number,
  s: number,
  extra: string[] = [],
) =>
  stage(join(dataDir, name, 'meta.json'), [
    'collect',
    '--',
    '--policy',
    policy,
    '--random-fraction',
    String(fraction),
    '--steps',
    String(steps),
    '--seed',
    String(s),
    '--quiet',
    '--out',
    join(dataDir, name),
    ...extra,
  ]);
for (const [name, policy, fraction, steps, s] of plan) {
  collect(`train-${name}`, policy, fraction, steps, s);
  collect(`test-${name}`, policy, fraction, 5_000, s + 100);
}
collect('ood-wind', 'heuristic', 0.3, 5_000, 108, ['--wind']);
// A policy no trainer makes: the left engine forever, so the lander spins into states the data never had.
collect('ood-spin', 'constant:1', 0, 5_000, 109);
const trainData = plan.map(([name]) => join(dataDir, `train-${name}`));
const testData = plan.map(([name]) => join(dataDir, `test-${name}`));

// 3. Models.
const models = join(dir, `models-s${seed}`);
stage(join(models, 'summary.json'), [
  'train',
  '--',
  'model',
  '--data',
  trainData.join(','),
  '--model',
  'all',
  '--seed',
  String(seed),
  '--set',
  `maxSeconds=${fitSeconds}`,
  '--quiet',
  '--out',
  models,
]);
const summaries = JSON.parse(readFileSync(join(models, 'summary.json'), 'utf8')) as {
  kind: string;
  seconds: number;
  epochs: number;
  stoppedBecause: string;
}[];

// 4. Report.
const policies = ['random', 'heuristic~0.6', 'heuristic~0.3', 'heuristic', ...ppoSteps.map(ppoRun)];
const reportDir = join(models, 'report');
stage(join(reportDir, 'report.json'), [
  'model-report',
  '--',
  models,
  '--data',
  testData.join(','),
  '--ood',
  join(dataDir, 'ood-spin'),
  '--policies',
  policies.join(','),
  '--out',
  reportDir,
]);
/** The parts of model-report's report.json the targets read (src/cli/model-report.ts has the whole). */
interface OutcomeClass {
  auroc: number | null;
  expected: number;
  actual: number;
}
interface DynamicsReport {
  kind: string;
  outcome: { crash: OutcomeClass; rest: OutcomeClass };
  openLoop: { horizons: { horizon: number; scalar: number | null }[] };
  uncertainty: { spearman: number | null } | null;
}
interface Report {
  dynamics: DynamicsReport[];
  familiarity: { ood: { auroc: number | null } | null } | null;
  policyEvaluation: {
    rankCorrelation: Record<string, { policies: number; spearman: number | null }>;
    heuristicGap: Record<string, number>;
  } | null;
}
const report = JSON.parse(readFileSync(join(reportDir, 'report.json'), 'utf8')) as Report;

// 5. Speed of the model env at N = 1024 with the default ensemble and both penalties (fitted weights).
const ensemble = loadModel(join(models, 'ensemble.safetensors')) as EnsembleModel;
const dae = loadModel(join(models, 'dae.safetensors')) as FamiliarityModel;
const heldOut = allTransitions(loadDataFolders(testData));
const starts = heldOut.observations;
const env = new ModelVectorEnv(
  ensemble,
  { startStates: starts, familiarity: familiarityScorer(dae) },
  { numEnvs: 1024, horizon: 1000, lambdaUncertainty: 1, lambdaFamiliarity: 0.1 },
);
env.reset(1);
const actions = new Float32Array(1024);
for (let i = 0; i < 3; i++) env.step(actions);
const envSteps = 20;
const t0 = performance.now();
for (let i = 0; i < envSteps; i++) {
  for (let k = 0; k < 1024; k++) actions[k] = (k + i) % 4;
  env.step(actions);
}
const imaginedPerSecond = (envSteps * 1024) / ((performance.now() - t0) / 1000);
const speedFile = join(resultsDir, 'world-model-speed.json');
if (!existsSync(speedFile)) stage(speedFile, ['bench', '--', 'world-model-speed']);
const speed = existsSync(speedFile)
  ? (JSON.parse(readFileSync(speedFile, 'utf8')) as { results?: Record<string, { ratio: number | null }> })
  : null;

// The autoencoder against windy transitions too: wind changes where a state goes, not the state and action
// themselves, which is all it sees.
const windy = allTransitions(loadDataFolders([join(dataDir, 'ood-wind')]));
const windAuroc = separationAuroc(
  dae.score(heldOut.observations, heldOut.actions, heldOut.count),
  dae.score(windy.observations, windy.actions, windy.count),
);

// Targets.
interface Check {
  label: string;
  measured: number | null;
  met: boolean;
  need: string;
}
const checks: Check[] = [];
const check = (label: string, measured: number | null, need: string, ok: (v: number) => boolean) =>
  checks.push({ label, measured, need, met: measured !== null && Number.isFinite(measured) && ok(measured) });
const dynamics = report.dynamics;
const byKind = (kind: string) => dynamics.find((d) => d.kind === kind);
for (const d of dynamics) {
  check(`${d.kind}: crash AUROC one step ahead`, d.outcome.crash.auroc, '>= 0.97', (v) => v >= 0.97);
  check(`${d.kind}: at-rest AUROC one step ahead`, d.outcome.rest.auroc, '>= 0.95', (v) => v >= 0.95);
  for (const event of ['crash', 'rest'] as const) {
    const o = d.outcome[event];
    const ratio = o.actual > 0 ? o.expected / o.actual : null;
    check(
      `${d.kind}: expected / actual ${event} count`,
      ratio,
      'within 20% of 1',
      (v) => Math.abs(v - 1) <= 0.2,
    );
  }
}
for (const [kind, r] of Object.entries(report.policyEvaluation?.rankCorrelation ?? {})) {
  check(
    `${kind}: rank correlation of model and real returns over ${r.policies} policies`,
    r.spearman,
    '>= 0.9',
    (v) => v >= 0.9,
  );
}
for (const [kind, gap] of Object.entries(report.policyEvaluation?.heuristicGap ?? {})) {
  check(`${kind}: heuristic's model return minus real`, gap, '|gap| <= 30', (v) => Math.abs(v) <= 30);
}
check(
  'dae: AUROC held-out against a policy never seen (the left engine forever)',
  report.familiarity?.ood?.auroc ?? null,
  '>= 0.9',
  (v) => v >= 0.9,
);
check(
  'ensemble: disagreement-error rank correlation',
  byKind('ensemble')?.uncertainty?.spearman ?? null,
  '>= 0.5',
  (v) => v >= 0.5,
);
const horizon25 = (kind: string) =>
  byKind(kind)?.openLoop.horizons.find((h) => h.horizon === 25)?.scalar ?? null;
const mlp25 = horizon25('mlp');
for (const kind of ['ensemble', 'gru']) {
  const v = horizon25(kind);
  check(
    `${kind}: open-loop error at 25 steps / the mlp's`,
    v !== null && mlp25 ? v / mlp25 : null,
    '<= 0.8',
    (x) => x <= 0.8,
  );
}
check(
  'model env, N = 1024, ensemble and both penalties: imagined steps/s',
  imaginedPerSecond,
  '>= 20000',
  (v) => v >= 20_000,
);
const ensembleFit = summaries.find((s) => s.kind === 'ensemble');
check(
  'ensemble: seconds to fit ~100k transitions to early stop',
  ensembleFit?.stoppedBecause === 'patience' ? ensembleFit.seconds : null,
  '<= 120 and stopped by patience',
  (v) => v <= 120,
);
for (const name of ['ensemble-train', 'gru-train']) {
  const ratio = speed?.results?.[name]?.ratio ?? null;
  check(`${name}: our time / PyTorch's (1 thread)`, ratio, '<= 2', (v) => v <= 2);
}

for (const c of checks) {
  const shown =
    c.measured === null ? 'n/a' : Math.abs(c.measured) >= 100 ? c.measured.toFixed(0) : c.measured.toFixed(3);
  console.log(`${c.met ? 'MET ' : 'MISS'}  ${c.label}: ${shown} (need ${c.need})`);
}
console.log(
  `INFO  dae: AUROC held-out against windy transitions (no target): ${windAuroc?.toFixed(3) ?? 'n/a'}`,
);
const file = saveResult(`world-model-s${seed}`, {
  machine: machineInfo(),
  dir,
  dataDir,
  seed,
  fitSeconds,
  models: summaries,
  imaginedPerSecond,
  windAuroc,
  report: join(reportDir, 'report.json'),
  checks,
});
console.log(`results written to ${file}`);
