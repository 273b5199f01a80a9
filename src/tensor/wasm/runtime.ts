/**
 * One instance of the kernel module and its linear memory.
 *
 * Memory strategy: tensors stay ordinary JavaScript Float32Arrays; the module's memory is a scratch arena
 * that each kernel call lays out afresh from its first aligned slot (so address 0 is never a live region): operands are
 * copied in, the kernels run (several in a row for a fused op, with intermediates left in the arena), and
 * results are copied out. The arena only grows, and only in `layout` and `pin`, which run before any kernel
 * of a call; growing detaches every Float32Array on the old buffer, so the view is re-created whenever the
 * buffer has changed. Nothing outside this file holds a view across calls.
 *
 * One exception to "afresh": a pinned region at the arena's start (`pin`) outlives calls, so an ensemble's
 * packed weights can be reused by inference calls until its owner says they changed; `layout` starts after it.
 */

import { MAP_UNROLL } from './map-kernels.ts';

export type Kernel = (...args: number[]) => void;

const PAGE_BYTES = 65536;
/** Region alignment and padding: one step of the unrolled elementwise loops (a 64-byte cache line). */
const ALIGN_BYTES = 16 * MAP_UNROLL;

export class WasmRuntime {
  readonly memory: WebAssembly.Memory;
  private readonly exports: Record<string, Kernel>;
  private view: Float32Array;
  /** The pinned region's end (bytes), where every layout starts, and whose contents it holds. */
  private pinnedEnd = ALIGN_BYTES;
  private pinnedOwner: object | null = null;
  private pinnedVersion = -1;

  constructor(bytes: Uint8Array) {
    if (!WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)) {
      throw new Error('WebAssembly.validate rejects the kernel module (no SIMD128 support?)');
    }
    this.memory = new WebAssembly.Memory({ initial: 16 });
    const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.exports = instance.exports as unknown as Record<string, Kernel>;
    this.view = new Float32Array(this.memory.buffer);
  }

  kernel(name: string): Kernel {
    const k = this.exports[name];
    if (typeof k !== 'function') throw new Error(`wasm kernels: no exported function '${name}'`);
    return k;
  }

  /** The current Float32Array view of the whole memory (re-created after growth). */
  heap(): Float32Array {
    if (this.view.buffer !== this.memory.buffer) this.view = new Float32Array(this.memory.buffer);
    return this.view;
  }

  /**
   * Byte addresses for consecutive regions of the given sizes in floats, each aligned and padded to
   * ALIGN_BYTES (so SIMD loops may run over a region's last partial vector), growing memory to fit.
   */
  layout(sizes: readonly number[], out: Int32Array): Int32Array {
    if (sizes.length > out.length)
      throw new Error(`wasm layout: ${sizes.length} regions, room for ${out.length}`);
    this.growTo(place(this.pinnedEnd, sizes, out));
    return out;
  }

  /**
   * The pinned region for `owner`'s contents at `version`: consecutive regions of the given sizes in floats,
   * aligned as `layout`'s. `fresh` is false when it already holds exactly those contents (the caller skips
   * writing them), true when the caller must write them now. One owner at a time: pinning another replaces it.
   */
  pin(owner: object, version: number, sizes: readonly number[]): { addrs: Int32Array; fresh: boolean } {
    const addrs = new Int32Array(sizes.length);
    const end = place(ALIGN_BYTES, sizes, addrs);
    if (this.pinnedOwner === owner && this.pinnedVersion === version && this.pinnedEnd === end) {
      return { addrs, fresh: false };
    }
    // Unowned until the caller has written the contents (`pinned`), so a call that throws in between
    // leaves nothing a later call could take for them.
    this.pinnedOwner = null;
    this.pinnedVersion = -1;
    this.pinnedEnd = end;
    this.growTo(end);
    return { addrs, fresh: true };
  }

  /** Grows the memory to hold `end` bytes. */
  private growTo(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE_BYTES));
  }

  /** Records that the pinned region now holds `owner`'s contents at `version` (after `pin` said fresh). */
  pinned(owner: object, version: number): void {
    this.pinnedOwner = owner;
    this.pinnedVersion = version;
  }

  /** Copies src[offset, offset+length) into the arena at byte address `addr`. */
  put(addr: number, src: Float32Array, offset: number, length: number): void {
    this.heap().set(
      offset === 0 && length === src.length ? src : src.subarray(offset, offset + length),
      addr >> 2,
    );
  }

  /** Copies `length` floats from byte address `addr` into dst at `offset`. */
  take(addr: number, dst: Float32Array, offset: number, length: number): void {
    const start = addr >> 2;
    dst.set(this.heap().subarray(start, start + length), offset);
  }
}

/**
 * Consecutive regions of the given sizes in floats from byte `start`, each aligned and padded to ALIGN_BYTES
 * (so SIMD loops may run over a region's last partial vector): their addresses into `out`; returns the end.
 */
function place(start: number, sizes: readonly number[], out: Int32Array): number {
  let at = start;
  for (let i = 0; i < sizes.length; i++) {
    out[i] = at;
    at += Math.ceil((4 * sizes[i]!) / ALIGN_BYTES) * ALIGN_BYTES;
  }
  return at;
}
