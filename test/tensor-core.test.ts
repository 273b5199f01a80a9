import ndarray from 'ndarray';
import { describe, expect, it } from 'vitest';
import {
  arange,
  concat,
  fromNdarray,
  full,
  noGrad,
  ones,
  Rng,
  rand,
  randn,
  Tensor,
  tensor,
  tidy,
  where,
  zeros,
} from '../src/tensor/index.ts';

describe('creation and reading', () => {
  it('builds from nested arrays, flat arrays with a shape, and scalars', () => {
    const a = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(a.shape).toEqual([2, 3]);
    expect(a.toArray()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(tensor([1, 2, 3, 4], [2, 2]).toArray()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(tensor(7).item()).toBe(7);
    expect(tensor(7).shape).toEqual([]);
    expect(zeros([2, 2]).data).toEqual(new Float32Array(4));
    expect(ones([3]).data).toEqual(Float32Array.of(1, 1, 1));
    expect(full([2], 2.5).data).toEqual(Float32Array.of(2.5, 2.5));
    expect(arange(4).data).toEqual(Float32Array.of(0, 1, 2, 3));
    expect(arange(1, 2, 0.25).data).toEqual(Float32Array.of(1, 1.25, 1.5, 1.75));
    const r = rand([1000], new Rng(1), -2, 3).data;
    expect(Math.min(...r)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...r)).toBeLessThan(3);
  });

  it('rejects ragged arrays, bad shapes and item() on many elements', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(/ragged/);
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow(/3 values do not fit shape \[2, 2\]/);
    expect(() => zeros([2, -1])).toThrow(/non-negative integers/);
    expect(() => tensor([1, 2]).item()).toThrow(/one element, got shape \[2\]/);
    expect(() => arange(0, 1, 0)).toThrow(/step/);
  });
});

describe('errors name the op and the shapes', () => {
  const a = tensor([[1, 2, 3]]);
  const b = tensor([[1, 2]]);
  it('broadcast mismatch', () => {
    expect(() => a.add(b)).toThrow('add: shapes [1, 3] and [1, 2] cannot be broadcast together');
    expect(() => a.mul(tensor([1, 2]))).toThrow(/mul: shapes \[1, 3\] and \[2\]/);
  });
  it('matmul mismatch', () => {
    expect(() => a.matmul(b)).toThrow(/matmul: shapes \[1, 3\] and \[1, 2\] do not fit/);
    expect(() => tensor([1, 2]).matmul(b)).toThrow(/matmul: shapes \[2\] and \[1, 2\]/);
  });
  it('axes, slices, gathers, concat, reshape', () => {
    expect(() => a.sum(2)).toThrow('sum: axis 2 is out of range for a tensor of rank 2');
    expect(() => a.slice(1, 2, 5)).toThrow(/slice: range \[2, 5\) does not fit axis 1 of length 3/);
    expect(() => a.gather([3])).toThrow(/gather: index 3 at position 0 is outside \[0, 3\)/);
    expect(() => a.gather([0, 1])).toThrow(/needs 1 indices, got 2/);
    expect(() => concat([a, b], 0)).toThrow(/concat: shapes \[1, 3\] and \[1, 2\] differ outside axis 0/);
    expect(() => a.reshape(4)).toThrow('reshape: cannot reshape [1, 3] (3 elements) to [4]');
    expect(() => a.clamp(1, 0)).toThrow(/min 1 must not exceed max 0/);
  });
  it('backward on a non-scalar without a gradient, and on a graph-less tensor', () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true });
    expect(() => x.mul(2).backward()).toThrow(/non-scalar tensor of shape \[2\] without a gradient/);
    expect(() => tensor([1]).backward()).toThrow(/does not require grad/);
  });
});

