import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gemmJs, Rng, randn, type Tensor, tensor } from '../src/tensor/index.ts';

const dim = fc.integer({ min: 1, max: 19 });
const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });

function closeTo(actual: Float32Array, expected: ArrayLike<number>, tol = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i]!;
    if (Math.abs(actual[i]! - e) > tol * (1 + Math.abs(e))) {
      throw new Error(`entry ${i}: ${actual[i]} vs ${e}`);
    }
  }
}

/** The plain triple loop every kernel is judged against. */
function naiveGemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++)
        acc += a[transA ? p * m + i : i * k + p]! * b[transB ? j * k + p : p * n + j]!;
      c[i * n + j] = acc;
    }
  }
  return c;
}

describe('matmul kernel against the triple loop', () => {
  it('all transposition forms, any shape, with and without accumulation', () => {
    fc.assert(
      fc.property(
        dim,
        dim,
        dim,
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        seed,
        (m, n, k, ta, tb, acc, s) => {
          const rng = new Rng(s);
          const a = rng.fillNormal(new Float32Array(m * k + 3));
          const b = rng.fillNormal(new Float32Array(k * n + 5));
          const c = rng.fillNormal(new Float32Array(m * n + 2));
          const before = c.slice();
          // Offsets exercise the batched path's addressing.
          gemmJs(ta, tb, m, n, k, a, 3, b, 5, c, 2, acc);
          const expected = naiveGemm(ta, tb, m, n, k, a.subarray(3), b.subarray(5));
          const want = Array.from(expected, (v, i) => (acc ? v + before[i + 2]! : v));
          closeTo(c.subarray(2), want);
          expect(c.subarray(0, 2)).toEqual(before.subarray(0, 2));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('algebraic identities', () => {
  it('(A·B)ᵀ = Bᵀ·Aᵀ', () => {
    fc.assert(
      fc.property(dim, dim, dim, seed, (m, k, n, s) => {
        const rng = new Rng(s);
        const a = randn([m, k], rng);
        const b = randn([k, n], rng);
        closeTo(a.matmul(b).t().data, b.t().matmul(a.t()).data);
      }),
    );
  });

  it('batched matmul equals one product per batch entry', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), dim, dim, dim, seed, (batch, m, k, n, s) => {
        const rng = new Rng(s);
        const a = randn([batch, m, k], rng);
        const b = randn([batch, k, n], rng);
        const c = a.matmul(b);
        for (let i = 0; i < batch; i++) {
          const ci = a
            .slice(0, i, i + 1)
            .reshape(m, k)
            .matmul(b.slice(0, i, i + 1).reshape(k, n));
          closeTo(c.slice(0, i, i + 1).data, ci.data);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('softmax sums to 1 along its axis and is never negative', () => {
    fc.assert(
      fc.property(dim, dim, seed, fc.double({ min: 0.1, max: 1e4, noNaN: true }), (rows, cols, s, scale) => {
        const x = randn([rows, cols], new Rng(s)).mul(scale);
        const p = x.softmax(1);
        const totals = p.sum(1).data;
        for (const t of totals) expect(Math.abs(t - 1)).toBeLessThan(1e-5);
        for (const v of p.data) expect(v).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it('logSoftmax stays finite and exact at large inputs', () => {
    const x = tensor([
      [1000, 1001, 1002],
      [-1e4, 0, 1e4],
      [3e4, 3e4, 3e4],
    ]);
    const ls = x.logSoftmax().data;
    for (const v of ls) expect(Number.isFinite(v)).toBe(true);
    // Row 0 is row [0, 1, 2] shifted: log-softmax ignores shifts.
    const reference = tensor([[0, 1, 2]]).logSoftmax().data;
    closeTo(ls.subarray(0, 3), reference, 1e-6);
    closeTo(ls.subarray(3, 6), [-2e4, -1e4, 0], 1e-6);
    closeTo(ls.subarray(6, 9), [-Math.log(3), -Math.log(3), -Math.log(3)], 1e-6);
  });

  it('log(softmax) equals logSoftmax where both are representable', () => {
    fc.assert(
      fc.property(dim, dim, seed, (rows, cols, s) => {
        const x = randn([rows, cols], new Rng(s)).mul(3);
        closeTo(x.softmax().log().data, x.logSoftmax().data, 1e-4);
      }),
    );
  });

  it('broadcast add equals the explicit loop', () => {
    fc.assert(
      fc.property(dim, dim, seed, (rows, cols, s) => {
        const rng = new Rng(s);
        const a = randn([rows, 1], rng);
        const b = randn([cols], rng);
        const c = a.add(b);
        expect(c.shape).toEqual([rows, cols]);
        const want: number[] = [];
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) want.push(a.data[i]! + b.data[j]!);
        closeTo(c.data, want, 1e-6);
      }),
    );
  });

  it('sum over every axis in turn equals the total', () => {
    fc.assert(
      fc.property(dim, dim, dim, seed, (x, y, z, s) => {
        const t: Tensor = randn([x, y, z], new Rng(s));
        const total = t.sum().item();
        expect(t.sum(2).sum(1).sum(0).item()).toBeCloseTo(total, 2);
        expect(t.mean().item() * t.size).toBeCloseTo(total, 2);
      }),
      { numRuns: 50 },
    );
  });
});

describe('seeded generators', () => {
  it('the same seed gives the same numbers twice, other seeds others', () => {
    fc.assert(
      fc.property(seed, (s) => {
        const a = randn([64], new Rng(s)).data;
        const b = randn([64], new Rng(s)).data;
        const c = randn([64], new Rng(s + 1)).data;
        expect(a).toEqual(b);
        expect(a).not.toEqual(c);
      }),
      { numRuns: 30 },
    );
  });

  it('normals have mean 0 and variance 1; uniforms fill [0, 1)', () => {
    const rng = new Rng(3);
    const n = 200_000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      sum += z;
      sumSq += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.01);
    expect(Math.abs(sumSq / n - 1)).toBeLessThan(0.02);
    const bins = new Array(10).fill(0);
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      expect(u >= 0 && u < 1).toBe(true);
      bins[Math.floor(u * 10)]++;
    }
    for (const count of bins) expect(Math.abs(count / n - 0.1)).toBeLessThan(0.005);
  });

  it('state round-trips and fork gives an independent stream', () => {
    const rng = new Rng(11);
    rng.normal();
    const state = rng.getState();
    const next = [rng.uniform(), rng.normal(), rng.integer(0, 100)];
    const restored = new Rng(0);
    restored.setState(state);
    expect([restored.uniform(), restored.normal(), restored.integer(0, 100)]).toEqual(next);
    const child = rng.fork();
    expect(child.uniform()).not.toBe(rng.uniform());
  });
});
