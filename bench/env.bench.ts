// `npm run bench -- env [seconds per round] [rounds]`: Lunar Lander env steps per second with uniformly
// random discrete actions (episodes reset as they end, as in training): one env on one thread, the
// in-thread vector env, and the worker_threads vector env on both cores. Results: bench/results/env.json.
//
// Targets (issue 4): the reference (Python over Box2D) runs ~35,000 steps/s on one core of this machine
// class; one thread should reach that, and the worker vector env at least 1.7x that.
//
// Plain timed loops rather than benny: an env step is a stateful ~25 µs operation, and benny's per-case
// sampling gave the single env a third of the rate the same loop shows outside it. The cases run in
// interleaved rounds so that the load other processes put on the shared cores falls on all of them alike;
// each figure is the median over rounds, and CPU time is recorded beside wall time.
import { cpus, loadavg } from 'node:os';
import { LunarLander, Rng, SyncVectorEnv, WorkerVectorEnv } from '../src/env/index.ts';
import { machineInfo, median, printTargets, saveResult, type Target } from './report.ts';

const REFERENCE_STEPS_PER_SECOND = 35_000;
const NUM_ENVS = 16;
const THREADS = 2;
const secondsPerRound = Number(process.argv[2] ?? 2);
const rounds = Number(process.argv[3] ?? 5);

/** A long table of random actions, so that drawing them costs nothing measurable. */
const rng = new Rng(0);
const actionTable = Int32Array.from({ length: 1 << 16 }, () => rng.integer(0, 4));
let actionIndex = 0;

const single = new LunarLander();
single.reset({ seed: 0 });
const sync = new SyncVectorEnv({ numEnvs: NUM_ENVS });
sync.reset(0);
const workers = await WorkerVectorEnv.create({ numEnvs: NUM_ENVS, numThreads: THREADS });
workers.reset(0);
const vectorActions = new Int32Array(NUM_ENVS);

interface Case {
  name: string;
  /** Runs a batch of env steps and returns how many. */
  batch: () => number;
}
const cases: Case[] = [
  {
    name: 'single env, one thread',
    batch: () => {
      for (let k = 0; k < 100; k++) {
        single.stepInPlace(actionTable[actionIndex++ & 0xffff]!, 0, 0);
        if (single.terminated || single.truncated) single.resetInPlace();
      }
      return 100;
    },
  },
  ...[
    { name: `SyncVectorEnv x${NUM_ENVS}, one thread`, env: sync },
    { name: `WorkerVectorEnv x${NUM_ENVS}, ${THREADS} threads`, env: workers },
  ].map(({ name, env }) => ({
    name,
    batch: () => {
      for (let k = 0; k < 8; k++) {
        for (let i = 0; i < NUM_ENVS; i++) vectorActions[i] = actionTable[actionIndex++ & 0xffff]!;
        env.step(vectorActions);
      }
      return 8 * NUM_ENVS;
    },
  })),
];

/** Steps per wall-clock second and per CPU-second (all of this process's threads) over `seconds`. */
function measure(c: Case, seconds: number): { wall: number; cpu: number } {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let steps = 0;
  while (performance.now() - t0 < seconds * 1000) steps += c.batch();
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { wall: steps / wall, cpu: steps / ((cpu.user + cpu.system) / 1e6) };
}

const loadBefore = loadavg();
for (const c of cases) measure(c, 1); // warm-up: JIT and caches
const samples = new Map(cases.map((c) => [c.name, [] as Array<{ wall: number; cpu: number }>]));
for (let r = 0; r < rounds; r++) {
  for (const c of cases) samples.get(c.name)!.push(measure(c, secondsPerRound));
}
await workers.close();
await sync.close();
const loadAfter = loadavg();

const results: Record<string, { wallStepsPerSecond: number; cpuStepsPerSecond: number; rounds: number[] }> =
  {};
for (const c of cases) {
  const s = samples.get(c.name)!;
  results[c.name] = {
    wallStepsPerSecond: median(s.map((x) => x.wall)),
    cpuStepsPerSecond: median(s.map((x) => x.cpu)),
    rounds: s.map((x) => Math.round(x.wall)),
  };
  const r = results[c.name]!;
  console.log(
    `  ${c.name.padEnd(32)} ${r.wallStepsPerSecond.toFixed(0).padStart(7)} env steps/s (median of ${rounds} x ${secondsPerRound} s; ` +
      `${r.cpuStepsPerSecond.toFixed(0)} per CPU-second; rounds ${r.rounds.join(' ')})`,
  );
}

const singleRate = results['single env, one thread']!.wallStepsPerSecond;
const workerRate = results[`WorkerVectorEnv x${NUM_ENVS}, ${THREADS} threads`]!.wallStepsPerSecond;
const targets: Target[] = [
  { label: 'one env, one thread: env steps/s', measured: singleRate, required: REFERENCE_STEPS_PER_SECOND },
  {
    label: `WorkerVectorEnv x${NUM_ENVS} on ${THREADS} threads: env steps/s (1.7 x 35,000)`,
    measured: workerRate,
    required: 1.7 * REFERENCE_STEPS_PER_SECOND,
  },
];
const met = printTargets(targets);
console.log(
  `worker / single-thread: ${(workerRate / singleRate).toFixed(2)}x; load average before ` +
    `${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')} ` +
    `(${cpus().length} cores)`,
);
const file = saveResult('env', {
  machine: { ...machineInfo(), cores: cpus().length, cpu: cpus()[0]?.model, loadBefore, loadAfter },
  secondsPerRound,
  rounds,
  results,
  workerSpeedup: workerRate / singleRate,
  targets,
  met,
});
console.log(`summary written to ${file}`);
