// Memory use of a repeated step: what it retains (growth after a full GC) and what it allocates per call
// (garbage the collector must clear). Works under plain `tsx`: --expose-gc is switched on at run time.
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function settle(): { heap: number; arrayBuffers: number } {
  gc();
  gc();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, arrayBuffers: usage.arrayBuffers };
}

export interface HeapReport {
  steps: number;
  /** JS heap after a full GC, after the steps minus before (bytes). */
  retainedHeapBytes: number;
  /** Typed-array backing stores after a full GC, after minus before (bytes). */
  retainedArrayBufferBytes: number;
  /**
   * Bytes allocated on the JS heap per step, from the heap size before and after each step (steps during
   * which a collection ran are left out; the cost of measuring is subtracted).
   */
  allocatedBytesPerStep: number;
}

/**
 * Warms `step` up through the same measuring loop (so the optimising compiler and the buffer pool have
 * settled: an early run retains ~100 kB of compiled code and type feedback that later runs do not), for
 * `steps` calls or `warmupMs`, whichever ends first, then measures `steps` calls.
 */
export function measureHeap(step: () => unknown, steps = 1000, warmupMs = 5000): HeapReport {
  const start = performance.now();
  for (let done = 0; done < steps && performance.now() - start < warmupMs; done += 50) {
    perStepAllocation(step, 50);
  }
  // What reading the heap size costs by itself, measured the same way with an empty step.
  const overhead = perStepAllocation(() => undefined, 200);
  const before = settle();
  const allocated = perStepAllocation(step, steps);
  const after = settle();
  return {
    steps,
    retainedHeapBytes: after.heap - before.heap,
    retainedArrayBufferBytes: after.arrayBuffers - before.arrayBuffers,
    allocatedBytesPerStep: Math.max(0, Math.round(allocated - overhead)),
  };
}

/** Median heap growth across single calls of `step`, skipping calls during which a collection shrank it. */
function perStepAllocation(step: () => unknown, steps: number): number {
  const deltas: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = getHeapStatistics().used_heap_size;
    step();
    const delta = getHeapStatistics().used_heap_size - start;
    if (delta >= 0) deltas.push(delta);
  }
  deltas.sort((a, b) => a - b);
  return deltas.length > 0 ? deltas[deltas.length >> 1]! : Number.NaN;
}
