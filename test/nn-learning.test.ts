// Learning tests with fixed seeds: each model must actually learn its small task with Adam, and the
// uncertainty signals (ensemble disagreement, autoencoder reconstruction error) must separate familiar
// inputs from unfamiliar ones.
import { describe, expect, it } from 'vitest';
import { Adam, DenoisingAutoencoder, EnsembleMLP, GRU, Linear, MLP, mse } from '../src/nn/index.ts';
import { noGrad, Rng, type Tensor, tensor, tidy } from '../src/tensor/index.ts';

/** One Adam step on `loss()` inside tidy; returns the loss value. */
function trainStep(optimizer: Adam, loss: () => Tensor): number {
  return tidy(() => {
    optimizer.zeroGrad();
    const l = loss();
    l.backward();
    optimizer.step();
    return l.item();
  });
}

/** Variance of the values in `data`. */
function variance(data: ArrayLike<number>): number {
  let mean = 0;
  for (let i = 0; i < data.length; i++) mean += data[i]!;
  mean /= data.length;
  let total = 0;
  for (let i = 0; i < data.length; i++) total += (data[i]! - mean) ** 2;
  return total / data.length;
}

describe('learning', () => {
  it('an MLP fits a 1-D sine to low error', () => {
    const rng = new Rng(11);
    const n = 128;
    const xs = Array.from({ length: n }, (_, i) => -Math.PI + (2 * Math.PI * i) / (n - 1));
    const x = tensor(xs, [n, 1]);
    const y = tensor(
      xs.map((v) => Math.sin(v)),
      [n, 1],
    );
    const mlp = new MLP([1, 32, 32, 1], { rng });
    const adam = new Adam(mlp.parameters(), { lr: 1e-2 });
    const first = trainStep(adam, () => mse(mlp.forward(x), y));
    let last = first;
    for (let step = 0; step < 500; step++) last = trainStep(adam, () => mse(mlp.forward(x), y));
    // sin over a period has variance 0.5; a fit must be far below that, and far below where it started.
    expect(last).toBeLessThan(2e-3);
    expect(last).toBeLessThan(first / 50);
    // Held-out points between the training grid.
    const xt = Array.from({ length: 50 }, (_, i) => -3 + (6 * i + 0.37) / 50);
    const pred = noGrad(() => mlp.forward(tensor(xt, [50, 1])).data);
    let err = 0;
    for (let i = 0; i < 50; i++) err += (pred[i]! - Math.sin(xt[i]!)) ** 2;
    expect(err / 50).toBeLessThan(5e-3);
  });

  it('a GRU learns a running sum over a sequence', () => {
    const rng = new Rng(12);
    const steps = 6;
    const batch = 64;
    const hidden = 16;
    const gru = new GRU(1, hidden, { rng });
    const head = new Linear(hidden, 1, { rng });
    const adam = new Adam([...gru.parameters(), ...head.parameters()], { lr: 1e-2 });
    // Inputs U(-1, 1); the target at step t is the sum of the inputs so far, scaled by 1/2.
    const sample = (): { x: Tensor; y: Tensor } => {
      const x = new Float32Array(steps * batch);
      const y = new Float32Array(steps * batch);
      rng.fillUniform(x, -1, 1);
      for (let b = 0; b < batch; b++) {
        let total = 0;
        for (let t = 0; t < steps; t++) {
          total += x[t * batch + b]!;
          y[t * batch + b] = total / 2;
        }
      }
      return { x: tensor(x, [steps, batch, 1]), y: tensor(y, [steps, batch, 1]) };
    };
    const loss = (x: Tensor, y: Tensor): Tensor => mse(head.forward(gru.forward(x).output), y);
    for (let step = 0; step < 250; step++) {
      const { x, y } = sample();
      trainStep(adam, () => loss(x, y));
    }
    const test = sample();
    const final = noGrad(() => loss(test.x, test.y).item());
    // The target at step t has variance t/12, about 0.29 averaged over the sequence; a model without memory
    // cannot explain the earlier inputs' share of it. Require the error to fall below 1% of it.
    const baseline = variance(test.y.data);
    expect(final).toBeLessThan(0.01 * baseline);
  });

  it('ensemble members disagree more off the data than on it', () => {
    const rng = new Rng(13);
    const members = 5;
    const n = 64;
    const ensemble = new EnsembleMLP(members, [1, 32, 32, 1], { rng, activation: 'tanh' });
    const adam = new Adam(ensemble.parameters(), { lr: 1e-2 });
    // Data on [-1, 1]; every member sees the same points (a shared [B, in] input), targets repeated per member.
    const xs = Array.from({ length: n }, (_, i) => -1 + (2 * i) / (n - 1));
    const x = tensor(xs, [n, 1]);
    const ys = xs.map((v) => Math.sin(3 * v));
    const y = tensor(Array.from({ length: members }, () => ys).flat(), [members, n, 1]);
    for (let step = 0; step < 300; step++) trainStep(adam, () => mse(ensemble.forward(x), y));
    expect(noGrad(() => mse(ensemble.forward(x), y).item())).toBeLessThan(0.01);
    /** Mean over points of the standard deviation across members. */
    const disagreement = (points: number[]): number => {
      const out = noGrad(() => ensemble.forward(tensor(points, [points.length, 1])).data);
      let total = 0;
      for (let i = 0; i < points.length; i++) {
        const values = Array.from({ length: members }, (_, e) => out[e * points.length + i]!);
        total += Math.sqrt(variance(values));
      }
      return total / points.length;
    };
    const on = disagreement(Array.from({ length: 40 }, (_, i) => -0.95 + (1.9 * i) / 39));
    const off = disagreement(Array.from({ length: 40 }, (_, i) => 3 + (2 * i) / 39));
    expect(off).toBeGreaterThan(5 * on);
  });

  it('the autoencoder reconstructs its training distribution better than other inputs', () => {
    const rng = new Rng(14);
    const dim = 8;
    // Training data lies near a 2-D curved manifold in 8-D: x = tanh(z·A), z ~ N(0, 1).
    const a = rng.fillNormal(new Float32Array(2 * dim), 0, 0.8);
    const onManifold = (count: number): Tensor => {
      const out = new Float32Array(count * dim);
      for (let r = 0; r < count; r++) {
        const z0 = rng.normal();
        const z1 = rng.normal();
        for (let j = 0; j < dim; j++) out[r * dim + j] = Math.tanh(z0 * a[j]! + z1 * a[dim + j]!);
      }
      return tensor(out, [count, dim]);
    };
    // Off the manifold: points with the same per-coordinate spread but no structure.
    const offManifold = (count: number): Tensor =>
      tensor(rng.fillUniform(new Float32Array(count * dim), -0.8, 0.8), [count, dim]);
    const dae = new DenoisingAutoencoder(dim, { rng, hidden: [32], latent: 2, noiseStd: 0.05 });
    const adam = new Adam(dae.parameters(), { lr: 5e-3 });
    const train = onManifold(256);
    for (let step = 0; step < 400; step++) trainStep(adam, () => dae.loss(train, rng));
    const mean = (v: Float32Array): number => v.reduce((s, e) => s + e, 0) / v.length;
    const on = mean(dae.reconstructionError(onManifold(200)));
    const off = mean(dae.reconstructionError(offManifold(200)));
    expect(on).toBeLessThan(0.02);
    expect(off).toBeGreaterThan(4 * on);
  });
});
