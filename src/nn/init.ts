/**
 * Weight initialisers. Every one draws from a seeded `Rng`, so a model is reproducible from its seed.
 * Weights are stored [in, out] (y = x·W + b), the transpose of PyTorch's [out, in]; the fan-in is the
 * number of inputs either way.
 */
import type { Rng } from '../tensor/index.ts';
import { checkInt, checkNumber } from './errors.ts';

/**
 * PyTorch's default for `nn.Linear`: U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for both weight and bias (Kaiming
 * uniform with a = sqrt(5) works out to this bound). Fills `out` in place and returns it.
 */
export function uniformFanIn(out: Float32Array, fanIn: number, rng: Rng): Float32Array {
  checkInt('uniformFanIn: fanIn', fanIn);
  const bound = 1 / Math.sqrt(fanIn);
  return rng.fillUniform(out, -bound, bound);
}

/** Glorot & Bengio (2010) uniform: U(-a, a) with a = gain * sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform(
  out: Float32Array,
  fanIn: number,
  fanOut: number,
  rng: Rng,
  gain = 1,
): Float32Array {
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return rng.fillUniform(out, -bound, bound);
}

/**
 * A (semi-)orthogonal `rows x cols` matrix times `gain`, written row-major into `out` at `offset`
 * (Saxe, McClelland & Ganguli 2014, "Exact solutions to the nonlinear dynamics of learning in deep linear
 * neural networks"). PPO implementations initialise with gain sqrt(2) for hidden layers, 0.01 for the
 * policy head and 1 for the value head.
 *
 * As PyTorch's `orthogonal_`: draw a normal matrix with the long side as rows, take Q of its QR
 * decomposition (modified Gram-Schmidt, in float64), fix the signs by the diagonal of R so Q is uniformly
 * distributed (Mezzadri 2007), and transpose when the matrix is wide. Rows (or columns, whichever are
 * fewer) come out orthonormal.
 */
export function orthogonal(
  out: Float32Array,
  rows: number,
  cols: number,
  rng: Rng,
  gain = 1,
  offset = 0,
): Float32Array {
  checkInt('orthogonal: rows', rows);
  checkInt('orthogonal: cols', cols);
  checkNumber('orthogonal: gain', gain);
  if (out.length < offset + rows * cols) {
    throw new Error(`orthogonal: output of length ${out.length} cannot hold ${rows}x${cols} at ${offset}`);
  }
  const tall = Math.max(rows, cols);
  const wide = Math.min(rows, cols);
  // q holds `wide` column vectors of length `tall`, column-major, in float64.
  const q = new Float64Array(tall * wide);
  for (let i = 0; i < q.length; i++) q[i] = rng.normal();
  for (let j = 0; j < wide; j++) {
    const cj = j * tall;
    for (let p = 0; p < j; p++) {
      const cp = p * tall;
      let dot = 0;
      for (let i = 0; i < tall; i++) dot += q[cp + i]! * q[cj + i]!;
      for (let i = 0; i < tall; i++) q[cj + i]! -= dot * q[cp + i]!;
    }
    let norm = 0;
    for (let i = 0; i < tall; i++) norm += q[cj + i]! * q[cj + i]!;
    norm = Math.sqrt(norm);
    // R's diagonal entry is the norm, always positive here, so the sign fix is already applied.
    if (norm === 0) throw new Error('orthogonal: degenerate random draw (zero column); try another seed');
    for (let i = 0; i < tall; i++) q[cj + i]! /= norm;
  }
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      // Tall (rows >= cols): column c of Q is column c of the result; wide: row r of the result is Q's column r.
      const v = rows >= cols ? q[c * tall + r]! : q[r * tall + c]!;
      out[offset + r * cols + c] = gain * v;
    }
  }
  return out;
}

/** How a layer's weights start. */
export type WeightInit = 'uniform' | 'orthogonal' | 'xavier';

export const WEIGHT_INITS: readonly WeightInit[] = ['uniform', 'orthogonal', 'xavier'];

/**
 * Fills `count` stacked `[fanIn, fanOut]` weight matrices and their biases. 'uniform' is PyTorch's default
 * (bias too); 'orthogonal' and 'xavier' start the bias at zero, as PPO implementations do.
 */
export function initWeights(
  weight: Float32Array,
  bias: Float32Array | null,
  count: number,
  fanIn: number,
  fanOut: number,
  init: WeightInit,
  gain: number,
  rng: Rng,
): void {
  for (let e = 0; e < count; e++) {
    const w = weight.subarray(e * fanIn * fanOut, (e + 1) * fanIn * fanOut);
    if (init === 'uniform') uniformFanIn(w, fanIn, rng);
    else if (init === 'orthogonal') orthogonal(w, fanIn, fanOut, rng, gain);
    else xavierUniform(w, fanIn, fanOut, rng, gain);
  }
  if (bias) {
    if (init === 'uniform') uniformFanIn(bias, fanIn, rng);
    else bias.fill(0);
  }
}
