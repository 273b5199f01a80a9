/**
 * Finds out, once, whether gpu.js can run kernels on a real GL context here. gpu.js is an optional
 * dependency and is loaded lazily, so the engine works where it (or its native `gl` addon) is missing.
 *
 * "Real" matters: asked for mode 'gpu', gpu.js silently picks its WebAssembly or CPU kernels when no GL
 * context exists, which is no GPU at all. So the probe asks for a GL kernel class by name, runs a small
 * kernel, and checks that the kernel which answered is still a GL one and that its answer is right.
 */
import { nodeBuiltin } from '../../node-builtins/index.ts';
import type { GpuJs, GpuJsClass, GpuKernel } from './gpu-types.ts';

export type GpuProbe =
  | {
      readonly ok: true;
      readonly gpu: GpuJs;
      readonly mode: string;
      readonly renderer: string;
      /** True when the GL draws on the CPU (Mesa's swrast: llvmpipe/softpipe), a context but no GPU. */
      readonly software: boolean;
    }
  | { readonly ok: false; readonly reason: string };

/** gpu.js modes that run on a GL context; 'webasm', 'cpu' and 'dev' do not. */
const GL_MODES = ['headlessgl', 'webgl2', 'webgl'] as const;

let probe: Promise<GpuProbe> | null = null;

/** The probe's answer, computed on the first call and shared by every later one. */
export function probeGpu(): Promise<GpuProbe> {
  probe ??= runProbe();
  return probe;
}

async function runProbe(): Promise<GpuProbe> {
  let GPU: GpuJsClass;
  try {
    // A variable specifier keeps TypeScript and bundlers from requiring the optional package.
    const specifier = 'gpu.js';
    const mod = await import(specifier);
    GPU = mod.GPU ?? mod.default?.GPU;
    if (typeof GPU !== 'function') return { ok: false, reason: 'gpu.js loaded but exports no GPU class' };
  } catch (e) {
    return { ok: false, reason: `gpu.js is not installed or failed to load (${firstLine(e)})` };
  }
  const mode = GL_MODES.find((m) => GPU[modeSupportFlag(m)] === true);
  if (mode === undefined) {
    const env = typeof process === 'undefined' ? {} : process.env;
    const display = env.DISPLAY ? `DISPLAY=${env.DISPLAY}` : 'DISPLAY is unset';
    return {
      ok: false,
      reason:
        `gpu.js found no GL context (headless-gl: ${GPU.isHeadlessGLSupported ? 'yes' : 'no'}, ${display}); ` +
        "its 'gpu' mode would fall back to WebAssembly/CPU kernels, which is no GPU. In Node, headless-gl " +
        'needs the `gl` addon built (Debian: libxi-dev libx11-dev libxext-dev libgl1-mesa-dev pkg-config) and an ' +
        'X display (e.g. Xvfb :99 with DISPLAY=:99)',
    };
  }
  try {
    const gpu = new GPU({ mode });
    const kernel = gpu.createKernel('function (a) { return a[this.thread.x] * 2.0 + 1.0; }', {
      output: [3],
      precision: 'single',
      tactic: 'precision',
    });
    const out = kernel(new Float32Array([1, -2, 0.5])) as Float32Array;
    const backend = glKernelName(kernel);
    if (backend === null) {
      return { ok: false, reason: `gpu.js '${mode}' kernel fell back to ${kernel.kernel.constructor.name}` };
    }
    if (out[0] !== 3 || out[1] !== -3 || out[2] !== 2) {
      return {
        ok: false,
        reason: `gpu.js '${mode}' probe kernel returned [${Array.from(out)}], expected [3,-3,2]`,
      };
    }
    const driver = await loadedGlDriver();
    return {
      ok: true,
      gpu,
      mode,
      renderer: rendererName(kernel.kernel.context) + (driver ? ` via ${driver}` : ''),
      software: driver?.startsWith('swrast') ?? false,
    };
  } catch (e) {
    return { ok: false, reason: `gpu.js '${mode}' could not run a kernel (${firstLine(e)})` };
  }
}

/** The GL kernel class behind a gpu.js kernel, or null when it runs on WebAssembly or the CPU. */
export function glKernelName(kernel: GpuKernel): string | null {
  const name = kernel.kernel.constructor.name;
  return /GLKernel$|GL2Kernel$/.test(name) && !kernel.kernel.fallbackRequested ? name : null;
}

function modeSupportFlag(
  mode: (typeof GL_MODES)[number],
): 'isHeadlessGLSupported' | 'isWebGL2Supported' | 'isWebGLSupported' {
  if (mode === 'headlessgl') return 'isHeadlessGLSupported';
  return mode === 'webgl2' ? 'isWebGL2Supported' : 'isWebGLSupported';
}

/** The unmasked renderer string where the driver exposes it (e.g. Mesa's "llvmpipe" is software GL). */
function rendererName(context: GpuKernel['kernel']['context']): string {
  if (!context) return 'unknown';
  const info = context.getExtension('WEBGL_debug_renderer_info') as {
    UNMASKED_RENDERER_WEBGL: number;
  } | null;
  const renderer = context.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : context.RENDERER);
  const version = context.getParameter(context.VERSION);
  return `${String(renderer)} (${String(version)})`;
}

/**
 * headless-gl reports its renderer as "ANGLE" whatever draws underneath, so on Linux the GL driver the
 * process has loaded tells: Mesa's swrast_dri.so is software rendering (llvmpipe), not a GPU.
 */
async function loadedGlDriver(): Promise<string | null> {
  try {
    const maps = nodeBuiltin('node:fs', 'loadedGlDriver', 'elsewhere the driver goes unnamed').readFileSync(
      '/proc/self/maps',
      'utf8',
    );
    const driver = /[\w.-]*(?:_dri\.so|nvidia[\w.-]*\.so)[\w.]*/.exec(maps)?.[0];
    if (!driver) return null;
    return driver.startsWith('swrast') ? `${driver} (Mesa software rendering)` : driver;
  } catch {
    return null;
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}
