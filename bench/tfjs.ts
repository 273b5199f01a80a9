// TensorFlow.js backends for side-by-side benchmarks only; the engine itself never imports tfjs.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

export { tf };

export type TfjsBackend = 'cpu' | 'wasm';

export async function useTfjsBackend(name: TfjsBackend): Promise<void> {
  if (tf.getBackend() !== name) {
    const ok = await tf.setBackend(name);
    if (!ok) throw new Error(`tfjs backend '${name}' failed to initialise`);
  }
  await tf.ready();
}

/** Initialises both backends once, so that later switches between them take effect at once. */
export async function initTfjs(): Promise<void> {
  await useTfjsBackend('wasm');
  await useTfjsBackend('cpu');
}

/** Switches to an initialised backend synchronously (benchmark cases cannot await). */
export function switchTfjsBackend(name: TfjsBackend): void {
  if (tf.getBackend() !== name) void tf.setBackend(name);
  if (tf.getBackend() !== name)
    throw new Error(`tfjs backend '${name}' is not initialised; call initTfjs() first`);
}
