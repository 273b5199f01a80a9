// The model-based loop (src/rl/simple.ts) on the synthetic lander (helpers/synthetic-lander-env.ts): it
// learns the task with fewer real steps than model-free PPO, counts real and imagined steps exactly, resumes
// from saved parts exactly, evaluates apart from training, and refuses bad settings and envs clearly.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadModule, loadOptimizer, saveModule, saveOptimizer } from '../src/nn/index.ts';
import { fallWithReturn } from '../src/rl/dynamic-hyperparameters.ts';
import { Ppo } from '../src/rl/ppo.ts';
import { RecordedVectorEnv } from '../src/rl/recorded-env.ts';
import { Simple, type SimpleIterationMetrics, type SimpleParts } from '../src/rl/simple.ts';
import type { SimpleConfig } from '../src/rl/simple-config.ts';
import type { RlVectorEnv, RlVectorStep } from '../src/rl/vector-env.ts';
import { HelperChannel } from '../src/rl/world-model/helper-channel.ts';
import {
  EnsembleModel,
  FamiliarityModel,
  loadModel,
  MlpModel,
  ModelVectorEnv,
  ReplayBuffer,
} from '../src/rl/world-model/index.ts';
import { shapingReward } from '../src/rl/world-model/lander-reward.ts';
import { Rng } from '../src/tensor/index.ts';
import {
  evaluateSyntheticLander,
  landingPolicy,
  SyntheticLanderVectorEnv,
} from './helpers/synthetic-lander-env.ts';
import { TinyVectorEnv } from './helpers/tiny-env.ts';
import { checkVectorEnvContract } from './helpers/vector-env-contract.ts';
import { withoutTimings } from './helpers/without-timings.ts';

