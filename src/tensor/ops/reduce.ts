/** Reductions (sum, mean, max) over one axis or all, and softmax / log-softmax along an axis. */
import { kernels } from '../kernels/backend.ts';
import { softmaxAxisBackward, sumAxisBackward } from '../kernels/reduce.ts';
import { normalizeAxis, splitAtAxis } from '../shape.ts';
import { gradBuffer, needsGrad, recordGraph, resultTensor, type Tensor } from '../tensor.ts';

interface Reduction {
  outer: number;
  len: number;
  inner: number;
  shape: number[];
}

/** Where the reduced axis sits, and the result's shape (the axis dropped, or kept as 1). */
function plan(x: Tensor, axis: number | undefined, keepDim: boolean, op: string): Reduction {
  if (axis === undefined) {
    return { outer: 1, len: x.size, inner: 1, shape: keepDim ? x.shape.map(() => 1) : [] };
  }
  const ax = normalizeAxis(axis, x.ndim, op);
  const { outer, len, inner } = splitAtAxis(x.shape, ax);
  if (len === 0 && op === 'max') throw new Error(`max: cannot reduce over axis ${axis} of length 0`);
  const shape = x.shape.filter((_, i) => i !== ax || keepDim).map((d, i) => (keepDim && i === ax ? 1 : d));
  return { outer, len, inner, shape };
}

function sumScaled(x: Tensor, axis: number | undefined, keepDim: boolean, op: 'sum' | 'mean'): Tensor {
  x.assertAlive(op);
  const { outer, len, inner, shape } = plan(x, axis, keepDim, op);
  const scale = op === 'mean' ? 1 / len : 1;
  const out = resultTensor(shape);
  kernels().sumAxis(x.data, outer, len, inner, scale, out.data);
  if (needsGrad([x])) {
    recordGraph(out, [x], (g) => sumAxisBackward(g, outer, len, inner, scale, gradBuffer(x)!), op);
  }
  return out;
}

/** Sum over `axis`, or over everything when `axis` is undefined. */
export function sum(x: Tensor, axis?: number, keepDim = false): Tensor {
  return sumScaled(x, axis, keepDim, 'sum');
}

export function mean(x: Tensor, axis?: number, keepDim = false): Tensor {
  return sumScaled(x, axis, keepDim, 'mean');
}

/** Maximum over `axis` (or everything); the gradient flows to the first position that attains it. */
export function max(x: Tensor, axis?: number, keepDim = false): Tensor {
  x.assertAlive('max');
  const { outer, len, inner, shape } = plan(x, axis, keepDim, 'max');
  if (len === 0) throw new Error('max: cannot reduce an empty tensor');
  const out = resultTensor(shape);
  const argmax = new Int32Array(outer * inner);
  kernels().maxAxis(x.data, outer, len, inner, out.data, argmax);
  if (needsGrad([x])) {
    recordGraph(
      out,
      [x],
      (g) => {
        const gx = gradBuffer(x)!;
        for (let o = 0; o < outer; o++) {
          for (let j = 0; j < inner; j++)
            gx[(o * len + argmax[o * inner + j]!) * inner + j]! += g[o * inner + j]!;
        }
      },
      'max',
    );
  }
  return out;
}

function softmaxLike(x: Tensor, axis: number, log: boolean): Tensor {
  const op = log ? 'logSoftmax' : 'softmax';
  x.assertAlive(op);
  const { outer, len, inner } = splitAtAxis(x.shape, normalizeAxis(axis, x.ndim, op));
  const out = resultTensor(x.shape);
  kernels().softmaxAxis(x.data, outer, len, inner, out.data, log);
  if (needsGrad([x])) {
    recordGraph(
      out,
      [x],
      (g) => softmaxAxisBackward(g, out.data, outer, len, inner, gradBuffer(x)!, log),
      op,
    );
  }
  return out;
}

export function softmax(x: Tensor, axis = -1): Tensor {
  return softmaxLike(x, axis, false);
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return softmaxLike(x, axis, true);
}
