/**
 * An ensemble's fit on two threads (split-fit.ts) against the same fit on one: bit-identical weights,
 * metrics, elites and calibration; the helper thread's errors surface on the main thread. Its predictions
 * with rows shared between the threads (split-predict.ts) against one thread's: bit-identical.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { ProbabilisticEnsemble } from '../src/nn/index.ts';
import { EnsembleModel } from '../src/rl/world-model/ensemble-model.ts';
import type { ModelActionSpace } from '../src/rl/world-model/lander-layout.ts';
import { MlpModel } from '../src/rl/world-model/mlp-model.ts';
import { type LanderScalers, prepareModelData } from '../src/rl/world-model/model-data.ts';
import { FitThreads, type SplitFit } from '../src/rl/world-model/split-fit.ts';
import { helperCapacity, mainThreadRows, SplitPredict } from '../src/rl/world-model/split-predict.ts';
import { type FitOptions, resolveFitOptions } from '../src/rl/world-model/trainer.ts';
import { jsKernels, kernels, Rng, randn, setKernels, tidy } from '../src/tensor/index.ts';
import { syntheticTransitions } from './helpers/synthetic-lander.ts';
import { reportWithoutTimings } from './helpers/without-timings.ts';

const train = syntheticTransitions(300, 1);
const valid = syntheticTransitions(2100, 2);
const threads = new FitThreads();
afterAll(() => threads.close());

/** Other tensor work for the main thread's waits (taking buffers from the shared pool and giving them back). */
function otherWork(limit: number) {
  const state = { units: 0 };
  const step = (): boolean => {
    if (state.units >= limit) return false;
    state.units++;
    tidy(() =>
      randn([32, 24], new Rng(state.units))
        .matmul(randn([24, 20], new Rng(0)))
        .sum()
        .item(),
    );
    return true;
  };
  return { state, step };
}

function fitted(members: number, split: boolean, options: Partial<FitOptions>) {
  const model = new EnsembleModel(
    { n: 4 },
    { members, elites: Math.min(2, members), hiddenSizes: [24, 20], seed: 3 },
  );
  const work = otherWork(40);
  const reports = [0, 1].map((refit) =>
    model.fit(
      train,
      valid,
      {
        maxEpochs: 3,
        stepsPerEpoch: 7,
        batchSize: 32,
        seed: 5 + refit,
        ...options,
        whileWaiting: work.step,
      },
      split ? threads : null,
    ),
  );
  // Only a fit on two threads waits, and so runs the other work.
  expect(work.state.units > 0).toBe(split);
  const obs = valid.observations.slice(0, 40 * 8);
  const pred = model.predict(obs, valid.actions.slice(0, 40), 40, null);
  return {
    reports: reports.map(reportWithoutTimings),
    elites: model.elites,
    delta: Array.from(pred.delta),
    outcome: Array.from(pred.outcomeProb),
  };
}

