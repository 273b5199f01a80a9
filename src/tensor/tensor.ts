/**
 * The Tensor: a contiguous row-major Float32Array with a shape and, when it takes part in autodiff, the
 * parents it was computed from and a function that sends its gradient back to them (reverse-mode automatic
 * differentiation, as in micrograd, over whole arrays). The ops themselves live in `ops/`; this file holds
 * the class, the backward pass, `noGrad`, and the creation functions.
 */
import type ndarray from 'ndarray';
import type { Rng } from '../rng/index.ts';
import { fromNdarray, toNdarray } from './ndarray-interop.ts';
import { add, clamp, div, maximum, minimum, mul, pow, sub, unary, where } from './ops/elementwise.ts';
import { matmul } from './ops/matmul.ts';
import { logSoftmax, max, mean, softmax, sum } from './ops/reduce.ts';
import { concat, gather, reshape, slice, transpose } from './ops/shape-ops.ts';
import {
  acquireBuffer,
  type BufferOwner,
  bufferOwnerOf,
  outsideScopes,
  releaseBuffer,
  trackInScope,
} from './pool.ts';
import { checkShape, type Shape, shapeSize, shapeString } from './shape.ts';

export type TensorLike = Tensor | number;
export type NestedArray = number | readonly NestedArray[];
export interface TensorOptions {
  requiresGrad?: boolean;
}

let gradEnabled = true;
const EMPTY = new Float32Array(0);

export interface BackwardOptions {
  /**
   * Keep the graph after this pass, so that another `backward()` can run through it (as PyTorch's
   * `retain_graph`). Off by default: the graph is freed and a second pass through it throws.
   */
  retainGraph?: boolean;
}

export class Tensor implements BufferOwner {
  readonly shape: readonly number[];
  readonly size: number;
  requiresGrad: boolean;
  /** The accumulated gradient of the last `backward()`; kept for leaves, freed for intermediates. */
  grad: Tensor | null = null;
  /** Inputs this tensor was computed from, while its graph is alive. */
  parents: Tensor[] | null = null;
  /** Adds this tensor's gradient, given as `grad`, into its parents' gradients. */
  backwardFn: ((grad: Float32Array) => void) | null = null;
  /** The op that computed this tensor (for error messages), or null for a leaf. */
  op: string | null = null;
  /** Tensors other than `parents` that `backwardFn` reads (an op's saved activations), checked alive. */
  saved: readonly Tensor[] | null = null;
  /** @internal The `tidy` scope that will release this tensor's buffer, if it owns one and is tracked. */
  trackedBy: BufferOwner[] | null = null;
  /** The owner of the buffer this tensor reads: itself, or the tensor it is a view of. */
  private readonly base: Tensor;
  private buffer: Float32Array;
  private released = false;
  /** True when the buffer came from the pool and goes back to it on release (never caller memory). */
  private pooled = false;

  /**
   * A tensor over `data`, which stays the caller's: no scope tracks it and the pool never takes it. Use
   * the creation functions (`tensor`, `zeros`, `randn`, ...) for tensors that `tidy` manages.
   */
  constructor(data: Float32Array, shape: Shape, requiresGrad = false, base?: Tensor) {
    const size = shapeSize(shape);
    if (data.length !== size) {
      throw new Error(
        `Tensor: data of length ${data.length} does not fit shape ${shapeString(shape)} (${size})`,
      );
    }
    this.buffer = data;
    this.shape = shape;
    this.size = size;
    this.requiresGrad = requiresGrad;
    this.base = base?.base ?? this;
  }

  /** The values. Throws once the owning buffer was released, so recycled memory is never read. */
  get data(): Float32Array {
    const base = this.base;
    if (base.released) this.assertAlive('data');
    return base.buffer;
  }

  /** True once the buffer this tensor reads was released (its `tidy` scope ended without keeping it). */
  get disposed(): boolean {
    return this.base.released;
  }

  get [bufferOwnerOf](): BufferOwner {
    return this.base;
  }

  /** @internal Called by `tidy` on an owner it tracked: release the buffer; every view sees it. */
  releaseStorage(): void {
    if (this.released) return;
    this.released = true;
    this.trackedBy = null;
    if (this.pooled) releaseBuffer(this.buffer);
    this.buffer = EMPTY;
  }