describe('autodiff mechanics', () => {
  it('accumulates gradients across backward calls until zeroGrad', () => {
    const x = tensor([1, 2, 3], undefined, { requiresGrad: true });
    x.square().sum().backward();
    x.square().sum().backward();
    expect(x.grad!.data).toEqual(Float32Array.of(4, 8, 12));
    x.zeroGrad();
    expect(x.grad!.data).toEqual(new Float32Array(3));
  });

  it('an explicit output gradient seeds backward on a non-scalar', () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true });
    x.mul(3).backward(tensor([1, 10]));
    expect(x.grad!.data).toEqual(Float32Array.of(3, 30));
  });

  it('noGrad records no graph; detach cuts it', () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true });
    const y = noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
    const z = x.detach().mul(2);
    expect(z.requiresGrad).toBe(false);
    const w = x.mul(x.detach()).sum();
    w.backward();
    expect(x.grad!.data).toEqual(Float32Array.of(1, 2));
  });

  it('intermediates drop their gradient; leaves keep it', () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true });
    const h = x.exp();
    h.sum().backward();
    expect(h.grad).toBeNull();
    expect(x.grad).not.toBeNull();
  });

  it('where picks by condition and routes the gradient', () => {
    const a = tensor([1, 2, 3], undefined, { requiresGrad: true });
    const out = where(tensor([1, 0, 1]), a, 0);
    expect(out.data).toEqual(Float32Array.of(1, 0, 3));
    out.sum().backward();
    expect(a.grad!.data).toEqual(Float32Array.of(1, 0, 1));
  });
});

describe('tidy recycles buffers', () => {
  it('keeps the result, disposes intermediates, reuses their buffers next time', () => {
    const w = randn([8, 8], new Rng(1), { requiresGrad: true });
    const x = randn([4, 8], new Rng(2));
    let intermediate: Tensor | null = null;
    const step = (): Tensor =>
      tidy(() => {
        intermediate = x.matmul(w).tanh();
        const loss = intermediate.square().mean();
        loss.backward();
        return loss;
      });
    const first = step();
    expect(first.disposed).toBe(false);
    expect(Number.isFinite(first.item())).toBe(true);
    expect(intermediate!.disposed).toBe(true);
    expect(() => intermediate!.sum()).toThrow(/disposed when its tidy\(\) scope ended/);
    // Steady state: the same step cycles through the same few buffers instead of allocating new ones.
    const seen = new Set<Float32Array>();
    for (let i = 0; i < 10; i++) {
      tidy(() => {
        const h = x.matmul(w).tanh();
        seen.add(h.data);
        h.sum().backward();
      });
    }
    expect(seen.size).toBeLessThanOrEqual(3);
    expect(w.grad!.disposed).toBe(false);
  });

  it('a reshape view of a kept result survives', () => {
    const x = randn([2, 3], new Rng(4));
    const view = tidy(() => x.mul(2).reshape(3, 2));
    expect(view.disposed).toBe(false);
    expect(view.data[0]).toBeCloseTo(2 * x.data[0]!);
  });
});

describe('ndarray interop', () => {
  it('accepts strided, offset and reversed views', () => {
    const base = ndarray(new Float64Array([0, 1, 2, 3, 4, 5]), [2, 3]);
    expect(fromNdarray(base.transpose(1, 0)).toArray()).toEqual([
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    expect(fromNdarray(base.step(1, -1)).toArray()).toEqual([
      [2, 1, 0],
      [5, 4, 3],
    ]);
    expect(fromNdarray(base.lo(0, 1).hi(2, 2)).toArray()).toEqual([
      [1, 2],
      [4, 5],
    ]);
    expect(Tensor.fromNdarray(base.pick(1, null)).toArray()).toEqual([3, 4, 5]);
  });

  it('toNdarray is a view of the same buffer', () => {
    const t = tensor([
      [1, 2],
      [3, 4],
    ]);
    const nd = t.toNdarray();
    expect(nd.get(1, 0)).toBe(3);
    nd.set(0, 1, 9);
    expect(t.data[1]).toBe(9);
  });
});
