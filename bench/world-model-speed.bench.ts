// `npm run bench -- world-model-speed [--quick] [--rounds n] [--turn-ms ms]`: the world-model workloads of issue 11, ours against
// PyTorch on one thread (bench/world-model-torch.py, run by /usr/bin/python3 or python3 where one of them
// can import torch; skipped, with a note, otherwise):
// - ensemble-forward: ProbabilisticEnsemble (7 members, [12, 200, 200, 200, 200, 18], SiLU, soft-bounded
//   log-variance) forward without gradients at B = 1024 rows per member, as the model env imagines steps;
// - ensemble-train: one training step of the same model at B = 256 per member (Gaussian NLL + the PETS
//   bounds penalty, backward, Adam);
// - gru-train: one training step of a GRU (T = 16, N = 256, input 12, hidden 200) with a linear head
//   (MSE, backward, Adam).
// Ours and PyTorch (torch-child.ts) take short turns, round after round (bench/paired.ts), and the ratios
// are medians of per-round ratios. Two reference cases of ours show where the ensemble stands against the plain gemm:
// ensemble-body-forward (the EnsembleMLP alone) and mlp-forward (one MLP of the same sizes over all
// 7 x 1024 rows). Results: bench/results/world-model-speed.json (not with --quick, a smoke run).
import { loadavg } from 'node:os';
import {
  Adam,
  EnsembleMLP,
  GRU,
  gaussianNll,
  Linear,
  MLP,
  mse,
  ProbabilisticEnsemble,
} from '../src/nn/index.ts';
import { kernels, noGrad, Rng, type Tensor, tensor, tidy } from '../src/tensor/index.ts';
import { pairedTiming, type Turn, turnsOf } from './paired.ts';
import { machineInfo, median, parseBenchArgs, saveResult } from './report.ts';
import { TORCH_SKIPPED, TorchChild } from './torch-child.ts';

const { flags } = parseBenchArgs({
  command: 'bench world-model-speed',
  positionals: '',
  minPositionals: 0,
  maxPositionals: 0,
  flags: [
    { name: 'quick', type: 'boolean', help: 'a smoke run: 2 rounds of 100 ms turns, nothing saved' },
    { name: 'rounds', type: 'int', min: 1, help: 'rounds of alternating turns (default 8)' },
    { name: 'turn-ms', type: 'int', min: 1, help: 'milliseconds per turn (default 400)' },
  ],
});
const quick = flags.quick === true;
const rounds = (flags.rounds as number | undefined) ?? (quick ? 2 : 8);
const turnMs = (flags['turn-ms'] as number | undefined) ?? (quick ? 100 : 400);

const members = 7;
const ensembleSizes = [12, 200, 200, 200, 200, 18];
const forwardBatch = 1024;
const trainBatch = 256;
const gruShape = { steps: 16, batch: 256, input: 12, hidden: 200, output: 12 };

/** Floating-point operations of one forward of the ensemble's matmuls (2 per multiply-add). */
function ensembleFlops(rows: number): number {
  const sizes = [...ensembleSizes.slice(0, -1), 2 * ensembleSizes[ensembleSizes.length - 1]!];
  let macs = 0;
  for (let i = 0; i + 1 < sizes.length; i++) macs += sizes[i]! * sizes[i + 1]!;
  return 2 * members * rows * macs;
}

// ---- ours ----

