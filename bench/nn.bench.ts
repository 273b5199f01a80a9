// `npm run bench -- nn [--only a,b] [--rounds n]`: one full training step (forward, MSE loss, backward,
// Adam update) of a tanh MLP, every contender of nn-contenders.ts on the same problem, one benny suite per
// size, all in one run; then the contenders again in short alternating turns (paired.ts), whose per-round
// ratios the targets use, as they hold up when other work loads the machine, with PyTorch on one thread
// among them (bench/nn-torch.py in a child process, torch-child.ts; skipped, with a note, where no python
// has torch); then the heap growth of our steady step over 1,000 steps.
// `--only ours-wasm,pytorch` races just those contenders in the alternating turns (no benny, no heap);
// `--rounds` sets the number of rounds (default 8); `--sizes b256-12-200-200-9` runs only the sizes named.
// Results: bench/results/nn-train-<size>.json (benny) and bench/results/nn.json (summary, targets), or
// bench/results/nn-only.json with --only.
import { loadavg } from 'node:os';
import b from 'benny';
import type { CommandSpec } from '../src/cli/args.ts';
import { measureHeap } from './heap.ts';
import { initJax } from './jax-contenders.ts';
import { type Contender, makeProblem, nnContenders, type TrainingStep } from './nn-contenders.ts';
import { type PairedTiming, pairedRatio, pairedTiming, type Turn, turnsOf } from './paired.ts';
import { machineInfo, parseBenchArgs, printTargets, resultsDir, saveResult, type Target } from './report.ts';
import { initTfjs } from './tfjs.ts';
import { TORCH_SKIPPED, TorchChild } from './torch-child.ts';

const spec: CommandSpec = {
  command: 'bench nn',
  positionals: '',
  minPositionals: 0,
  maxPositionals: 0,
  flags: [
    {
      name: 'only',
      type: 'string',
      help: 'comma-separated contenders, alternating turns only (e.g. ours-wasm,pytorch)',
    },
    { name: 'rounds', type: 'int', min: 1, help: 'rounds of alternating turns (default 8)' },
    { name: 'sizes', type: 'string', help: 'comma-separated size labels (default all three)' },
  ],
};
const { flags } = parseBenchArgs(spec);
const only = (flags.only as string | undefined)?.split(',');
const rounds = (flags.rounds as number | undefined) ?? 8;

interface Size {
  label: string;
  batch: number;
  sizes: number[];
}

const allSizes: Size[] = [
  { label: 'b64-8-64-64-4', batch: 64, sizes: [8, 64, 64, 4] },
  { label: 'b256-12-200-200-9', batch: 256, sizes: [12, 200, 200, 9] },
  { label: 'b2048-8-64-64-4', batch: 2048, sizes: [8, 64, 64, 4] },
];
const sizeLabels = (flags.sizes as string | undefined)?.split(',');
for (const label of sizeLabels ?? []) {
  if (!allSizes.some((s) => s.label === label)) {
    console.error(`--sizes: unknown size '${label}'; expected ${allSizes.map((s) => s.label).join(', ')}`);
    process.exit(2);
  }
}
const sizes = allSizes.filter((s) => !sizeLabels || sizeLabels.includes(s.label));

/** Targets against each tfjs backend, per size label: ours must be at least this many times as fast. */
const required: Record<string, Record<string, number>> = {
  'b64-8-64-64-4': { 'tfjs-cpu': 5, 'tfjs-wasm': 2 },
  'b256-12-200-200-9': { 'tfjs-cpu': 5, 'tfjs-wasm': 1 },
  'b2048-8-64-64-4': { 'tfjs-cpu': 5, 'tfjs-wasm': 1 },
};

const heapSteps = 1000;
const contenders: Contender[] = nnContenders().filter((c) => !only || only.includes(c.name));
const ours = contenders.filter((c) => c.name.startsWith('ours-'));
const opsPerSec: Record<string, Record<string, number>> = {};
const heap: Record<string, Record<string, ReturnType<typeof measureHeap>>> = {};
const paired: Record<string, PairedTiming> = {};

