/**
 * Layer normalisation (Ba, Kiros & Hinton 2016): each row of the last axis is shifted to mean 0 and scaled
 * to variance 1 (biased variance, as PyTorch), then scaled by γ and shifted by β. One fused op; its
 * backward is the closed form dx = (1/σ)(dx̂ - mean(dx̂) - x̂·mean(dx̂ ⊙ x̂)) with dx̂ = dy ⊙ γ.
 */
import {
  gradBuffer,
  needsGrad,
  recordGraph,
  resultTensor,
  shapeString,
  type Tensor,
} from '../tensor/index.ts';
import { checkInt, checkNumber } from './errors.ts';
import { Module, parameter } from './module.ts';

/** Normalises x [..., D] over its last axis; gamma and beta are [D] (either may be null). */
export function layerNorm(x: Tensor, gamma: Tensor | null, beta: Tensor | null, eps = 1e-5): Tensor {
  x.assertAlive('layerNorm');
  const d = x.shape[x.ndim - 1] ?? 0;
  for (const [name, p] of [
    ['gamma', gamma],
    ['beta', beta],
  ] as const) {
    if (p && (p.ndim !== 1 || p.shape[0] !== d)) {
      throw new Error(
        `layerNorm: ${name} of shape ${shapeString(p.shape)} does not fit input ${shapeString(x.shape)}`,
      );
    }
  }
  if (d === 0) throw new Error(`layerNorm: input of shape ${shapeString(x.shape)} has an empty last axis`);
  const rows = x.size / d;
  const out = resultTensor(x.shape);
  const xhat = resultTensor(x.shape);
  const invStd = resultTensor([rows]);
  {
    const xd = x.data;
    const o = out.data;
    const xh = xhat.data;
    const gd = gamma?.data;
    const bd = beta?.data;
    for (let r = 0; r < rows; r++) {
      const base = r * d;
      let mean = 0;
      for (let j = 0; j < d; j++) mean += xd[base + j]!;
      mean /= d;
      let variance = 0;
      for (let j = 0; j < d; j++) {
        const c = xd[base + j]! - mean;
        variance += c * c;
      }
      const inv = 1 / Math.sqrt(variance / d + eps);
      invStd.data[r] = inv;
      for (let j = 0; j < d; j++) {
        const h = (xd[base + j]! - mean) * inv;
        xh[base + j] = h;
        o[base + j] = (gd ? h * gd[j]! : h) + (bd ? bd[j]! : 0);
      }
    }
  }
  const inputs = [x, gamma, beta].filter((t): t is Tensor => t !== null);
  if (needsGrad(inputs)) {
    recordGraph(
      out,
      inputs,
      (g) => {
        const xh = xhat.data;
        const gx = gradBuffer(x);
        const gg = gamma ? gradBuffer(gamma) : null;
        const gbeta = beta ? gradBuffer(beta) : null;
        const gd = gamma?.data;
        for (let r = 0; r < rows; r++) {
          const base = r * d;
          let meanD = 0;
          let meanDx = 0;
          for (let j = 0; j < d; j++) {
            const dh = gd ? g[base + j]! * gd[j]! : g[base + j]!;
            meanD += dh;
            meanDx += dh * xh[base + j]!;
            if (gg) gg[j]! += g[base + j]! * xh[base + j]!;
            if (gbeta) gbeta[j]! += g[base + j]!;
          }
          if (!gx) continue;
          meanD /= d;
          meanDx /= d;
          const inv = invStd.data[r]!;
          for (let j = 0; j < d; j++) {
            const dh = gd ? g[base + j]! * gd[j]! : g[base + j]!;
            gx[base + j]! += inv * (dh - meanD - xh[base + j]! * meanDx);
          }
        }
      },
      'layerNorm',
      [xhat, invStd],
    );
  }
  return out;
}

export interface LayerNormOptions {
  /** Added to the variance before the square root. Default 1e-5 (PyTorch's). */
  eps?: number;
  /** Learn γ (starts at 1) and β (starts at 0). Default true. */
  elementwiseAffine?: boolean;
}

export class LayerNorm extends Module {
  readonly normalizedShape: number;
  readonly eps: number;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  constructor(normalizedShape: number, options: LayerNormOptions = {}) {
    super();
    checkInt('LayerNorm: normalizedShape', normalizedShape);
    this.eps = options.eps ?? 1e-5;
    checkNumber('LayerNorm: eps', this.eps, 0, Number.POSITIVE_INFINITY, { min: true });
    this.normalizedShape = normalizedShape;
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine
      ? this.registerParameter(
          'weight',
          parameter(new Float32Array(normalizedShape).fill(1), [normalizedShape]),
        )
      : null;
    this.bias = affine
      ? this.registerParameter('bias', parameter(new Float32Array(normalizedShape), [normalizedShape]))
      : null;
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.ndim - 1] !== this.normalizedShape) {
      throw new Error(
        `LayerNorm: input of shape ${shapeString(x.shape)} does not fit; expected [..., ${this.normalizedShape}]`,
      );
    }
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}
