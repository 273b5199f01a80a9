// The contenders of `npm run bench -- nn`: each one builds, from the same problem (sizes, batch, data and
// initial weights), a function that takes one full training step of a tanh MLP: forward, MSE loss,
// backward, Adam update. Adding a contender is one more entry in `nnContenders()`.
import { Adam, MLP, mse } from '../src/nn/index.ts';
import {
  jsKernels,
  type KernelSet,
  kernels,
  Rng,
  setKernels,
  type Tensor,
  tensor,
  tidy,
  wasmKernels,
} from '../src/tensor/index.ts';
import { jaxContender } from './jax-contenders.ts';
import { switchTfjsBackend, type TfjsBackend, tf } from './tfjs.ts';
// tfjs-core alone registers no gradients; see tfjs-gradients.ts.
import './tfjs-gradients.ts';

export interface TrainingProblem {
  /** Rows per step. */
  batch: number;
  /** Layer sizes [in, hidden..., out]; tanh after every hidden layer, identity output. */
  sizes: readonly number[];
  /** Inputs [batch, in] and regression targets [batch, out], row-major. */
  x: Float32Array;
  y: Float32Array;
  /** Initial weights [in, out] and biases [out] of every layer, shared by all contenders. */
  weights: readonly Float32Array[];
  biases: readonly Float32Array[];
  /** Adam's step size. */
  lr: number;
}

export interface TrainingStep {
  /** One forward + loss + backward + Adam update; returns the loss before the update. */
  run(): number;
  dispose(): void;
}

export interface Contender {
  name: string;
  prepare(problem: TrainingProblem): TrainingStep;
}

/** A problem of the given shape with seeded data and PyTorch-style initial weights. */
export function makeProblem(batch: number, sizes: readonly number[], seed = 0): TrainingProblem {
  const rng = new Rng(seed);
  const template = new MLP(sizes, { rng });
  const inF = sizes[0]!;
  const outF = sizes[sizes.length - 1]!;
  return {
    batch,
    sizes,
    x: rng.fillNormal(new Float32Array(batch * inF)),
    y: rng.fillNormal(new Float32Array(batch * outF)),
    weights: template.layers.map((l) => l.weight.data.slice()),
    biases: template.layers.map((l) => l.bias!.data.slice()),
    lr: 1e-3,
  };
}

/** Our engine with the kernel set `set`, switched in by every step (other contenders may switch it too). */
export function oursContender(set: KernelSet): Contender {
  return {
    name: `ours-${set.name}`,
    prepare(problem) {
      const { batch, sizes } = problem;
      const model = new MLP(sizes, { rng: new Rng(0), activation: 'tanh' });
      model.layers.forEach((layer, i) => {
        layer.weight.data.set(problem.weights[i]!);
        layer.bias!.data.set(problem.biases[i]!);
      });
      const x = tensor(problem.x, [batch, sizes[0]!]);
      const y = tensor(problem.y, [batch, sizes[sizes.length - 1]!]);
      const adam = new Adam(model.parameters(), { lr: problem.lr });
      const previous = kernels();
      return {
        run: () => {
          setKernels(set);
          return tidy(() => {
            adam.zeroGrad();
            const loss: Tensor = mse(model.forward(x), y);
            loss.backward();
            adam.step();
            return loss.item();
          });
        },
        dispose: () => setKernels(previous),
      };
    },
  };
}

/**
 * TensorFlow.js with backend `backend`, written as a tfjs user would at its fastest: fused matMul + bias,
 * tanh, `tf.losses.meanSquaredError`, `tf.train.adam().minimize`, and `dataSync()` on the loss so the work
 * is done when the step returns.
 */
export function tfjsContender(backend: TfjsBackend): Contender {
  return {
    name: `tfjs-${backend}`,
    prepare(problem) {
      const { batch, sizes } = problem;
      // Variables live on the backend that is active when they are made.
      switchTfjsBackend(backend);
      const layers = problem.weights.length;
      const w = problem.weights.map((data, i) => tf.variable(tf.tensor2d(data, [sizes[i]!, sizes[i + 1]!])));
      const b = problem.biases.map((data) => tf.variable(tf.tensor1d(data)));
      const x = tf.tensor2d(problem.x, [batch, sizes[0]!]);
      const y = tf.tensor2d(problem.y, [batch, sizes[layers]!]);
      const optimizer = tf.train.adam(problem.lr);
      const forwardLoss = (): tf.Scalar => {
        let h: tf.Tensor = x;
        for (let i = 0; i < layers; i++) {
          h = tf.fused.matMul({ a: h as tf.Tensor2D, b: w[i]!, bias: b[i]! });
          if (i + 1 < layers) h = tf.tanh(h);
        }
        return tf.losses.meanSquaredError(y, h) as tf.Scalar;
      };
      return {
        run: () => {
          switchTfjsBackend(backend);
          const loss = optimizer.minimize(forwardLoss, true)!;
          const value = loss.dataSync()[0]!;
          loss.dispose();
          return value;
        },
        dispose: () => {
          switchTfjsBackend(backend);
          optimizer.dispose();
          tf.dispose([...w, ...b, x, y]);
        },
      };
    },
  };
}

/** Everyone in the race: ours with each kernel set this runtime has (plain JS always), then tfjs and jax-js. */
export function nnContenders(): Contender[] {
  const wasm = wasmKernels();
  const sets = wasm ? [jsKernels, wasm] : [jsKernels];
  return [...sets.map(oursContender), tfjsContender('cpu'), tfjsContender('wasm'), jaxContender()];
}
