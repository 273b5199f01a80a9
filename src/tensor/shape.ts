/** Shape arithmetic shared by the ops: sizes, strides, NumPy broadcasting, axis normalisation. */

export type Shape = readonly number[];

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function checkShape(shape: Shape, where: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new Error(`${where}: shape ${shapeString(shape)} must hold non-negative integers`);
    }
  }
}

/** Row-major strides. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** NumPy broadcasting: align trailing dimensions; each pair must match or one of them be 1. */
export function broadcastShapes(a: Shape, b: Shape, op: string): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `${op}: shapes ${shapeString(a)} and ${shapeString(b)} cannot be broadcast together ` +
          `(dimension ${i} of the result: ${da} vs ${db})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Resolves a possibly negative axis against `ndim`, naming the op on error. */
export function normalizeAxis(axis: number, ndim: number, op: string): number {
  const a = axis < 0 ? axis + ndim : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= ndim) {
    throw new Error(`${op}: axis ${axis} is out of range for a tensor of rank ${ndim}`);
  }
  return a;
}

/** Splits a shape around `axis` into (outer, length, inner) for axis-wise loops. */
export function splitAtAxis(shape: Shape, axis: number): { outer: number; len: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  return { outer, len: shape[axis]!, inner };
}

const indexMapCache = new Map<string, Int32Array>();

/**
 * For broadcasting `from` up to `to`: the flat index into `from` for each flat index of `to`. Cached by
 * shape pair, so a training loop that meets the same shapes every step allocates nothing here.
 */
export function broadcastIndexMap(from: Shape, to: Shape): Int32Array {
  const key = `${from.join(',')}>${to.join(',')}`;
  let map = indexMapCache.get(key);
  if (map) return map;
  const n = to.length;
  const fromStrides = stridesOf(from);
  const strides = new Array<number>(n).fill(0);
  for (let i = 0; i < from.length; i++) {
    const axis = n - from.length + i;
    strides[axis] = from[i] === 1 ? 0 : fromStrides[i]!;
  }
  const size = shapeSize(to);
  map = new Int32Array(size);
  const counter = new Array<number>(n).fill(0);
  let offset = 0;
  for (let i = 0; i < size; i++) {
    map[i] = offset;
    for (let d = n - 1; d >= 0; d--) {
      counter[d]!++;
      offset += strides[d]!;
      if (counter[d]! < to[d]!) break;
      offset -= strides[d]! * to[d]!;
      counter[d] = 0;
    }
  }
  if (indexMapCache.size > 4096) indexMapCache.clear();
  indexMapCache.set(key, map);
  return map;
}