/** How many times as fast `a` ran as `b` at `size`, from the alternating turns; undefined if one is absent. */
function speedRatio(size: string, a: string, b: string): number | undefined {
  const timing = paired[size];
  if (!timing?.rounds[a] || !timing.rounds[b]) return undefined;
  return pairedRatio(timing, a, b);
}

const loadBefore = loadavg();
await initTfjs();
await initJax();
const torch = !only || only.includes('pytorch') ? await TorchChild.start('nn-torch.py') : null;
/** What nn-torch.py chose per size (its faster Adam), and the times it measured choosing. */
const torchNotes: Record<string, unknown> = {};
for (const size of sizes) {
  const problem = makeProblem(size.batch, size.sizes);
  // Every contender starts from the same weights: check they agree on the first loss before timing them.
  const firstLoss: Record<string, number> = {};
  for (const c of contenders) {
    const step = c.prepare(problem);
    firstLoss[c.name] = step.run();
    step.dispose();
  }
  if (torch) {
    const { notes } = await torch.prepare({
      label: size.label,
      ...problem,
      x: Array.from(problem.x),
      y: Array.from(problem.y),
      weights: problem.weights.map((w) => Array.from(w)),
      biases: problem.biases.map((v) => Array.from(v)),
    });
    torchNotes[size.label] = notes;
    firstLoss.pytorch = (await torch.turn(size.label, 0)).loss;
  }
  console.log(`${size.label}: first loss ${JSON.stringify(firstLoss)}`);
  const reference = Object.values(firstLoss)[0]!;
  for (const [name, loss] of Object.entries(firstLoss)) {
    if (!(Math.abs(loss - reference) <= 1e-4 * Math.abs(reference))) {
      throw new Error(`${size.label}: ${name} computes a first loss of ${loss}, the others ${reference}`);
    }
  }
  const prepared: Record<string, TrainingStep> = {};
  if (only) for (const c of contenders) prepared[c.name] = c.prepare(problem);
  else
    await b.suite(
      `nn train step ${size.label}`,
      ...contenders.map((c) =>
        b.add(c.name, () => {
          const step = c.prepare(problem);
          prepared[c.name] = step;
          return () => step.run();
        }),
      ),
      b.cycle((result: { name: string; ops: number }) => {
        opsPerSec[result.name] ??= {};
        opsPerSec[result.name]![size.label] = result.ops;
        console.log(
          `  ${size.label.padEnd(18)} ${result.name.padEnd(12)} ${result.ops.toFixed(1).padStart(9)} steps/s`,
        );
      }),
      b.complete(),
      b.save({ file: `nn-train-${size.label}`, folder: resultsDir, format: 'json', details: false }),
    );
  const runs = Object.fromEntries(Object.entries(prepared).map(([name, step]) => [name, () => step.run()]));
  const turns: Record<string, Turn> = turnsOf(runs);
  if (torch) turns.pytorch = (turnMs) => torch.turn(size.label, turnMs);
  paired[size.label] = await pairedTiming(turns, rounds, 400);
  for (const [name, perSecond] of Object.entries(paired[size.label]!.perSecond)) {
    console.log(
      `  ${size.label.padEnd(18)} ${name.padEnd(12)} ${perSecond.toFixed(1).padStart(9)} steps/s (alternating turns)`,
    );
  }
  for (const step of Object.values(prepared)) step.dispose();
  for (const c of only ? [] : ours) {
    const step = c.prepare(problem);
    const report = measureHeap(() => step.run(), heapSteps);
    step.dispose();
    heap[c.name] ??= {};
    heap[c.name]![size.label] = report;
    console.log(
      `  ${size.label.padEnd(18)} ${c.name.padEnd(12)} over ${heapSteps} steps: heap ${report.retainedHeapBytes} B, ` +
        `array buffers ${report.retainedArrayBufferBytes} B retained; ~${report.allocatedBytesPerStep} B allocated per step`,
    );
  }
}

