// The gpu.js backend against the CPU kernels, for real, through headless-gl. Where no GL context exists
// (gpu.js or its `gl` addon not built, or no X display) the GPU tests are skipped and say why.
//
// Tolerances. The GPU computes in GLSL float32, the CPU kernels accumulate in float64 and round once, and
// GLSL is not IEEE exact: the GLSL ES spec lets a*b+c fuse, leaves rounding mode and NaN handling open,
// flushes denormals, and gives exp/log/pow error bounds in ULPs (GLSL ES 3.00 §4.5.1), while a shader's
// sums run in their own order. So:
// - sums and dot products of k terms: |gpu - cpu| <= γ_k·Σ|x_i·y_i| + u·|cpu| with u = 2^-24 and
//   γ_k = k·u/(1 - k·u), the float32 error bound of a k-term dot product in any order (Higham, "Accuracy
//   and Stability of Numerical Algorithms", 2nd ed., eq. 3.5);
// - maps: |gpu - cpu| <= 2e-6 + 2e-6·|cpu| (about 16 ULP, as the spec's exp bound (3 + 2|x|) ULP gives
//   for |x| <= 6; the absolute part covers flushed denormals and results near zero, e.g. log(x) at x ≈ 1).
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Adam, MLP } from '../src/nn/index.ts';
import { probeGpu } from '../src/tensor/gpu/gpu-context.ts';
import { GpuKernels } from '../src/tensor/gpu/gpu-kernels.ts';
import {
  activeBackend,
  type BinaryOp,
  gpuBackendStats,
  matmul,
  Rng,
  setBackend,
  Tensor,
  tensor,
  tidy,
  type UnaryOp,
} from '../src/tensor/index.ts';
import { binaryForward, unaryForward } from '../src/tensor/kernels/elementwise.ts';
import { gemmJs } from '../src/tensor/kernels/matmul.ts';
import { maxAxis, softmaxAxis, sumAxis } from '../src/tensor/kernels/reduce.ts';

const probe = await probeGpu();
const noGl = !probe.ok;
const skipNote = probe.ok ? '' : ` [skipped: ${probe.reason}]`;
if (!probe.ok) console.log(`gpu-kernels: GPU tests skipped: ${probe.reason}`);

const U = 2 ** -24;
const gamma = (k: number): number => (k * U) / (1 - k * U);

function randomArray(rng: Rng, size: number, low = -1, high = 1): Float32Array {
  return rng.fillUniform(new Float32Array(size), low, high);
}

/** Largest |got - want| - allowed over all entries; <= 0 means every entry is within its bound. */
function worstExcess(got: Float32Array, want: Float32Array, allowed: (i: number) => number): number {
  expect(got.length).toBe(want.length);
  let worst = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < want.length; i++) {
    const excess = Math.abs(got[i]! - want[i]!) - allowed(i);
    worst = Math.max(worst, Number.isNaN(excess) ? Number.POSITIVE_INFINITY : excess);
  }
  return worst;
}

describe('setBackend', () => {
  afterEach(async () => {
    await setBackend('cpu');
  });

  // CI sets ENGINE_REQUIRE_GL=1 once it has installed gl's libraries and started Xvfb, so that a GL
  // regression (or an addon npm quietly failed to build) fails there instead of skipping.
  it.runIf(process.env.ENGINE_REQUIRE_GL === '1')('a GL context exists where CI requires one', () => {
    expect(probe.ok ? '' : probe.reason).toBe('');
  });

  it('rejects an unknown backend and a negative threshold, naming the value', async () => {
    await expect(setBackend('tpu' as 'cpu')).rejects.toThrow(/unknown backend 'tpu'.*'cpu', 'gpu' or 'auto'/);
    await expect(setBackend('gpu', { threshold: -1 })).rejects.toThrow(/threshold -1/);
  });

  it.skipIf(!noGl)(
    'without a GL context: auto stays on the CPU and says why; gpu throws the reason',
    async () => {
      const choice = await setBackend('auto');
      expect(choice.backend).toBe('cpu');
      expect(choice.reason).toMatch(/gpu\.js/);
      expect(activeBackend()).toBe('cpu');
      await expect(setBackend('gpu')).rejects.toThrow(/setBackend\('gpu'\): gpu\.js/);
    },
  );

  it.skipIf(noGl)(
    `with a GL context: gpu takes it; auto takes it unless it is software GL${skipNote}`,
    async () => {
      const forced = await setBackend('gpu');
      expect(forced.backend).toBe('gpu');
      expect(forced.reason).toMatch(/headlessgl|webgl/);
      expect(activeBackend()).toBe('gpu');
      const auto = await setBackend('auto');
      const software = probe.ok && probe.software;
      expect(auto.backend).toBe(software ? 'cpu' : 'gpu');
      if (software) expect(auto.reason).toMatch(/software rendering/);
      await setBackend('cpu');
      expect(activeBackend()).toBe('cpu');
    },
  );
});

