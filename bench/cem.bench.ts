// `npm run bench -- cem [--part latency|pets|mpc|all] [--env LunarLander-v3|LunarLanderContinuous-v3|both]
//   [--seeds 1,2,3] [--steps 50000] [--episodes 10] [--jobs 2] [--out runs/bench-cem]`
//
// Issue 13's figures:
// - latency: milliseconds per planned action of the default planner (cem-config.ts) on the default ensemble
//   (7 members of 200-200-200, 5 elites; its weights do not change the work), one core, both landers;
// - pets: PETS (`npm run train -- pets`, its defaults) for `--steps` real steps per seed and lander, the
//   planner evaluated every 5 iterations on `--episodes` real episodes; real steps to an eval mean of 0 and
//   of 200, beside model-free PPO and the model-based agent at the same real steps (bench/results/simple);
// - mpc: the model-based agent trained for `--steps` real steps (its defaults), then its policy alone and the
//   planner on its model (with the policy as prior and critic), with and without the autoencoder penalty
//   (Boney et al. 2019), and the planner alone, each on the same `--episodes` real episodes.
// Training rows are kept in bench/results/cem/ and resumed as `bench simple`'s are; MPC evaluations are kept
// per seed in bench/results/cem/mpc-*.json. The summary goes to bench/results/cem.json and cem.md.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandSpec } from '../src/cli/args.ts';
import { evalRun } from '../src/cli/eval.ts';
import { type EvalSummary, evaluatePolicy } from '../src/cli/evaluate.ts';
import { loadRunPolicy } from '../src/cli/run-policy.ts';
import { ENV_IDS } from '../src/env/index.ts';
import { writeFileAtomic } from '../src/nn/index.ts';
import { defaultCemConfig } from '../src/rl/cem-config.ts';
import { cemController } from '../src/rl/mpc-controller.ts';
import { defaultSimpleConfig } from '../src/rl/simple-config.ts';
import { EnsembleModel } from '../src/rl/world-model/index.ts';
import { machineInfo, parseBenchArgs, resultsDir, saveResult } from './report.ts';
import { formatReturn, keptResult, type RowPlan, type RowResult, runRows } from './simple-runs.ts';

const spec: CommandSpec = {
  command: 'bench cem',
  positionals: '',
  minPositionals: 0,
  maxPositionals: 0,
  flags: [
    {
      name: 'part',
      type: 'string',
      help: 'which figures (default all)',
      choices: ['latency', 'pets', 'mpc', 'all'],
    },
    { name: 'env', type: 'string', help: 'which env (default both)', choices: [...ENV_IDS, 'both'] },
    { name: 'seeds', type: 'string', help: 'comma-separated seeds (default 1,2,3)' },
    { name: 'steps', type: 'int', min: 1, help: 'real steps per training run (default 50000)' },
    { name: 'episodes', type: 'int', min: 1, help: 'real episodes per planner evaluation (default 10)' },
    { name: 'jobs', type: 'int', min: 1, help: 'runs side by side (default 2, one per core)' },
    { name: 'out', type: 'string', help: 'folder of the run folders (default runs/bench-cem)' },
  ],
};
const { flags } = parseBenchArgs(spec);
const part = (flags.part as string | undefined) ?? 'all';
const envArg = (flags.env as string | undefined) ?? 'both';
const envIds = envArg === 'both' ? [...ENV_IDS] : [envArg];
const seeds = ((flags.seeds as string | undefined) ?? '1,2,3').split(',').map(Number);
const steps = (flags.steps as number | undefined) ?? 50_000;
const episodes = (flags.episodes as number | undefined) ?? 10;
const jobs = (flags.jobs as number | undefined) ?? 2;
const out = (flags.out as string | undefined) ?? join('runs', 'bench-cem');
const short = (envId: string) => (envId === 'LunarLander-v3' ? 'discrete' : 'continuous');
const lines: string[] = [];
const summary: Record<string, unknown> = { machine: machineInfo(), steps, episodes, seeds };

