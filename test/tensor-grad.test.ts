import { describe, expect, it } from 'vitest';
import { concat, Rng, type Tensor, tensor, where } from '../src/tensor/index.ts';
import { awayFromZero, expectGradientsMatch, gradCheck, normal, positive } from './helpers/gradcheck.ts';

const rng = new Rng(42);

describe('gradient check: binary ops with broadcasting', () => {
  const cases: Array<[string, number[], number[]]> = [
    ['same shape', [3, 4], [3, 4]],
    ['row vector', [3, 4], [4]],
    ['column and row', [3, 1], [1, 4]],
    ['rank 3 against rank 2', [2, 3, 4], [3, 1]],
    ['scalar', [2, 3], []],
  ];
  for (const [label, sa, sb] of cases) {
    it(`add, sub, mul: ${label}`, () => {
      expectGradientsMatch((a, b) => a.add(b), [normal(sa, rng), normal(sb, rng)]);
      expectGradientsMatch((a, b) => a.sub(b), [normal(sa, rng), normal(sb, rng)]);
      expectGradientsMatch((a, b) => a.mul(b), [normal(sa, rng), normal(sb, rng)]);
    });
    it(`div, pow: ${label}`, () => {
      expectGradientsMatch((a, b) => a.div(b), [normal(sa, rng), positive(sb, rng)]);
      expectGradientsMatch((a, b) => a.pow(b), [positive(sa, rng), normal(sb, rng)]);
    });
    it(`minimum, maximum: ${label}`, () => {
      // a sits on quarter points and b on integers, so no pair ties (a kink) within eps.
      const onGrid = (shape: number[], shift: number): Tensor => {
        const t = normal(shape, rng);
        for (let i = 0; i < t.size; i++) t.data[i] = Math.round(2 * t.data[i]!) + shift;
        return t;
      };
      expectGradientsMatch((x, y) => x.minimum(y), [onGrid(sa, 0.25), onGrid(sb, 0)]);
      expectGradientsMatch((x, y) => x.maximum(y), [onGrid(sa, 0.25), onGrid(sb, 0)]);
    });
  }
  it('a number on either side', () => {
    expectGradientsMatch((a) => a.mul(3).add(1).div(2).sub(0.5).pow(2), [normal([5], rng)]);
  });
});

describe('gradient check: unary ops', () => {
  const ops: Array<[string, (x: Tensor) => Tensor, (shape: number[]) => Tensor]> = [
    ['neg', (x) => x.neg(), (s) => normal(s, rng)],
    ['sqrt', (x) => x.sqrt(), (s) => positive(s, rng)],
    ['square', (x) => x.square(), (s) => normal(s, rng)],
    ['exp', (x) => x.exp(), (s) => normal(s, rng)],
    ['log', (x) => x.log(), (s) => positive(s, rng)],
    ['tanh', (x) => x.tanh(), (s) => normal(s, rng)],
    ['sigmoid', (x) => x.sigmoid(), (s) => normal(s, rng)],
    ['relu', (x) => x.relu(), (s) => awayFromZero(s, rng)],
    ['softplus', (x) => x.softplus(), (s) => normal(s, rng)],
    ['abs', (x) => x.abs(), (s) => awayFromZero(s, rng)],
    ['clamp', (x) => x.clamp(-0.5, 0.5), (s) => awayFromZero(s, rng, 0.05).mul(0.45)],
  ];
  for (const [name, op, make] of ops) {
    it(name, () => expectGradientsMatch(op, [make([3, 5])]));
  }
});

