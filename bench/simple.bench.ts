// `npm run bench -- simple [--env LunarLander-v3|LunarLanderContinuous-v3|both] [--seeds 1,2,3,4,5]
//   [--steps 200000] [--jobs 2] [--out runs/bench-simple] [--variant NAME --set key=value ...]`
//
// Issue 12's targets: the model-based agent (`npm run train -- simple`, its default config) against model-free
// PPO (`npm run train -- ppo`, its default config) on the same real-step budget, every seed, both landers.
// Both are evaluated greedily on 100 real episodes (seeds from 1e9) after every iteration / update; the
// comparison at 50k, 100k and 200k real steps takes each run's last evaluation at or before that count.
// Rows are kept in bench/results/simple/ as they finish, so the table fills over several sittings; a run
// that was cut short resumes from its checkpoint. The summary goes to bench/results/simple.json and .md; it
// tables every kept row of both landers, so a run of one lander keeps the other's table.
// A variant (`--variant NAME --set key=value ...`) runs the model-based rows with those config changes into
// bench/results/simple-NAME/ (and runs/bench-simple-NAME) and tables them against the default suite's PPO
// rows, which it runs there if they are missing: a candidate default is measured the same way before it
// becomes one.
import { join } from 'node:path';
import type { CommandSpec } from '../src/cli/args.ts';
import { ENV_IDS } from '../src/env/index.ts';
import { writeFileAtomic } from '../src/nn/index.ts';
import { machineInfo, parseBenchArgs, resultsDir, saveResult } from './report.ts';
import {
  CHECKPOINTS,
  formatReturn,
  keptResults,
  type RowPlan,
  type RowResult,
  runRows,
} from './simple-runs.ts';

const spec: CommandSpec = {
  command: 'bench simple',
  positionals: '',
  minPositionals: 0,
  maxPositionals: 0,
  flags: [
    { name: 'env', type: 'string', help: 'which env (default both)', choices: [...ENV_IDS, 'both'] },
    { name: 'seeds', type: 'string', help: 'comma-separated seeds (default 1,2,3,4,5)' },
    { name: 'steps', type: 'int', min: 1, help: 'real steps per run (default 200000)' },
    { name: 'jobs', type: 'int', min: 1, help: 'runs side by side (default 2, one per core)' },
    { name: 'out', type: 'string', help: 'folder of the run folders (default runs/bench-simple[-variant])' },
    {
      name: 'variant',
      type: 'string',
      help: 'name of a variant of the default config (needs --set); rows go to bench/results/simple-<variant>/',
    },
    {
      name: 'set',
      type: 'list',
      help: "one config change of the variant, as train simple's --set; repeat for more (needs --variant)",
    },
  ],
};
const { flags } = parseBenchArgs(spec);
const envArg = (flags.env as string | undefined) ?? 'both';
const envIds = envArg === 'both' ? [...ENV_IDS] : [envArg];
const seeds = ((flags.seeds as string | undefined) ?? '1,2,3,4,5').split(',').map(Number);
const steps = (flags.steps as number | undefined) ?? 200_000;
const jobs = (flags.jobs as number | undefined) ?? 2;
const variant = flags.variant as string | undefined;
const changes = (flags.set as string[] | undefined) ?? [];
if ((variant === undefined) !== (changes.length === 0)) {
  console.error(
    `bench simple: --variant and --set go together (got ${variant === undefined ? 'no --variant' : `--variant ${variant}`} and ${changes.length} --set values)`,
  );
  process.exit(2);
}
if (variant !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(variant)) {
  console.error(
    `bench simple: --variant ${JSON.stringify(variant)}; expected letters, digits, '.', '_' or '-'`,
  );
  process.exit(2);
}
const suite = variant === undefined ? 'simple' : `simple-${variant}`;
const out = (flags.out as string | undefined) ?? join('runs', `bench-${suite}`);
const ppoOut = variant === undefined ? out : join('runs', 'bench-simple');

const short = (envId: string) => (envId === 'LunarLander-v3' ? 'discrete' : 'continuous');
const plansFor = (ids: string[]): RowPlan[] =>
  ids.flatMap((envId) =>
    seeds.flatMap((seed) =>
      (['simple', 'ppo'] as const).map((algorithm) => ({
        name: `${algorithm}-${short(envId)}-s${seed}-${steps / 1000}k`,
        algorithm,
        envId,
        seed,
        steps,
        flags: algorithm === 'simple' ? changes.flatMap((change) => ['--set', change]) : [],
        label:
          algorithm === 'ppo'
            ? 'model-free PPO'
            : variant === undefined
              ? 'model-based (default)'
              : `model-based (${changes.join(' ')})`,
      })),
    ),
  );
