// Every WebAssembly kernel against its JavaScript twin on random shapes (1, odd and prime sizes included).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Activation, Linear, linear } from '../src/nn/index.ts';
import {
  adamJs,
  type BinaryOp,
  columnSumJs,
  gemmBatchedJs,
  gemmJs,
  type KernelSet,
  kernels,
  Rng,
  setKernels,
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

describe('fused linear layer (nn linear under the js and wasm sets)', () => {
  let before: KernelSet;
  beforeAll(() => {
    before = kernels();
  });
  afterAll(() => setKernels(before));

  const activations: Activation[] = ['identity', 'tanh', 'relu', 'sigmoid', 'silu'];
  function run(choice: 'js' | 'wasm', act: Activation, rows: number, inF: number, outF: number, s: number) {
    useKernels(choice);
    const rng = new Rng(s);
    const layer = new Linear(inF, outF, { rng, activation: act });
    const x = tensor(randomArray(rng, rows * inF), [rows, inF], { requiresGrad: true });
    const y = linear(x, layer.weight, layer.bias, act);
    const gy = tensor(randomArray(rng, rows * outF), [rows, outF]);
    y.mul(gy).sum().backward();
    return [y.data, x.grad!.data, layer.weight.grad!.data, layer.bias!.grad!.data];
  }
  for (const act of activations) {
    it(`${act}: output and the gradients of x, W and b`, () => {
      fc.assert(
        fc.property(dim, dim, dim, seed, (rows, inF, outF, s) => {
          const js = run('js', act, rows, inF, outF, s);
          const wa = run('wasm', act, rows, inF, outF, s);
          js.forEach((expected, i) => {
            expectClose(wa[i]!, expected, 2e-5 * Math.sqrt(Math.max(rows, inF)), 2e-5);
          });
        }),
        { numRuns: 20, seed: 14 },
      );
    });
  }
});
