// Every WebAssembly kernel against its JavaScript twin on random shapes (1, odd and prime sizes included).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type Activation,
  EnsembleMLP,
  ensembleLinear,
  GRU,
  Linear,
  linear,
  ProbabilisticEnsemble,
} from '../src/nn/index.ts';
import {
  adamJs,
  type BinaryOp,
  boundLogVarJs,
  columnSumJs,
  gaussianNllJs,
  gemmBatchedJs,
  gemmJs,
  gruGatesJs,
  jsKernels,
  type KernelSet,
  kernels,
  noGrad,
  Rng,
  setKernels,
  type Tensor,
  tensor,
  type UnaryOp,
  useKernels,
  wasmKernels,
} from '../src/tensor/index.ts';
import {
  binaryBackward,
  binaryForward,
  unaryBackward,
  unaryForward,
} from '../src/tensor/kernels/elementwise.ts';
import { relaxedSimd } from '../src/tensor/wasm/features.ts';
import { K_BLOCK } from '../src/tensor/wasm/gemm-kernel.ts';
import { createWasmKernels } from '../src/tensor/wasm/wasm-kernels.ts';

// Thresholds 0: every call takes the WebAssembly path, however small (the default set sends tiny calls to JS).
const wasm = wasmKernels() ? createWasmKernels({ minGemmWork: 0, minMapElements: 0 }) : null;
const RUNS = { numRuns: 60, seed: 6 };
const dim = fc.oneof(
  fc.constantFrom(1, 2, 3, 4, 5, 7, 8, 9, 13, 17, 31, 37),
  fc.integer({ min: 1, max: 70 }),
);
const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });

function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  const a = rng.fillNormal(new Float32Array(n));
  for (let i = 0; i < n; i++) a[i]! *= scale;
  return a;
}

/** |actual - expected| <= atol + rtol·|expected| for every entry, naming the first entry that is not. */
function expectClose(actual: Float32Array, expected: Float32Array, atol = 1e-5, rtol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e)) && a !== e) {
      throw new Error(`entry ${i} of ${actual.length}: wasm ${a}, js ${e}`);
    }
  }
}

function set(): KernelSet {
  if (!wasm) throw new Error('WebAssembly SIMD is not available in this runtime');
  return wasm;
}

describe('kernel selection', () => {
  it('builds a WebAssembly set on this runtime and switches between sets', () => {
    const before = kernels();
    try {
      expect(useKernels('wasm').name).toBe('wasm');
      expect(kernels().name).toBe('wasm');
      expect(useKernels('js').name).toBe('js');
      expect(useKernels('auto').name).toBe('wasm');
      expect(() => useKernels('gpu' as 'js')).toThrow(/unknown kernel set 'gpu'/);
    } finally {
      setKernels(before);
    }
  });

  it('refuses to build where WebAssembly.validate rejects the SIMD module', () => {
    const validate = vi.spyOn(WebAssembly, 'validate').mockReturnValue(false);
    try {
      expect(() => createWasmKernels()).toThrow(/WebAssembly.validate rejects the kernel module/);
    } finally {
      validate.mockRestore();
    }
  });
});