/** Counts the vector steps taken in the env it wraps. */
class CountingEnv implements RlVectorEnv {
  steps = 0;
  constructor(readonly inner: RlVectorEnv) {}
  get numEnvs(): number {
    return this.inner.numEnvs;
  }
  get observationSize(): number {
    return this.inner.observationSize;
  }
  get actionSpace(): RlVectorEnv['actionSpace'] {
    return this.inner.actionSpace;
  }
  reset(seed?: number): { observations: Float32Array } {
    return this.inner.reset(seed);
  }
  step(actions: ArrayLike<number>): RlVectorStep {
    this.steps++;
    return this.inner.step(actions);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * A one-copy real env for the loop's trials that lets a test decide their outcome: from its `penaliseAfter`-th
 * reset on, an episode from a seed it has not been reset with before ends with `penalty` added to its
 * return, while a seed seen before (the kept policy tried again on the same seeds) pays as usual.
 */
class RiggedTrialEnv extends CountingEnv {
  resets = 0;
  private readonly seen = new Set<number>();
  private penalise = false;
  constructor(
    private readonly penaliseAfter: number,
    private readonly penalty: number,
  ) {
    super(new SyntheticLanderVectorEnv(1, { maxSteps: 60 }));
  }
  override reset(seed?: number): { observations: Float32Array } {
    this.resets++;
    this.penalise = this.resets > this.penaliseAfter && !this.seen.has(seed!);
    this.seen.add(seed!);
    return super.reset(seed);
  }
  override step(actions: ArrayLike<number>): RlVectorStep {
    const result = super.step(actions);
    if (this.penalise && (result.terminated[0] || result.truncated[0])) {
      result.rewards[0]! += this.penalty;
      result.episodeReturns[0]! += this.penalty;
    }
    return result;
  }
}

/** A few hundred real steps, a tiny ensemble, short imagined rollouts: each iteration takes a fraction of a second. */
const tiny: Partial<SimpleConfig> = {
  realEnvs: 8,
  initialRealSteps: 100,
  realStepsPerIteration: 130,
  totalRealSteps: 500,
  model: 'ensemble',
  ensembleMembers: 2,
  ensembleElites: 2,
  modelHiddenSizes: [16],
  familiarity: false,
  lambdaFamiliarity: 0,
  modelEpochs: 1,
  modelStepsPerEpoch: 5,
  startStates: 64,
  modelEnvs: 16,
  imaginedStepsPerIteration: 300,
  horizon: 7,
  horizonCandidates: [3, 7],
  ppo: { hiddenSizes: [16], epochs: 2 },
  seed: 5,
  // Step 5's trials (on by default) need a trial env; the tests of trials give one and turn them on.
  trialEpisodes: 0,
};

/** Trials of two episodes from the first iteration, the old policy tried beside every new one (no keep or guard threshold). */
const alwaysCompared: Partial<SimpleConfig> = {
  ...tiny,
  trialEpisodes: 2,
  trialFromReturn: -1e9,
  trialKeepFrom: Number.POSITIVE_INFINITY,
  trialGuardFrom: Number.NEGATIVE_INFINITY,
};

function run(simple: Simple): SimpleIterationMetrics[] {
  const metrics = [];
  while (!simple.done) metrics.push(simple.iterate());
  return metrics;
}

describe('synthetic lander env', () => {
  it('keeps the vector-env contract, pays shapingReward on ordinary steps and +-100 at the end', () => {
    checkVectorEnvContract(new SyntheticLanderVectorEnv(4, { maxSteps: 30 }), 300);
    const env = new SyntheticLanderVectorEnv(8);
    let obs = env.reset(3).observations.slice();
    const rng = new Rng(4);
    const actions = new Float32Array(8);
    let ordinary = 0;
    for (let t = 0; t < 400; t++) {
      for (let i = 0; i < 8; i++) actions[i] = rng.integer(0, 4);
      const r = env.step(actions);
      for (let i = 0; i < 8; i++) {
        if (r.terminated[i]) {
          expect(Math.abs(r.rewards[i]!)).toBe(100);
        } else {
          ordinary++;
          const after = r.truncated[i] ? r.finalObservations : r.observations;
          const expected = shapingReward(obs, i * 8, after, i * 8, true, actions, i);
          expect(r.rewards[i]).toBe(Math.fround(expected));
        }
      }
      obs = r.observations.slice();
    }
    expect(ordinary).toBeGreaterThan(2000);
    // Same seed, same episodes.
    const again = new SyntheticLanderVectorEnv(8);
    expect(Array.from(again.reset(3).observations)).toEqual(
      Array.from(new SyntheticLanderVectorEnv(8).reset(3).observations),
    );
  });

  it('is mostly crashed by a random policy and landed by firing the main engine when falling fast', () => {
    const rng = new Rng(5);
    const random = evaluateSyntheticLander((_o, out) => {
      for (let i = 0; i < out.length; i++) out[i] = rng.integer(0, 4);
      return out;
    }, 256);
    const landing = evaluateSyntheticLander(landingPolicy, 256);
    // Measured: random -57 with 3% landed; the landing rule 213 with every episode landed.
    expect(random.solvedFraction).toBeLessThan(0.15);
    expect(random.meanReturn).toBeLessThan(0);
    expect(landing.solvedFraction).toBe(1);
    expect(landing.meanReturn).toBeGreaterThan(190);
  });
});

describe('Simple', () => {
  // Its own timeout: about 25 s on an idle core, past a minute with the cores shared.
  it('learns the synthetic lander within a real-step budget in which model-free PPO does not', {
    timeout: 240_000,
  }, () => {
    // Measured with this config (greedy mean return over 64 evaluation episodes after each iteration, at
    // 800, 1200, ..., 3600 real steps): seed 1 goes -19, -40, -20, 7, 18, 78, 196, 213; seeds 2-4 are first
    // above 150 at 3200, 3200 and 2800 real steps (best by 3600: 189, 196, 167), after -182 to -4 at 800.
    // Model-free PPO below, evaluated after every update of 256 real steps, stays at or under 127 within
    // 3600 real steps at seeds 1-6 and first passes 150 after 16,900-28,000 real steps at five of them (seed 2 not within 30,000; seed 1: 105, then 150 at
    // 16,896). A random policy scores -57, the landing rule 213.
    const budget = 3600;
    const threshold = 150;
    const env = new SyntheticLanderVectorEnv(8);
    const evaluations: { realSteps: number; meanReturn: number }[] = [];
    const simple = new Simple(
      env,
      {
        realEnvs: 8,
        initialRealSteps: 800,
        realStepsPerIteration: 400,
        totalRealSteps: budget,
        model: 'ensemble',
        ensembleMembers: 3,
        ensembleElites: 2,
        modelHiddenSizes: [32, 32],
        familiarity: false,
        lambdaFamiliarity: 0,
        modelEpochs: 10,
        modelStepsPerEpoch: 100,
        modelPatience: 2,
        startStates: 256,
        modelEnvs: 128,
        imaginedStepsPerIteration: 40_000,
        // Measured without step 5's trials (the lander's default is set for Lunar Lander's returns).
        trialEpisodes: 0,
        horizon: 10,
        horizonCandidates: [5, 10, 20],
        evalEvery: 1,
        ppo: { minibatchSize: 256, learningRate: 1e-3, hiddenSizes: [32, 32] },
        // The synthetic lander lands (+100) the step it touches down, with no Box2D sleep to wait for and no
        // ground to stand on: its outcome head is the rule, and there are no touchdowns to weigh.
        restRule: 'model',
        modelContactEventWeight: 1,
        // The figures above were measured drawing imagined steps from the model's Gaussian (the synthetic
        // lander's vy is noisy), whatever the default.
        modelNoise: true,
        seed: 1,
      },
      {
        evaluate: (policy) => {
          const result = evaluateSyntheticLander(policy, 64);
          evaluations.push({ realSteps: simple.realSteps, meanReturn: result.meanReturn });
          return result;
        },
      },
    );
    simple.start();
    const metrics = run(simple);
    expect(simple.realSteps).toBe(budget);
    expect(metrics.map((m) => m.evalMeanReturn)).toEqual(evaluations.map((e) => e.meanReturn));
    expect(evaluations[0]!.meanReturn).toBeLessThan(100);
    const simpleBest = Math.max(...evaluations.map((e) => e.meanReturn));
    expect(simpleBest).toBeGreaterThan(threshold);

    // Model-free PPO on the same task with the same real steps, tuned for it as far as a short budget allows
    // (short rollouts, 10 epochs: its fastest setting measured).
    const ppo = new Ppo(new SyntheticLanderVectorEnv(8), {
      totalSteps: 8 * 32 * 96,
      stepsPerEnv: 32,
      minibatchSize: 64,
      epochs: 10,
      gamma: 0.99,
      lambda: 0.95,
      learningRate: 1e-3,
      hiddenSizes: [32, 32],
      seed: 1,
    });
    ppo.start();
    let ppoBest = Number.NEGATIVE_INFINITY;
    let ppoReached: number | null = null;
    while (!ppo.done && ppoReached === null) {
      ppo.update();
      const meanReturn = evaluateSyntheticLander(ppo.policy, 64).meanReturn;
      if (ppo.steps <= budget) ppoBest = Math.max(ppoBest, meanReturn);
      if (meanReturn > threshold) ppoReached = ppo.steps;
    }
    expect(ppoBest).toBeLessThan(threshold);
    // The task is within PPO's reach, with several times the real steps.
    expect(ppoReached).not.toBeNull();
    expect(ppoReached!).toBeGreaterThan(2 * budget);
  });

  it('counts every real step the env took and every imagined step the model env took', () => {
    const env = new CountingEnv(new SyntheticLanderVectorEnv(8));
    const simple = new Simple(env, tiny);
    simple.start();
    const modelSteps = vi.spyOn(ModelVectorEnv.prototype, 'step');
    try {
      let imagined = 0;
      let calls = 0;
      const metrics: SimpleIterationMetrics[] = [];
      while (!simple.done) {
        const m = simple.iterate();
        metrics.push(m);
        expect(m.realSteps).toBe(env.steps * 8);
        // Whole rollouts of N x H, enough for imaginedStepsPerIteration.
        const updates = Math.ceil(300 / (16 * m.horizon));
        expect(m.ppoUpdates).toBe(updates);
        expect(modelSteps.mock.calls.length - calls).toBe(updates * m.horizon);
        calls = modelSteps.mock.calls.length;
        imagined += updates * 16 * m.horizon;
        expect(m.imaginedSteps).toBe(imagined);
      }
      expect(simple.imaginedSteps).toBe(calls * 16);
      // 100 initial steps are 12 whole vector steps, 130 a later iteration's 16; the last takes what the
      // budget of 500 leaves (2 vector steps) and the run ends with fewer than 8 steps left.
      expect(metrics.map((m) => m.realSteps)).toEqual([96, 224, 352, 480, 496]);
      expect(simple.realSteps).toBe(496);
      for (const m of metrics) expect([3, 7]).toContain(m.horizon);
      expect(() => simple.iterate()).toThrow(/budget of 500 real steps is spent/);
    } finally {
      modelSteps.mockRestore();
    }
  });

  it('sets the entropy bonus of every iteration from the exploring return, and PPO trains with it', () => {
    const annealed = { ...tiny, minEntropyCoef: 0.001, entropyReturns: [-1000, 1000] };
    const update = vi.spyOn(Ppo.prototype, 'update');
    try {
      const simple = new Simple(new SyntheticLanderVectorEnv(8), annealed);
      simple.start();
      const metrics: SimpleIterationMetrics[] = [];
      while (!simple.done) {
        update.mockClear();
        const m = simple.iterate();
        metrics.push(m);
        expect(m.entropyCoef).toBeCloseTo(fallWithReturn(m.realMeanReturn, 0.01, 0.001, -1000, 1000), 12);
        // Every PPO update of the iteration trained with that bonus.
        const ppos = update.mock.contexts as Ppo[];
        expect(ppos.length).toBe(m.ppoUpdates);
        for (const ppo of ppos) expect(ppo.config.entropyCoef).toBe(m.entropyCoef);
      }
      expect(metrics.some((m) => m.entropyCoef < 0.01)).toBe(true);
      // Not dynamic: the start bonus throughout.
      const notDynamic = new Simple(new SyntheticLanderVectorEnv(8), { ...annealed, dynamic: false });
      notDynamic.start();
      update.mockClear();
      for (const m of run(notDynamic)) expect(m.entropyCoef).toBe(0.01);
      for (const ppo of update.mock.contexts as Ppo[]) expect(ppo.config.entropyCoef).toBe(0.01);
    } finally {
      update.mockRestore();
    }
  });

  it('imagines from the predicted Gaussian, or at its mean when modelNoise is false', () => {
    const step = vi.spyOn(ModelVectorEnv.prototype, 'step');
    try {
      for (const modelNoise of [true, false]) {
        step.mockClear();
        const simple = new Simple(new SyntheticLanderVectorEnv(8), { ...tiny, modelNoise });
        simple.start();
        simple.iterate();
        simple.iterate();
        const contexts = step.mock.contexts as ModelVectorEnv[];
        expect(contexts.length).toBeGreaterThan(0);
        for (const env of contexts) expect(env.config.sampleNoise).toBe(modelNoise);
      }
    } finally {
      step.mockRestore();
    }
  });

  describe('resume', () => {
    const dir = mkdtempSync(join(tmpdir(), 'simple-resume-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    // With trials on too (from the first iteration), so the kept policy's trial score and the last trial's steps resume.
    it.each([0, 2])(
      'continues from saved state, model, familiarity model, buffer, policy, optimiser and env log exactly (trialEpisodes %i)',
      (trialEpisodes) => {
        const trialEnv = () =>
          trialEpisodes > 0 ? new SyntheticLanderVectorEnv(1, { maxSteps: 60 }) : undefined;
        // The familiarity penalty on, so its model's save and load take part.
        const config: Partial<SimpleConfig> = {
          ...tiny,
          ensembleMembers: 3,
          ensembleElites: 2,
          familiarity: true,
          lambdaFamiliarity: 1,
          realStepsPerIteration: 128,
          totalRealSteps: 96 + 2 * 128,
          // The refit on two threads, so a resume is checked exact with the helper thread too.
          threads: 2,
          trialEpisodes,
          trialFromReturn: -1e9,
          // The first trial runs the new policy alone (no score to guard yet), the later ones both.
          trialGuardFrom: -1e9,
        };
        const unbroken = new Simple(new RecordedVectorEnv(new SyntheticLanderVectorEnv(8)), config, {
          trialEnv: trialEnv(),
        });
        unbroken.start();
        const expected = run(unbroken);
        expect(expected).toHaveLength(3);

        const firstEnv = new RecordedVectorEnv(new SyntheticLanderVectorEnv(8));
        const first = new Simple(firstEnv, config, { trialEnv: trialEnv() });
        first.start();
        expect(withoutTimings([first.iterate()])).toEqual(withoutTimings(expected.slice(0, 1)));
        const state = JSON.parse(JSON.stringify(first.state()));
        first.model.save(join(dir, 'model.safetensors'));
        first.familiarity!.save(join(dir, 'familiarity.safetensors'));
        first.buffer.save(join(dir, 'buffer.safetensors'));
        saveModule(join(dir, 'policy.safetensors'), first.policy);
        saveOptimizer(join(dir, 'optimizer.safetensors'), first.optimizer);
        const log = firstEnv.log();
        const savedLog = { seed: log.seed, steps: log.steps, actions: log.actions.slice() };

        const env = new RecordedVectorEnv(new SyntheticLanderVectorEnv(8));
        env.restore(savedLog);
        const model = loadModel(join(dir, 'model.safetensors'));
        expect(model).toBeInstanceOf(EnsembleModel);
        const parts: SimpleParts = {
          model: model as EnsembleModel,
          familiarity: FamiliarityModel.load(join(dir, 'familiarity.safetensors')),
          buffer: ReplayBuffer.load(join(dir, 'buffer.safetensors')),
          trialEnv: trialEnv(),
        };
        const resumed = new Simple(env, config, parts);
        expect(resumed.model).toBe(parts.model);
        loadModule(join(dir, 'policy.safetensors'), resumed.policy);
        loadOptimizer(join(dir, 'optimizer.safetensors'), resumed.optimizer);
        resumed.resume(state);
        const rest = run(resumed);
        expect(withoutTimings(rest)).toEqual(withoutTimings(expected.slice(1)));
        expect(resumed.state()).toEqual(unbroken.state());
        if (trialEpisodes > 0) expect(expected.every((m) => m.trialSteps > 0)).toBe(true);
        const weights = resumed.policy.stateDict();
        const reference = unbroken.policy.stateDict();
        expect(Object.keys(weights)).toEqual(Object.keys(reference));
        for (const key of Object.keys(reference)) {
          expect(Array.from(weights[key]!.data), key).toEqual(Array.from(reference[key]!.data));
        }
      },
    );
  });

  it('gives bit-identical metrics, state and weights with the refit and predictions on one thread or two, and closes its helper', async () => {
    const config: Partial<SimpleConfig> = {
      ...tiny,
      ensembleMembers: 3,
      ensembleElites: 2,
      realStepsPerIteration: 128,
      totalRealSteps: 96 + 2 * 128,
      // More than 128 copies, so the imagined rollouts' predictions share their rows with the helper.
      modelEnvs: 200,
      imaginedStepsPerIteration: 1400,
      // On two threads the autoencoder's fit runs its steps in the ensemble fit's waits.
      familiarity: true,
      lambdaFamiliarity: 0.5,
    };
    // Counts the steps of other work run while the main thread waited for the helper.
    let ranWhileWaiting = 0;
    const wait = HelperChannel.prototype.wait;
    const spy = vi.spyOn(HelperChannel.prototype, 'wait').mockImplementation(function (
      this: HelperChannel,
      timeoutMs,
      what,
      meanwhile,
    ) {
      const counted = meanwhile && (() => meanwhile() && ++ranWhileWaiting > 0);
      return wait.call(this, timeoutMs, what, counted);
    });
    let runs: { loop: Simple; metrics: ReturnType<typeof withoutTimings> }[];
    try {
      runs = [1, 2].map((threads) => {
        const loop = new Simple(new SyntheticLanderVectorEnv(8), { ...config, threads });
        loop.start();
        return { loop, metrics: withoutTimings(run(loop)) };
      });
    } finally {
      spy.mockRestore();
    }
    expect(ranWhileWaiting).toBeGreaterThan(0);
    const [one, two] = runs as [(typeof runs)[0], (typeof runs)[0]];
    expect(one.metrics).toHaveLength(3);
    expect(two.metrics).toEqual(one.metrics);
    expect(two.loop.state()).toEqual(one.loop.state());
    type WithNetwork = { network: { stateDict(): Record<string, { data: Float32Array }> } };
    const reference = (one.loop.model as unknown as WithNetwork).network.stateDict();
    const weights = (two.loop.model as unknown as WithNetwork).network.stateDict();
    for (const key of Object.keys(reference)) {
      expect(Array.from(weights[key]!.data), key).toEqual(Array.from(reference[key]!.data));
    }
    const daeReference = one.loop.familiarity!.autoencoder.stateDict();
    const daeWeights = two.loop.familiarity!.autoencoder.stateDict();
    for (const key of Object.keys(daeReference)) {
      expect(Array.from(daeWeights[key]!.data), key).toEqual(Array.from(daeReference[key]!.data));
    }
    const threads = (two.loop as unknown as { threads: { alive: boolean } }).threads;
    expect(threads.alive).toBe(true);
    await two.loop.close();
    expect(threads.alive).toBe(false);
    await one.loop.close();
  });

  it('tries each new policy against the one before it on the same real episodes, and keeps the better', () => {
    const trials = { ...alwaysCompared, totalRealSteps: 1200 };
    // Every new policy's episodes lose 1000 (it runs first, on seeds the env has not seen), while the policy
    // before it scores as usual on the same seeds: each new policy is thrown away, and the loop never moves.
    const trialEnv = new RiggedTrialEnv(0, -1000);
    const env = new CountingEnv(new SyntheticLanderVectorEnv(8));
    const simple = new Simple(env, trials, { trialEnv });
    simple.start();
    const start = simple.policy.stateDict();
    const startOptimizer = simple.optimizer.stateDict();
    const metrics: SimpleIterationMetrics[] = [];
    const resets: number[] = [];
    while (!simple.done) {
      const resetsBefore = trialEnv.resets;
      metrics.push(simple.iterate());
      resets.push(trialEnv.resets - resetsBefore);
      // Back to the policy (and optimiser) the run started from, after every iteration.
      const weights = simple.policy.stateDict();
      for (const key of Object.keys(start)) {
        expect(Array.from(weights[key]!.data), key).toEqual(Array.from(start[key]!.data));
      }
      const optimizer = simple.optimizer.stateDict();
      expect(optimizer.step).toBe(startOptimizer.step);
      expect(optimizer.hyper).toEqual(startOptimizer.hyper);
      for (const key of Object.keys(startOptimizer.buffers)) {
        expect(Array.from(optimizer.buffers[key]!), key).toEqual(Array.from(startOptimizer.buffers[key]!));
      }
    }
    const verdicts = metrics.map((m) => m.trialVerdict);
    expect(verdicts.length).toBeGreaterThanOrEqual(4);
    expect(verdicts.slice(0, -1).every((v) => v === 'rejected')).toBe(true);
    expect(['rejected', 'no budget']).toContain(verdicts.at(-1));
    metrics.forEach((m, i) => {
      if (m.trialVerdict !== 'rejected') return;
      expect(m.trialReturn!).toBeLessThan(m.keptTrialReturn! - 500);
      // Two policies, two seeds each.
      expect(resets[i]).toBe(4);
    });
    // Every trial step is a real step, counted and in the buffer; a trial takes from the next collection.
    expect(simple.realSteps).toBe(env.steps * 8 + trialEnv.steps);
    expect(simple.buffer.totalAdded).toBe(simple.realSteps);
    expect(metrics.reduce((a, m) => a + m.trialSteps, 0)).toBe(trialEnv.steps);
    expect(simple.realSteps).toBeLessThanOrEqual(trials.totalRealSteps);
    expect(metrics[1]!.realSteps - metrics[0]!.realSteps).toBe(
      Math.floor(Math.max(65, 130 - metrics[0]!.trialSteps) / 8) * 8 + metrics[1]!.trialSteps,
    );

    // A margin of 2000 keeps every new policy, 1000 worse or not: the policy moves.
    const lenient = new Simple(
      new SyntheticLanderVectorEnv(8),
      { ...trials, totalRealSteps: 700, trialMargin: 2000 },
      { trialEnv: new RiggedTrialEnv(0, -1000) },
    );
    lenient.start();
    const kept = run(lenient);
    expect(kept[0]!.trialVerdict).toBe('kept');
    expect(kept[0]!.trialReturn!).toBeLessThan(kept[0]!.keptTrialReturn! - 500);
    expect(Array.from(lenient.policy.stateDict()[Object.keys(start)[0]!]!.data)).not.toEqual(
      Array.from(start[Object.keys(start)[0]!]!.data),
    );
  });

  it('keeps a new policy that scores trialKeepFrom, or whose kept one scored below trialGuardFrom, without trying the kept one', () => {
    const trials = { ...alwaysCompared, totalRealSteps: 700 };
    /** Every iteration's verdict, its kept policy's trial return, and the trial env's resets in it. */
    const verdicts = (config: Partial<SimpleConfig>, trialEnv: RiggedTrialEnv) => {
      const simple = new Simple(new SyntheticLanderVectorEnv(8), { ...trials, ...config }, { trialEnv });
      simple.start();
      const rows: [SimpleIterationMetrics['trialVerdict'], number | null, number][] = [];
      while (!simple.done) {
        const resetsBefore = trialEnv.resets;
        const m = simple.iterate();
        rows.push([m.trialVerdict, m.keptTrialReturn, trialEnv.resets - resetsBefore]);
      }
      return rows.slice(0, -1);
    };
    // Every new policy loses 1000 on its own seeds, and every one is kept with only its own two episodes run:
    // it reaches trialKeepFrom, or its kept policy never reached trialGuardFrom.
    for (const config of [{ trialKeepFrom: -1e9 }, { trialGuardFrom: 1e9 }]) {
      const rows = verdicts(config, new RiggedTrialEnv(0, -1000));
      expect(rows.length, JSON.stringify(config)).toBeGreaterThanOrEqual(2);
      expect(rows, JSON.stringify(config)).toEqual(rows.map(() => ['kept', null, 2]));
    }
    // The first new policy scores as usual (its first two resets are not penalised) and is kept untried against
    // the first policy, which never ran a trial; from then on the kept policy has a score above trialGuardFrom,
    // is tried beside each new one, and the new ones (1000 worse) are thrown away.
    const guarded = verdicts({ trialGuardFrom: -600 }, new RiggedTrialEnv(2, -1000));
    expect(guarded.length).toBeGreaterThanOrEqual(3);
    expect(guarded[0]).toEqual(['kept', null, 2]);
    for (const [verdict, keptReturn, resets] of guarded.slice(1)) {
      expect([verdict, resets]).toEqual(['rejected', 4]);
      expect(keptReturn!).toBeGreaterThanOrEqual(-600);
    }
  });

  it('keeps every new policy untried below trialFromReturn, and needs a trial env when trials are on', () => {
    const trialEnv = new RiggedTrialEnv(0, -1000);
    const simple = new Simple(
      new SyntheticLanderVectorEnv(8),
      { ...tiny, trialEpisodes: 2, trialFromReturn: 1e9 },
      { trialEnv },
    );
    simple.start();
    const metrics = run(simple);
    expect(metrics.every((m) => m.trialVerdict === 'untried' && m.trialSteps === 0)).toBe(true);
    expect(trialEnv.steps).toBe(0);
    expect(() => new Simple(new SyntheticLanderVectorEnv(8), { ...tiny, trialEpisodes: 2 })).toThrow(
      /trialEpisodes = 2 needs a real env of one copy/,
    );
    expect(
      () =>
        new Simple(
          new SyntheticLanderVectorEnv(8),
          { ...tiny, trialEpisodes: 2 },
          {
            trialEnv: new SyntheticLanderVectorEnv(2),
          },
        ),
    ).toThrow(/real env of 1 copy; got 2 copies/);
    expect(
      () =>
        new Simple(
          new SyntheticLanderVectorEnv(8),
          { ...tiny, trialEpisodes: 2 },
          { trialEnv: new TinyVectorEnv(1) },
        ),
    ).toThrow(
      /trial env has observations of 2 numbers and 2 discrete actions; the real env 8 and 4 discrete actions/,
    );
  });

  it('evaluates every evalEvery iterations and at the end, through parts.evaluate, without real steps', () => {
    for (const evalEvery of [2, 0]) {
      const env = new CountingEnv(new SyntheticLanderVectorEnv(8));
      const seen: { iteration: number; envSteps: number; realSteps: number }[] = [];
      const simple: Simple = new Simple(
        env,
        { ...tiny, realStepsPerIteration: 128, totalRealSteps: 96 + 4 * 128, evalEvery },
        {
          evaluate: (policy) => {
            expect(policy).toBe(simple.policy);
            seen.push({ iteration: simple.iteration, envSteps: env.steps, realSteps: simple.realSteps });
            // Greedy episodes on an env of its own: the real env is never stepped for them.
            const result = evaluateSyntheticLander(policy, 16, 8);
            return { meanReturn: result.meanReturn, solvedFraction: simple.iteration / 10 };
          },
        },
      );
      simple.start();
      const metrics = run(simple);
      expect(metrics).toHaveLength(5);
      const evaluated = evalEvery === 2 ? [2, 4, 5] : [5];
      expect(seen.map((s) => s.iteration)).toEqual(evaluated);
      for (const m of metrics) {
        if (evaluated.includes(m.iteration)) {
          expect(m.evalSolvedFraction).toBe(m.iteration / 10);
          expect(Number.isFinite(m.evalMeanReturn)).toBe(true);
        } else {
          expect(m.evalMeanReturn).toBeUndefined();
          expect(m.evalSolvedFraction).toBeUndefined();
        }
      }
      for (const s of seen) {
        expect(s.envSteps * 8).toBe(s.realSteps);
        expect(metrics[s.iteration - 1]!.realSteps).toBe(s.realSteps);
      }
      expect(env.steps * 8).toBe(simple.realSteps);
      expect(simple.realSteps).toBe(96 + 4 * 128);
    }
  });

  it('lowers both penalty weights as the exploring return rises, and imagines with what is left', () => {
    const fading = {
      ...tiny,
      familiarity: true,
      lambdaFamiliarity: 1,
      lambdaUncertainty: 1,
      minPenaltyShare: 0,
    };
    const loop = (overrides: Partial<SimpleConfig>) => {
      const simple = new Simple(new SyntheticLanderVectorEnv(8), { ...fading, ...overrides });
      simple.start();
      const metrics: SimpleIterationMetrics[] = [];
      const calibrated: number[] = [];
      while (!simple.done) {
        metrics.push(simple.iterate());
        calibrated.push(simple.lambdaUncertainty);
      }
      return { metrics, calibrated };
    };
    const within = loop({ penaltyReturns: [-1000, 1000] });
    within.metrics.forEach((m, i) => {
      const share = fallWithReturn(m.realMeanReturn, 1, 0, -1000, 1000);
      expect(m.lambdaFamiliarity).toBeCloseTo(share, 12);
      expect(m.lambdaUncertainty).toBeCloseTo(within.calibrated[i]! * share, 12);
    });
    expect(within.metrics.some((m) => m.lambdaFamiliarity > 0 && m.lambdaFamiliarity < 1)).toBe(true);
    // Every return is past the window: once an episode has finished, no penalty is paid at all.
    const past = loop({ penaltyReturns: [-100_000, -99_999] });
    expect(past.metrics.some((m) => m.realMeanReturn !== null)).toBe(true);
    for (const m of past.metrics.filter((m) => m.realMeanReturn !== null)) {
      expect([m.lambdaFamiliarity, m.lambdaUncertainty, m.familiarityPenalty, m.uncertaintyPenalty]).toEqual([
        0, 0, 0, 0,
      ]);
    }
    // The default share of 1: whole weights past the window too.
    const whole = loop({ penaltyReturns: [-100_000, -99_999], minPenaltyShare: 1 });
    whole.metrics.forEach((m, i) => {
      expect([m.lambdaFamiliarity, m.lambdaUncertainty]).toEqual([1, whole.calibrated[i]]);
    });
    // Not dynamic: the weights stay whole, and the penalties are paid.
    const fixed = loop({ penaltyReturns: [-100_000, -99_999], dynamic: false });
    for (const m of fixed.metrics) {
      expect([m.lambdaFamiliarity, m.lambdaUncertainty]).toEqual([1, 1]);
      expect(m.familiarityPenalty).toBeGreaterThan(0);
    }
  });

  it('refuses bad settings with errors that name them, before any real step', () => {
    const cases: [Partial<SimpleConfig> & Record<string, unknown>, RegExp][] = [
      [{ horizn: 10 }, /unknown option 'horizn'/],
      [{ trialEpisodes: -1 }, /trialEpisodes = -1 is invalid; expected an integer in \[0, 100\]/],
      [{ trialEpisodes: 101 }, /trialEpisodes = 101 is invalid; expected an integer in \[0, 100\]/],
      [{ trialMargin: Number.NaN }, /trialMargin = NaN is invalid; expected a finite number >= 0/],
      [
        { trialKeepFrom: Number.NaN },
        /trialKeepFrom = NaN is invalid; expected a number \(Infinity: never\)/,
      ],
      [
        { trialFromReturn: Number.POSITIVE_INFINITY },
        /trialFromReturn = Infinity is invalid; expected a finite number/,
      ],
      [{ temperature: 1, minTemperature: 1.5 }, /minTemperature = 1\.5 exceeds temperature = 1/],
      [
        { minEntropyCoef: 0.02 },
        /minEntropyCoef = 0\.02 exceeds the entropy bonus it starts from \(ppo\.entropyCoef = 0\.01\)/,
      ],
      [{ modelNoise: 'no' as never }, /modelNoise = "no" is invalid; expected true or false/],
      [{ entropyReturns: [200, 0] }, /entropyReturns = \[200,0\].*low < high/],
      [{ penaltyReturns: [0, Number.NaN] }, /penaltyReturns = \[0,null\].*two finite returns/],
      [{ minPenaltyShare: 1.5 }, /minPenaltyShare = 1\.5 is invalid; expected a number in \[0, 1\]/],
      [{ ensembleMembers: 3, ensembleElites: 4 }, /ensembleElites = 4 exceeds ensembleMembers = 3/],
      [{ familiarity: false, lambdaFamiliarity: 0.5 }, /lambdaFamiliarity = 0\.5 needs familiarity = true/],
      [{ ppo: { stepsPerEnv: 16 } }, /ppo\.stepsPerEnv is set by the loop/],
      [{ ppo: { totalSteps: 1000 } }, /ppo\.totalSteps is set by the loop/],
      [{ ppo: { seed: 2 } }, /ppo\.seed is set by the loop/],
      [{ ppo: { gama: 0.9 } as never }, /unknown option 'gama'/],
      [{ ppo: { learningRate: -1 } }, /learningRate = -1 is invalid/],
      [{ ppo: { normalizeObservations: true } }, /ppo\.normalizeObservations = true is not supported/],
      [{ ppo: { annealLearningRate: true } }, /ppo\.annealLearningRate = true is not supported/],
      [{ realEnvs: 0 }, /realEnvs = 0 is invalid; expected a positive integer/],
      [{ validationFraction: 1 }, /validationFraction = 1 is invalid/],
      [{ modelReward: 'learned' as never }, /modelReward = "learned" is invalid/],
      [{ horizonCandidates: [] }, /horizonCandidates = \[\] is invalid/],
      [{ horizonErrorLimit: 0 }, /horizonErrorLimit = 0 is invalid/],
      [{ lambdaUncertainty: Number.NaN }, /lambdaUncertainty = NaN is invalid/],
    ];
    for (const [overrides, message] of cases) {
      const env = new CountingEnv(new SyntheticLanderVectorEnv(8));
      expect(() => new Simple(env, overrides as Partial<SimpleConfig>), message.source).toThrow(message);
      expect(env.steps).toBe(0);
    }
    // A model of another kind than the config's.
    const mlp = new MlpModel({ n: 4 }, { hiddenSizes: [8] });
    expect(() => new Simple(new SyntheticLanderVectorEnv(8), { ...tiny }, { model: mlp })).toThrow(
      /given model is a 'mlp'; the config asks for 'ensemble'/,
    );
  });

  it('refuses a buffer smaller than one collection by name, or measures the rows it keeps', () => {
    // 130 real steps per iteration are 128 rows, more than a buffer of 100 holds. Either answer is fine:
    // an error before any real step naming bufferCapacity, or a run whose measurement uses the newest rows
    // kept. (Before the fix `collect` returned the new rows as indices from size - added, negative here, and
    // the second iteration's measurement stopped in ReplayBuffer.gather with "index -28 is out of range".)
    const env = new CountingEnv(new SyntheticLanderVectorEnv(8));
    let simple: Simple;
    try {
      simple = new Simple(env, { ...tiny, bufferCapacity: 100 });
    } catch (e) {
      expect((e as Error).message).toMatch(/bufferCapacity = 100/);
      expect(env.steps).toBe(0);
      return;
    }
    simple.start();
    const metrics = run(simple);
    expect(metrics.map((m) => m.realSteps)).toEqual([96, 224, 352, 480, 496]);
    for (const m of metrics.slice(1)) expect(m.fresh!.rows).toBeLessThanOrEqual(100);
  });

  it('refuses an imagined env, a real env of another size, and iterating before start', () => {
    const model = new EnsembleModel({ n: 4 }, { members: 2, elites: 1, hiddenSizes: [4] });
    const imagined = new ModelVectorEnv(model, { startStates: new Float32Array(8) }, { numEnvs: 8 });
    expect(() => new Simple(imagined, tiny)).toThrow(/must be a real one, not an imagined one/);
    expect(() => new Simple(new SyntheticLanderVectorEnv(4), tiny)).toThrow(
      /real env has 4 copies; the config's realEnvs is 8/,
    );
    expect(() => new Simple(new TinyVectorEnv(8), tiny)).toThrow(/observations of 2 numbers/);
    expect(() => new Simple(new SyntheticLanderVectorEnv(8), tiny).iterate()).toThrow(/call start\(\)/);
  });
});
