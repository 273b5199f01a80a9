/**
 * `setBackend('cpu' | 'gpu' | 'auto')`: puts a gpu.js kernel set in front of whatever CPU kernel set is
 * active. Each call is routed by its size: below `threshold` the CPU kernel runs (small RL batches lose
 * to the cost of uploading textures and reading pixels back), above it the GPU kernel runs. Calls the
 * GPU kernels do not cover (broadcast binary ops, `pow`, reductions over an inner axis) stay on the CPU.
 */
import { type ActiveKernels, kernels, setKernels } from '../kernels/backend.ts';
import { probeGpu } from './gpu-context.ts';
import { type GpuKernelSet, innerKernels, isGpuKernelSet } from './gpu-kernel-set.ts';
import { GpuKernels, gpuSupportsBinary } from './gpu-kernels.ts';

export type BackendName = 'cpu' | 'gpu' | 'auto';

export interface BackendOptions {
  /**
   * The smallest call sent to the GPU, in units of work: multiply-adds (m·n·k) for a matmul, elements
   * for a map or a reduction. Default 2^21 (a 128x128x128 matmul, a 2-million-element map), a starting
   * point rather than a measurement: `npm run bench -- gpu` measures the crossover on the machine at hand,
   * and on the software GL measured so far (Mesa llvmpipe) there was none at any size.
   */
  readonly threshold?: number;
}

export const DEFAULT_GPU_THRESHOLD = 2 ** 21;

export interface BackendChoice {
  readonly backend: 'cpu' | 'gpu';
  /** Why this backend: the GL mode and renderer, or why the GPU is not used. */
  readonly reason: string;
}

let gpuKernels: GpuKernels | null = null;
let warnedAutoFallback = false;
const counts = { gpuCalls: 0, cpuCalls: 0 };

/** Calls the gpu backend sent to the GPU and to the CPU so far, and shaders compiled (one per op and shape). */
export function gpuBackendStats(): { gpuCalls: number; cpuCalls: number; shaders: number } {
  return { ...counts, shaders: gpuKernels?.compiled ?? 0 };
}

/**
 * Chooses where the heavy kernels run. 'gpu' throws when no real GL context exists. 'auto' takes the GPU
 * only when there is a GL context drawn by a GPU: without one, or when the GL is software rendering (Mesa
 * llvmpipe, which `npm run bench -- gpu` measured far slower than the CPU kernels at every size), it stays
 * on the CPU and says why once (console.warn); 'gpu' still forces such a context. Returns the choice and why.
 */
export async function setBackend(name: BackendName, options: BackendOptions = {}): Promise<BackendChoice> {
  if (name !== 'cpu' && name !== 'gpu' && name !== 'auto') {
    throw new Error(`setBackend: unknown backend '${String(name)}'; expected 'cpu', 'gpu' or 'auto'`);
  }
  const threshold = options.threshold ?? DEFAULT_GPU_THRESHOLD;
  if (!(threshold >= 0)) {
    throw new Error(
      `setBackend: threshold ${threshold} must be a non-negative number of multiply-adds/elements`,
    );
  }
  const cpu = innerKernels(kernels());
  if (name === 'cpu') {
    setKernels(cpu);
    return { backend: 'cpu', reason: 'requested' };
  }
  const probe = await probeGpu();
  if (!probe.ok && name === 'gpu') throw new Error(`setBackend('gpu'): ${probe.reason}`);
  if (!probe.ok || (name === 'auto' && probe.software)) {
    const reason = probe.ok
      ? `the GL context is software rendering (${probe.renderer}), slower than the CPU kernels; ` +
        "setBackend('gpu') forces it"
      : probe.reason;
    if (!warnedAutoFallback) console.warn(`setBackend('auto'): staying on the CPU: ${reason}`);
    warnedAutoFallback = true;
    setKernels(cpu);
    return { backend: 'cpu', reason };
  }
  gpuKernels ??= new GpuKernels(probe.gpu);
  setKernels(gpuKernelSet(cpu, gpuKernels, threshold));
  return { backend: 'gpu', reason: `gpu.js ${probe.mode} on ${probe.renderer}, threshold ${threshold}` };
}

/** Which backend the ops use now. */
export function activeBackend(): 'cpu' | 'gpu' {
  return isGpuKernelSet(kernels()) ? 'gpu' : 'cpu';
}

function gpuKernelSet(cpu: ActiveKernels, gpu: GpuKernels, threshold: number): GpuKernelSet {
  /** True (and counted) when a call of this much work, that the GPU kernels can take, goes to the GPU. */
  const onGpu = (work: number, supported = true): boolean => {
    const use = supported && work > 0 && work >= threshold;
    counts[use ? 'gpuCalls' : 'cpuCalls']++;
    return use;
  };
  // Fused layers (the WebAssembly set's linear, ensemble and GRU kernels) would keep big layers off the GPU,
  // so the gpu set has none: layers then run gemm, routed by size, plus their own elementwise work.
  const { linear: _fusedLinear, linearBatched: _fusedBatched, gru: _fusedGru, ...unfused } = cpu;
  return {
    ...unfused,
    name: `gpu+${cpu.name}`,
    cpu,
    gpuThreshold: threshold,
    gemm: (...args) => {
      const [, , m, n, k] = args;
      if (onGpu(m * n * k)) gpu.gemm(...args);
      else cpu.gemm(...args);
    },
    gemmBatched: (...args) => {
      const [batch, transA, transB, m, n, k, a, aOff, aStride, b, bOff, bStride, c, cOff, cStride, acc] =
        args;
      if (!onGpu(m * n * k)) {
        cpu.gemmBatched(...args);
        return;
      }
      for (let i = 0; i < batch; i++) {
        gpu.gemm(
          transA,
          transB,
          m,
          n,
          k,
          a,
          aOff + i * aStride,
          b,
          bOff + i * bStride,
          c,
          cOff + i * cStride,
          acc,
        );
      }
    },
    unary: (op, x, out) => {
      if (onGpu(out.length)) gpu.unary(op, x, out);
      else cpu.unary(op, x, out);
    },
    binary: (op, a, b, out, ia, ib) => {
      if (onGpu(out.length, ia === null && ib === null && gpuSupportsBinary(op))) {
        gpu.binary(op, a, b, out);
      } else {
        cpu.binary(op, a, b, out, ia, ib);
      }
    },
    sumAxis: (x, outer, len, inner, scale, out) => {
      if (onGpu(outer * len, inner === 1 && len > 0)) gpu.sumRows(x, outer, len, scale, out);
      else cpu.sumAxis(x, outer, len, inner, scale, out);
    },
    maxAxis: (x, outer, len, inner, out, argmax) => {
      if (onGpu(outer * len, inner === 1 && len > 0)) gpu.maxRows(x, outer, len, out, argmax);
      else cpu.maxAxis(x, outer, len, inner, out, argmax);
    },
    softmaxAxis: (x, outer, len, inner, out, log) => {
      if (onGpu(outer * len, inner === 1 && len > 0)) gpu.softmaxRows(x, outer, len, out, log);
      else cpu.softmaxAxis(x, outer, len, inner, out, log);
    },
  };
}
