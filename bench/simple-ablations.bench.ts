// `npm run bench -- simple-ablations [--seeds 1,2] [--steps 100000] [--jobs 2] [--rows core|all|<name>,...]
//   [--out runs/bench-ablations]`
//
// Issue 12's ablation table on LunarLander-v3: start from the article's own setting (../shared/article-setting.md)
// and add the wish list one item at a time, then the two lander rules the loop needed (the sleep rule for the
// landing, touchdowns weighted in the model fit), so each row shows what its item is worth. Every row is a normal
// `npm run train -- simple` run with the flags below; rows are kept in bench/results/simple-ablations/ as they
// finish and skipped when the bench runs again, so the table fills over several sittings. `--rows all` adds
// the "where time allows" rows: each penalty off in the default, and fixed horizons 1, 5 and 25. Rows 1-9 and
// the x- rows run without step 5's trials, as they were measured before trials were on by default (an x- row
// is row 9 with one change); row 10 is today's default, trials and all.
import { join } from 'node:path';
import type { CommandSpec } from '../src/cli/args.ts';
import { writeFileAtomic } from '../src/nn/index.ts';
import { machineInfo, parseBenchArgs, resultsDir, saveResult } from './report.ts';
import { CHECKPOINTS, formatReturn, type RowPlan, runRows } from './simple-runs.ts';

const spec: CommandSpec = {
  command: 'bench simple-ablations',
  positionals: '',
  minPositionals: 0,
  maxPositionals: 0,
  flags: [
    { name: 'seeds', type: 'string', help: 'comma-separated seeds (default 1,2)' },
    { name: 'steps', type: 'int', min: 1, help: 'real steps per run (default 100000)' },
    { name: 'jobs', type: 'int', min: 1, help: 'runs side by side (default 2, one per core)' },
    {
      name: 'rows',
      type: 'string',
      help: "'core' (rows 1-7, default), 'all', or row names, comma-separated",
    },
    { name: 'out', type: 'string', help: 'folder of the run folders (default runs/bench-ablations)' },
  ],
};
const { flags } = parseBenchArgs(spec);
const seeds = ((flags.seeds as string | undefined) ?? '1,2').split(',').map(Number);
const steps = (flags.steps as number | undefined) ?? 100_000;
const jobs = (flags.jobs as number | undefined) ?? 2;
const out = (flags.out as string | undefined) ?? join('runs', 'bench-ablations');

// Whole imagined episodes from real initial states, fixed hyperparameters, no penalties: the article's loop.
const wholeEpisodes = ['starts=initial', 'horizon=1000', 'dynamic=false', 'lambdaUncertainty=0'];
const noFamiliarity = ['familiarity=false', 'lambdaFamiliarity=0'];
// The two lander rules the loop learned the hard way stay off until their own rows.
const learnedRest = ['restRule=model', 'modelContactEventWeight=1'];
// Every row before trials, and every x- row, as measured: no trials.
const noTrials = 'trialEpisodes=0';
const set = (...values: string[]) => values.flatMap((v) => ['--set', v]);