describe('gradient check: matmul', () => {
  it('2-D', () => expectGradientsMatch((a, b) => a.matmul(b), [normal([5, 7], rng), normal([7, 6], rng)]));
  it('2-D with odd edges (1 row, prime sizes)', () => {
    expectGradientsMatch((a, b) => a.matmul(b), [normal([1, 5], rng), normal([5, 3], rng)]);
    expectGradientsMatch((a, b) => a.matmul(b), [normal([13, 11], rng), normal([11, 9], rng)]);
  });
  it('batched 3-D', () =>
    expectGradientsMatch((a, b) => a.matmul(b), [normal([3, 5, 4], rng), normal([3, 4, 6], rng)]));
  it('3-D times a shared 2-D matrix', () => {
    expectGradientsMatch((a, b) => a.matmul(b), [normal([2, 5, 4], rng), normal([4, 3], rng)]);
  });
  it('2-D times a batch of matrices', () => {
    expectGradientsMatch((a, b) => a.matmul(b), [normal([5, 4], rng), normal([3, 4, 2], rng)]);
  });
});

describe('gradient check: reductions and softmax', () => {
  for (const axis of [undefined, 0, 1, -1]) {
    it(`sum, mean over axis ${axis}`, () => {
      expectGradientsMatch((x) => x.sum(axis), [normal([3, 4, 5], rng)]);
      expectGradientsMatch((x) => x.mean(axis, true), [normal([3, 4, 5], rng)]);
    });
    it(`max over axis ${axis}`, () => expectGradientsMatch((x) => x.max(axis), [normal([3, 4, 5], rng)]));
  }
  for (const axis of [0, 1, -1]) {
    it(`softmax and logSoftmax over axis ${axis}`, () => {
      expectGradientsMatch((x) => x.softmax(axis), [normal([3, 4, 5], rng)]);
      expectGradientsMatch((x) => x.logSoftmax(axis), [normal([3, 4, 5], rng)]);
    });
  }
});

describe('gradient check: shape ops', () => {
  it('reshape', () => expectGradientsMatch((x) => x.reshape(6, -1).tanh(), [normal([3, 4], rng)]));
  it('transpose and t', () => {
    expectGradientsMatch((x) => x.transpose(0, 2), [normal([2, 3, 4], rng)]);
    expectGradientsMatch((x) => x.t().matmul(x), [normal([3, 4], rng)]);
  });
  it('concat along each axis', () => {
    expectGradientsMatch((a, b) => concat([a, b], 0), [normal([2, 3], rng), normal([4, 3], rng)]);
    expectGradientsMatch((a, b) => concat([a, b, a], 1), [normal([2, 3], rng), normal([2, 1], rng)]);
  });
  it('slice', () => {
    expectGradientsMatch((x) => x.slice(1, 1, 3), [normal([3, 4, 2], rng)]);
    expectGradientsMatch((x) => x.slice(0, -2), [normal([3, 4], rng)]);
  });
  it('gather per row, and along a middle axis', () => {
    expectGradientsMatch((x) => x.logSoftmax().gather([2, 0, 3]), [normal([3, 4], rng)]);
    expectGradientsMatch((x) => x.gather([1, 0, 2, 2, 0, 1], 1), [normal([2, 3, 3], rng)]);
  });
  it('where with broadcasting', () => {
    const condition = tensor([1, 0, 1, 0], [4]);
    expectGradientsMatch((a, b) => where(condition, a, b), [normal([3, 4], rng), normal([3, 1], rng)]);
  });
});

describe('gradient check: composite graphs', () => {
  it('a two-layer network with a reused input (fan-out accumulates)', () => {
    const net = (x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor): Tensor =>
      x.matmul(w1).add(b1).tanh().matmul(w2).add(x.sum(1, true)).logSoftmax();
    expectGradientsMatch(net, [
      normal([4, 3], rng),
      normal([3, 5], rng),
      normal([5], rng),
      normal([5, 2], rng),
    ]);
  });
  it('the check itself fails on a wrong gradient', () => {
    // x * x through `mul` is right; a hand-made op with a wrong backward must be caught.
    const x = normal([4], rng);
    const wrong = (t: Tensor): Tensor => {
      const y = t.square();
      const original = y.backwardFn!;
      y.backwardFn = (g) => original(g.map((v) => v * 1.5));
      return y;
    };
    expect(gradCheck(wrong, [x]).maxError).toBeGreaterThan(1);
  });
});
