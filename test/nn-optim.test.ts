// Optimisers, gradient clipping and learning-rate schedules against the update rules written out by hand
// (in float64, as the papers state them, without the folded bias corrections of the fused kernels).
import { describe, expect, it } from 'vitest';
import {
  Adam,
  AdamW,
  clipGradNorm,
  constantSchedule,
  cosineSchedule,
  linearSchedule,
  SGD,
} from '../src/nn/index.ts';
import { type Tensor, tensor } from '../src/tensor/index.ts';

/** A trainable leaf holding `values`, with `.grad` set to `grads`. */
function param(values: number[], grads: number[]): Tensor {
  const p = tensor(values, [values.length], { requiresGrad: true });
  p.grad = tensor(grads, [grads.length]);
  return p;
}

describe('Adam and AdamW', () => {
  it('Adam follows Kingma & Ba, Algorithm 1, step by step', () => {
    const w0 = [0.5, -1.5, 2];
    const grads = [
      [0.1, -0.2, 0.3],
      [-0.4, 0.5, 0.05],
      [0.2, 0.2, -1],
    ];
    const p = param(w0, grads[0]!);
    const [lr, b1, b2, eps] = [0.01, 0.9, 0.999, 1e-8];
    const adam = new Adam([p], { lr, betas: [b1, b2], eps });
    const w = [...w0];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    grads.forEach((g, t) => {
      p.grad!.data.set(g);
      adam.step();
      for (let i = 0; i < 3; i++) {
        m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
        v[i] = b2 * v[i]! + (1 - b2) * g[i]! ** 2;
        const mHat = m[i]! / (1 - b1 ** (t + 1));
        const vHat = v[i]! / (1 - b2 ** (t + 1));
        w[i] = w[i]! - (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
      for (let i = 0; i < 3; i++) expect(p.data[i]).toBeCloseTo(w[i]!, 6);
    });
    expect(adam.steps).toBe(3);
  });

  it('Adam weight decay joins the gradient; AdamW decays the weight directly', () => {
    // With a zero gradient, Adam's L2 term alone drives the step; AdamW shrinks w by (1 - lr·λ) and its
    // adaptive step sees a zero gradient, so w is exactly w·(1 - lr·λ).
    const adamW = new AdamW([param([2], [0])], { lr: 0.1, weightDecay: 0.5 });
    adamW.step();
    expect(adamW.params[0]!.data[0]).toBeCloseTo(2 * (1 - 0.1 * 0.5), 6);
    const adam = new Adam([param([2], [0])], { lr: 0.1, weightDecay: 0.5 });
    adam.step();
    // The first Adam step has magnitude lr whatever the gradient's size: 2 - 0.1.
    expect(adam.params[0]!.data[0]).toBeCloseTo(1.9, 5);
  });

  it('parameters without a gradient are left alone and bad settings are named', () => {
    const p = tensor([1, 2], [2], { requiresGrad: true });
    const adam = new Adam([p]);
    adam.step();
    expect(Array.from(p.data)).toEqual([1, 2]);
    expect(() => new Adam([p], { betas: [1, 0.999] })).toThrow(
      /Adam: betas\[0\] must be a number in \[0, 1\), got 1/,
    );
    expect(() => new Adam([p], { eps: 0 })).toThrow(/eps/);
    expect(() => new Adam([])).toThrow(/non-empty list of parameters/);
    expect(() => new Adam([tensor([1])])).toThrow(/must be a leaf that requires grad/);
    expect(() => {
      adam.lr = -1;
    }).toThrow(/lr must be a number in \[0, inf\), got -1/);
  });
});

describe('SGD', () => {
  it('plain, momentum (PyTorch form: the first velocity is the gradient) and Nesterov', () => {
    const plain = param([1], [0.5]);
    new SGD([plain], { lr: 0.1 }).step();
    expect(plain.data[0]).toBeCloseTo(0.95, 7);

    const p = param([1], [0.5]);
    const sgd = new SGD([p], { lr: 0.1, momentum: 0.9 });
    sgd.step(); // v = 0.5, w = 1 - 0.05
    p.grad!.data[0] = -1;
    sgd.step(); // v = 0.9·0.5 - 1 = -0.55, w = 0.95 + 0.055
    expect(p.data[0]).toBeCloseTo(1.005, 6);

    const q = param([1], [0.5]);
    const nesterov = new SGD([q], { lr: 0.1, momentum: 0.9, nesterov: true });
    nesterov.step(); // v = 0.5, step g + μv = 0.95
    expect(q.data[0]).toBeCloseTo(1 - 0.095, 6);
    expect(() => new SGD([q], { nesterov: true })).toThrow(/nesterov needs momentum > 0/);
  });
});

describe('clipGradNorm', () => {
  it('scales all gradients together to the max norm and returns the norm before clipping', () => {
    const a = param([0, 0], [3, 0]);
    const b = param([0], [4]);
    expect(clipGradNorm([a, b], 1)).toBeCloseTo(5, 6);
    expect(a.grad!.data[0]).toBeCloseTo(0.6, 5);
    expect(b.grad!.data[0]).toBeCloseTo(0.8, 5);
    // Below the limit nothing changes.
    expect(clipGradNorm([a, b], 10)).toBeCloseTo(1, 5);
    expect(a.grad!.data[0]).toBeCloseTo(0.6, 5);
  });

  it('returns a non-finite norm without touching the gradients', () => {
    const a = param([0, 0], [Number.NaN, 1]);
    expect(clipGradNorm([a], 1)).toBeNaN();
    expect(a.grad!.data[1]).toBe(1);
    expect(() => clipGradNorm([a], 0)).toThrow(/maxNorm must be a number in \(0, inf\), got 0/);
  });
});

describe('learning-rate schedules', () => {
  it('constant, linear and cosine decay, held after the end', () => {
    expect(constantSchedule(3e-4)(1000)).toBe(3e-4);
    const lin = linearSchedule(1, 10, { final: 0.1 });
    expect(lin(0)).toBe(1);
    expect(lin(5)).toBeCloseTo(0.55, 12);
    expect(lin(10)).toBeCloseTo(0.1, 12);
    expect(lin(50)).toBeCloseTo(0.1, 12);
    const cos = cosineSchedule(1, 10);
    expect(cos(0)).toBe(1);
    expect(cos(5)).toBeCloseTo(0.5, 12);
    expect(cos(10)).toBeCloseTo(0, 12);
  });

  it('warm up linearly before decaying, and reject bad steps and settings', () => {
    const s = linearSchedule(1, 12, { warmupSteps: 2 });
    expect([s(0), s(1), s(2)]).toEqual([0.5, 1, 1]);
    expect(s(7)).toBeCloseTo(0.5, 12);
    expect(() => s(-1)).toThrow(/step must be an integer >= 0, got -1/);
    expect(() => s(1.5)).toThrow(/got 1.5/);
    expect(() => linearSchedule(1, 5, { warmupSteps: 5 })).toThrow(
      /warmupSteps \(5\) must be less than totalSteps \(5\)/,
    );
    expect(() => cosineSchedule(-1, 5)).toThrow(
      /cosineSchedule: initial must be a number in \[0, inf\), got -1/,
    );
  });
});
