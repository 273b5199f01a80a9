// `npm run bench -- ppo-solve [--env LunarLander-v3|LunarLanderContinuous-v3|both] [--seeds 1,2,3]
//   [--steps 1000000] [--jobs 1] [--workers] [--out runs/solve]`
//
// Issue 5's targets: PPO reaches a greedy eval mean return of 200 over 100 episodes within 1M real steps for
// each seed, discrete and continuous, in at most 10 minutes per 1M steps on 2 cores. Each run is a normal
// `npm run train` run folder (evaluated every 2 updates, about 33k steps); this script runs them, then
// reports per run the steps at which the eval mean first reached 200, the final eval, and the time spent
// training (wall-clock without the evaluations) and in total. Use --jobs 1 for honest timings.
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandSpec } from '../src/cli/args.ts';
import { readMetrics } from '../src/cli/run-folder.ts';
import { ENV_IDS } from '../src/env/index.ts';
import { machineInfo, parseBenchArgs, saveResult } from './report.ts';

// The command line's own strict parser: an unknown flag or a bad value is an error with the usage.
const solveSpec: CommandSpec = {
  command: 'bench ppo-solve',
  positionals: '',
  minPositionals: 0,
  maxPositionals: 0,
  flags: [
    { name: 'env', type: 'string', help: 'which env (default both)', choices: [...ENV_IDS, 'both'] },
    { name: 'seeds', type: 'string', help: 'comma-separated seeds (default 1,2,3)' },
    { name: 'steps', type: 'int', min: 1, help: 'real steps per run (default 1000000)' },
    { name: 'jobs', type: 'int', min: 1, help: 'runs at once (default 1; use 1 for honest timings)' },
    { name: 'workers', type: 'boolean', help: 'step the envs in worker threads' },
    { name: 'out', type: 'string', help: 'folder for the run folders (default runs/solve)' },
  ],
};
const { flags } = parseBenchArgs(solveSpec);
const envArg = (flags.env as string | undefined) ?? 'both';
const envIds = envArg === 'both' ? [...ENV_IDS] : [envArg];
const seeds = ((flags.seeds as string | undefined) ?? '1,2,3').split(',').map(Number);
const steps = (flags.steps as number | undefined) ?? 1_000_000;
const jobs = (flags.jobs as number | undefined) ?? 1;
const outRoot = (flags.out as string | undefined) ?? join('runs', 'solve');
const workers = flags.workers === true;

interface Row {
  envId: string;
  seed: number;
  firstSolvedSteps: number | null;
  finalEvalMean: number;
  finalSolvedFraction: number;
  trainSeconds: number;
  totalSeconds: number;
  dir: string;
}

function runOne(envId: string, seed: number): Promise<string> {
  const dir = join(outRoot, `ppo-${envId}-s${seed}`);
  if (existsSync(dir)) rmSync(dir, { recursive: true });
  const argv = ['--import', 'tsx', 'src/cli/main.ts', 'train', 'ppo', '--env', envId, '--seed', String(seed)];
  argv.push('--steps', String(steps), '--out', dir, '--eval-every', '2', '--quiet');
  if (workers) argv.push('--workers');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? resolve(dir) : reject(new Error(`${dir}: exit code ${code}`))));
  });
}

function summarise(envId: string, seed: number, dir: string): Row {
  type Line = {
    steps: number;
    evalMeanReturn?: number;
    evalSolvedFraction?: number;
    evalSeconds?: number;
    wallSeconds: number;
  };
  const rows = readMetrics<Line>(dir);
  const evals = rows.filter((r) => typeof r.evalMeanReturn === 'number');
  const last = evals.at(-1)!;
  const evalSeconds = evals.reduce((s, r) => s + (r.evalSeconds ?? 0), 0);
  const total = rows.at(-1)!.wallSeconds;
  return {
    envId,
    seed,
    firstSolvedSteps: evals.find((r) => r.evalMeanReturn! >= 200)?.steps ?? null,
    finalEvalMean: last.evalMeanReturn!,
    finalSolvedFraction: last.evalSolvedFraction!,
    trainSeconds: total - evalSeconds,
    totalSeconds: total,
    dir,
  };
}

const queue = envIds.flatMap((envId) => seeds.map((seed) => ({ envId, seed })));
const results: Row[] = [];
async function worker(): Promise<void> {
  for (let job = queue.shift(); job; job = queue.shift()) {
    const dir = await runOne(job.envId, job.seed);
    const row = summarise(job.envId, job.seed, dir);
    results.push(row);
    console.log(JSON.stringify(row));
  }
}
await Promise.all(Array.from({ length: jobs }, worker));

results.sort((a, b) => a.envId.localeCompare(b.envId) || a.seed - b.seed);
console.log(
  '\n| env | seed | steps to eval mean 200 | final eval mean (100 ep.) | at >= 200 | train time | total time |',
);
console.log('|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(
    `| ${r.envId} | ${r.seed} | ${r.firstSolvedSteps ?? 'never'} | ${r.finalEvalMean.toFixed(1)} | ` +
      `${(r.finalSolvedFraction * 100).toFixed(0)}% | ${(r.trainSeconds / 60).toFixed(1)} min | ${(r.totalSeconds / 60).toFixed(1)} min |`,
  );
}
const met = results.every((r) => r.finalEvalMean >= 200 && r.trainSeconds <= 600);
console.log(
  `\n${met ? 'MET' : 'MISS'}: every run ends with eval mean >= 200 and trains 1M steps in <= 10 min (jobs=${jobs})`,
);
saveResult(`ppo-solve-${envArg}`, { machine: machineInfo(), steps, jobs, workers, results });