describe('gemm', () => {
  it('matches gemmJs in all transposed forms, with offsets and accumulation', () => {
    fc.assert(
      fc.property(
        dim,
        dim,
        dim,
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        seed,
        (m, n, k, tA, tB, acc, s) => {
          const rng = new Rng(s);
          const [aOff, bOff, cOff] = [s % 3, s % 5, s % 7];
          const a = randomArray(rng, aOff + m * k);
          const b = randomArray(rng, bOff + k * n);
          const c0 = randomArray(rng, cOff + m * n + 2);
          const expected = c0.slice();
          const actual = c0.slice();
          gemmJs(tA, tB, m, n, k, a, aOff, b, bOff, expected, cOff, acc);
          set().gemm(tA, tB, m, n, k, a, aOff, b, bOff, actual, cOff, acc);
          expectClose(actual, expected, 1e-5 * Math.sqrt(k), 1e-5);
        },
      ),
      RUNS,
    );
  });

  it('handles k = 0 (C = 0, or unchanged when accumulating)', () => {
    const c = new Float32Array([1, 2, 3, 4, 5, 6]);
    set().gemm(false, false, 2, 3, 0, new Float32Array(0), 0, new Float32Array(0), 0, c, 0, true);
    expect(Array.from(c)).toEqual([1, 2, 3, 4, 5, 6]);
    set().gemm(false, false, 2, 3, 0, new Float32Array(0), 0, new Float32Array(0), 0, c, 0, false);
    expect(Array.from(c)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('batches with strides, shared operands (stride 0) and gaps between output blocks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        dim,
        dim,
        dim,
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        seed,
        (batch, m, n, k, tA, tB, acc, s) => {
          const rng = new Rng(s);
          const aS = s % 2 === 0 ? 0 : m * k;
          const bS = s % 3 === 0 ? 0 : k * n + 1;
          const cS = m * n + (s % 4);
          const a = randomArray(rng, (batch - 1) * aS + m * k + 1);
          const b = randomArray(rng, (batch - 1) * bS + k * n + 1);
          const c0 = randomArray(rng, (batch - 1) * cS + m * n + 1);
          const expected = c0.slice();
          const actual = c0.slice();
          gemmBatchedJs(batch, tA, tB, m, n, k, a, 1, aS, b, 1, bS, expected, 1, cS, acc);
          set().gemmBatched!(batch, tA, tB, m, n, k, a, 1, aS, b, 1, bS, actual, 1, cS, acc);
          expectClose(actual, expected, 1e-5 * Math.sqrt(k), 1e-5);
        },
      ),
      { numRuns: 40, seed: 7 },
    );
  });

  it('stays correct after the arena grows (views are re-created)', () => {
    const rng = new Rng(1);
    for (const size of [3, 300, 5]) {
      const a = randomArray(rng, size * size);
      const b = randomArray(rng, size * size);
      const expected = new Float32Array(size * size);
      const actual = new Float32Array(size * size);
      gemmJs(false, false, size, size, size, a, 0, b, 0, expected, 0, false);
      set().gemm(false, false, size, size, size, a, 0, b, 0, actual, 0, false);
      expectClose(actual, expected, 1e-4, 1e-5);
    }
  });
});

// Inputs each op is defined on; a few special values join the random ones.
const UNARY_INPUT: Record<string, (rng: Rng, n: number) => Float32Array> = {
  sqrt: (rng, n) => randomArray(rng, n, 3).map(Math.abs),
  exp: (rng, n) => randomArray(rng, n, 20).map((x) => Math.max(-85, Math.min(85, x))),
  tanh: (rng, n) => withSpecials(randomArray(rng, n, 3), [0, 1e-5, -3e-4, 9, -20]),
  sigmoid: (rng, n) => withSpecials(randomArray(rng, n, 8), [0, -60, 60]),
  softplus: (rng, n) => withSpecials(randomArray(rng, n, 8), [0, 1e-6, -30, 30, 95, -100]),
};
const withSpecials = (a: Float32Array, values: number[]): Float32Array => {
  values.forEach((v, i) => {
    if (i < a.length) a[a.length - 1 - i] = v;
  });
  return a;
};
const input = (op: string, rng: Rng, n: number): Float32Array =>
  (UNARY_INPUT[op] ?? ((r: Rng, len: number) => randomArray(r, len, 2)))(rng, n);