const targets: Target[] = [];
for (const c of ours) {
  for (const size of sizes) {
    for (const [rival, ratio] of Object.entries(required[size.label]!)) {
      const measured = speedRatio(size.label, c.name, rival);
      if (measured === undefined) continue;
      targets.push({ label: `${size.label}: ${c.name} / ${rival}`, measured, required: ratio });
    }
  }
}
// Issue 6: the WebAssembly kernels ahead of tfjs-wasm and jax-js at every size, 3x at batch 256 and 2048.
const wasmRequired: Record<string, number> = {
  'b64-8-64-64-4': 1,
  'b256-12-200-200-9': 3,
  'b2048-8-64-64-4': 3,
};
for (const size of ours.some((c) => c.name === 'ours-wasm') ? sizes : []) {
  for (const rival of ['tfjs-wasm', 'jax-js']) {
    const measured = speedRatio(size.label, 'ours-wasm', rival);
    if (measured === undefined) continue;
    targets.push({
      label: `issue 6, ${size.label}: ours-wasm / ${rival}`,
      measured,
      required: wasmRequired[size.label]!,
    });
  }
}
// Issue 16: our step at or below PyTorch's time (one thread each) at every size.
for (const size of sizes) {
  const measured = speedRatio(size.label, 'ours-wasm', 'pytorch');
  if (measured === undefined) continue;
  targets.push({ label: `issue 16, ${size.label}: ours-wasm / pytorch`, measured, required: 1 });
}
torch?.close();
/** Milliseconds per step (median of the alternating turns) and our time over PyTorch's, per size. */
const versusTorch = Object.fromEntries(
  sizes.flatMap((size) => {
    const speed = paired[size.label]?.perSecond;
    const ratio = speedRatio(size.label, 'pytorch', 'ours-wasm');
    if (!speed?.pytorch || !speed['ours-wasm'] || ratio === undefined) return [];
    // The same per CPU second of each process: the machine's other work left out.
    const cpu = pairedRatio(paired[size.label]!, 'pytorch', 'ours-wasm', true) ?? null;
    const row = {
      oursMs: 1000 / speed['ours-wasm'],
      torchMs: 1000 / speed.pytorch,
      oursOverTorch: ratio,
      oursOverTorchCpu: cpu,
    };
    console.log(
      `${size.label.padEnd(18)} ours-wasm ${row.oursMs.toFixed(3)} ms, pytorch ${row.torchMs.toFixed(3)} ms: ` +
        `ours / pytorch time ${ratio.toFixed(2)}x (CPU time ${cpu === null ? '-' : cpu.toFixed(2)}x)`,
    );
    return [[size.label, row]];
  }),
);
const met = printTargets(targets);
const file = saveResult(only ? 'nn-only' : 'nn', {
  machine: machineInfo(),
  // 1/5/15-minute load averages: the machine is shared, so figures taken under load are slower.
  loadAverage: { before: loadBefore, after: loadavg() },
  only: only ?? null,
  rounds,
  torch: torch ? { python: torch.python, blas: torch.blas, perSize: torchNotes } : TORCH_SKIPPED,
  versusTorch,
  sizes,
  // benny, each contender for seconds in turn; and the median of the alternating turns, which the targets use.
  stepsPerSec: opsPerSec,
  alternatingStepsPerSec: Object.fromEntries(Object.entries(paired).map(([size, t]) => [size, t.perSecond])),
  // Every round's steps per second, by the clock and per CPU second, per size and contender.
  alternatingRounds: Object.fromEntries(
    Object.entries(paired).map(([size, t]) => [size, { wall: t.rounds, cpu: t.cpuRounds }]),
  ),
  heap,
  targets,
  met,
});
console.log(`summary written to ${file}`);
