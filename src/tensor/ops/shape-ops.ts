/** Ops that move values without arithmetic: reshape, transpose, concat, slice, gather. */
import { normalizeAxis, type Shape, shapeSize, shapeString, splitAtAxis, stridesOf } from '../shape.ts';
import { gradBuffer, needsGrad, recordGraph, resultTensor, type Tensor } from '../tensor.ts';

/** The same buffer under a new shape (one dimension may be -1, inferred). */
export function reshape(x: Tensor, shape: Shape): Tensor {
  x.assertAlive('reshape');
  const dims = [...shape];
  const unknown = dims.indexOf(-1);
  const inferredMoreThanOne = dims.lastIndexOf(-1) !== unknown;
  if (unknown !== -1) {
    const known = dims.reduce((p, d, i) => (i === unknown ? p : p * d), 1);
    dims[unknown] = known === 0 ? 0 : x.size / known;
  }
  if (dims.some((d) => !Number.isInteger(d) || d < 0) || shapeSize(dims) !== x.size || inferredMoreThanOne) {
    throw new Error(
      `reshape: cannot reshape ${shapeString(x.shape)} (${x.size} elements) to ${shapeString(shape)}`,
    );
  }
  // A view: the result reads x's buffer and never releases it (x's owner does).
  const out = x.view(dims);
  if (needsGrad([x])) {
    recordGraph(
      out,
      [x],
      (g) => {
        const gx = gradBuffer(x)!;
        for (let i = 0; i < g.length; i++) gx[i]! += g[i]!;
      },
      'reshape',
    );
  }
  return out;
}

const permutationCache = new Map<string, Int32Array>();

/** For each flat index of the transposed result, the flat index it reads in the source. */
function transposeMap(shape: Shape, axis0: number, axis1: number): Int32Array {
  const key = `${shape.join(',')}:${axis0}:${axis1}`;
  let map = permutationCache.get(key);
  if (map) return map;
  const srcStrides = stridesOf(shape);
  const outShape = [...shape];
  outShape[axis0] = shape[axis1]!;
  outShape[axis1] = shape[axis0]!;
  const strides = [...srcStrides];
  strides[axis0] = srcStrides[axis1]!;
  strides[axis1] = srcStrides[axis0]!;
  const size = shapeSize(shape);
  map = new Int32Array(size);
  const counter = new Array<number>(shape.length).fill(0);
  let offset = 0;
  for (let i = 0; i < size; i++) {
    map[i] = offset;
    for (let d = shape.length - 1; d >= 0; d--) {
      counter[d]!++;
      offset += strides[d]!;
      if (counter[d]! < outShape[d]!) break;
      offset -= strides[d]! * outShape[d]!;
      counter[d] = 0;
    }
  }
  if (permutationCache.size > 1024) permutationCache.clear();
  permutationCache.set(key, map);
  return map;
}

/** Swaps two axes (by default the last two), into a new contiguous tensor. */
export function transpose(x: Tensor, axis0 = -2, axis1 = -1): Tensor {
  x.assertAlive('transpose');
  const a0 = normalizeAxis(axis0, x.ndim, 'transpose');
  const a1 = normalizeAxis(axis1, x.ndim, 'transpose');
  const shape = [...x.shape];
  shape[a0] = x.shape[a1]!;
  shape[a1] = x.shape[a0]!;
  const map = transposeMap(x.shape, a0, a1);
  const out = resultTensor(shape);
  const xd = x.data;
  const od = out.data;
  for (let i = 0; i < od.length; i++) od[i] = xd[map[i]!]!;
  if (needsGrad([x])) {
    recordGraph(
      out,
      [x],
      (g) => {
        const gx = gradBuffer(x)!;
        for (let i = 0; i < g.length; i++) gx[map[i]!]! += g[i]!;
      },
      'transpose',
    );
  }
  return out;
}