describe.skipIf(noGl)(`gpu.js kernels agree with the CPU kernels${skipNote}`, () => {
  let gpu: GpuKernels;
  beforeAll(() => {
    if (probe.ok) gpu = new GpuKernels(probe.gpu);
  });

  // Sizes that are not multiples of a texture tile or of the CPU kernel's 4x4 register block.
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [7, 33, 130],
    [130, 7, 33],
    [33, 130, 7],
    [130, 130, 130],
  ];
  const forms: [boolean, boolean][] = [
    [false, false],
    [false, true],
    [true, false],
  ];
  for (const [m, n, k] of shapes) {
    it(`gemm ${m}x${n}x${k}, plain, A·Bᵀ and Aᵀ·B, at offsets, set and accumulate`, () => {
      const rng = new Rng(m * 10007 + n * 101 + k);
      for (const [transA, transB] of forms) {
        const a = randomArray(rng, m * k + 3);
        const b = randomArray(rng, k * n + 5);
        for (const accumulate of [false, true]) {
          const start = randomArray(rng, m * n + 2);
          const got = start.slice();
          const want = start.slice();
          gpu.gemm(transA, transB, m, n, k, a, 3, b, 5, got, 2, accumulate);
          gemmJs(transA, transB, m, n, k, a, 3, b, 5, want, 2, accumulate);
          // Σ_p |A(i,p)·B(p,j)| for the bound; |a|, |b| <= 1, so k bounds it, plus the start value.
          const excess = worstExcess(
            got,
            want,
            (i) => gamma(k + 1) * (k + Math.abs(start[i]!)) + U * Math.abs(want[i]!),
          );
          expect(excess, `transA=${transA} transB=${transB} accumulate=${accumulate}`).toBeLessThanOrEqual(0);
        }
      }
    });
  }

  const size = 2 ** 17 + 3;
  it(`every unary map on ${size} elements`, () => {
    const rng = new Rng(1);
    const wide = randomArray(rng, size, -30, 30);
    const positive = randomArray(rng, size, 1e-3, 30);
    const moderate = randomArray(rng, size, -6, 6);
    const ops: [UnaryOp, Float32Array][] = [
      ['neg', wide],
      ['sqrt', positive],
      ['square', wide],
      ['exp', moderate],
      ['log', positive],
      ['tanh', wide],
      ['sigmoid', wide],
      ['relu', wide],
      ['softplus', wide],
      ['abs', wide],
    ];
    for (const [op, x] of ops) {
      const got = new Float32Array(size);
      const want = new Float32Array(size);
      gpu.unary(op, x, got);
      unaryForward(op, x, want);
      expect(
        worstExcess(got, want, (i) => 2e-6 + 2e-6 * Math.abs(want[i]!)),
        op,
      ).toBeLessThanOrEqual(0);
    }
  });

  it(`binary maps on ${size} elements`, () => {
    const rng = new Rng(2);
    const a = randomArray(rng, size, -10, 10);
    const b = randomArray(rng, size, 0.5, 10);
    for (const op of ['add', 'sub', 'mul', 'div', 'minimum', 'maximum'] as BinaryOp[]) {
      const got = new Float32Array(size);
      const want = new Float32Array(size);
      gpu.binary(op, a, b, got);
      binaryForward(op, a, b, want, null, null);
      expect(
        worstExcess(got, want, (i) => 2e-6 * Math.abs(want[i]!)),
        op,
      ).toBeLessThanOrEqual(0);
    }
  });

  it('row sums, means, maxima and softmax / log-softmax over 301 rows of 517', () => {
    const rows = 301;
    const len = 517;
    const x = randomArray(new Rng(3), rows * len, -5, 5);
    for (const scale of [1, 1 / len]) {
      const got = new Float32Array(rows);
      const want = new Float32Array(rows);
      gpu.sumRows(x, rows, len, scale, got);
      sumAxis(x, rows, len, 1, scale, want);
      // |x| <= 5, so Σ|x| <= 5·len.
      const bound = (i: number): number => scale * gamma(len) * 5 * len + 2 * U * Math.abs(want[i]!);
      expect(worstExcess(got, want, bound), `scale ${scale}`).toBeLessThanOrEqual(0);
    }
    const gotMax = new Float32Array(rows);
    const wantMax = new Float32Array(rows);
    const gotArg = new Int32Array(rows);
    const wantArg = new Int32Array(rows);
    gpu.maxRows(x, rows, len, gotMax, gotArg);
    maxAxis(x, rows, len, 1, wantMax, wantArg);
    expect(Array.from(gotArg)).toEqual(Array.from(wantArg));
    expect(Array.from(gotMax)).toEqual(Array.from(wantMax));
    for (const log of [false, true]) {
      const got = new Float32Array(rows * len);
      const want = new Float32Array(rows * len);
      gpu.softmaxRows(x, rows, len, got, log);
      softmaxAxis(x, rows, len, 1, want, log);
      // log-sum-exp of len terms: its error is relative to itself (|lse| <= 5 + log len), then one map.
      const bound = (i: number): number => (log ? 1e-5 : 1e-5 * Math.abs(want[i]!) + 1e-7);
      expect(worstExcess(got, want, bound), log ? 'logSoftmax' : 'softmax').toBeLessThanOrEqual(0);
    }
  });
});

