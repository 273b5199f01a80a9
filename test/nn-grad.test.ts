// Finite-difference gradient checks through every layer and loss of src/nn (float32 central differences,
// relative tolerance; see test/helpers/gradcheck.ts), and one check that a wrong gradient is caught.
import { describe, expect, it } from 'vitest';
import {
  boundLogVar,
  crossEntropy,
  EnsembleLinear,
  ensembleLinear,
  GRU,
  gaussianNll,
  gruGates,
  huber,
  LayerNorm,
  Linear,
  layerNorm,
  linear,
  MLP,
  mse,
  ProbabilisticEnsemble,
} from '../src/nn/index.ts';
import { gradBuffer, needsGrad, Rng, recordGraph, resultTensor, type Tensor } from '../src/tensor/index.ts';
import { awayFromZero, expectGradientsMatch, gradCheck, normal } from './helpers/gradcheck.ts';

const activations = ['identity', 'tanh', 'relu', 'sigmoid', 'silu'] as const;

describe('gradient checks', () => {
  for (const act of activations) {
    it(`fused linear with ${act}`, () => {
      const rng = new Rng(1);
      const x = awayFromZero([5, 3], rng);
      const w = normal([3, 4], rng);
      const b = normal([4], rng);
      // relu's kink: keep pre-activations away from zero by checking inputs near it are rare; x·w varies.
      expectGradientsMatch((xx, ww, bb) => linear(xx!, ww!, bb!, act), [x, w, b]);
    });
  }

  it('linear over a 3-D input and without bias', () => {
    const rng = new Rng(2);
    const x = normal([2, 3, 4], rng);
    const w = normal([4, 5], rng);
    expectGradientsMatch((xx, ww) => linear(xx!, ww!, null, 'tanh'), [x, w]);
  });

  it('Linear module parameters', () => {
    const rng = new Rng(3);
    const layer = new Linear(4, 3, { rng, activation: 'tanh' });
    const x = normal([6, 4], rng);
    expectGradientsMatch((xx) => layer.forward(xx!), [x, layer.weight, layer.bias!]);
  });

  it('MLP (tanh, 3 layers) through input and every parameter', () => {
    const rng = new Rng(4);
    const mlp = new MLP([3, 8, 8, 2], { rng, activation: 'tanh', outputActivation: 'sigmoid' });
    const x = normal([5, 3], rng);
    expectGradientsMatch((xx) => mlp.forward(xx!), [x, ...mlp.parameters()]);
  });

  it('GRU gate arithmetic', () => {
    const rng = new Rng(5);
    const gi = normal([3, 12], rng);
    const gh = normal([3, 12], rng);
    const h = normal([3, 4], rng);
    expectGradientsMatch((a, b, c) => gruGates(a!, b!, c!), [gi, gh, h]);
  });

  it('GRU over several steps, through x, h0 and every weight', () => {
    const rng = new Rng(6);
    const gru = new GRU(3, 4, { rng });
    const x = normal([5, 2, 3], rng);
    const h0 = normal([2, 4], rng);
    expectGradientsMatch((xx, hh) => gru.forward(xx!, hh!).output, [x, h0, ...gru.parameters()]);
  });

  it('LayerNorm through x, gamma and beta', () => {
    const rng = new Rng(7);
    const ln = new LayerNorm(5);
    ln.weight!.data.set(normal([5], rng).data);
    ln.bias!.data.set(normal([5], rng).data);
    const x = normal([4, 5], rng);
    expectGradientsMatch((xx) => ln.forward(xx!), [x, ln.weight!, ln.bias!]);
    const y = normal([2, 3, 6], rng);
    expectGradientsMatch((yy) => layerNorm(yy!, null, null), [y]);
  });

  it('EnsembleLinear with per-member and shared inputs', () => {
    const rng = new Rng(8);
    const ens = new EnsembleLinear(3, 4, 2, { rng, activation: 'silu' });
    const x = normal([3, 5, 4], rng);
    expectGradientsMatch((xx) => ens.forward(xx!), [x, ens.weight, ens.bias!]);
    const shared = normal([5, 4], rng);
    expectGradientsMatch(
      (xx, ww, bb) => ensembleLinear(xx!, ww!, bb!, 'tanh'),
      [shared, ens.weight, ens.bias!],
    );
  });

  it('probabilistic head: mean and bounded log-variance, bounds included', () => {
    const rng = new Rng(9);
    const model = new ProbabilisticEnsemble(2, [3, 6, 2], { rng, maxLogVar: 0.5, minLogVar: -2 });
    const x = normal([2, 4, 3], rng);
    expectGradientsMatch(
      (xx) => {
        const { mean, logVar } = model.forward(xx!);
        return mean.add(logVar.mul(0.7));
      },
      [x, ...model.parameters()],
    );
    const raw = normal([3, 2], rng).mul(3);
    const maxLv = normal([2], rng);
    const minLv = normal([2], rng).sub(3);
    expectGradientsMatch((r, a, b) => boundLogVar(r!, a!, b!), [raw, maxLv, minLv]);
  });

  it('losses', () => {
    const rng = new Rng(10);
    const p = normal([4, 3], rng);
    const t = normal([4, 3], rng);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      expectGradientsMatch((a, b) => mse(a!, b!, { reduction }), [p, t]);
      expectGradientsMatch((a, b) => huber(a!, b!, { reduction, delta: 0.5 }), [p, t]);
    }
    const lv = normal([4, 3], rng);
    expectGradientsMatch((m, l, y) => gaussianNll(m!, l!, y!), [p, lv, t]);
    expectGradientsMatch((m, l, y) => gaussianNll(m!, l!, y!, { reduction: 'none', full: true }), [p, lv, t]);
    const logits = normal([5, 4], rng);
    const targets = [0, 3, 1, 2, 3];
    expectGradientsMatch((z) => crossEntropy(z!, targets), [logits]);
    expectGradientsMatch((z) => crossEntropy(z!, targets, { reduction: 'none' }), [logits]);
  });

  it('detects a deliberately wrong gradient', () => {
    // y = x² with a backward that returns 2.1·x: off by 5%, which the check must flag.
    const wrongSquare = (x: Tensor): Tensor => {
      const out = resultTensor(x.shape);
      for (let i = 0; i < x.size; i++) out.data[i] = x.data[i]! * x.data[i]!;
      if (needsGrad([x])) {
        recordGraph(
          out,
          [x],
          (g) => {
            const gx = gradBuffer(x)!;
            for (let i = 0; i < g.length; i++) gx[i]! += 2.1 * x.data[i]! * g[i]!;
          },
          'wrongSquare',
        );
      }
      return out;
    };
    const x = awayFromZero([6], new Rng(11), 0.5);
    expect(gradCheck((xx) => wrongSquare(xx!), [x]).maxError).toBeGreaterThan(1);
    expect(() => expectGradientsMatch((xx) => wrongSquare(xx!), [x])).toThrow(/gradient check failed/);
    // The same check passes with the square from the tensor core.
    expectGradientsMatch((xx) => xx!.square(), [x]);
  });
});
