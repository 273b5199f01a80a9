// Buffer ownership under `tidy` (issue 10, section 1): a buffer goes back to the pool only through the
// tensor that owns it; views and aliases are released with their owner, never on their own; reading a
// released buffer, or back-propagating through a freed graph, throws.
import { describe, expect, it } from 'vitest';
import { layerNorm, linear } from '../src/nn/index.ts';
import {
  atTopLevel,
  keep,
  noGrad,
  Rng,
  randn,
  type Tensor,
  tensor,
  tidy,
  trackedTensor,
  zeros,
} from '../src/tensor/index.ts';

/** Takes every pooled buffer of `size` floats, as a busy training step would, and fills it with 7. */
function drainPool(size: number): Float32Array[] {
  const taken: Float32Array[] = [];
  tidy(() => {
    for (let i = 0; i < 70; i++) taken.push(zeros([size]).data.fill(7));
  });
  return taken;
}

describe('views and aliases never release their owner', () => {
  it('a reshape of a tensor made outside tidy leaves its buffer to its owner', () => {
    const param = randn([4, 4], new Rng(1), { requiresGrad: true });
    const before = param.data.slice();
    tidy(() => param.reshape(16).sum().item());
    const taken = drainPool(16);
    expect(taken.includes(param.data)).toBe(false);
    expect(param.disposed).toBe(false);
    expect(param.data).toEqual(before);
  });

  it('trackedTensor over caller memory never hands that memory to the pool', () => {
    const memory = Float32Array.of(1, 2, 3, 4, 5);
    let inside: Tensor | null = null;
    tidy(() => {
      inside = trackedTensor(memory, [5]);
      return inside.sum().item();
    });
    const taken = drainPool(5);
    expect(taken.includes(memory)).toBe(false);
    expect(memory).toEqual(Float32Array.of(1, 2, 3, 4, 5));
    // The tensor itself is done with its scope: using it throws.
    expect(() => inside!.sum()).toThrow(
      /sum: tensor of shape \[5\] was disposed when its tidy\(\) scope ended/,
    );
  });

  it('a detached alias that escapes tidy throws instead of reading recycled memory', () => {
    const x = tensor([1, 2, 3]);
    let alias: Tensor | null = null;
    tidy(() => {
      alias = x.mul(2).detach();
    });
    drainPool(3);
    expect(alias!.disposed).toBe(true);
    expect(() => alias!.data).toThrow(/data: tensor of shape \[3\] was disposed/);
    expect(() => alias!.sum()).toThrow(/sum: .* was disposed/);
    expect(() => alias!.toArray()).toThrow(/toArray: .* was disposed/);
  });

  it('a detached alias returned from tidy keeps its owner alive', () => {
    const x = tensor([1, 2, 3]);
    const alias = tidy(() => x.mul(2).detach());
    drainPool(3);
    expect(alias.toArray()).toEqual([2, 4, 6]);
  });

  it('a tensor made outside tidy and returned through nested scopes stays alive', () => {
    const weight = randn([3], new Rng(2));
    const before = weight.data.slice();
    tidy(() => {
      tidy(() => weight);
      return 0;
    });
    drainPool(3);
    expect(weight.disposed).toBe(false);
    expect(weight.data).toEqual(before);
  });

  it('atTopLevel runs as outside every scope and noGrad: what it makes survives them, and it records gradients', () => {
    const w = randn([3], new Rng(2), { requiresGrad: true });
    let made: Tensor | null = null;
    tidy(() =>
      noGrad(() =>
        atTopLevel(() => {
          made = w.mul(2);
          made.sum().backward();
        }),
      ),
    );
    drainPool(3);
    expect(made!.disposed).toBe(false);
    expect(Array.from(made!.data)).toEqual(Array.from(w.data, (v) => Math.fround(v * 2)));
    expect(Array.from(w.grad!.data)).toEqual([2, 2, 2]);
    // The scopes and grad mode it left are back afterwards.
    tidy(() => {
      const inner = noGrad(() => {
        atTopLevel(() => w.sum());
        return w.mul(3);
      });
      expect(inner.requiresGrad).toBe(false);
      made = inner;
      return 0;
    });
    expect(made!.disposed).toBe(true);
    // A throw inside gives both back as well.
    tidy(() =>
      noGrad(() => {
        expect(() =>
          atTopLevel(() => {
            w.mul(2);
            throw new Error('inside');
          }),
        ).toThrow('inside');
        expect(w.mul(3).requiresGrad).toBe(false);
        const tracked = w.mul(4);
        made = tracked;
      }),
    );
    expect(made!.disposed).toBe(true);
  });

  it('a kept tensor survives every enclosing scope, views included', () => {
    let cached: Tensor | null = null;
    tidy(() => {
      tidy(() => {
        cached = keep(tensor([1, 2, 3, 4]).mul(3)).reshape(2, 2);
      });
    });
    drainPool(4);
    expect(cached!.toArray()).toEqual([
      [3, 6],
      [9, 12],
    ]);
  });
});