  /** @internal A tracked owner of a buffer the pool may take back (one made for this tensor alone). */
  static pooledOwner(data: Float32Array, shape: Shape, requiresGrad = false): Tensor {
    const t = new Tensor(data, shape, requiresGrad);
    t.pooled = true;
    trackInScope(t);
    return t;
  }

  /**
   * The same buffer under another shape of the same size, outside any graph. It reads its owner's
   * buffer and is released with it, never on its own.
   */
  view(shape: Shape): Tensor {
    this.assertAlive('view');
    return new Tensor(this.base.buffer, shape, false, this.base);
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** True for tensors made by the user rather than computed by an op; only leaves keep `.grad`. */
  get isLeaf(): boolean {
    return this.op === null;
  }

  // ---- reading values ----
  item(): number {
    this.assertAlive('item');
    if (this.size !== 1)
      throw new Error(`item: needs a tensor with one element, got shape ${shapeString(this.shape)}`);
    return this.data[0]!;
  }

  toArray(): NestedArray {
    this.assertAlive('toArray');
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.shape.length) return this.data[offset]!;
      const stride = shapeSize(this.shape.slice(dim + 1));
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[dim]!; i++) out.push(build(dim + 1, offset + i * stride));
      return out;
    };
    return build(0, 0);
  }

  toString(): string {
    return `Tensor(shape=${shapeString(this.shape)}, data=${JSON.stringify(this.toArray())})`;
  }

  toNdarray(): ndarray.NdArray<Float32Array> {
    return toNdarray(this);
  }

  assertAlive(op: string): void {
    if (this.base.released) {
      throw new Error(
        `${op}: tensor of shape ${shapeString(this.shape)} was disposed when its tidy() scope ended ` +
          '(return it from the tidy() callback, or keep() it, to use it afterwards)',
      );
    }
  }

  // ---- autodiff ----
  /**
   * Back-propagates from this tensor. Without `gradient` it must hold one element (a loss); gradients
   * accumulate (add) into `.grad` of every leaf that requires grad. The graph is freed afterwards unless
   * `retainGraph` is set; back-propagating through a freed graph, or one whose tensors a `tidy` scope
   * released, throws before any gradient is touched.
   */
  backward(gradient?: Tensor | Float32Array, options: BackwardOptions = {}): void {
    this.assertAlive('backward');
    if (!this.requiresGrad) {
      throw new Error(
        'backward: this tensor does not require grad (none of its inputs had requiresGrad set)',
      );
    }
    if (gradient === undefined && this.size !== 1) {
      throw new Error(
        `backward: called on a non-scalar tensor of shape ${shapeString(this.shape)} without a gradient; ` +
          'reduce it to one element (sum, mean) or pass a gradient of the same shape',
      );
    }
    const seed = gradient instanceof Tensor ? gradient.data : gradient;
    if (seed && seed.length !== this.size) {
      throw new Error(
        `backward: gradient has ${seed.length} elements, expected ${this.size} (${shapeString(this.shape)})`,
      );
    }
    const order = topologicalOrder(this);
    const g = gradBuffer(this)!;
    if (seed) for (let i = 0; i < g.length; i++) g[i]! += seed[i]!;
    else g[0]! += 1;
    const retain = options.retainGraph === true;
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i]!;
      const fn = node.backwardFn;
      if (fn && node.grad) fn(node.grad.data);
      if (!retain) {
        node.parents = null;
        node.backwardFn = null;
        node.saved = null;
      }
      if (node.op !== null && node.grad) {
        releaseBuffer(node.grad.data);
        node.grad = null;
      }
    }
  }

  zeroGrad(): void {
    if (this.grad) this.grad.data.fill(0);
  }

  /** The same values, cut off from the graph. Shares the buffer (a view: released with its owner). */
  detach(): Tensor {
    this.assertAlive('detach');
    return this.view(this.shape);
  }

  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape, this.requiresGrad);
  }

  setRequiresGrad(flag = true): this {
    if (this.op !== null) throw new Error('setRequiresGrad: only leaf tensors can change requiresGrad');
    this.requiresGrad = flag;
    return this;
  }

  // ---- ops (implemented in ops/) ----
  add(other: TensorLike): Tensor {
    return add(this, other);
  }
  sub(other: TensorLike): Tensor {
    return sub(this, other);
  }
  mul(other: TensorLike): Tensor {
    return mul(this, other);
  }
  div(other: TensorLike): Tensor {
    return div(this, other);
  }
  pow(exponent: TensorLike): Tensor {
    return pow(this, exponent);
  }
  minimum(other: TensorLike): Tensor {
    return minimum(this, other);
  }
  maximum(other: TensorLike): Tensor {
    return maximum(this, other);
  }
  neg(): Tensor {
    return unary('neg', this);
  }
  sqrt(): Tensor {
    return unary('sqrt', this);
  }
  square(): Tensor {
    return unary('square', this);
  }
  exp(): Tensor {
    return unary('exp', this);
  }
  log(): Tensor {
    return unary('log', this);
  }
  tanh(): Tensor {
    return unary('tanh', this);
  }
  sigmoid(): Tensor {
    return unary('sigmoid', this);
  }
  relu(): Tensor {
    return unary('relu', this);
  }
  softplus(): Tensor {
    return unary('softplus', this);
  }
  abs(): Tensor {
    return unary('abs', this);
  }
  clamp(min: number, max: number): Tensor {
    return clamp(this, min, max);
  }
  matmul(other: Tensor): Tensor {
    return matmul(this, other);
  }
  sum(axis?: number, keepDim = false): Tensor {
    return sum(this, axis, keepDim);
  }
  mean(axis?: number, keepDim = false): Tensor {
    return mean(this, axis, keepDim);
  }
  max(axis?: number, keepDim = false): Tensor {
    return max(this, axis, keepDim);
  }
  softmax(axis = -1): Tensor {
    return softmax(this, axis);
  }
  logSoftmax(axis = -1): Tensor {
    return logSoftmax(this, axis);
  }
  gather(indices: ArrayLike<number> | Tensor, axis = -1): Tensor {
    return gather(this, indices, axis);
  }
  slice(axis: number, start: number, end?: number): Tensor {
    return slice(this, axis, start, end);
  }
  reshape(...shape: number[] | [readonly number[]]): Tensor {
    const dims = (Array.isArray(shape[0]) ? shape[0] : shape) as readonly number[];
    return reshape(this, dims);
  }
  transpose(axis0 = -2, axis1 = -1): Tensor {
    return transpose(this, axis0, axis1);
  }
  /** The transpose of a 2-D tensor. */
  t(): Tensor {
    if (this.ndim !== 2) throw new Error(`t: expects a 2-D tensor, got shape ${shapeString(this.shape)}`);
    return transpose(this, 0, 1);
  }
  where(condition: Tensor, other: TensorLike): Tensor {
    return where(condition, this, other);
  }
  static concat(tensors: readonly Tensor[], axis = 0): Tensor {
    return concat(tensors, axis);
  }
  static fromNdarray(nd: ndarray.NdArray): Tensor {
    return fromNdarray(nd);
  }
}