describe.skipIf(noGl)(`the gpu backend behind the tensor ops${skipNote}`, () => {
  afterEach(async () => {
    await setBackend('cpu');
  });

  it('sends calls at or above the threshold to the GPU and smaller ones to the CPU', async () => {
    const rng = new Rng(4);
    await setBackend('gpu', { threshold: 40 * 50 * 60 });
    const x = new Tensor(randomArray(rng, 40 * 50), [40, 50]);
    const w = new Tensor(randomArray(rng, 50 * 60), [50, 60]);
    const small = new Tensor(randomArray(rng, 4 * 50), [4, 50]);
    const before = gpuBackendStats();
    matmul(x, w);
    const afterBig = gpuBackendStats();
    expect(afterBig.gpuCalls - before.gpuCalls).toBe(1);
    matmul(small, w);
    const afterSmall = gpuBackendStats();
    expect(afterSmall.gpuCalls).toBe(afterBig.gpuCalls);
    expect(afterSmall.cpuCalls - afterBig.cpuCalls).toBe(1);
  });

  it('matmul forward and backward (2-D, batched, shared B) match the CPU through the ops', async () => {
    const run = (): Float32Array[] => {
      const rng = new Rng(5);
      const param = (shape: number[]): Tensor =>
        new Tensor(
          randomArray(
            rng,
            shape.reduce((p, d) => p * d, 1),
          ),
          shape,
        ).setRequiresGrad();
      const cases: [Tensor, Tensor][] = [
        [param([37, 33]), param([33, 9])],
        [param([5, 7, 33]), param([5, 33, 9])],
        [param([5, 7, 33]), param([33, 9])],
      ];
      const results: Float32Array[] = [];
      for (const [a, b] of cases) {
        const out = matmul(a, b);
        out.square().sum().backward();
        results.push(out.data.slice(), a.grad!.data.slice(), b.grad!.data.slice());
      }
      return results;
    };
    const cpu = run();
    await setBackend('gpu', { threshold: 0 });
    const gpu = run();
    for (let r = 0; r < cpu.length; r++) {
      // k <= 37 terms of size <= 1 (forward) or <= 33 (gradients): γ_37 · 37 · 33 bounds every entry.
      expect(
        worstExcess(gpu[r]!, cpu[r]!, () => gamma(37) * 37 * 33),
        `result ${r}`,
      ).toBeLessThanOrEqual(0);
    }
  });

  it('a small MLP trained 30 Adam steps has the same loss curve on CPU and GPU', async () => {
    const curve = (): number[] => {
      const rng = new Rng(7);
      const model = new MLP([12, 48, 48, 3], { rng, activation: 'tanh' });
      const optimizer = new Adam(model.parameters(), { lr: 3e-3 });
      const inputs = randomArray(rng, 96 * 12);
      const targets = randomArray(rng, 96 * 3);
      const losses: number[] = [];
      for (let step = 0; step < 30; step++) {
        losses.push(
          tidy(() => {
            optimizer.zeroGrad();
            const x = tensor(inputs).reshape(96, 12);
            const y = tensor(targets).reshape(96, 3);
            // Built from ops (sub, square, mean) so the maps and the row reduction take the GPU too.
            const loss: Tensor = model.forward(x).sub(y).square().mean(1).mean();
            loss.backward();
            optimizer.step();
            return loss.item();
          }),
        );
      }
      return losses;
    };
    const cpu = curve();
    await setBackend('gpu', { threshold: 0 });
    const before = gpuBackendStats().gpuCalls;
    const gpu = curve();
    expect(gpuBackendStats().gpuCalls - before).toBeGreaterThan(30 * 6);
    expect(cpu[29]!).toBeLessThan(0.8 * cpu[0]!); // it does learn
    for (let i = 0; i < cpu.length; i++) {
      // Rounding differences of ~1e-7 per step grow slowly through 30 Adam steps (measured: 4e-7 relative
      // at most, on both the js and wasm CPU sets); a wrong kernel (a missed transpose, a lost accumulate)
      // is off by far more.
      expect(Math.abs(gpu[i]! - cpu[i]!), `step ${i}`).toBeLessThanOrEqual(1e-5 * cpu[i]!);
    }
  });
});
