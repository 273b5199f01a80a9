/**
 * `npm run bench -- simple-threads [--rows 20000] [--rounds 3] [--epochs 2] [--steps-per-epoch 100]`: the
 * model-based agent's refit (its default ensemble, 7 x [200, 200, 200]) on one thread and on two, in paired
 * alternating turns on the same data from the same weights; prints each turn's seconds, the load average,
 * and the median ratio. The data are real lander transitions of a random policy.
 */
import { loadavg } from 'node:os';
import { makeVectorEnv } from '../src/env/index.ts';
import { defaultSimpleConfig } from '../src/rl/simple-config.ts';
import { bufferTransitions, EnsembleModel, FitThreads, ReplayBuffer } from '../src/rl/world-model/index.ts';
import { Rng } from '../src/tensor/index.ts';
import { median, parseBenchArgs } from './report.ts';

const { flags } = parseBenchArgs({
  command: 'bench simple-threads',
  positionals: '',
  minPositionals: 0,
  maxPositionals: 0,
  flags: [
    { name: 'rows', type: 'int', min: 1, help: 'real transitions to fit (default 20000)' },
    { name: 'rounds', type: 'int', min: 1, help: 'paired rounds, one thread and two (default 3)' },
    { name: 'epochs', type: 'int', min: 1, help: 'epochs per fit (default 2)' },
    { name: 'steps-per-epoch', type: 'int', min: 1, help: 'gradient steps per epoch (default 100)' },
  ],
});
const rows = (flags.rows as number | undefined) ?? 20_000;
const rounds = (flags.rounds as number | undefined) ?? 3;
const epochs = (flags.epochs as number | undefined) ?? 2;
const stepsPerEpoch = (flags['steps-per-epoch'] as number | undefined) ?? 100;
const c = defaultSimpleConfig;
const env = await makeVectorEnv('LunarLander-v3', { numEnvs: 8 });
const buffer = new ReplayBuffer({ observationSize: 8, actionSize: 1, capacity: rows });
let obs = env.reset(1).observations.slice();
const rng = new Rng(1);
const actions = new Float32Array(8);
while (buffer.size < rows) {
  for (let i = 0; i < 8; i++) actions[i] = rng.integer(0, 4);
  const r = env.step(actions);
  buffer.addVectorStep(obs, actions, r);
  obs = r.observations.slice();
}
await env.close?.();
const split = buffer.splitByEpisode(c.validationFraction, 1);
const train = bufferTransitions(buffer, split.train);
const valid = bufferTransitions(buffer, split.validation);
const make = () =>
  new EnsembleModel(
    { n: 4 },
    { members: c.ensembleMembers, elites: c.ensembleElites, hiddenSizes: [...c.modelHiddenSizes], seed: 1 },
  );
const options = {
  maxEpochs: epochs,
  stepsPerEpoch,
  patience: 99,
  minImprovement: 0,
  learningRate: c.modelLearningRate,
  contactEventWeight: c.modelContactEventWeight,
  seed: 7,
};
const threads = new FitThreads();
make().fit(train, valid, { ...options, maxEpochs: 1, stepsPerEpoch: 2 }, threads); // start the helper
const ratios: number[] = [];
for (let round = 0; round < rounds; round++) {
  const seconds: Record<number, number> = {};
  const cpu: Record<number, number> = {};
  for (const n of round % 2 ? [2, 1] : [1, 2]) {
    const model = make();
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    model.fit(train, valid, options, n === 2 ? threads : null);
    seconds[n] = (performance.now() - t0) / 1000;
    const used = process.cpuUsage(c0);
    cpu[n] = (used.user + used.system) / 1e6;
  }
  ratios.push(seconds[1]! / seconds[2]!);
  console.log(
    JSON.stringify({
      round,
      oneThread: seconds[1]!.toFixed(2),
      twoThreads: seconds[2]!.toFixed(2),
      cpuOne: cpu[1]!.toFixed(2),
      cpuTwo: cpu[2]!.toFixed(2),
      speedup: ratios.at(-1)!.toFixed(2),
      load: loadavg().map((l) => l.toFixed(2)),
    }),
  );
}
console.log(
  `median speedup of the refit, 1 thread / 2 threads: ${median(ratios).toFixed(2)} (${rows} rows, ${epochs} x ${stepsPerEpoch} steps, load ${loadavg()[0]!.toFixed(2)})`,
);
await threads.close();