const ofAlgorithm = (plans: RowPlan[], algorithm: string) => plans.filter((p) => p.algorithm === algorithm);
const toRun = plansFor(envIds);
const toTable = plansFor([...ENV_IDS]);
// A variant's model-based rows are its own; its PPO rows are the default suite's.
await runRows('simple', ofAlgorithm(toRun, 'ppo'), ppoOut, jobs);
await runRows(suite, ofAlgorithm(toRun, 'simple'), out, jobs);
const results = [
  ...keptResults(suite, ofAlgorithm(toTable, 'simple')),
  ...keptResults('simple', ofAlgorithm(toTable, 'ppo')),
];
const tabled = ENV_IDS.filter((envId) => results.some((r) => r.envId === envId));

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const lines: string[] = [];
const targets: string[] = [];
for (const envId of tabled) {
  const of = (algorithm: string) => results.filter((r) => r.envId === envId && r.algorithm === algorithm);
  const simple = of('simple');
  const ppo = of('ppo');
  lines.push(`### ${envId} (${steps / 1000}k real steps, eval mean of 100 greedy episodes)`, '');
  if (variant !== undefined) {
    lines.push(`Model-based rows: the default config with ${changes.map((c) => `\`${c}\``).join(', ')}.`, '');
  }
  lines.push(
    `| run | seed | ${CHECKPOINTS.filter((c) => c <= steps)
      .map((c) => `${c / 1000}k`)
      .join(' | ')} | real steps to 200 | lowest after 200 | imagined steps | min per 100k |`,
  );
  lines.push(
    `| --- | --- | ${CHECKPOINTS.filter((c) => c <= steps)
      .map(() => '---')
      .join(' | ')} | --- | --- | --- | --- |`,
  );
  const row = (r: RowResult) =>
    `| ${r.algorithm} | ${r.seed} | ${CHECKPOINTS.filter((c) => c <= steps)
      .map((c) => formatReturn(r.evalAt[String(c)]))
      .join(' | ')} | ${r.firstSolvedSteps ?? 'never'} | ${formatReturn(r.lowestAfterSolved)} | ${
      r.imaginedSteps === null ? '-' : `${(r.imaginedSteps / 1e6).toFixed(1)}M`
    } | ${(r.trainSecondsPer100k / 60).toFixed(1)} |`;
  for (const r of [...simple, ...ppo]) lines.push(row(r));
  const means = (rs: RowResult[], c: number) => {
    const v = rs.map((r) => r.evalAt[String(c)]).filter((x): x is number => typeof x === 'number');
    return v.length ? mean(v) : null;
  };
  lines.push(
    `| mean simple | ${simple.length} seeds | ${CHECKPOINTS.filter((c) => c <= steps)
      .map((c) => formatReturn(means(simple, c)))
      .join(' | ')} | | | | |`,
    `| mean ppo | ${ppo.length} seeds | ${CHECKPOINTS.filter((c) => c <= steps)
      .map((c) => formatReturn(means(ppo, c)))
      .join(' | ')} | | | | |`,
    '',
  );
  const solved200 = simple.filter((r) => r.firstSolvedSteps !== null && r.firstSolvedSteps <= 200_000).length;
  const solved100 = simple.filter((r) => r.firstSolvedSteps !== null && r.firstSolvedSteps <= 100_000).length;
  const need = envId === 'LunarLander-v3' ? 4 : 3;
  targets.push(
    `${solved200 >= need ? 'MET ' : 'MISS'} ${envId}: eval mean >= 200 within 200k real steps in ${solved200} of ${simple.length} seeds (need ${need} of 5)`,
  );
  if (envId === 'LunarLander-v3') {
    targets.push(
      `${solved100 >= 4 ? 'MET ' : 'MISS'} headline ${envId}: within 100k in ${solved100} of ${simple.length} seeds (need 4 of 5)`,
    );
  }
  // The comparison takes the seeds both algorithms have a row for, so a missing row does not tilt it.
  const paired = (rs: RowResult[], others: RowResult[]) =>
    rs.filter((r) => others.some((o) => o.seed === r.seed));
  const pairedSimple = paired(simple, ppo);
  const pairedPpo = paired(ppo, simple);
  for (const c of CHECKPOINTS.filter((c) => c <= steps)) {
    const s = means(pairedSimple, c);
    const p = means(pairedPpo, c);
    targets.push(
      `${s !== null && p !== null && s > p ? 'MET ' : 'MISS'} ${envId}: mean over the ${pairedSimple.length} seeds both have at ${c / 1000}k, simple ${formatReturn(s)} vs ppo ${formatReturn(p)}`,
    );
  }
  const drops = simple.filter((r) => r.lowestAfterSolved !== null);
  const worst = drops.length ? Math.min(...drops.map((r) => r.lowestAfterSolved!)) : null;
  targets.push(
    worst === null
      ? `N/A  ${envId}: no seed falls below 150 after solving (no seed solved)`
      : `${worst >= 150 ? 'MET ' : 'MISS'} ${envId}: no seed falls below 150 after solving (worst ${formatReturn(worst)}; ${drops.length} seeds solved)`,
  );
  const slowest = simple.length ? Math.max(...simple.map((r) => r.trainSecondsPer100k)) : Number.NaN;
  targets.push(
    `${slowest <= 600 ? 'MET ' : 'MISS'} ${envId}: at most 10 min per 100k real steps (slowest ${(slowest / 60).toFixed(1)} min, evaluations excluded, ${jobs} runs side by side)`,
  );
}
const report = [...lines, '```', ...targets, '```', ''].join('\n');
console.log(`\n${report}`);
writeFileAtomic(join(resultsDir, `${suite}.md`), report);
saveResult(suite, { machine: machineInfo(), steps, jobs, variant: changes, targets, results });
