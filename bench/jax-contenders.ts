// jax-js (@jax-js/jax, a pure-TypeScript JAX that emits its own WebAssembly) as a benchmark contender: a
// square matmul and the nn benchmark's MLP training step. Written as a jax-js user would at its fastest:
// one jit-compiled function per training step (valueAndGrad of the MSE loss, then Adam), arrays kept on
// the wasm device, `dataSync()` on the result so the work is done when the call returns.
// Node 20 has no global `navigator` (jax-js's default init probes WebGPU through it) and no global Worker
// (so jax-js runs single-threaded, as our kernels and tfjs-wasm do here).
import { defaultDevice, init, jit, numpy as np, tree, valueAndGrad } from '@jax-js/jax';
import type { Contender, TrainingProblem } from './nn-contenders.ts';

let ready = false;

export async function initJax(): Promise<void> {
  if (ready) return;
  const devices = await init('wasm');
  if (!devices.includes('wasm')) throw new Error(`jax-js: wasm device failed to start (got ${devices})`);
  defaultDevice('wasm');
  ready = true;
}

/**
 * C = A·B for n x n operands held by jax-js; each call realises C with dataSync (which takes ownership of
 * it, so nothing is left to dispose). `compiled`: through a jit-compiled function (faster at small sizes,
 * where eager dispatch dominates) rather than eager `np.matmul`.
 */
export function jaxMatmul(
  n: number,
  a: Float32Array,
  b: Float32Array,
  compiled: boolean,
): { run: () => void } {
  const ja = np.array(a).reshape([n, n]);
  const jb = np.array(b).reshape([n, n]);
  const product = compiled ? jit((x: np.Array, y: np.Array) => np.matmul(x, y)) : np.matmul;
  return {
    run: () => {
      product(ja.ref, jb.ref).dataSync();
    },
  };
}

type Params = { w: np.Array[]; b: np.Array[] };

export function jaxContender(): Contender {
  return {
    name: 'jax-js',
    prepare(problem: TrainingProblem) {
      const { batch, sizes } = problem;
      const layers = problem.weights.length;
      const [b1, b2, eps] = [0.9, 0.999, 1e-8];
      const lossFn = (p: Params, x: np.Array, y: np.Array): np.Array => {
        let h = x;
        for (let i = 0; i < layers; i++) {
          h = np.matmul(h, p.w[i]!).add(p.b[i]!);
          if (i + 1 < layers) h = np.tanh(h);
        }
        return np.square(h.sub(y)).mean();
      };
      // Adam with PyTorch's folding of the bias corrections: p -= stepSize·m / (sqrt(v)·invSqrtBc2 + eps).
      const step = jit(
        (p: Params, m: Params, v: Params, x: np.Array, y: np.Array, stepSize: np.Array, inv: np.Array) => {
          const [loss, g] = valueAndGrad(lossFn)(tree.ref(p), x, y);
          const newM = tree.map(
            (mi: np.Array, gi: np.Array) => mi.mul(b1).add(gi.mul(1 - b1)),
            m,
            tree.ref(g),
          );
          const newV = tree.map(
            (vi: np.Array, gi: np.Array) => vi.mul(b2).add(gi.ref.mul(gi).mul(1 - b2)),
            v,
            g,
          );
          const newP = tree.map(
            (pi: np.Array, mi: np.Array, vi: np.Array) =>
              pi.sub(mi.mul(stepSize.ref).div(np.sqrt(vi).mul(inv.ref).add(eps))),
            p,
            tree.ref(newM),
            tree.ref(newV),
          );
          stepSize.dispose();
          inv.dispose();
          return [loss, newP, newM, newV] as [np.Array, Params, Params, Params];
        },
      );
      const zeros = (): Params => ({
        w: problem.weights.map((_, i) => np.zeros([sizes[i]!, sizes[i + 1]!])),
        b: problem.biases.map((_, i) => np.zeros([sizes[i + 1]!])),
      });
      let params: Params = {
        w: problem.weights.map((data, i) => np.array(data.slice()).reshape([sizes[i]!, sizes[i + 1]!])),
        b: problem.biases.map((data) => np.array(data.slice())),
      };
      let m = zeros();
      let v = zeros();
      const x = np.array(problem.x.slice()).reshape([batch, sizes[0]!]);
      const y = np.array(problem.y.slice()).reshape([batch, sizes[layers]!]);
      let t = 0;
      return {
        run: () => {
          t++;
          const stepSize = np.array([problem.lr / (1 - b1 ** t)]).reshape([]);
          const inv = np.array([1 / Math.sqrt(1 - b2 ** t)]).reshape([]);
          const [loss, p2, m2, v2] = step(params, m, v, x.ref, y.ref, stepSize, inv);
          [params, m, v] = [p2, m2, v2];
          return loss.dataSync()[0]!;
        },
        dispose: () => {
          tree.dispose([params, m, v, x, y]);
          step.dispose();
        },
      };
    },
  };
}