// ---- helpers the ops build on ----

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording a graph (inference, target computation, optimizer updates). */
export function noGrad<R>(fn: () => R): R {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/**
 * Runs `fn` as at the top level of a program: outside every `tidy` scope and recording gradients, whatever
 * the caller is in the middle of. For a second computation interleaved with a first one's step (another
 * model's training step run while the first waits for a thread), so that neither one's scopes nor its
 * `noGrad` reach the other's tensors.
 */
export function atTopLevel<R>(fn: () => R): R {
  const previous = gradEnabled;
  gradEnabled = true;
  try {
    return outsideScopes(fn);
  } finally {
    gradEnabled = previous;
  }
}

/** A new tensor for an op's result; its buffer comes from the tidy pool when inside `tidy`. */
export function resultTensor(shape: Shape, zero = false): Tensor {
  return Tensor.pooledOwner(acquireBuffer(shapeSize(shape), zero), shape);
}

/**
 * A tensor over `data` that the enclosing `tidy` scope, if any, marks disposed when it ends, so using it
 * afterwards throws. `data` stays the caller's: it is never handed to the pool for reuse.
 */
export function trackedTensor(data: Float32Array, shape: Shape, requiresGrad = false): Tensor {
  const t = new Tensor(data, shape, requiresGrad);
  trackInScope(t);
  return t;
}

/** True when an op on `inputs` must record a graph node. */
export function needsGrad(inputs: readonly Tensor[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t.requiresGrad) return true;
  return false;
}

/**
 * Records `out` as computed by `op` from `inputs`, with `backwardFn` sending its gradient back to them.
 * `saved` lists any other tensor `backwardFn` reads (a pre-activation, a stored derivative), so that
 * `backward` can refuse to run it once a `tidy` scope released one.
 */
export function recordGraph(
  out: Tensor,
  inputs: Tensor[],
  backwardFn: (grad: Float32Array) => void,
  op: string,
  saved: readonly Tensor[] | null = null,
): void {
  out.requiresGrad = true;
  out.parents = inputs;
  out.backwardFn = backwardFn;
  out.op = op;
  out.saved = saved;
}

/**
 * The gradient buffer of `t`, created zero-filled on first use; null when `t` needs no gradient. Backward
 * functions add into it.
 */
export function gradBuffer(t: Tensor): Float32Array | null {
  if (!t.requiresGrad) return null;
  if (!t.grad) {
    const data = t.isLeaf ? new Float32Array(t.size) : acquireBuffer(t.size, true);
    t.grad = new Tensor(data, t.shape);
  }
  return t.grad.data;
}

/**
 * True when `t` needs a gradient whose buffer does not exist yet, so that `gradBuffer(t)` will hand out a
 * new zero-filled one: a backward function that asks first may then write it instead of adding into it
 * (a fused kernel skips copying the zeros in). Only autodiff creates such a buffer, so nothing else can
 * have written it.
 */
export function gradIsFresh(t: Tensor): boolean {
  return t.requiresGrad && t.grad === null;
}

// Scratch for topologicalOrder, shared across calls (it runs no user code, so it cannot re-enter) and
// emptied after each (so it holds no tensor alive), rather than built anew for every backward pass.
const visited = new Set<Tensor>();
const stack: Tensor[] = [];
const nextParent: number[] = [];

/**
 * The nodes that lead to `root`, parents before children. Checks each computed node as it is reached:
 * its graph must not have been freed by an earlier backward, and nothing its backward reads may have been
 * released, so a bad graph throws before any gradient is touched.
 */
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  visited.clear();
  stack.length = 0;
  nextParent.length = 0;
  try {
    checkNode(root);
    visited.add(root);
    stack.push(root);
    nextParent.push(0);
    while (stack.length > 0) {
      const top = stack.length - 1;
      const node = stack[top]!;
      const parents = node.parents;
      const index = nextParent[top]!;
      if (parents && index < parents.length) {
        nextParent[top] = index + 1;
        const p = parents[index]!;
        if (p.requiresGrad && !visited.has(p)) {
          checkNode(p);
          visited.add(p);
          stack.push(p);
          nextParent.push(0);
        }
      } else {
        stack.pop();
        nextParent.pop();
        order.push(node);
      }
    }
  } finally {
    visited.clear();
    stack.length = 0;
  }
  return order;
}

