// `npm run bench -- tensor`: square float32 matmul, ours (plain JS and WebAssembly SIMD kernels) against
// TensorFlow.js cpu and wasm and jax-js, one benny suite per size, all in one run.
// Results: bench/results/matmul-<n>.json (benny) and tensor.json (summary).
import b from 'benny';
import { gemmJs, Rng, wasmKernels } from '../src/tensor/index.ts';
import { initJax, jaxMatmul } from './jax-contenders.ts';
import { machineInfo, printTargets, resultsDir, saveResult, type Target } from './report.ts';
import { initTfjs, switchTfjsBackend, type TfjsBackend, tf } from './tfjs.ts';

const sizes = [64, 256, 512];
const rng = new Rng(0);
const opsPerSec: Record<string, Record<number, number>> = {};

function record(name: string, size: number, ops: number): void {
  opsPerSec[name] ??= {};
  opsPerSec[name][size] = ops;
}

function tfjsCase(backend: TfjsBackend, n: number, a: Float32Array, bm: Float32Array) {
  // benny may prepare every case before running any, so each case switches to its backend itself.
  switchTfjsBackend(backend);
  const ta = tf.tensor2d(a, [n, n]);
  const tb = tf.tensor2d(bm, [n, n]);
  return b.add(`tfjs-${backend}`, () => {
    return () => {
      switchTfjsBackend(backend);
      const c = tf.matMul(ta, tb);
      c.dataSync();
      c.dispose();
    };
  });
}

await initTfjs();
await initJax();
const wasm = wasmKernels();
for (const n of sizes) {
  const a = rng.fillNormal(new Float32Array(n * n));
  const bm = rng.fillNormal(new Float32Array(n * n));
  const c = new Float32Array(n * n);
  await b.suite(
    `matmul ${n}x${n}`,
    b.add('ours-js', () => {
      gemmJs(false, false, n, n, n, a, 0, bm, 0, c, 0, false);
    }),
    ...(wasm
      ? [
          b.add('ours-wasm', () => {
            wasm.gemm(false, false, n, n, n, a, 0, bm, 0, c, 0, false);
          }),
        ]
      : []),
    tfjsCase('cpu', n, a, bm),
    tfjsCase('wasm', n, a, bm),
    b.add('jax-js', () => {
      const jax = jaxMatmul(n, a, bm, false);
      return () => jax.run();
    }),
    b.add('jax-js-jit', () => {
      const jax = jaxMatmul(n, a, bm, true);
      return () => jax.run();
    }),
    b.cycle((result: { name: string; ops: number }) => {
      record(result.name, n, result.ops);
      const gflops = (result.ops * 2 * n ** 3) / 1e9;
      console.log(
        `  ${n}  ${result.name.padEnd(10)} ${result.ops.toFixed(1).padStart(10)} ops/s  ${gflops.toFixed(2)} GFLOP/s`,
      );
    }),
    b.complete(),
    b.save({ file: `matmul-${n}`, folder: resultsDir, format: 'json', details: false }),
  );
}

// Issue 2's targets hold for the engine's default kernels: WebAssembly where the runtime has it.
const ours = opsPerSec[wasm ? 'ours-wasm' : 'ours-js']!;
const targets: Target[] = [
  {
    label: 'matmul 256: ours / tfjs-cpu',
    measured: ours[256]! / opsPerSec['tfjs-cpu']![256]!,
    required: 3.5,
  },
  { label: 'matmul 64: ours / tfjs-wasm', measured: ours[64]! / opsPerSec['tfjs-wasm']![64]!, required: 0.5 },
];
// Issue 6: the WebAssembly kernels at least 25 GFLOP/s at 256 and ahead of tfjs-wasm and jax-js at every size.
if (wasm) {
  const oursWasm = opsPerSec['ours-wasm']!;
  targets.push({
    label: 'matmul 256: ours-wasm GFLOP/s',
    measured: (oursWasm[256]! * 2 * 256 ** 3) / 1e9,
    required: 25,
  });
  for (const n of sizes) {
    // jax-js counts at its faster form (eager or jit) at each size.
    const jax = Math.max(opsPerSec['jax-js']![n]!, opsPerSec['jax-js-jit']![n]!);
    for (const [rival, ops] of [
      ['tfjs-wasm', opsPerSec['tfjs-wasm']![n]!] as const,
      ['jax-js', jax] as const,
    ]) {
      targets.push({ label: `matmul ${n}: ours-wasm / ${rival}`, measured: oursWasm[n]! / ops, required: 1 });
    }
  }
}
const met = printTargets(targets);
const gflops = Object.fromEntries(
  Object.entries(opsPerSec).map(([name, bySize]) => [
    name,
    Object.fromEntries(Object.entries(bySize).map(([n, ops]) => [n, (ops * 2 * Number(n) ** 3) / 1e9])),
  ]),
);
const file = saveResult('tensor', { machine: machineInfo(), opsPerSec, gflops, targets, met });
console.log(`summary written to ${file}`);
