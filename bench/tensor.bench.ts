// `npm run bench -- tensor`: square float32 matmul, ours against TensorFlow.js cpu and wasm, one benny
// suite per size, all in one run. Results: bench/results/matmul-<n>.json (benny) and tensor.json (summary).
import b from 'benny';
import { gemmJs, Rng } from '../src/tensor/index.ts';
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
for (const n of sizes) {
  const a = rng.fillNormal(new Float32Array(n * n));
  const bm = rng.fillNormal(new Float32Array(n * n));
  const c = new Float32Array(n * n);
  await b.suite(
    `matmul ${n}x${n}`,
    b.add('ours-js', () => {
      gemmJs(false, false, n, n, n, a, 0, bm, 0, c, 0, false);
    }),
    tfjsCase('cpu', n, a, bm),
    tfjsCase('wasm', n, a, bm),
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

const ours = opsPerSec['ours-js']!;
const targets: Target[] = [
  {
    label: 'matmul 256: ours / tfjs-cpu',
    measured: ours[256]! / opsPerSec['tfjs-cpu']![256]!,
    required: 3.5,
  },
  { label: 'matmul 64: ours / tfjs-wasm', measured: ours[64]! / opsPerSec['tfjs-wasm']![64]!, required: 0.5 },
];
const met = printTargets(targets);
const gflops = Object.fromEntries(
  Object.entries(opsPerSec).map(([name, bySize]) => [
    name,
    Object.fromEntries(Object.entries(bySize).map(([n, ops]) => [n, (ops * 2 * Number(n) ** 3) / 1e9])),
  ]),
);
const file = saveResult('tensor', { machine: machineInfo(), opsPerSec, gflops, targets, met });
console.log(`summary written to ${file}`);