const readsReleased = (t: Tensor): boolean => t.disposed;

function checkNode(node: Tensor): void {
  const op = node.op;
  if (op === null) return;
  // Built only for an error: this runs for every node of every backward pass.
  const where = (): string => `${op} (shape ${shapeString(node.shape)})`;
  if (node.backwardFn === null) {
    throw new Error(
      `backward: trying to backward through the graph a second time: the graph through ${where()} was ` +
        'freed by an earlier backward(); pass { retainGraph: true } to the first backward() to keep it',
    );
  }
  const released = node.disposed
    ? node
    : (node.parents?.find(readsReleased) ?? node.saved?.find(readsReleased));
  if (released) {
    throw new Error(
      `backward: the graph through ${where()} reads a tensor of shape ${shapeString(released.shape)} that ` +
        'was disposed when its tidy() scope ended; call backward() inside the tidy() that built the graph',
    );
  }
}

export function asTensor(value: TensorLike): Tensor {
  if (value instanceof Tensor) return value;
  if (typeof value !== 'number') throw new Error(`expected a Tensor or a number, got ${typeof value}`);
  return Tensor.pooledOwner(Float32Array.of(value), []);
}

// ---- creation ----

function inferShape(values: NestedArray): number[] {
  const shape: number[] = [];
  let v: NestedArray = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = (v as readonly NestedArray[])[0] ?? 0;
  }
  return shape;
}