/** Joins tensors along `axis`; all other dimensions must agree. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new Error('concat: needs at least one tensor');
  const first = tensors[0]!;
  const ax = normalizeAxis(axis, first.ndim, 'concat');
  for (const t of tensors) {
    t.assertAlive('concat');
    const fits = t.ndim === first.ndim && t.shape.every((d, i) => i === ax || d === first.shape[i]);
    if (!fits) {
      throw new Error(
        `concat: shapes ${shapeString(first.shape)} and ${shapeString(t.shape)} differ outside axis ${axis}`,
      );
    }
  }
  const lengths = tensors.map((t) => t.shape[ax]!);
  const total = lengths.reduce((p, d) => p + d, 0);
  const shape = [...first.shape];
  shape[ax] = total;
  const { outer, inner } = splitAtAxis(shape, ax);
  const out = resultTensor(shape);
  let start = 0;
  for (let t = 0; t < tensors.length; t++) {
    const chunk = lengths[t]! * inner;
    const src = tensors[t]!.data;
    for (let o = 0; o < outer; o++) {
      out.data.set(src.subarray(o * chunk, (o + 1) * chunk), o * total * inner + start * inner);
    }
    start += lengths[t]!;
  }
  if (needsGrad([...tensors])) {
    recordGraph(
      out,
      [...tensors],
      (g) => {
        let begin = 0;
        for (let t = 0; t < tensors.length; t++) {
          const gt = gradBuffer(tensors[t]!);
          const chunk = lengths[t]! * inner;
          if (gt) {
            for (let o = 0; o < outer; o++) {
              const from = o * total * inner + begin * inner;
              for (let i = 0; i < chunk; i++) gt[o * chunk + i]! += g[from + i]!;
            }
          }
          begin += lengths[t]!;
        }
      },
      'concat',
    );
  }
  return out;
}

/** Entries `start` (inclusive) to `end` (exclusive) along `axis`; negative bounds count from the end. */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  x.assertAlive('slice');
  const ax = normalizeAxis(axis, x.ndim, 'slice');
  const dim = x.shape[ax]!;
  const from = start < 0 ? start + dim : start;
  const to = end === undefined ? dim : end < 0 ? end + dim : end;
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > dim || from > to) {
    throw new Error(`slice: range [${start}, ${end ?? dim}) does not fit axis ${axis} of length ${dim}`);
  }
  const { outer, inner } = splitAtAxis(x.shape, ax);
  const shape = [...x.shape];
  shape[ax] = to - from;
  const out = resultTensor(shape);
  const chunk = (to - from) * inner;
  const xd = x.data;
  const od = out.data;
  if (chunk >= 64) {
    for (let o = 0; o < outer; o++) {
      const src = (o * dim + from) * inner;
      od.set(xd.subarray(src, src + chunk), o * chunk);
    }
  } else {
    // Short runs (a few columns of many rows): a plain loop beats a subarray and a set per run.
    for (let o = 0; o < outer; o++) {
      const src = (o * dim + from) * inner;
      const dst = o * chunk;
      for (let i = 0; i < chunk; i++) od[dst + i] = xd[src + i]!;
    }
  }
  if (needsGrad([x])) {
    recordGraph(
      out,
      [x],
      (g) => {
        const gx = gradBuffer(x)!;
        for (let o = 0; o < outer; o++) {
          const dst = (o * dim + from) * inner;
          for (let i = 0; i < chunk; i++) gx[dst + i]! += g[o * chunk + i]!;
        }
      },
      'slice',
    );
  }
  return out;
}

/**
 * Picks one entry along `axis` for every position of the other axes: with x of shape [N, C] and
 * indices of length N, result[i] = x[i, indices[i]] (the log-probability of each taken action).
 * Indices are given flat, one per position of the result, in row-major order.
 */
export function gather(x: Tensor, indices: ArrayLike<number> | Tensor, axis = -1): Tensor {
  x.assertAlive('gather');
  const ax = normalizeAxis(axis, x.ndim, 'gather');
  const { outer, len, inner } = splitAtAxis(x.shape, ax);
  const idx: ArrayLike<number> =
    'data' in indices && indices.data instanceof Float32Array ? indices.data : (indices as ArrayLike<number>);
  if (idx.length !== outer * inner) {
    throw new Error(
      `gather: x of shape ${shapeString(x.shape)} along axis ${axis} needs ${outer * inner} indices, got ${idx.length}`,
    );
  }
  const positions = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const k = idx[o * inner + j]!;
      if (!Number.isInteger(k) || k < 0 || k >= len) {
        throw new Error(`gather: index ${k} at position ${o * inner + j} is outside [0, ${len})`);
      }
      positions[o * inner + j] = (o * len + k) * inner + j;
    }
  }
  const shape = x.shape.filter((_, i) => i !== ax);
  const out = resultTensor(shape);
  for (let i = 0; i < positions.length; i++) out.data[i] = x.data[positions[i]!]!;
  if (needsGrad([x])) {
    recordGraph(
      out,
      [x],
      (g) => {
        const gx = gradBuffer(x)!;
        for (let i = 0; i < positions.length; i++) gx[positions[i]!]! += g[i]!;
      },
      'gather',
    );
  }
  return out;
}
