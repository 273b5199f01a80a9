/**
 * The small part of gpu.js's surface this backend uses, typed here so that the engine typechecks and
 * builds where the optional package is not installed.
 */

export interface GlContextLike {
  readonly RENDERER: number;
  readonly VERSION: number;
  getParameter(name: number): unknown;
  getExtension(name: string): unknown;
}

export interface GpuKernelSettings {
  output: number[];
  constants?: Record<string, number>;
  precision: 'single';
  /** 'precision' asks for highp floats and ints in the shader. */
  tactic: 'precision';
}

/** A gpu.js kernel shortcut: callable, with the kernel that actually runs behind `.kernel`. */
export interface GpuKernel {
  (...args: Float32Array[]): Float32Array | Float32Array[];
  readonly kernel: {
    readonly constructor: { readonly name: string };
    readonly context: GlContextLike | null;
    readonly fallbackRequested?: boolean;
  };
  destroy(removeCanvasReferences?: boolean): void;
}

export interface GpuJs {
  readonly mode: string;
  createKernel(source: string, settings: GpuKernelSettings): GpuKernel;
  destroy(): Promise<void>;
  readonly constructor: GpuJsClass;
}

export interface GpuJsClass {
  new (settings: { mode: string }): GpuJs;
  readonly isHeadlessGLSupported: boolean;
  readonly isWebGL2Supported: boolean;
  readonly isWebGLSupported: boolean;
}