describe('ensemble fit on two threads', () => {
  it(`gives bit-identical weights, metrics and elites to one thread (kernels: ${kernels().name})`, () => {
    for (const [members, options] of [
      // Uneven shares (4 of 7 on the helper), norm clipping and touchdown weights, then value clipping.
      [7, { maxGradNorm: 0.5, contactEventWeight: 20 }],
      [2, { clipValue: 0.1 }],
      // Under the WebAssembly kernels: minibatches so small that one member's head runs the JS kernel where
      // all members' runs WebAssembly, then so small that both run it.
      [3, { batchSize: 8 }],
      [2, { batchSize: 4 }],
    ] as const) {
      const one = fitted(members, false, options);
      const two = fitted(members, true, options);
      expect(two).toEqual(one);
    }
  });

  it("surfaces the helper's error on the main thread, and a closed helper is started afresh", async () => {
    const model = new EnsembleModel({ n: 4 }, { members: 3, elites: 2, hiddenSizes: [8], seed: 1 });
    const options = { maxEpochs: 1, stepsPerEpoch: 2, batchSize: 16 };
    // A kernel set the helper cannot have: it refuses to compute other numbers than the main thread's.
    const before = kernels();
    setKernels({ ...jsKernels, name: 'custom-test' });
    try {
      expect(() => model.fit(train, valid, options, threads)).toThrow(
        /ensemble fit thread failed \(start\): .*kernels 'custom-test'/,
      );
    } finally {
      setKernels(before);
    }
    // The helper left that fit and serves the next; after close() a new one starts.
    expect(model.fit(train, valid, options, threads).gradientSteps).toBe(2);
    await threads.close();
    expect(threads.alive).toBe(false);
    expect(model.fit(train, valid, options, threads).gradientSteps).toBe(2);
    expect(threads.alive).toBe(true);
  });

  it('draws the minibatch afresh when its generator moved between two steps (the one gathered ahead is dropped)', () => {
    const options = resolveFitOptions({ batchSize: 16 });
    const run = (dropGathered: boolean) => {
      const model = new EnsembleModel({ n: 4 }, { members: 3, elites: 2, hiddenSizes: [8], seed: 1 });
      model.fit(train, valid, { maxEpochs: 1, stepsPerEpoch: 1 });
      const inside = model as unknown as {
        actionSpace: ModelActionSpace;
        scalers: LanderScalers;
        network: { parameters(): { data: Float32Array }[] };
        splitFit(...args: unknown[]): SplitFit;
      };
      const data = (t: typeof train) => prepareModelData(t, inside.actionSpace, inside.scalers);
      const split = inside.splitFit(threads, data(train), data(valid), 1, options);
      try {
        const rng = new Rng(9);
        const losses = [split.step(16, rng, options)];
        // Something else draws from the generator between the steps.
        rng.integer(0, 10);
        if (dropGathered) (split as unknown as { prepared: unknown }).prepared = null;
        losses.push(split.step(16, rng, options));
        split.finish();
        return { losses, weights: inside.network.parameters().map((p) => Array.from(p.data)) };
      } finally {
        split.end();
      }
    };
    expect(run(false)).toEqual(run(true));
  });

  it('leaves a fit whose other work throws in a wait mid-step, and the helper serves the next fit', () => {
    const model = new EnsembleModel({ n: 4 }, { members: 3, elites: 2, hiddenSizes: [8], seed: 1 });
    const options = { maxEpochs: 1, stepsPerEpoch: 3, batchSize: 16 };
    const failing = () => {
      throw new Error('other work failed');
    };
    expect(() => model.fit(train, valid, { ...options, whileWaiting: failing }, threads)).toThrow(
      'other work failed',
    );
    expect(model.fit(train, valid, options, threads).gradientSteps).toBe(3);
  });

  it("leaves a fit that throws while the helper waits for its members' gradients, and the helper serves the next", () => {
    const model = new EnsembleModel({ n: 4 }, { members: 3, elites: 2, hiddenSizes: [8], seed: 1 });
    const options = { maxEpochs: 1, stepsPerEpoch: 3, batchSize: 16 };
    // The first step's head on its third one-member chunk (the helper's last member) throws: the helper has
    // run every forward pass and the first backward pass, and waits for the last member's gradient.
    const ensemble = (model as unknown as { ensemble: ProbabilisticEnsemble }).ensemble;
    const head = ensemble.head.bind(ensemble);
    let chunks = 0;
    const spy = vi.spyOn(ensemble, 'head').mockImplementation((raw) => {
      if (raw.shape[0] === 1 && raw.shape[1] === options.batchSize && ++chunks === 3) {
        throw new Error('head failed');
      }
      return head(raw);
    });
    try {
      expect(() => model.fit(train, valid, options, threads)).toThrow('head failed');
    } finally {
      spy.mockRestore();
    }
    expect(chunks).toBe(3);
    expect(model.fit(train, valid, options, threads).gradientSteps).toBe(3);
  });

  it('refuses a model that cannot split', () => {
    const model = new MlpModel({ n: 4 }, { hiddenSizes: [8] });
    expect(() => model.fit(train, valid, { maxEpochs: 1 }, threads)).toThrow(/only an ensemble/);
  });
});