describe('elementwise maps', () => {
  const unaryOps: UnaryOp[] = [
    'neg',
    'abs',
    'sqrt',
    'square',
    'exp',
    'tanh',
    'sigmoid',
    'relu',
    'log',
    'softplus',
  ];
  for (const op of unaryOps) {
    it(`${op}: forward and backward`, () => {
      fc.assert(
        fc.property(dim, dim, seed, (r, c, s) => {
          const rng = new Rng(s);
          const n = r * c;
          const x = op === 'log' ? input('sqrt', rng, n) : input(op, rng, n);
          const yJs = new Float32Array(n);
          const yWasm = new Float32Array(n);
          unaryForward(op, x, yJs);
          set().unary!(op, x, yWasm);
          expectClose(yWasm, yJs, 1e-6, 2e-6);
          const g = randomArray(rng, n);
          const gx0 = randomArray(rng, n);
          const gxJs = gx0.slice();
          const gxWasm = gx0.slice();
          unaryBackward(op, g, x, yJs, gxJs);
          set().unaryBackward!(op, g, x, yJs, gxWasm);
          expectClose(gxWasm, gxJs, 1e-6, 2e-6);
        }),
        { numRuns: 25, seed: 11 },
      );
    });
  }

  const binaryOps: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'minimum', 'maximum', 'pow'];
  for (const op of binaryOps) {
    it(`${op}: forward and backward, same shape and broadcast`, () => {
      fc.assert(
        fc.property(dim, dim, fc.boolean(), fc.boolean(), seed, (r, c, withGa, broadcast, s) => {
          const rng = new Rng(s);
          const n = r * c;
          const a = op === 'pow' ? input('sqrt', rng, n) : randomArray(rng, n);
          const b = randomArray(rng, broadcast ? c : n).map((v) => (op === 'div' ? v + Math.sign(v) : v));
          // Broadcasting b [c] over [r, c] goes through index maps (the JS fallback inside the set).
          const ib = broadcast ? Int32Array.from({ length: n }, (_, i) => i % c) : null;
          const outJs = new Float32Array(n);
          const outWasm = new Float32Array(n);
          binaryForward(op, a, b, outJs, null, ib);
          set().binary!(op, a, b, outWasm, null, ib);
          expectClose(outWasm, outJs, 1e-6, 2e-6);
          const g = randomArray(rng, n);
          const ga0 = withGa ? randomArray(rng, n) : null;
          const gb0 = randomArray(rng, b.length);
          const [gaJs, gaWasm] = [ga0?.slice() ?? null, ga0?.slice() ?? null];
          const [gbJs, gbWasm] = [gb0.slice(), gb0.slice()];
          binaryBackward(op, g, a, b, outJs, gaJs, gbJs, null, ib);
          set().binaryBackward!(op, g, a, b, outJs, gaWasm, gbWasm, null, ib);
          if (gaJs && gaWasm) expectClose(gaWasm, gaJs, 1e-6, 2e-6);
          expectClose(gbWasm, gbJs, 1e-5, 1e-5);
        }),
        { numRuns: 25, seed: 12 },
      );
    });
  }

  it('column sums (bias gradients) accumulate like columnSumJs', () => {
    fc.assert(
      fc.property(dim, dim, seed, (rows, cols, s) => {
        const rng = new Rng(s);
        const src = randomArray(rng, rows * cols);
        const dst = randomArray(rng, cols);
        const [js, wa] = [dst.slice(), dst.slice()];
        columnSumJs(rows, cols, src, js);
        set().columnSum!(rows, cols, src, wa);
        expectClose(wa, js, 1e-5, 1e-5);
      }),
      RUNS,
    );
  });
});

describe('Adam update', () => {
  it('matches adamJs over several steps, with L2 and decoupled decay', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.boolean(), seed, (n, decoupled, s) => {
        const rng = new Rng(s);
        const w0 = randomArray(rng, n);
        const [wJs, wWasm] = [w0.slice(), w0.slice()];
        const [mJs, mWasm, vJs, vWasm] = [0, 0, 0, 0].map(() => new Float32Array(n)) as Float32Array[];
        const lr = 1e-2;
        const wd = 0.1;
        for (let t = 1; t <= 4; t++) {
          const g = randomArray(rng, n);
          const step = {
            b1: 0.9,
            b2: 0.999,
            stepSize: lr / (1 - 0.9 ** t),
            invSqrtBc2: 1 / Math.sqrt(1 - 0.999 ** t),
            eps: 1e-8,
            l2: decoupled ? 0 : wd,
            shrink: decoupled ? 1 - lr * wd : 1,
          };
          adamJs(wJs, g, mJs!, vJs!, step);
          set().adam!(wWasm, g, mWasm!, vWasm!, step);
        }
        expectClose(wWasm, wJs, 1e-5, 1e-5);
        expectClose(mWasm!, mJs!, 1e-6, 1e-5);
        expectClose(vWasm!, vJs!, 1e-6, 1e-5);
      }),
      { numRuns: 30, seed: 13 },
    );
  });
});

