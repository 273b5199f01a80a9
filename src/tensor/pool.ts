/**
 * Buffer reuse for training loops. Inside `tidy(fn)`, every tensor an op creates takes its buffer from a
 * free list keyed by length, and when `fn` returns, the buffers of all tensors created inside that are not
 * returned (or `keep`-ed) go back to the list. A steady training step therefore meets the same sizes every
 * step and allocates (almost) no new typed arrays. Outside `tidy`, buffers are plain new arrays left to the
 * garbage collector, so code that never calls `tidy` is never surprised.
 *
 * Ownership: a scope tracks buffer owners only, and a buffer goes back to the free list only through the
 * owner that took it from the pool. A view or alias (`reshape`, `detach`) reads its owner's buffer and is
 * released with it, never on its own; a tensor over caller memory is marked released at the end of its
 * scope but its memory never enters the pool. A released tensor throws when read, so nothing reads
 * recycled memory.
 */

/** What a scope tracks: the owner of one buffer. */
export interface BufferOwner {
  /** The scope that will release this owner, or null once it survived every scope or was kept. */
  trackedBy: BufferOwner[] | null;
  /** Marks the buffer released (every view of it throws from now on) and, if pooled, recycles it. */
  releaseStorage(): void;
}

/** Implemented by tensors: the owner of the buffer they read (themselves, or the owner of a view). */
export const bufferOwnerOf = Symbol('bufferOwnerOf');
interface HasBufferOwner {
  readonly [bufferOwnerOf]: BufferOwner;
}

const freeBuffers = new Map<number, Float32Array[]>();
const scopes: BufferOwner[][] = [];
/** Cap per length, so one odd burst of large tensors cannot pin memory for ever. */
const MAX_FREE_PER_SIZE = 64;

/** A buffer of `size` floats; zero-filled only when `zero` is set (most kernels overwrite every entry). */
export function acquireBuffer(size: number, zero: boolean): Float32Array {
  if (scopes.length > 0) {
    const list = freeBuffers.get(size);
    const buf = list?.pop();
    if (buf) {
      if (zero) buf.fill(0);
      return buf;
    }
  }
  return new Float32Array(size);
}

/** Hands a buffer back for reuse; only call when nothing else can read it. */
export function releaseBuffer(buf: Float32Array): void {
  if (buf.length === 0) return;
  let list = freeBuffers.get(buf.length);
  if (!list) {
    list = [];
    freeBuffers.set(buf.length, list);
  }
  if (list.length < MAX_FREE_PER_SIZE) list.push(buf);
}

/** Puts `owner` in the innermost `tidy` scope, if there is one. */
export function trackInScope(owner: BufferOwner): void {
  const scope = scopes[scopes.length - 1];
  if (scope) {
    owner.trackedBy = scope;
    scope.push(owner);
  }
}

const survivorOwners = new Set<BufferOwner>();

/**
 * Exempts a tensor created inside `tidy` (and every view of its buffer) from being reclaimed by this or
 * any enclosing scope, for example a value cached across steps.
 */
export function keep<T extends HasBufferOwner>(t: T): T {
  t[bufferOwnerOf].trackedBy = null;
  return t;
}

/**
 * Runs `fn` outside every open `tidy` scope, as if at the top level: what it creates is tracked by its own
 * scopes only, and no enclosing scope reclaims it (work interleaved with another computation's step).
 */
export function outsideScopes<R>(fn: () => R): R {
  const open = scopes.splice(0);
  try {
    return fn();
  } finally {
    scopes.splice(0, scopes.length, ...open);
  }
}

/**
 * Runs `fn`, then reclaims the buffers of the tensors created inside it, except those reachable from its
 * result (a tensor, or an array or plain object of tensors) and those passed to `keep`. Survivors belong to
 * the enclosing scope, if any.
 */
export function tidy<R>(fn: () => R): R {
  const scope: BufferOwner[] = [];
  scopes.push(scope);
  let result: R;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const parent = scopes[scopes.length - 1] ?? null;
  // The set is shared across calls (this phase runs no user code, so it cannot re-enter) and emptied after
  // use: reusing it keeps a training step's garbage down.
  const survivors = survivorOwners;
  try {
    collectOwners(result, survivors);
    for (const owner of scope) {
      // Owners kept, or already handed on, are no longer this scope's to release.
      if (owner.trackedBy !== scope) continue;
      if (survivors.has(owner)) {
        owner.trackedBy = parent;
        parent?.push(owner);
      } else {
        owner.releaseStorage();
      }
    }
  } finally {
    survivors.clear();
  }
  return result;
}

function collectOwners(value: unknown, out: Set<BufferOwner>): void {
  if (value === null || typeof value !== 'object') return;
  if (bufferOwnerOf in value) {
    out.add((value as HasBufferOwner)[bufferOwnerOf]);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectOwners(v, out);
    return;
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectOwners(v, out);
  }
}
