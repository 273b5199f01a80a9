// `npm run demo`: a short demonstration of the tensor core: a two-layer network fitted to a sine by
// plain autodiff and SGD.
import { Rng, randn, type Tensor, tensor, tidy } from '../tensor/index.ts';

const rng = new Rng(1);
const hidden = 32;
const xs = tensor(
  Array.from({ length: 128 }, (_, i) => -Math.PI + (2 * Math.PI * i) / 127),
  [128, 1],
);
const target = tensor(xs.data.map(Math.sin), [128, 1]);
const params: Tensor[] = [
  randn([1, hidden], rng, { requiresGrad: true, std: 1 }),
  tensor(new Float32Array(hidden), [hidden], { requiresGrad: true }),
  randn([hidden, 1], rng, { requiresGrad: true, std: 1 / Math.sqrt(hidden) }),
  tensor([0], [1], { requiresGrad: true }),
];
const [w1, b1, w2, b2] = params as [Tensor, Tensor, Tensor, Tensor];
const learningRate = 0.05;
const started = performance.now();
for (let step = 0; step <= 2000; step++) {
  const loss = tidy(() => {
    const prediction = xs.matmul(w1).add(b1).tanh().matmul(w2).add(b2);
    const mse = prediction.sub(target).square().mean();
    mse.backward();
    return mse.item();
  });
  for (const p of params) {
    for (let i = 0; i < p.size; i++) p.data[i]! -= learningRate * p.grad!.data[i]!;
    p.zeroGrad();
  }
  if (step % 500 === 0) console.log(`step ${String(step).padStart(4)}  mse ${loss.toFixed(5)}`);
}
console.log(`fitted sin(x) on [-pi, pi] in ${((performance.now() - started) / 1000).toFixed(2)} s`);