// The gemm with separate multiplies and adds, and with fused multiply-adds (relaxed SIMD, switched on where it
// can be), every call on the WebAssembly path.
const fmaVariants = [false, ...(relaxedSimd() ? [true] : [])].map((fma) => ({
  fma,
  set: createWasmKernels({ minGemmWork: 0, minMapElements: 0, fma }),
}));

describe('fused linear layer (nn linear under the js and wasm sets)', () => {
  let before: KernelSet;
  beforeAll(() => {
    before = kernels();
  });
  afterAll(() => setKernels(before));

  const activations: Activation[] = ['identity', 'tanh', 'relu', 'sigmoid', 'silu'];
  function run(set: KernelSet, act: Activation, rows: number, inF: number, outF: number, s: number) {
    setKernels(set);
    const rng = new Rng(s);
    const layer = new Linear(inF, outF, { rng, activation: act });
    const x = tensor(randomArray(rng, rows * inF), [rows, inF], { requiresGrad: true });
    const y = linear(x, layer.weight, layer.bias, act);
    const gy = tensor(randomArray(rng, rows * outF), [rows, outF]);
    y.mul(gy).sum().backward();
    return [y.data, x.grad!.data, layer.weight.grad!.data, layer.bias!.grad!.data];
  }
  // The fused layer's kernels (gemm, activation maps) with and without fused multiply-adds.
  for (const { fma, set: wasmSet } of fmaVariants) {
    for (const act of activations) {
      it(`fma ${fma}, ${act}: output and the gradients of x, W and b`, () => {
        fc.assert(
          fc.property(dim, dim, dim, seed, (rows, inF, outF, s) => {
            const js = run(jsKernels, act, rows, inF, outF, s);
            const wa = run(wasmSet, act, rows, inF, outF, s);
            js.forEach((expected, i) => {
              expectClose(wa[i]!, expected, 2e-5 * Math.sqrt(Math.max(rows, inF)), 2e-5);
            });
          }),
          { numRuns: 20, seed: 14 },
        );
      });
    }
  }
});

/** gemmBatched of `kset` against gemmBatchedJs on random operands (A and B batch strides aS and bS). */
function expectGemmBatched(
  kset: KernelSet,
  [batch, m, n, k]: [number, number, number, number],
  [tA, tB, acc]: [boolean, boolean, boolean],
  [aS, bS]: [number, number],
  s: number,
): void {
  const rng = new Rng(s);
  const cS = m * n;
  const a = randomArray(rng, (batch - 1) * aS + m * k);
  const b = randomArray(rng, (batch - 1) * bS + k * n);
  const c0 = randomArray(rng, batch * cS);
  const [expected, actual] = [c0.slice(), c0.slice()];
  gemmBatchedJs(batch, tA, tB, m, n, k, a, 0, aS, b, 0, bS, expected, 0, cS, acc);
  kset.gemmBatched!(batch, tA, tB, m, n, k, a, 0, aS, b, 0, bS, actual, 0, cS, acc);
  expectClose(actual, expected, 2e-5 * Math.sqrt(k), 1e-5);
}

describe('gemm over long shared dimensions, with and without fused multiply-adds', () => {
  // k beyond K_BLOCK is split into blocks that accumulate.
  for (const { fma, set: kset } of fmaVariants) {
    it(`fma ${fma}: matches gemmBatchedJs for k up to 3·K_BLOCK, shared and strided operands`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 3 }),
          fc.integer({ min: 1, max: 13 }),
          fc.integer({ min: 1, max: 19 }),
          fc.integer({ min: 1, max: 3 * K_BLOCK + 5 }),
          fc.boolean(),
          fc.boolean(),
          fc.boolean(),
          seed,
          (batch, m, n, k, tA, tB, acc, s) => {
            const strides: [number, number] = [s % 2 === 0 ? 0 : m * k, s % 3 === 0 ? 0 : k * n];
            expectGemmBatched(kset, [batch, m, n, k], [tA, tB, acc], strides, s);
          },
        ),
        { numRuns: 25, seed: 21 },
      );
    });
  }
});