// Latency: the default planner on the default ensemble, one real observation, plans timed after a warm-up.
if (part === 'latency' || part === 'all') {
  lines.push(
    '### Latency of the default planner (ms per action, one core)',
    '',
    `Settings: ${JSON.stringify(defaultCemConfig)}; ensemble ${defaultSimpleConfig.ensembleMembers} x ${defaultSimpleConfig.modelHiddenSizes.join('-')}, ${defaultSimpleConfig.ensembleElites} elites.`,
    '',
    '| lander | median ms | min ms | max ms | plans timed |',
    '| --- | --- | --- | --- | --- |',
  );
  const latency: Record<string, unknown> = {};
  for (const envId of envIds) {
    const space = envId === 'LunarLander-v3' ? { n: 4 } : { size: 2 };
    const model = new EnsembleModel(space, {
      members: defaultSimpleConfig.ensembleMembers,
      elites: defaultSimpleConfig.ensembleElites,
      hiddenSizes: [...defaultSimpleConfig.modelHiddenSizes],
      seed: 1,
    });
    // A fitted ensemble keeps its best members as elites; the planner rolls those only.
    model.elites = Array.from({ length: defaultSimpleConfig.ensembleElites }, (_, i) => i);
    const c = defaultCemConfig;
    const planner = cemController(model, c, { env: { restRule: defaultSimpleConfig.restRule } }).planner;
    const observation = Float32Array.from([0.1, 1.2, 0.1, -0.3, 0.05, 0.01, 0, 0]);
    for (let i = 0; i < 10; i++) planner.plan({ observation });
    const times: number[] = [];
    for (let i = 0; i < 60; i++) {
      const t0 = performance.now();
      planner.plan({ observation });
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const median = times[times.length >> 1]!;
    latency[envId] = { medianMs: median, minMs: times[0], maxMs: times.at(-1), plans: times.length };
    lines.push(
      `| ${envId} | ${median.toFixed(1)} | ${times[0]!.toFixed(1)} | ${times.at(-1)!.toFixed(1)} | ${times.length} |`,
    );
  }
  lines.push(
    '',
    `${Object.values(latency).every((l) => (l as { medianMs: number }).medianMs <= 20) ? 'MET ' : 'MISS'} at most 20 ms per action (median)`,
    '',
  );
  summary.latency = latency;
}

/** The kept simple-bench row of an algorithm at `steps`' neighbouring budgets: its eval at `steps`. */
function simpleBenchEval(algorithm: 'simple' | 'ppo', envId: string, seed: number): number | null {
  const row = keptResult('simple', `${algorithm}-${short(envId)}-s${seed}-200k`);
  if (!row) return null;
  const before = row.evals.filter((e) => e.steps <= steps);
  return before.at(-1)?.meanReturn ?? null;
}

/**
 * A PETS run's mean milliseconds per planned action, from its metrics.jsonl; null where the run folder is
 * gone (a kept row's summary outlives its run folder, which is not in git) or none of its actions was planned.
 */
function meanPlanMs(dir: string): number | null {
  const file = join(dir, 'metrics.jsonl');
  if (!existsSync(file)) return null;
  const planned = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { planMsPerAction: number | null }).planMsPerAction)
    .filter((ms): ms is number => ms !== null);
  return planned.length ? planned.reduce((a, b) => a + b, 0) / planned.length : null;
}

const firstAt = (r: RowResult, level: number) => r.evals.find((e) => e.meanReturn >= level)?.steps ?? null;