function oursCases(): Record<string, () => number> {
  const rng = new Rng(0);
  const model = new ProbabilisticEnsemble(members, ensembleSizes, { rng });
  const inF = ensembleSizes[0]!;
  const outF = ensembleSizes[ensembleSizes.length - 1]!;
  const xForward = tensor(rng.fillNormal(new Float32Array(members * forwardBatch * inF)), [
    members,
    forwardBatch,
    inF,
  ]);
  const xTrain = tensor(rng.fillNormal(new Float32Array(members * trainBatch * inF)), [
    members,
    trainBatch,
    inF,
  ]);
  const yTrain = tensor(rng.fillNormal(new Float32Array(members * trainBatch * outF)), [
    members,
    trainBatch,
    outF,
  ]);
  const ensembleAdam = new Adam(model.parameters(), { lr: 1e-3 });

  const body = new EnsembleMLP(members, [...ensembleSizes.slice(0, -1), 2 * outF], { rng });
  const mlp = new MLP([...ensembleSizes.slice(0, -1), 2 * outF], { rng, activation: 'silu' });
  const xFlat = xForward.reshape(members * forwardBatch, inF);

  const g = gruShape;
  const gru = new GRU(g.input, g.hidden, { rng });
  const head = new Linear(g.hidden, g.output, { rng });
  const gruAdam = new Adam([...gru.parameters(), ...head.parameters()], { lr: 1e-3 });
  const xSeq = tensor(rng.fillNormal(new Float32Array(g.steps * g.batch * g.input)), [
    g.steps,
    g.batch,
    g.input,
  ]);
  const ySeq = tensor(rng.fillNormal(new Float32Array(g.steps * g.batch * g.output)), [
    g.steps,
    g.batch,
    g.output,
  ]);

  return {
    'ensemble-forward': () =>
      noGrad(() =>
        tidy(() => {
          const { mean, logVar } = model.forward(xForward);
          return mean.data[0]! + logVar.data[0]!;
        }),
      ),
    'ensemble-train': () =>
      tidy(() => {
        ensembleAdam.zeroGrad();
        const { mean, logVar } = model.forward(xTrain);
        const loss: Tensor = gaussianNll(mean, logVar, yTrain).add(model.boundsPenalty(0.01));
        loss.backward();
        ensembleAdam.step();
        return loss.item();
      }),
    'gru-train': () =>
      tidy(() => {
        gruAdam.zeroGrad();
        const loss = mse(head.forward(gru.forward(xSeq).output), ySeq);
        loss.backward();
        gruAdam.step();
        return loss.item();
      }),
    'ensemble-body-forward': () => noGrad(() => tidy(() => body.forward(xForward).data[0]!)),
    'mlp-forward': () => noGrad(() => tidy(() => mlp.forward(xFlat).data[0]!)),
  };
}

// ---- the run ----

const loadBefore = loadavg();
const ours = oursCases();
const torchCases = new Set(['ensemble-forward', 'ensemble-train', 'gru-train']);
const torch = await TorchChild.start('world-model-torch.py');
if (torch) {
  await torch.prepare({
    members,
    ensemble_sizes: ensembleSizes,
    forward_batch: forwardBatch,
    train_batch: trainBatch,
    gru: gruShape,
  });
}
console.log(`ours: kernels '${kernels().name}', ${rounds} rounds of ${turnMs} ms turns`);

/** Milliseconds per call in every round, per case and contender, by the clock and by CPU time. */
const msPerCall: Record<string, { ours: number[]; torch: number[] }> = {};
const cpuMsPerCall: Record<string, { ours: number[]; torch: number[] }> = {};
for (const [name, run] of Object.entries(ours)) {
  for (let i = 0; i < 3; i++) run(); // warm up: compile, fill the pool
  const turns: Record<string, Turn> = turnsOf({ ours: run });
  if (torch && torchCases.has(name)) {
    await torch.turn(name, 100);
    turns.torch = (ms) => torch.turn(name, ms);
  }
  const timing = await pairedTiming(turns, rounds, turnMs);
  const perCall = (perSecond: number[] | undefined): number[] => (perSecond ?? []).map((v) => 1000 / v);
  msPerCall[name] = { ours: perCall(timing.rounds.ours), torch: perCall(timing.rounds.torch) };
  cpuMsPerCall[name] = { ours: perCall(timing.cpuRounds.ours), torch: perCall(timing.cpuRounds.torch) };
}
torch?.close();