describe('ensemble prediction on two threads', () => {
  it(`splits rows at chunks of 128 and gives bit-identical predictions to one thread (kernels: ${kernels().name})`, () => {
    expect([100, 128, 129, 256, 300, 600].map(mainThreadRows)).toEqual([0, 0, 128, 128, 128, 256]);
    // The helper's share is not monotonic (385 rows give it 129, 300 give it 172): a session holds the most.
    expect([100, 300, 385, 600].map(helperCapacity)).toEqual([100, 256, 256, 384]);
    const splits = vi.spyOn(SplitPredict.prototype, 'forward');
    const model = () =>
      new EnsembleModel({ n: 4 }, { members: 5, elites: 3, hiddenSizes: [24, 20], seed: 3 });
    const one = model();
    const two = model();
    two.usePredictThreads(threads);
    const predictions = (m: EnsembleModel, rows: number) => {
      const obs = valid.observations.slice(0, rows * 8);
      const pred = m.predict(obs, valid.actions.slice(0, rows), rows, null);
      return Object.fromEntries(
        Object.entries(pred).map(([k, v]) => [k, ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v]),
      );
    };
    for (const refit of [0, 1]) {
      for (const m of [one, two]) m.fit(train, valid, { maxEpochs: 2, stepsPerEpoch: 5, seed: 7 + refit });
      // The same rows twice: the second reuses the session; 385 rows begin a larger one, in which 300 rows
      // give the helper more rows than 385 did; 600 rows begin a larger one again.
      for (const rows of [300, 300, 100, 256, 385, 300, 600, 300]) {
        const before = splits.mock.calls.length;
        expect(predictions(two, rows), `refit ${refit}, ${rows} rows`).toEqual(predictions(one, rows));
        // Split on two threads above 128 rows only (and never the one-thread model's).
        expect(splits.mock.calls.length - before, `${rows} rows`).toBe(rows > 128 ? 1 : 0);
      }
    }
    two.usePredictThreads(null);
    const before = splits.mock.calls.length;
    expect(predictions(two, 300)).toEqual(predictions(one, 300));
    expect(splits.mock.calls.length).toBe(before);
    splits.mockRestore();
  });

  it("surfaces the helper's error in a prediction, and the next prediction begins a new session", () => {
    const model = new EnsembleModel({ n: 4 }, { members: 3, elites: 2, hiddenSizes: [8], seed: 1 });
    model.fit(train, valid, { maxEpochs: 1, stepsPerEpoch: 2, batchSize: 16 });
    model.usePredictThreads(threads);
    const rows = 300;
    const predict = () =>
      Array.from(
        model.predict(valid.observations.slice(0, rows * 8), valid.actions.slice(0, rows), rows, null).delta,
      );
    const before = kernels();
    setKernels({ ...jsKernels, name: 'custom-test' });
    try {
      expect(predict).toThrow(/ensemble prediction thread failed \(start\): .*kernels 'custom-test'/);
    } finally {
      setKernels(before);
    }
    const split = predict();
    model.usePredictThreads(null);
    expect(split).toEqual(predict());
    // The helper serves one session at a time: a fit cannot start while another model's predictions hold it.
    const other = new EnsembleModel({ n: 4 }, { members: 3, elites: 2, hiddenSizes: [8], seed: 2 });
    model.usePredictThreads(threads);
    predict();
    expect(() => other.fit(train, valid, { maxEpochs: 1, stepsPerEpoch: 2, batchSize: 16 }, threads)).toThrow(
      /the helper thread is serving another session/,
    );
    model.usePredictThreads(null);
    expect(
      other.fit(train, valid, { maxEpochs: 1, stepsPerEpoch: 2, batchSize: 16 }, threads).gradientSteps,
    ).toBe(2);
  });
});