describe('gemm right-edge panels of 1-4 columns (groups of A tiles), with and without fused multiply-adds', () => {
  // n = 8j + 1..4 puts 1-4 live columns in the last panel, which goes through groups of 2-6 A tiles (8-24
  // rows) and leaves the remaining tiles to the 4x8 sweep: m runs past several groups and their remainders.
  const narrowN = fc.constantFrom(1, 2, 3, 4, 9, 10, 11, 12, 17, 20, 36);
  for (const { fma, set: kset } of fmaVariants) {
    it(`fma ${fma}: gemmBatched matches gemmBatchedJs (transposes, accumulation, k past K_BLOCK)`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 2 }),
          fc.integer({ min: 1, max: 80 }),
          narrowN,
          fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: K_BLOCK - 2, max: K_BLOCK + 9 })),
          fc.boolean(),
          fc.boolean(),
          fc.boolean(),
          seed,
          (batch, m, n, k, tA, tB, acc, s) => {
            const strides: [number, number] = [m * k, s % 2 === 0 ? 0 : k * n];
            expectGemmBatched(kset, [batch, m, n, k], [tA, tB, acc], strides, s);
          },
        ),
        { numRuns: 40, seed: 23 },
      );
    });

    it(`fma ${fma}: the fused linear layer's bias joins the narrow groups`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 80 }),
          fc.integer({ min: 1, max: 40 }),
          narrowN,
          seed,
          (rows, inF, outF, s) => {
            const rng = new Rng(s);
            const [x, w, bias] = [
              randomArray(rng, rows * inF),
              randomArray(rng, inF * outF),
              randomArray(rng, outF),
            ];
            const expected = new Float32Array(rows * outF);
            gemmJs(false, false, rows, outF, inF, x, 0, w, 0, expected, 0, false);
            for (let i = 0; i < expected.length; i++) expected[i]! += bias[i % outF]!;
            const actual = new Float32Array(rows * outF);
            kset.linear!.forward('identity', rows, inF, outF, x, w, bias, actual, null);
            expectClose(actual, expected, 2e-5 * Math.sqrt(inF), 1e-5);
          },
        ),
        { numRuns: 40, seed: 24 },
      );
    });
  }
});