/** [name, label, flags]: each core row adds one item to the row before it. */
const core: [string, string, string[]][] = [
  [
    '1-article',
    'the article: one MLP of the absolute next state and reward / 100, raw action, no normalisation, no outcome head; whole imagined episodes from real initial states; fixed hyperparameters',
    [
      '--model',
      'article',
      ...set(
        noTrials,
        ...wholeEpisodes,
        ...noFamiliarity,
        ...learnedRest,
        'modelReward=predicted',
        'outOfBoundsCrash=false',
      ),
    ],
  ],
  [
    '2-delta-outcome',
    '+ delta-state targets, normalisation, one-hot actions and the outcome head (crash / at rest as events)',
    [
      '--model',
      'mlp',
      ...set(noTrials, ...wholeEpisodes, ...noFamiliarity, ...learnedRest, 'modelReward=predicted'),
    ],
  ],
  [
    '2b-known-reward',
    "+ Gymnasium's reward rule on imagined states instead of the reward head",
    ['--model', 'mlp', ...set(noTrials, ...wholeEpisodes, ...noFamiliarity, ...learnedRest)],
  ],
  [
    '3-recurrent',
    '+ recurrent model (gru)',
    ['--model', 'gru', ...set(noTrials, ...wholeEpisodes, ...noFamiliarity, ...learnedRest)],
  ],
  [
    '4-ensemble',
    '+ probabilistic ensemble (7 MLPs, 5 elites) with the disagreement penalty (in place of the gru)',
    [
      '--model',
      'ensemble',
      ...set(noTrials, 'starts=initial', 'horizon=1000', 'dynamic=false', ...noFamiliarity, ...learnedRest),
    ],
  ],
  [
    '5-autoencoder',
    '+ the autoencoder penalty',
    [
      '--model',
      'ensemble',
      ...set(noTrials, 'starts=initial', 'horizon=1000', 'dynamic=false', ...learnedRest),
    ],
  ],
  [
    '6-branched',
    '+ branched rollouts of 10 steps from buffer states (MBPO)',
    ['--model', 'ensemble', ...set(noTrials, 'starts=buffer', 'horizon=10', 'dynamic=false', ...learnedRest)],
  ],
  [
    '7-dynamic',
    '+ dynamic horizon, temperature and penalty weight',
    ['--model', 'ensemble', ...set(noTrials, ...learnedRest)],
  ],
  [
    '8-sleep-rule',
    "+ Box2D's sleep rule for the landing (restRule=sleep)",
    ['--model', 'ensemble', ...set(noTrials, 'restRule=sleep', 'modelContactEventWeight=1')],
  ],
  ['9-contact-weight', '+ touchdowns weighted 20 in the model fit', set(noTrials, 'restRule=sleep')],
  [
    '10-trials',
    '+ trials: the new policy runs 4 greedy real episodes; once the kept one scored 150, a new one below 240 is kept only if at least as good as the kept one on the same episodes (the default)',
    [],
  ],
];
const extra: [string, string, string[]][] = [
  ['x-no-uncertainty', 'default without the disagreement penalty', set(noTrials, 'lambdaUncertainty=0')],
  ['x-no-familiarity', 'default without the autoencoder penalty', set(noTrials, ...noFamiliarity)],
  ['x-horizon-1', 'default with a fixed horizon of 1', set(noTrials, 'dynamic=false', 'horizon=1')],
  ['x-horizon-5', 'default with a fixed horizon of 5', set(noTrials, 'dynamic=false', 'horizon=5')],
  ['x-horizon-25', 'default with a fixed horizon of 25', set(noTrials, 'dynamic=false', 'horizon=25')],
  [
    'x-hazard',
    'default with the memoryless landing rule (restRule=hazard)',
    set(noTrials, 'restRule=hazard'),
  ],
  [
    'x-entropy-0.001',
    "default with PPO's entropy bonus at 0.001 (the article's) instead of 0.01",
    set(noTrials, 'ppo.entropyCoef=0.001', 'minEntropyCoef=0.001'),
  ],
];
const rowsArg = (flags.rows as string | undefined) ?? 'core';
const chosen =
  rowsArg === 'core'
    ? core
    : rowsArg === 'all'
      ? [...core, ...extra]
      : [...core, ...extra].filter(([name]) => rowsArg.split(',').includes(name));
if (chosen.length === 0) {
  console.error(
    `bench simple-ablations: --rows ${rowsArg} names no row; rows: ${[...core, ...extra].map(([n]) => n).join(', ')}`,
  );
  process.exit(2);
}
// Seeds alternate inside the queue, so two jobs finish whole rows (both seeds) early.
const plans: RowPlan[] = chosen.flatMap(([name, label, rowFlags]) =>
  seeds.map((seed) => ({
    name: `${name}-s${seed}-${steps / 1000}k`,
    algorithm: 'simple' as const,
    envId: 'LunarLander-v3',
    seed,
    steps,
    flags: rowFlags,
    label,
  })),
);
const results = await runRows('simple-ablations', plans, out, jobs);

const checkpoints = CHECKPOINTS.filter((c) => c <= steps);
const lines = [
  `| row | what it adds | ${checkpoints.map((c) => `eval at ${c / 1000}k`).join(' | ')} | best eval | real steps to 200 | min per 100k |`,
  `| --- | --- | ${checkpoints.map(() => '---').join(' | ')} | --- | --- | --- |`,
];
for (const [name, label] of chosen) {
  const rows = results.filter((r) => r.name.startsWith(`${name}-s`));
  if (rows.length === 0) continue;
  const per = (f: (r: (typeof rows)[number]) => number | null) =>
    rows.map((r) => formatReturn(f(r))).join(' / ');
  lines.push(
    `| ${name} | ${label} | ${checkpoints.map((c) => per((r) => r.evalAt[String(c)] ?? null)).join(' | ')} | ${per(
      (r) => (r.evals.length ? Math.max(...r.evals.map((e) => e.meanReturn)) : null),
    )} | ${rows.map((r) => r.firstSolvedSteps ?? 'never').join(' / ')} | ${rows
      .map((r) => (r.trainSecondsPer100k / 60).toFixed(1))
      .join(' / ')} |`,
  );
}
const report = `Seeds ${seeds.join(' / ')} per cell (LunarLander-v3, ${steps / 1000}k real steps, eval = mean of 100 greedy episodes)\n\n${lines.join('\n')}\n`;
console.log(`\n${report}`);
writeFileAtomic(join(resultsDir, 'simple-ablations.md'), report);
saveResult('simple-ablations', { machine: machineInfo(), steps, seeds, results });
