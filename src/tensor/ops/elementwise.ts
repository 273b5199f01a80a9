/** Elementwise ops with NumPy broadcasting and their gradients. */
import { kernels } from '../kernels/backend.ts';
import type { BinaryOp, UnaryOp } from '../kernels/elementwise.ts';
import { broadcastIndexMap, broadcastShapes, sameShape, shapeString } from '../shape.ts';
import {
  asTensor,
  gradBuffer,
  needsGrad,
  recordGraph,
  resultTensor,
  type Tensor,
  type TensorLike,
} from '../tensor.ts';

function binary(op: BinaryOp, aLike: TensorLike, bLike: TensorLike): Tensor {
  const a = asTensor(aLike);
  const b = asTensor(bLike);
  a.assertAlive(op);
  b.assertAlive(op);
  const same = sameShape(a.shape, b.shape);
  const shape = same ? a.shape : broadcastShapes(a.shape, b.shape, op);
  const ia = same || sameShape(a.shape, shape) ? null : broadcastIndexMap(a.shape, shape);
  const ib = same || sameShape(b.shape, shape) ? null : broadcastIndexMap(b.shape, shape);
  const out = resultTensor(shape);
  kernels().binary(op, a.data, b.data, out.data, ia, ib);
  if (needsGrad([a, b])) {
    recordGraph(
      out,
      [a, b],
      (g) => {
        kernels().binaryBackward(op, g, a.data, b.data, out.data, gradBuffer(a), gradBuffer(b), ia, ib);
      },
      op,
    );
  }
  return out;
}

export const add = (a: TensorLike, b: TensorLike): Tensor => binary('add', a, b);
export const sub = (a: TensorLike, b: TensorLike): Tensor => binary('sub', a, b);
export const mul = (a: TensorLike, b: TensorLike): Tensor => binary('mul', a, b);
export const div = (a: TensorLike, b: TensorLike): Tensor => binary('div', a, b);
export const pow = (a: TensorLike, b: TensorLike): Tensor => binary('pow', a, b);
export const minimum = (a: TensorLike, b: TensorLike): Tensor => binary('minimum', a, b);
export const maximum = (a: TensorLike, b: TensorLike): Tensor => binary('maximum', a, b);

export function unary(op: UnaryOp, x: Tensor): Tensor {
  x.assertAlive(op);
  const out = resultTensor(x.shape);
  kernels().unary(op, x.data, out.data);
  if (needsGrad([x])) {
    recordGraph(out, [x], (g) => kernels().unaryBackward(op, g, x.data, out.data, gradBuffer(x)!), op);
  }
  return out;
}

/** Limits every entry to [min, max]; the gradient passes where min <= x <= max, as in PyTorch. */
export function clamp(x: Tensor, min: number, max: number): Tensor {
  x.assertAlive('clamp');
  if (!(min <= max)) throw new Error(`clamp: min ${min} must not exceed max ${max}`);
  const out = resultTensor(x.shape);
  const xd = x.data;
  const od = out.data;
  for (let i = 0; i < xd.length; i++) od[i] = xd[i]! < min ? min : xd[i]! > max ? max : xd[i]!;
  if (needsGrad([x])) {
    recordGraph(
      out,
      [x],
      (g) => {
        const gx = gradBuffer(x)!;
        for (let i = 0; i < g.length; i++) if (xd[i]! >= min && xd[i]! <= max) gx[i]! += g[i]!;
      },
      'clamp',
    );
  }
  return out;
}

/** `condition ? a : b` per element (a non-zero condition counts as true), all three broadcast together. */
export function where(condition: Tensor, aLike: TensorLike, bLike: TensorLike): Tensor {
  const a = asTensor(aLike);
  const b = asTensor(bLike);
  for (const t of [condition, a, b]) t.assertAlive('where');
  let shape: readonly number[];
  try {
    shape = broadcastShapes(broadcastShapes(condition.shape, a.shape, 'where'), b.shape, 'where');
  } catch {
    throw new Error(
      `where: condition ${shapeString(condition.shape)}, a ${shapeString(a.shape)} and b ${shapeString(b.shape)} ` +
        'cannot be broadcast together',
    );
  }
  const mc = broadcastIndexMap(condition.shape, shape);
  const ma = broadcastIndexMap(a.shape, shape);
  const mb = broadcastIndexMap(b.shape, shape);
  const out = resultTensor(shape);
  const cd = condition.data;
  for (let i = 0; i < out.size; i++) out.data[i] = cd[mc[i]!] !== 0 ? a.data[ma[i]!]! : b.data[mb[i]!]!;
  if (needsGrad([a, b])) {
    recordGraph(
      out,
      [a, b],
      (g) => {
        const c = condition.data;
        const ga = gradBuffer(a);
        const gb = gradBuffer(b);
        for (let i = 0; i < g.length; i++) {
          if (c[mc[i]!] !== 0) {
            if (ga) ga[ma[i]!]! += g[i]!;
          } else if (gb) gb[mb[i]!]! += g[i]!;
        }
      },
      'where',
      // The condition is no input of the graph, but backward reads it: checked alive like one.
      [condition],
    );
  }
  return out;
}
