// Modules, state dicts, initialisers, shapes and argument errors of src/nn.
import { describe, expect, it } from 'vitest';
import {
  DenoisingAutoencoder,
  EnsembleLinear,
  EnsembleMLP,
  GRU,
  GRUCell,
  LayerNorm,
  Linear,
  MLP,
  mse,
  orthogonal,
  ProbabilisticEnsemble,
} from '../src/nn/index.ts';
import { noGrad, Rng, tensor, tidy, zeros } from '../src/tensor/index.ts';
import { normal } from './helpers/gradcheck.ts';

describe('Module', () => {
  it('names parameters by dotted path and counts them', () => {
    const mlp = new MLP([3, 5, 2], { rng: new Rng(0) });
    expect(mlp.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([
      ['0.weight', [3, 5]],
      ['0.bias', [5]],
      ['1.weight', [5, 2]],
      ['1.bias', [2]],
    ]);
    expect(mlp.parameterCount()).toBe(3 * 5 + 5 + 5 * 2 + 2);
    expect(mlp.parameters().every((p) => p.requiresGrad && p.isLeaf)).toBe(true);
  });

  it('stateDict is a detached copy and loadStateDict restores it in place', () => {
    const a = new MLP([2, 4, 1], { rng: new Rng(1) });
    const b = new MLP([2, 4, 1], { rng: new Rng(2) });
    const weight = b.layers[0]!.weight;
    const state = a.stateDict();
    a.layers[0]!.weight.data[0] = 123;
    expect(state['0.weight']!.data[0]).not.toBe(123);
    b.loadStateDict(state);
    expect(b.layers[0]!.weight).toBe(weight);
    expect(Array.from(b.layers[1]!.weight.data)).toEqual(Array.from(a.layers[1]!.weight.data));
  });

  it('loadStateDict names the mismatch', () => {
    const small = new MLP([2, 4, 1], { rng: new Rng(1) });
    const wide = new MLP([2, 5, 1], { rng: new Rng(1) });
    expect(() => small.loadStateDict(wide.stateDict())).toThrow(
      /'0\.weight' has shape \[2, 5\] in the state but \[2, 4\] in MLP/,
    );
    const deep = new MLP([2, 4, 4, 1], { rng: new Rng(1) });
    expect(() => small.loadStateDict(deep.stateDict())).toThrow(/not in the module: \[2\.weight, 2\.bias\]/);
    expect(() => deep.loadStateDict(small.stateDict())).toThrow(
      /missing from the state: \[2\.weight, 2\.bias\]/,
    );
    // A failed load changes nothing.
    const before = Array.from(small.layers[0]!.weight.data);
    const bad = { ...small.stateDict(), '1.bias': tensor([1, 2]) };
    expect(() => small.loadStateDict(bad)).toThrow(/'1\.bias'/);
    expect(Array.from(small.layers[0]!.weight.data)).toEqual(before);
    // Non-strict loads the overlap.
    const partial = { '0.bias': tensor([1, 2, 3, 4]) };
    small.loadStateDict(partial, { strict: false });
    expect(Array.from(small.layers[0]!.bias!.data)).toEqual([1, 2, 3, 4]);
  });
});

describe('initialisers', () => {
  it('uniform fan-in stays inside ±1/sqrt(in)', () => {
    const layer = new Linear(16, 8, { rng: new Rng(3) });
    const bound = 1 / 4;
    expect(layer.weight.data.every((v) => Math.abs(v) <= bound)).toBe(true);
    expect(layer.bias!.data.every((v) => Math.abs(v) <= bound)).toBe(true);
    expect(Math.max(...layer.weight.data.map(Math.abs))).toBeGreaterThan(0.8 * bound);
  });

  for (const [rows, cols] of [
    [6, 3],
    [3, 6],
    [5, 5],
  ] as const) {
    it(`orthogonal ${rows}x${cols} with gain has orthonormal rows or columns times the gain`, () => {
      const gain = Math.SQRT2;
      const w = orthogonal(new Float32Array(rows * cols), rows, cols, new Rng(4), gain);
      const small = Math.min(rows, cols);
      // Gram matrix over the shorter side: (WᵀW if tall, WWᵀ if wide) = gain² I.
      for (let a = 0; a < small; a++) {
        for (let b = 0; b < small; b++) {
          let dot = 0;
          const long = Math.max(rows, cols);
          for (let i = 0; i < long; i++) {
            dot += rows >= cols ? w[i * cols + a]! * w[i * cols + b]! : w[a * cols + i]! * w[b * cols + i]!;
          }
          expect(dot).toBeCloseTo(a === b ? gain * gain : 0, 4);
        }
      }
    });
  }

  it('is reproducible from the seed and differs across seeds', () => {
    const a = new MLP([4, 8, 2], { rng: new Rng(5), init: 'orthogonal' });
    const b = new MLP([4, 8, 2], { rng: new Rng(5), init: 'orthogonal' });
    const c = new MLP([4, 8, 2], { rng: new Rng(6), init: 'orthogonal' });
    expect(Array.from(a.layers[0]!.weight.data)).toEqual(Array.from(b.layers[0]!.weight.data));
    expect(Array.from(a.layers[0]!.weight.data)).not.toEqual(Array.from(c.layers[0]!.weight.data));
    expect(Array.from(a.layers[0]!.bias!.data).every((v) => v === 0)).toBe(true);
  });
});

describe('layers', () => {
  it('Linear matches x·W + b computed by hand', () => {
    const layer = new Linear(2, 2, { rng: new Rng(0) });
    layer.weight.data.set([1, 2, 3, 4]);
    layer.bias!.data.set([0.5, -0.5]);
    const y = layer.forward(tensor([[1, 1]]));
    expect(Array.from(y.data)).toEqual([4.5, 5.5]);
  });

  it('GRUCell steps agree with GRU over the sequence', () => {
    const rng = new Rng(1);
    const gru = new GRU(3, 4, { rng });
    const x = normal([4, 2, 3], rng);
    const { output, hidden } = noGrad(() => gru.forward(x));
    let h = tensor(new Float32Array(8), [2, 4]);
    for (let t = 0; t < 4; t++) {
      h = noGrad(() => gru.cell.forward(x.slice(0, t, t + 1).reshape(2, 3), h));
      const step = output.slice(0, t, t + 1).reshape(2, 4);
      for (let i = 0; i < 8; i++) expect(step.data[i]).toBeCloseTo(h.data[i]!, 5);
    }
    // hidden is the last step's state; the sequence kernel (WebAssembly) computes the gates with its own
    // exp, so the step-by-step cell agrees to float32 rounding rather than bit for bit.
    expect(Array.from(hidden.data)).toEqual(Array.from(output.slice(0, 3, 4).data));
    for (let i = 0; i < 8; i++) expect(hidden.data[i]).toBeCloseTo(h.data[i]!, 5);
  });

  it('LayerNorm gives rows of mean 0 and variance 1', () => {
    const y = new LayerNorm(6).forward(normal([3, 6], new Rng(2)).mul(5).add(3));
    for (let r = 0; r < 3; r++) {
      const row = Array.from(y.data.subarray(r * 6, r * 6 + 6));
      const mean = row.reduce((p, v) => p + v, 0) / 6;
      const variance = row.reduce((p, v) => p + (v - mean) ** 2, 0) / 6;
      expect(mean).toBeCloseTo(0, 5);
      expect(variance).toBeCloseTo(1, 3);
    }
  });

  it('ensemble members are independent models evaluated together', () => {
    const rng = new Rng(3);
    const ens = new EnsembleMLP(3, [2, 8, 1], { rng });
    const x = normal([3, 4, 2], rng);
    const y = noGrad(() => ens.forward(x));
    expect(y.shape).toEqual([3, 4, 1]);
    // Member 1 alone, built from its slices of the batched weights, gives the same rows.
    const single = new MLP([2, 8, 1], { rng: new Rng(0), activation: 'silu' });
    for (let l = 0; l < 2; l++) {
      const w = ens.layers[l]!.weight;
      const [, inF, outF] = w.shape as [number, number, number];
      single.layers[l]!.weight.data.set(w.data.subarray(inF * outF, 2 * inF * outF));
      single.layers[l]!.bias!.data.set(ens.layers[l]!.bias!.data.subarray(outF, 2 * outF));
    }
    const y1 = noGrad(() => single.forward(x.slice(0, 1, 2).reshape(4, 2)));
    for (let i = 0; i < 4; i++) expect(y.data[4 + i]).toBeCloseTo(y1.data[i]!, 5);
    // A shared [B, in] input is fed to every member.
    const shared = normal([4, 2], rng);
    expect(noGrad(() => ens.forward(shared)).shape).toEqual([3, 4, 1]);
  });

  it('a members view computes, back-propagates and trains those members of the whole, bit for bit', () => {
    const rng = new Rng(6);
    const whole = new EnsembleMLP(4, [3, 16, 5], { rng, activation: 'tanh', outputActivation: 'sigmoid' });
    const view = whole.membersView(1, 2);
    expect(view.members).toBe(2);
    expect(view.parameters().map((p) => p.shape)).toEqual([
      [2, 3, 16],
      [2, 16],
      [2, 16, 5],
      [2, 5],
    ]);
    const x = normal([4, 7, 3], rng);
    const g = normal([4, 7, 5], rng);
    // The whole on all four members against the view on members 1 and 2: the same outputs and gradients.
    const y = whole.forward(x);
    y.backward(g);
    const xs = x.slice(0, 1, 3);
    const ys = view.forward(xs);
    ys.backward(g.slice(0, 1, 3));
    expect(Array.from(ys.data)).toEqual(Array.from(y.data.subarray(7 * 5, 3 * 7 * 5)));
    whole.parameters().forEach((p, i) => {
      const per = p.size / 4;
      expect(Array.from(view.parameters()[i]!.grad!.data)).toEqual(
        Array.from(p.grad!.data.subarray(per, 3 * per)),
      );
    });
    // The view's weights are the whole's: changing one changes the other.
    view.layers[0]!.weight.data[0] = 42;
    expect(whole.layers[0]!.weight.data[3 * 16]).toBe(42);
    expect(() => whole.membersView(3, 2)).toThrow(/members \[3, 5\) are not within the 4 members/);
    // A layer without biases adopts null, and a view of it has none either.
    const w = normal([2, 3, 4], rng).data;
    const unbiased = new EnsembleMLP(2, [3, 4], { weights: [{ weight: w, bias: null }] });
    expect(unbiased.layers[0]!.bias).toBeNull();
    expect(unbiased.layers[0]!.weight.data).toBe(w);
    expect(unbiased.membersView(1, 1).layers[0]!.bias).toBeNull();
    expect(() => new EnsembleMLP(2, [3, 4], {})).toThrow(/options.rng .* unless options.weights/);
    expect(() => new EnsembleMLP(2, [3, 4], { weights: [] })).toThrow(
      'must give each of the 1 layers of sizes [3,4]; it has 0 of 0',
    );
    expect(
      () => new EnsembleMLP(2, [3, 4], { weights: [{ weight: new Float32Array(5), bias: null }] }),
    ).toThrow('has weight 5 values and bias null; expected Float32Arrays of 24 and 8 values');
    const plain = { weight: Array.from(w) as unknown as Float32Array, bias: null };
    expect(() => new EnsembleMLP(2, [3, 4], { weights: [plain] })).toThrow(
      'has weight a object and bias null',
    );
    expect(
      () => new EnsembleLinear(2, 3, 4, { bias: false, weights: { weight: w, bias: new Float32Array(8) } }),
    ).toThrow('options.bias is false but options.weights gives biases');
  });

  it('the probabilistic head keeps the log-variance within its bounds', () => {
    const model = new ProbabilisticEnsemble(2, [3, 8, 2], { rng: new Rng(4), maxLogVar: 0.5, minLogVar: -4 });
    const x = normal([2, 50, 3], new Rng(5)).mul(100);
    const { mean, logVar } = noGrad(() => model.forward(x));
    expect(mean.shape).toEqual([2, 50, 2]);
    // Soft bounds: above min, and at most min + softplus(max - min), a hair above max.
    const top = -4 + Math.log1p(Math.exp(4.5));
    expect(logVar.data.every((v) => v <= top + 1e-5 && v >= -4 - 1e-6)).toBe(true);
    expect(Math.max(...logVar.data)).toBeGreaterThan(0.3);
    expect(Math.min(...logVar.data)).toBeLessThan(-3.5);
    expect(model.boundsPenalty().item()).toBeCloseTo(0.01 * (2 * 0.5 + 2 * 4), 6);
  });

  it('autoencoder reconstruction error is one value per row', () => {
    const ae = new DenoisingAutoencoder(4, { rng: new Rng(6) });
    const err = ae.reconstructionError(normal([7, 4], new Rng(7)));
    expect(err).toHaveLength(7);
    expect(err.every((v) => v >= 0)).toBe(true);
  });

  it('layers work inside tidy and leave their parameters alone', () => {
    const mlp = new MLP([2, 4, 1], { rng: new Rng(8) });
    const x = normal([3, 2], new Rng(9));
    const h0 = normal([1, 4], new Rng(10));
    const gru = new GRU(2, 4, { rng: new Rng(11) });
    const params = [...mlp.parameters(), ...gru.parameters()];
    const before = params.map((p) => p.data.slice());
    const h0Before = h0.data.slice();
    const loss = tidy(() => {
      // The L2 term reads every parameter through a reshape view, and the GRU starts from the caller's
      // h0: neither may hand the caller's buffer to the pool when the scope ends.
      const l2 = params.map((p) => p.reshape(-1).square().sum()).reduce((a, b) => a.add(b));
      const sequence = gru.forward(x.reshape(3, 1, 2), h0).output;
      const l = mse(mlp.forward(x), tensor([[1], [2], [3]]))
        .add(l2.mul(1e-3))
        .add(sequence.mean());
      l.backward();
      return l.item();
    });
    expect(Number.isFinite(loss)).toBe(true);
    // A busy next step takes every pooled buffer and writes into it: the parameters must not be among them.
    const taken = tidy(() =>
      [...params, h0].flatMap((p) => Array.from({ length: 70 }, () => zeros(p.shape).data.fill(7))),
    );
    expect(params.every((p) => !p.disposed && p.grad !== null)).toBe(true);
    expect(taken.some((buffer) => params.some((p) => p.data === buffer))).toBe(false);
    expect(params.map((p) => p.data)).toEqual(before);
    expect(h0.data).toEqual(h0Before);
  });
});

describe('argument errors name the value and what was expected', () => {
  const rng = new Rng(0);
  it.each([
    [() => new Linear(0, 2, { rng }), /Linear: inFeatures must be an integer >= 1, got 0/],
    [() => new Linear(2, 2.5, { rng }), /outFeatures must be an integer >= 1, got 2.5/],
    [() => new Linear(2, 2, {} as never), /options.rng \(a seeded Rng\) is required/],
    [() => new Linear(2, 2, { rng, activation: 'gelu' as never }), /activation must be one of .* got 'gelu'/],
    [() => new MLP([3], { rng }), /sizes must list at least \[in, out\], got \[3\]/],
    [() => new GRUCell(2, -1, { rng }), /GRUCell: hiddenSize must be an integer >= 1, got -1/],
    [() => new LayerNorm(4, { eps: 0 }), /LayerNorm: eps must be a number in \(0, inf\), got 0/],
    [
      () => new ProbabilisticEnsemble(2, [2, 2], { rng, maxLogVar: -1, minLogVar: 0 }),
      /minLogVar must be a number in \(-inf, -1\), got 0/,
    ],
    [
      () => new DenoisingAutoencoder(3, { rng, noiseStd: -1 }),
      /noiseStd must be a number in \[0, inf\), got -1/,
    ],
    [
      () => new Linear(3, 2, { rng }).forward(tensor([[1, 2]])),
      /input of shape \[1, 2\] does not fit weight \[3, 2\]/,
    ],
    [
      () => mse(tensor([1, 2]), tensor([1, 2, 3])),
      /prediction \[2\] and target \[3\] must have the same shape/,
    ],
  ] as const)('%#', (fn, message) => {
    expect(fn).toThrow(message);
  });
});