if (part === 'pets' || part === 'all') {
  const plans: RowPlan[] = envIds.flatMap((envId) =>
    seeds.map((seed) => ({
      name: `pets-${short(envId)}-s${seed}-${steps / 1000}k`,
      algorithm: 'pets' as const,
      envId,
      seed,
      steps,
      flags: ['--eval-episodes', String(episodes)],
      evalEvery: 5,
      label: 'PETS (CEM in the ensemble, no policy)',
    })),
  );
  const results = await runRows('cem', plans, out, jobs);
  lines.push(
    `### PETS, ${steps / 1000}k real steps (eval: mean of ${episodes} planned episodes every 5 iterations)`,
    '',
    `| lander | seed | real steps to 0 | real steps to 200 | PETS eval at ${steps / 1000}k | model-based agent at ${steps / 1000}k | PPO at ${steps / 1000}k | ms per action | min per 100k |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const r of results) {
    const ms = meanPlanMs(r.dir);
    lines.push(
      `| ${r.envId} | ${r.seed} | ${firstAt(r, 0) ?? 'never'} | ${firstAt(r, 200) ?? 'never'} | ${formatReturn(
        r.evalAt[String(steps)] ?? r.finalEvalMean,
      )} | ${formatReturn(simpleBenchEval('simple', r.envId, r.seed))} | ${formatReturn(
        simpleBenchEval('ppo', r.envId, r.seed),
      )} | ${ms === null ? '-' : ms.toFixed(1)} | ${(r.trainSecondsPer100k / 60).toFixed(1)} |`,
    );
  }
  lines.push('');
  summary.pets = results;
}

if (part === 'mpc' || part === 'all') {
  const plans: RowPlan[] = seeds.map((seed) => ({
    name: `simple-discrete-s${seed}-${steps / 1000}k`,
    algorithm: 'simple' as const,
    envId: 'LunarLander-v3',
    seed,
    steps,
    flags: [],
    evalEvery: 5,
    label: 'the model-based agent, default config',
  }));
  const trained = await runRows('cem', plans, out, jobs);
  const variants: [string, string[]][] = [
    ['planner, policy prior and critic', ['cem.priorShare=0.25', 'cem.terminalValue=true']],
    [
      'planner, prior, critic, autoencoder penalty',
      ['cem.priorShare=0.25', 'cem.terminalValue=true', 'cem.lambdaFamiliarity=1'],
    ],
    ['planner alone', []],
  ];
  lines.push(
    `### MPC on the model-based agent after ${steps / 1000}k real steps (LunarLander-v3, mean of ${episodes} real episodes, seeds from 1e9)`,
    '',
    `| seed | policy alone | ${variants.map(([name]) => name).join(' | ')} |`,
    `| --- | --- | ${variants.map(() => '---').join(' | ')} |`,
  );
  const mpc: Record<string, unknown> = {};
  for (const r of trained) {
    const file = join(resultsDir, 'cem', `mpc-s${r.seed}-${steps / 1000}k.json`);
    let kept = existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as Record<
          string,
          { meanReturn: number; msPerAction?: number }
        >)
      : {};
    if (!kept.policy) {
      const { config, policy } = loadRunPolicy(r.dir);
      const e: EvalSummary = evaluatePolicy(policy, config.envId, config.envOptions, episodes);
      kept = { ...kept, policy: { meanReturn: e.meanReturn } };
      writeFileAtomic(file, `${JSON.stringify(kept, null, 2)}\n`);
    }
    for (const [name, sets] of variants) {
      if (kept[name]) continue;
      const argv = [
        r.dir,
        '--planner',
        'cem',
        '--episodes',
        String(episodes),
        ...(sets.length ? ['--set', ...sets] : []),
      ];
      console.log(`> npm run eval -- ${argv.join(' ')}`);
      const e = evalRun(argv, () => {}) as EvalSummary & { msPerAction: number };
      kept = { ...kept, [name]: { meanReturn: e.meanReturn, msPerAction: e.msPerAction } };
      writeFileAtomic(file, `${JSON.stringify(kept, null, 2)}\n`);
    }
    mpc[String(r.seed)] = kept;
    lines.push(
      `| ${r.seed} | ${formatReturn(kept.policy!.meanReturn)} | ${variants
        .map(
          ([name]) => `${formatReturn(kept[name]!.meanReturn)} (${kept[name]!.msPerAction!.toFixed(0)} ms)`,
        )
        .join(' | ')} |`,
    );
  }
  lines.push('');
  summary.mpc = mpc;
}

const report = lines.join('\n');
console.log(`\n${report}`);
writeFileAtomic(join(resultsDir, `cem-${part}.md`), report);
saveResult(`cem-${part}`, summary);