interface CaseResult {
  oursMs: number;
  torchMs: number | null;
  /** Median over rounds of our time / PyTorch's time in the same round. */
  ratio: number | null;
  /** The same by each process's CPU time (the machine's other work left out). */
  cpuRatio: number | null;
}
/** Median over rounds of ours / torch in the same round; null without PyTorch. */
const roundRatio = (t: { ours: number[]; torch: number[] }): number | null =>
  t.torch.length > 0 && t.torch.length === t.ours.length
    ? median(t.ours.map((v, i) => v / t.torch[i]!))
    : null;
const results: Record<string, CaseResult> = {};
for (const [name, t] of Object.entries(msPerCall)) {
  const ratio = roundRatio(t);
  const cpuRatio = roundRatio(cpuMsPerCall[name]!);
  const torchMs = t.torch.length > 0 ? median(t.torch) : null;
  results[name] = { oursMs: median(t.ours), torchMs, ratio, cpuRatio };
  const torchText = results[name]!.torchMs === null ? '' : `  torch ${results[name]!.torchMs!.toFixed(2)} ms`;
  const ratioText =
    ratio === null ? '' : `  ours/torch ${ratio.toFixed(2)}x (CPU time ${cpuRatio?.toFixed(2) ?? '-'}x)`;
  console.log(
    `${name.padEnd(22)} ours ${results[name]!.oursMs.toFixed(2).padStart(7)} ms${torchText}${ratioText}`,
  );
}
const gflops = (name: string): number => ensembleFlops(forwardBatch) / (results[name]!.oursMs * 1e6);
console.log(
  `matmul GFLOP/s at B = ${forwardBatch}: ensemble-forward ${gflops('ensemble-forward').toFixed(1)}, ` +
    `ensemble-body-forward ${gflops('ensemble-body-forward').toFixed(1)}, mlp-forward ${gflops('mlp-forward').toFixed(1)}`,
);

interface Check {
  label: string;
  measured: number;
  limit: number;
  met: boolean;
}
const checks: Check[] = [];
for (const name of ['ensemble-train', 'gru-train']) {
  const ratio = results[name]!.ratio;
  if (ratio !== null) {
    checks.push({ label: `${name}: ours / PyTorch time (<= 2)`, measured: ratio, limit: 2, met: ratio <= 2 });
  }
}
const forwardMs = results['ensemble-forward']!.oursMs;
const imaginedPerSec = (1000 * forwardBatch) / forwardMs;
checks.push({ label: 'ensemble-forward ms (aim < 25)', measured: forwardMs, limit: 25, met: forwardMs < 25 });
checks.push({
  label: `imagined steps/s at N = ${forwardBatch}, forward alone (>= 20000)`,
  measured: imaginedPerSec,
  limit: 20000,
  met: imaginedPerSec >= 20000,
});
for (const c of checks) {
  console.log(`${c.met ? 'MET ' : 'MISS'}  ${c.label}: ${c.measured.toFixed(2)}`);
}
// Issue 11 recorded PyTorch's training steps on this machine when it was quieter: ours against those too.
const recorded: Record<string, number> = { 'ensemble-train': 20.6, 'gru-train': 39 };
for (const [name, ms] of Object.entries(recorded)) {
  const ratio = results[name]!.oursMs / ms;
  console.log(`info  ${name}: ours / issue 11's PyTorch time (${ms} ms) ${ratio.toFixed(2)}x`);
}
if (quick) {
  console.log('--quick: a smoke run, nothing saved');
  process.exit(0);
}
const file = saveResult('world-model-speed', {
  machine: machineInfo(),
  loadAverage: { before: loadBefore, after: loadavg() },
  kernels: kernels().name,
  torch: torch ? { python: torch.python, blas: torch.blas } : TORCH_SKIPPED,
  problem: { members, ensembleSizes, forwardBatch, trainBatch, gru: gruShape },
  rounds,
  turnMs,
  results,
  msPerCallByRound: msPerCall,
  cpuMsPerCallByRound: cpuMsPerCall,
  checks,
  issuePyTorchMs: recorded,
});
console.log(`summary written to ${file}`);
