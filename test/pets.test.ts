// PETS (src/rl/pets.ts) on the synthetic lander: it learns to land within 1.5k real steps by planning alone,
// counts every real step, resumes exactly from its saved state, model and buffer; and `npm run train -- pets`
// with `eval --planner cem` through the command line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evalRun } from '../src/cli/eval.ts';
import { readMetrics } from '../src/cli/run-folder.ts';
import { trainPets, trainPetsOptionsFromArgs } from '../src/cli/train-pets.ts';
import type { MpcController } from '../src/rl/mpc-controller.ts';
import { Pets, type PetsIterationMetrics } from '../src/rl/pets.ts';
import { type PetsConfig, resolvePetsConfig } from '../src/rl/pets-config.ts';
import type { EnsembleModel } from '../src/rl/world-model/index.ts';
import { loadModel, ReplayBuffer } from '../src/rl/world-model/index.ts';
import { SyntheticLanderVectorEnv } from './helpers/synthetic-lander-env.ts';

const root = mkdtempSync(join(tmpdir(), 'lander-pets-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The synthetic lander ends at touchdown (+100 soft, -100 hard), so the model's outcome head decides rest. */
const small: Partial<PetsConfig> = {
  totalRealSteps: 1500,
  initialRealSteps: 300,
  realStepsPerIteration: 300,
  ensembleMembers: 3,
  ensembleElites: 3,
  modelHiddenSizes: [32, 32],
  modelEpochs: 3,
  modelStepsPerEpoch: 50,
  restRule: 'model',
  evalEvery: 0,
  cem: { horizon: 10, population: 32, elites: 4, iterations: 3, particles: 1 },
  seed: 4,
};

/** `episodes` planned episodes on the synthetic lander from seeds 1e9 on: mean return and soft landings. */
function evaluateController(
  controller: MpcController,
  episodes: number,
): { meanReturn: number; landed: number } {
  let total = 0;
  let landed = 0;
  for (let e = 0; e < episodes; e++) {
    const env = new SyntheticLanderVectorEnv(1);
    let observation = env.reset(1e9 + e).observations.slice();
    controller.reset();
    for (;;) {
      const step = env.step(controller.act(observation));
      total += step.rewards[0]!;
      if (step.terminated[0] || step.truncated[0]) {
        if (step.terminated[0] && step.rewards[0] === 100) landed++;
        break;
      }
      observation = step.observations.slice();
    }
  }
  return { meanReturn: total / episodes, landed };
}

const strip = (rows: PetsIterationMetrics[]) =>
  rows.map(({ collectSeconds: _c, fitSeconds: _f, evalSeconds: _e, planMsPerAction: _p, ...rest }) => rest);

describe('Pets', () => {
  it('learns to land the synthetic lander by planning alone within 1.5k real steps, each one counted', () => {
    const env = new SyntheticLanderVectorEnv(1);
    const pets = new Pets(env, small);
    const metrics: PetsIterationMetrics[] = [];
    while (!pets.done) metrics.push(pets.iterate());
    // Whole episodes per iteration, the budget exactly: every real step went into the buffer.
    expect(pets.realSteps).toBe(1500);
    expect(pets.buffer.size).toBe(1500);
    expect(metrics[0]!.realSteps).toBeGreaterThanOrEqual(300);
    expect(metrics[0]!.planMsPerAction).toBeNull();
    expect(metrics[1]!.planMsPerAction).toBeGreaterThan(0);
    const finished = env.endings.landings + env.endings.crashes + env.endings.truncations;
    expect(pets.realEpisodes).toBe(finished);
    // A uniformly random policy returns -57 and lands 3% (helpers/synthetic-lander-env.ts). Measured with seed 4:
    // 174, 13 of 16. Seeds differ: seed 3 gave 115 and 9 of 16 (168 and 13 while lift-offs were weighted too),
    // seed 5 -25 and none (its model never learned the soft touchdown), seed 6 199 and 15.
    const result = evaluateController(pets.controller(99), 16);
    expect(result.meanReturn).toBeGreaterThan(100);
    expect(result.landed).toBeGreaterThanOrEqual(10);
  });

  it('resumes from its state, model and buffer to the same metrics as an unbroken run', () => {
    const config = { ...small, totalRealSteps: 800, realStepsPerIteration: 200, modelStepsPerEpoch: 20 };
    const unbroken = new Pets(new SyntheticLanderVectorEnv(1), config);
    const all: PetsIterationMetrics[] = [];
    while (!unbroken.done) all.push(unbroken.iterate());
    const first = new Pets(new SyntheticLanderVectorEnv(1), config);
    const before = [first.iterate(), first.iterate()];
    const modelFile = join(root, 'model.safetensors');
    const bufferFile = join(root, 'buffer.safetensors');
    first.model.save(modelFile);
    first.buffer.save(bufferFile);
    const state = JSON.parse(JSON.stringify(first.state()));
    const second = new Pets(new SyntheticLanderVectorEnv(1), config, {
      model: loadModel(modelFile) as EnsembleModel,
      buffer: ReplayBuffer.load(bufferFile),
    });
    second.resume(state);
    const after: PetsIterationMetrics[] = [];
    while (!second.done) after.push(second.iterate());
    expect(strip([...before, ...after])).toEqual(strip(all));
  });

  it('refuses bad settings and envs by name, before any real step', () => {
    expect(() => resolvePetsConfig({ totalRealSteps: 0 })).toThrow(/totalRealSteps = 0 .*positive integer/);
    expect(() => resolvePetsConfig({ ensembleElites: 9 })).toThrow(
      /ensembleElites = 9 exceeds ensembleMembers = 7/,
    );
    expect(() => resolvePetsConfig({ cem: { horizon: -1 } })).toThrow(/cem config: horizon = -1/);
    expect(() => resolvePetsConfig({ bogus: 1 } as never)).toThrow(/unknown option 'bogus'/);
    expect(() => new Pets(new SyntheticLanderVectorEnv(2), small)).toThrow(/2 copies; expected 1/);
  });
});

describe('train pets', () => {
  const tiny = (out: string, steps: number, extra: string[] = []) => [
    '--steps',
    String(steps),
    '--set',
    'initialRealSteps=200',
    'realStepsPerIteration=150',
    'modelHiddenSizes=16,16',
    'ensembleMembers=3',
    'ensembleElites=2',
    'modelEpochs=1',
    'modelStepsPerEpoch=5',
    'cem.population=8',
    'cem.elites=2',
    'cem.horizon=4',
    'cem.iterations=2',
    '--eval-episodes',
    '1',
    '--eval-every',
    '2',
    '--out',
    out,
    '--quiet',
    ...extra,
  ];

  it('plans a few hundred real steps into a run folder, resumes it, and evaluates it with --planner cem', async () => {
    const dir = join(root, 'cli');
    const options = trainPetsOptionsFromArgs(tiny(dir, 600));
    expect(options.config!.pets.cem).toEqual({ population: 8, elites: 2, horizon: 4, iterations: 2 });
    const stopped = await trainPets({ ...options, stopAfter: 2, log: () => {} });
    expect(stopped.finished).toBe(false);
    const resumed = await trainPets({
      ...trainPetsOptionsFromArgs(['--resume', dir, '--quiet']),
      log: () => {},
    });
    expect(resumed.finished).toBe(true);
    const rows = readMetrics<PetsIterationMetrics>(dir);
    expect(rows.at(-1)!.realSteps).toBe(600);
    expect(rows.map((r) => r.iteration)).toEqual(rows.map((_, i) => i + 1));
    expect(typeof rows.at(-1)!.evalMeanReturn).toBe('number');
    const lines: string[] = [];
    const summary = evalRun(
      [dir, '--planner', 'cem', '--episodes', '1', '--set', 'cem.population=8', 'cem.horizon=3'],
      (l) => lines.push(l),
    );
    expect(summary.episodes).toBe(1);
    expect(lines.at(-1)).toMatch(
      /CEM on the pets run's model, iteration \d+\): 1 episodes, .* ms per action/,
    );
    expect(() => evalRun([dir], () => {})).toThrow(/a PETS run has no policy.*--planner cem/);
    expect(() => evalRun([dir, '--planner', 'cem', '--set', 'cem.bogus=1'], () => {})).toThrow(
      /unknown option 'cem.bogus'/,
    );
    expect(() => trainPetsOptionsFromArgs(['--set', 'cem.horizon=0'])).toThrow(/cem config: horizon = 0/);
  });
});