describe('PETS, loss and GRU kernels against their JS twins', () => {
  it('boundLogVar: columns of wider rows, with and without the kept sigmoids', () => {
    fc.assert(
      fc.property(
        dim,
        fc.integer({ min: 1, max: 37 }),
        fc.integer({ min: 0, max: 9 }),
        fc.boolean(),
        seed,
        (rows, cols, extra, keep, s) => {
          const rng = new Rng(s);
          const stride = cols + extra;
          const offset = extra > 0 ? s % (extra + 1) : 0;
          const raw = withSpecials(randomArray(rng, rows * stride, 6), [40, -40, 0]);
          const maxLv = randomArray(rng, cols);
          const minLv = randomArray(rng, cols).map((v) => v - 6);
          const outs = [0, 1].map(() =>
            [rows * cols, rows * cols, rows * cols].map((len) => new Float32Array(len)),
          );
          const [js, wa] = outs as [Float32Array[], Float32Array[]];
          boundLogVarJs(
            rows,
            cols,
            raw,
            offset,
            stride,
            maxLv,
            minLv,
            js[0]!,
            keep ? js[1]! : null,
            keep ? js[2]! : null,
          );
          set().boundLogVar!(
            rows,
            cols,
            raw,
            offset,
            stride,
            maxLv,
            minLv,
            wa[0]!,
            keep ? wa[1]! : null,
            keep ? wa[2]! : null,
          );
          js.forEach((expected, i) => {
            expectClose(wa[i]!, expected, 2e-6, 2e-6);
          });
        },
      ),
      RUNS,
    );
  });

  it('gaussianNll: values and derivatives', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.boolean(), seed, (n, grad, s) => {
        const rng = new Rng(s);
        const [mean, logVar, target] = [randomArray(rng, n), randomArray(rng, n, 3), randomArray(rng, n)];
        const outs = [0, 1].map(() => [0, 1, 2].map(() => new Float32Array(n)));
        const [js, wa] = outs as [Float32Array[], Float32Array[]];
        gaussianNllJs(n, mean, logVar, target, js[0]!, grad ? js[1]! : null, grad ? js[2]! : null);
        set().gaussianNll!(n, mean, logVar, target, wa[0]!, grad ? wa[1]! : null, grad ? wa[2]! : null);
        js.forEach((expected, i) => {
          expectClose(wa[i]!, expected, 1e-5, 1e-5);
        });
      }),
      RUNS,
    );
  });

  it('GRU gates: one step forward and backward (H % 4 = 0 in SIMD, else the JS twin)', () => {
    fc.assert(
      fc.property(dim, fc.integer({ min: 1, max: 24 }), fc.boolean(), seed, (rows, hidden, withDh, s) => {
        const rng = new Rng(s);
        const nh = rows * hidden;
        const [a, b] = [randomArray(rng, 3 * nh, 2), randomArray(rng, 3 * nh, 2)];
        const h = randomArray(rng, nh);
        const outs = [0, 1].map(() => [new Float32Array(nh), new Float32Array(3 * nh)]);
        const [js, wa] = outs as [Float32Array[], Float32Array[]];
        gruGatesJs.forward(rows, hidden, a, b, h, js[0]!, js[1]!);
        set().gruGates!.forward(rows, hidden, a, b, h, wa[0]!, wa[1]!);
        js.forEach((expected, i) => {
          expectClose(wa[i]!, expected, 2e-6, 2e-6);
        });
        const g = randomArray(rng, nh);
        const grads0 = [randomArray(rng, 3 * nh), randomArray(rng, 3 * nh), randomArray(rng, nh)];
        const [gJs, gWa] = [grads0.map((x) => x.slice()), grads0.map((x) => x.slice())];
        gruGatesJs.backward(rows, hidden, g, h, js[1]!, b, gJs[0]!, gJs[1]!, withDh ? gJs[2]! : null);
        set().gruGates!.backward(rows, hidden, g, h, js[1]!, b, gWa[0]!, gWa[1]!, withDh ? gWa[2]! : null);
        gJs.forEach((expected, i) => {
          expectClose(gWa[i]!, expected, 1e-5, 1e-5);
        });
      }),
      RUNS,
    );
  });
});