describe('backward refuses a graph it cannot trust', () => {
  it('a graph returned from tidy and back-propagated outside it throws, naming the op', () => {
    const w = randn([4], new Rng(3), { requiresGrad: true });
    const x = tensor([0.1, -0.2, 0.3, 2]);
    const loss = tidy(() => x.mul(w).clamp(-0.5, 0.5).sum());
    drainPool(4);
    expect(() => loss.backward()).toThrow(
      /backward: the graph through sum \(shape \[\]\) reads a tensor .* disposed/,
    );
    expect(w.grad).toBeNull();
  });

  it('an op whose input was released is refused', () => {
    const w = randn([2, 2], new Rng(4), { requiresGrad: true });
    // Returning only the clamp keeps its input out of the result: the product inside is released, and
    // clamp's backward reads it.
    const y = tidy(() => tensor([1, 2]).reshape(1, 2).matmul(w).clamp(-1, 1));
    drainPool(2);
    expect(() => y.sum().backward()).toThrow(
      /backward: the graph through clamp \(shape \[1, 2\]\) reads .* disposed/,
    );
  });

  it('an op whose saved pre-activation was released is refused', () => {
    const w = randn([3, 2], new Rng(7), { requiresGrad: true });
    const x = randn([4, 3], new Rng(8));
    // silu keeps its pre-activation for the backward pass; returning only the output releases it.
    const y = tidy(() => linear(x, w, null, 'silu'));
    drainPool(8);
    expect(() => y.sum().backward()).toThrow(
      /backward: the graph through linear \(shape \[4, 2\]\) reads .* disposed/,
    );
  });

  it('where refuses a backward whose condition was released (it is no input, but backward reads it)', () => {
    const x = tensor([1, 2, 3, 4], undefined, { requiresGrad: true });
    const y = tidy(() => x.where(tensor([1, 0, 1, 0]), 0));
    drainPool(4);
    expect(() => y.sum().backward()).toThrow(
      /backward: the graph through where \(shape \[4\]\) reads .* disposed/,
    );
    expect(x.grad).toBeNull();
  });

  it('layerNorm refuses a backward whose saved statistics were released, before touching a gradient', () => {
    const gamma = tensor([1, 1, 1], undefined, { requiresGrad: true });
    const x = randn([2, 3], new Rng(9), { requiresGrad: true });
    const y = tidy(() => layerNorm(x, gamma, null));
    drainPool(6);
    drainPool(2);
    expect(() => y.sum().backward()).toThrow(
      /backward: the graph through layerNorm \(shape \[2, 3\]\) reads .* disposed/,
    );
    expect(gamma.grad).toBeNull();
    expect(x.grad).toBeNull();
  });

  it('a second backward through a shared subgraph throws, as in PyTorch', () => {
    const w = tensor([1, 2, 3], undefined, { requiresGrad: true });
    const shared = w.mul(w);
    shared.sum().backward();
    expect(w.grad!.toArray()).toEqual([2, 4, 6]);
    expect(() => shared.mul(2).sum().backward()).toThrow(
      /backward: trying to backward through the graph a second time: the graph through mul \(shape \[3\]\) was freed/,
    );
    // Nothing was added by the refused pass.
    expect(w.grad!.toArray()).toEqual([2, 4, 6]);
  });

  it('retainGraph keeps the graph for another pass', () => {
    const w = tensor([1, 2, 3], undefined, { requiresGrad: true });
    const shared = w.mul(w);
    shared.sum().backward(undefined, { retainGraph: true });
    shared.mul(2).sum().backward();
    expect(w.grad!.toArray()).toEqual([6, 12, 18]);
  });

  it('backward inside the scope that built the graph still works and recycles', () => {
    const w = randn([8, 8], new Rng(5), { requiresGrad: true });
    const x = randn([4, 8], new Rng(6));
    const losses: number[] = [];
    for (let i = 0; i < 3; i++) {
      losses.push(
        tidy(() => {
          const loss = x.matmul(w).tanh().reshape(-1).square().mean();
          loss.backward();
          return loss.item();
        }),
      );
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(w.disposed).toBe(false);
    expect(w.grad!.data.every(Number.isFinite)).toBe(true);
  });
});
