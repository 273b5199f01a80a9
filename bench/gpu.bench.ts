// `npm run bench -- gpu`: square float32 matmul on the CPU kernels against gpu.js on headless-gl, 64 to
// 1024 in one run, one benny suite per size, and the smallest size where the GPU wins (if any). A third
// case times a 1-element-per-thread map over the same n·n floats: upload, draw and read-back alone, the
// floor under every GPU call. Without an X display the bench starts its own Xvfb (as CI does).
// Results: bench/results/gpu-matmul-<n>.json (benny) and gpu.json (summary).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import b from 'benny';
import { probeGpu } from '../src/tensor/gpu/gpu-context.ts';
import { GpuKernels } from '../src/tensor/gpu/gpu-kernels.ts';
import { kernels, Rng } from '../src/tensor/index.ts';
import { machineInfo, resultsDir, saveResult } from './report.ts';

const sizes = [64, 128, 256, 512, 1024];

/** Starts Xvfb on a free display when none is set, so headless-gl has a GL context to draw in. */
function ensureDisplay(): ChildProcess | null {
  if (process.env.DISPLAY || spawnSync('sh', ['-c', 'command -v Xvfb']).status !== 0) return null;
  for (let n = 99; n < 120; n++) {
    if (existsSync(`/tmp/.X${n}-lock`)) continue;
    const xvfb = spawn('Xvfb', [`:${n}`, '-screen', '0', '1024x768x24', '-nolisten', 'tcp'], {
      stdio: 'ignore',
    });
    const deadline = Date.now() + 5000;
    while (!existsSync(`/tmp/.X11-unix/X${n}`) && Date.now() < deadline) spawnSync('sleep', ['0.1']);
    process.env.DISPLAY = `:${n}`;
    process.on('exit', () => xvfb.kill());
    return xvfb;
  }
  return null;
}

ensureDisplay();
const probe = await probeGpu();
if (!probe.ok) {
  console.log(`gpu bench: no GL context, nothing to compare: ${probe.reason}`);
  saveResult('gpu', { machine: machineInfo(), gpu: null, reason: probe.reason });
  process.exit(0);
}
console.log(`gpu.js ${probe.mode} on ${probe.renderer}`);
const cpu = kernels();
const gpu = new GpuKernels(probe.gpu);
const rng = new Rng(0);
const opsPerSec: Record<string, Record<number, number>> = {};
const firstCallMs: Record<number, number> = {};
const maxAbsDiff: Record<number, number> = {};
const cpuName = `cpu-${cpu.name}`;
// A 1024 product takes seconds on software GL; a few samples per case keep the whole run to minutes.
const caseOptions = { minSamples: 3, maxTime: 3 };

for (const n of sizes) {
  const a = rng.fillNormal(new Float32Array(n * n));
  const bm = rng.fillNormal(new Float32Array(n * n));
  const cCpu = new Float32Array(n * n);
  const cGpu = new Float32Array(n * n);
  const mapped = new Float32Array(n * n);
  // The first call compiles the shader (timed apart, with its one run) and checks the answer before timing.
  const t0 = performance.now();
  gpu.gemm(false, false, n, n, n, a, 0, bm, 0, cGpu, 0, false);
  firstCallMs[n] = performance.now() - t0;
  gpu.unary('neg', a, mapped);
  cpu.gemm(false, false, n, n, n, a, 0, bm, 0, cCpu, 0, false);
  maxAbsDiff[n] = cGpu.reduce((worst, v, i) => Math.max(worst, Math.abs(v - cCpu[i]!)), 0);
  await b.suite(
    `matmul ${n}x${n}`,
    b.add(
      cpuName,
      () => {
        cpu.gemm(false, false, n, n, n, a, 0, bm, 0, cCpu, 0, false);
      },
      caseOptions,
    ),
    b.add('gpu.js', () => gpu.gemm(false, false, n, n, n, a, 0, bm, 0, cGpu, 0, false), caseOptions),
    b.add('gpu.js map (transfer floor)', () => gpu.unary('neg', a, mapped), caseOptions),
    b.cycle((result: { name: string; ops: number }) => {
      opsPerSec[result.name] ??= {};
      opsPerSec[result.name]![n] = result.ops;
      const gflops = result.name.includes('map')
        ? ''
        : `${((result.ops * 2 * n ** 3) / 1e9).toFixed(2)} GFLOP/s`;
      console.log(`  ${n}  ${result.name.padEnd(28)} ${result.ops.toFixed(2).padStart(10)} ops/s  ${gflops}`);
    }),
    b.complete(),
    b.save({ file: `gpu-matmul-${n}`, folder: resultsDir, format: 'json', details: false }),
  );
}

const gpuWinsAt = sizes.find((n) => opsPerSec['gpu.js']![n]! > opsPerSec[cpuName]![n]!) ?? null;
const ratio = Object.fromEntries(sizes.map((n) => [n, opsPerSec['gpu.js']![n]! / opsPerSec[cpuName]![n]!]));
console.log(`gpu / cpu speed by size: ${sizes.map((n) => `${n}: ${ratio[n]!.toFixed(2)}x`).join(', ')}`);
console.log(
  `first GPU call (compile + one run) ms: ${sizes.map((n) => `${n}: ${firstCallMs[n]!.toFixed(0)}`).join(', ')}`,
);
console.log(
  `max |gpu - cpu| in C: ${sizes.map((n) => `${n}: ${maxAbsDiff[n]!.toExponential(1)}`).join(', ')}`,
);
console.log(
  gpuWinsAt === null
    ? `the GPU does not win at any size up to ${sizes.at(-1)} on this renderer`
    : `the GPU starts to win at ${gpuWinsAt}x${gpuWinsAt}`,
);
const file = saveResult('gpu', {
  machine: machineInfo(),
  gpu: { mode: probe.mode, renderer: probe.renderer },
  cpuKernels: cpu.name,
  opsPerSec,
  gpuOverCpu: ratio,
  firstCallMs,
  maxAbsDiff,
  gpuWinsAt,
});
console.log(`summary written to ${file}`);
process.exit(0);