/**
 * A tensor from numbers: a scalar, a nested array (shape inferred, ragged input is an error), or a flat
 * array-like with an explicit shape.
 */
export function tensor(
  values: NestedArray | ArrayLike<number>,
  shape?: Shape,
  options: TensorOptions = {},
): Tensor {
  let data: Float32Array;
  let finalShape: Shape;
  if (typeof values === 'number') {
    data = Float32Array.of(values);
    finalShape = shape ?? [];
  } else if (!Array.isArray(values) || typeof (values as unknown[])[0] === 'number' || values.length === 0) {
    data = Float32Array.from(values as ArrayLike<number>);
    finalShape = shape ?? [data.length];
  } else {
    const inferred = inferShape(values as NestedArray);
    data = new Float32Array(shapeSize(inferred));
    let i = 0;
    const fill = (v: NestedArray, dim: number): void => {
      if (dim === inferred.length) {
        if (typeof v !== 'number')
          throw new Error(`tensor: ragged nested array, expected shape ${shapeString(inferred)}`);
        data[i++] = v;
        return;
      }
      if (!Array.isArray(v) || v.length !== inferred[dim]) {
        throw new Error(`tensor: ragged nested array, expected shape ${shapeString(inferred)}`);
      }
      for (const item of v as readonly NestedArray[]) fill(item, dim + 1);
    };
    fill(values as NestedArray, 0);
    finalShape = shape ?? inferred;
  }
  checkShape(finalShape, 'tensor');
  if (shapeSize(finalShape) !== data.length) {
    throw new Error(`tensor: ${data.length} values do not fit shape ${shapeString(finalShape)}`);
  }
  return Tensor.pooledOwner(data, finalShape, options.requiresGrad ?? false);
}

export function full(shape: Shape, value: number, options: TensorOptions = {}): Tensor {
  checkShape(shape, 'full');
  const data = acquireBuffer(shapeSize(shape), false).fill(value);
  return Tensor.pooledOwner(data, [...shape], options.requiresGrad ?? false);
}

export function zeros(shape: Shape, options: TensorOptions = {}): Tensor {
  return full(shape, 0, options);
}

export function ones(shape: Shape, options: TensorOptions = {}): Tensor {
  return full(shape, 1, options);
}

/** Values from `start` up to (not including) `stop` in steps of `step`; `arange(n)` is 0..n-1. */
export function arange(start: number, stop?: number, step = 1): Tensor {
  if (stop === undefined) {
    stop = start;
    start = 0;
  }
  if (step === 0 || !Number.isFinite(step))
    throw new Error(`arange: step must be a non-zero finite number, got ${step}`);
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return Tensor.pooledOwner(data, [n]);
}

/** Standard normal entries (times `std`) from the seeded generator `rng`. */
export function randn(shape: Shape, rng: Rng, options: TensorOptions & { std?: number } = {}): Tensor {
  checkShape(shape, 'randn');
  const data = rng.fillNormal(new Float32Array(shapeSize(shape)), 0, options.std ?? 1);
  return Tensor.pooledOwner(data, [...shape], options.requiresGrad ?? false);
}

/** Uniform entries in [low, high) from the seeded generator `rng`. */
export function rand(shape: Shape, rng: Rng, low = 0, high = 1, options: TensorOptions = {}): Tensor {
  checkShape(shape, 'rand');
  const data = rng.fillUniform(new Float32Array(shapeSize(shape)), low, high);
  return Tensor.pooledOwner(data, [...shape], options.requiresGrad ?? false);
}