describe('ensemble and GRU layers under the js and wasm sets', () => {
  let before: KernelSet;
  beforeAll(() => {
    before = kernels();
  });
  afterAll(() => setKernels(before));

  const activations: Activation[] = ['identity', 'tanh', 'relu', 'sigmoid', 'silu'];
  function ensembleRun(
    choice: 'js' | 'wasm',
    act: Activation,
    shape: [number, number, number, number],
    shared: boolean,
    s: number,
  ): Float32Array[] {
    useKernels(choice);
    const [members, rows, inF, outF] = shape;
    const rng = new Rng(s);
    const xShape = shared ? [rows, inF] : [members, rows, inF];
    const x = tensor(
      randomArray(rng, members * rows * inF).subarray(
        0,
        xShape.reduce((p, d) => p * d, 1),
      ),
      xShape,
      {
        requiresGrad: true,
      },
    );
    const w = [0, 1].map(() =>
      tensor(randomArray(rng, members * inF * outF, 0.5), [members, inF, outF], { requiresGrad: true }),
    );
    const b = tensor(randomArray(rng, members * outF), [members, outF], { requiresGrad: true });
    // x feeds two layers: the first backward writes its fresh gradient, the second adds to it.
    const y1 = ensembleLinear(x, w[0]!, b, act);
    const y2 = ensembleLinear(x, w[1]!, null, act);
    const g1 = tensor(randomArray(rng, y1.size), y1.shape);
    const g2 = tensor(randomArray(rng, y2.size), y2.shape);
    y1.mul(g1).sum().add(y2.mul(g2).sum()).backward();
    return [y1.data, y2.data, x.grad!.data, w[0]!.grad!.data, w[1]!.grad!.data, b.grad!.data];
  }
  for (const act of activations) {
    it(`ensembleLinear ${act}: outputs and gradients, per-member and shared inputs`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 4 }),
          dim,
          dim,
          dim,
          fc.boolean(),
          seed,
          (members, rows, inF, outF, shared, s) => {
            const shape: [number, number, number, number] = [members, rows, inF, outF];
            const js = ensembleRun('js', act, shape, shared, s);
            const wa = ensembleRun('wasm', act, shape, shared, s);
            js.forEach((expected, i) => {
              expectClose(wa[i]!, expected, 2e-5 * Math.sqrt(Math.max(rows, inF) * members), 2e-5);
            });
          },
        ),
        { numRuns: 15, seed: 22 },
      );
    });
  }

  it('EnsembleMLP as one fused op, with and without gradients, matches its layers run one by one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom(1, 3, 127, 128, 129, 300),
        fc.constantFrom<Activation>('silu', 'tanh', 'relu'),
        fc.boolean(),
        seed,
        (members, rows, act, shared, s) => {
          useKernels('wasm');
          const rng = new Rng(s);
          const model = new EnsembleMLP(members, [5, 16, 9, 7], { rng, activation: act });
          // Half the runs want the input's gradient too.
          const x = tensor(
            randomArray(rng, (shared ? 1 : members) * rows * 5),
            shared ? [rows, 5] : [members, rows, 5],
            { requiresGrad: s % 2 === 0 },
          );
          const byLayer = (): Tensor => model.layers.reduce((h: Tensor, l) => l.forward(h), x);
          expectClose(noGrad(() => model.forward(x)).data, noGrad(byLayer).data, 1e-6, 1e-6);
          // Training: the fused op's output and every gradient against the layers' own ops.
          const grads = (y: Tensor): Float32Array[] => {
            for (const p of [x, ...model.parameters()]) p.grad = null;
            const gy = tensor(new Rng(s + 1).fillNormal(new Float32Array(y.size)), y.shape);
            y.mul(gy).sum().backward();
            const gx = x.grad ? [x.grad.data.slice()] : [];
            return [y.data, ...gx, ...model.parameters().map((p) => p.grad!.data.slice())];
          };
          const fusedGrads = grads(model.forward(x));
          const layerGrads = grads(byLayer());
          layerGrads.forEach((expected, i) => {
            expectClose(fusedGrads[i]!, expected, 1e-5, 1e-5);
          });
        },
      ),
      { numRuns: 20, seed: 23 },
    );
  });

  it('EnsembleMLP keeps its packed weights between inference calls of one version, and repacks on a new one', () => {
    useKernels('wasm');
    const rng = new Rng(31);
    const a = new EnsembleMLP(3, [5, 16, 9, 7], { rng });
    const b = new EnsembleMLP(3, [5, 16, 9, 7], { rng });
    const x = tensor(randomArray(rng, 3 * 6 * 5), [3, 6, 5]);
    const plain = (m: EnsembleMLP) => noGrad(() => m.forward(x)).data.slice();
    const keyed = (m: EnsembleMLP, version: number) =>
      noGrad(() => m.forward(x, { owner: m, version })).data.slice();
    expectClose(keyed(a, 0), plain(a), 0, 0);
    // Another owner in between takes the pinned region; coming back repacks the first.
    expectClose(keyed(b, 0), plain(b), 0, 0);
    expectClose(keyed(a, 0), plain(a), 0, 0);
    // Changed weights under a new version are seen; under the same version the packed copy is reused, which
    // shows the cache is real (the caller broke the contract here on purpose).
    const before = plain(a);
    for (const p of a.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i]! *= 0.5;
    expectClose(keyed(a, 0), before, 0, 0);
    expectClose(keyed(a, 1), plain(a), 0, 0);
    // Calls that record gradients never use the pinned copy.
    const trained = a.forward(tensor(x.data, x.shape, { requiresGrad: true }), { owner: a, version: 1 });
    expectClose(trained.data, plain(a), 1e-6, 1e-6);
  });

  it('EnsembleMLP computes only the rows each member is asked for, and zeros the rest', () => {
    useKernels('wasm');
    const rng = new Rng(32);
    const model = new EnsembleMLP(3, [5, 16, 9, 7], { rng, activation: 'silu' });
    const rows = 20;
    const x = tensor(randomArray(rng, 3 * rows * 5), [3, rows, 5]);
    const full = noGrad(() => model.forward(x)).data.slice();
    const memberRows = Int32Array.from([20, 0, 7]);
    const part = noGrad(() => model.forward(x, null, memberRows)).data;
    for (let e = 0; e < 3; e++) {
      for (let r = 0; r < rows; r++) {
        const at = (e * rows + r) * 7;
        const expected = r < memberRows[e]! ? full.subarray(at, at + 7) : new Float32Array(7);
        expectClose(part.subarray(at, at + 7), expected, 0, 0);
      }
    }
  });

  it('ProbabilisticEnsemble: mean, bounded log-variance and gradients agree across sets', () => {
    const run = (choice: 'js' | 'wasm'): Float32Array[] => {
      useKernels(choice);
      const rng = new Rng(5);
      const model = new ProbabilisticEnsemble(3, [4, 12, 12, 5], { rng });
      const x = tensor(randomArray(rng, 3 * 9 * 4), [3, 9, 4]);
      const { mean, logVar } = model.forward(x);
      mean.mul(0.3).add(logVar.mul(0.7)).sum().backward();
      return [mean.data, logVar.data, ...model.parameters().map((p) => p.grad!.data)];
    };
    const js = run('js');
    const wa = run('wasm');
    js.forEach((expected, i) => {
      expectClose(wa[i]!, expected, 1e-5, 1e-4);
    });
  });

  function gruRun(
    choice: 'js' | 'wasm',
    steps: number,
    rows: number,
    inF: number,
    hidden: number,
    s: number,
  ): Float32Array[] {
    useKernels(choice);
    const rng = new Rng(s);
    const gru = new GRU(inF, hidden, { rng });
    const x = tensor(randomArray(rng, steps * rows * inF), [steps, rows, inF], { requiresGrad: true });
    // Half the runs start from zeros (the kernel skips the first step's hidden product then).
    const h0Values = s % 2 === 0 ? new Float32Array(rows * hidden) : randomArray(rng, rows * hidden);
    const h0 = tensor(h0Values, [rows, hidden], { requiresGrad: true });
    const { output, hidden: last } = gru.forward(x, h0);
    const g = tensor(randomArray(rng, output.size), output.shape);
    const gLast = tensor(randomArray(rng, last.size), last.shape);
    const loss: Tensor = output.mul(g).sum().add(last.mul(gLast).sum());
    loss.backward();
    return [
      output.data,
      last.data,
      x.grad!.data,
      h0.grad!.data,
      ...gru.parameters().map((p) => p.grad!.data),
    ];
  }
  it('GRU over a sequence: one fused op (H % 4 = 0) or step by step, same outputs and gradients', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 9 }),
        fc.constantFrom(4, 8, 12, 20, 5),
        seed,
        (steps, rows, inF, hidden, s) => {
          const js = gruRun('js', steps, rows, inF, hidden, s);
          const wa = gruRun('wasm', steps, rows, inF, hidden, s);
          js.forEach((expected, i) => {
            expectClose(wa[i]!, expected, 2e-5 * Math.sqrt(steps * rows), 1e-4);
          });
        },
      ),
      { numRuns: 25, seed: 24 },
    );
  });

  it('GRU without gradients matches GRU with them', () => {
    useKernels('wasm');
    const rng = new Rng(3);
    const gru = new GRU(6, 16, { rng });
    const x = tensor(randomArray(rng, 5 * 4 * 6), [5, 4, 6]);
    const free = noGrad(() => gru.forward(x).output).data;
    expectClose(gru.forward(x).output.data, free, 0, 0);
  });
});
