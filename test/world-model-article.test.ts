// The article's world model (article-model.ts): one MLP on the raw state and the raw action index, predicting
// the absolute next state and the reward / 100, no outcome head. It learns the synthetic system to a stated
// one-step error; its prediction decodes the network's raw output as the interface wants; save/load round
// trips bit for bit; bad data and bad sizes are refused with a clear error.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MLP } from '../src/nn/index.ts';
import {
  ArticleModel,
  articleFitDefaults,
  encodeArticleInputs,
} from '../src/rl/world-model/article-model.ts';
import { MlpModel } from '../src/rl/world-model/mlp-model.ts';
import {
  DYNAMICS_KINDS,
  loadDynamicsModel,
  loadModel,
  MODEL_KINDS,
  makeModel,
  STANDARD_MODEL_KINDS,
} from '../src/rl/world-model/model-kinds.ts';
import { clipGradValue, resolveFitOptions } from '../src/rl/world-model/trainer.ts';
import { Rng, Tensor } from '../src/tensor/index.ts';
import { syntheticTransitions } from './helpers/synthetic-lander.ts';

const train = syntheticTransitions(200, 1);
const valid = syntheticTransitions(100, 2);

/** Mean squared change of each continuous dimension: the error of predicting "nothing moves". */
function zeroChangeErrors(): number[] {
  const errors = new Array<number>(6).fill(0);
  for (let r = 0; r < valid.count; r++) {
    for (let j = 0; j < 6; j++) {
      errors[j]! += (valid.nextObservations[r * 8 + j]! - valid.observations[r * 8 + j]!) ** 2;
    }
  }
  return errors.map((e) => e / valid.count);
}

/** Mean squared error of the predicted change of each continuous dimension on the validation rows. */
function deltaErrors(model: ArticleModel): number[] {
  const p = model.predict(valid.observations, valid.actions, valid.count, null);
  const errors = new Array<number>(6).fill(0);
  for (let r = 0; r < valid.count; r++) {
    for (let j = 0; j < 6; j++) {
      const change = valid.nextObservations[r * 8 + j]! - valid.observations[r * 8 + j]!;
      errors[j]! += (p.delta[r * 6 + j]! - change) ** 2;
    }
  }
  return errors.map((e) => e / valid.count);
}

describe('the article model', () => {
  it('learns the synthetic system, the next state in env units, with the default 3 x 256 network', () => {
    const model = new ArticleModel({ n: 4 });
    const untrained = deltaErrors(model);
    const report = model.fit(train, valid, { maxEpochs: 8, patience: 8 });
    // Batch 32 by default: one pass over the 7018 training rows is 220 steps.
    expect(report.gradientSteps).toBe(report.epochs.length * Math.ceil(train.count / 32));
    const best = report.epochs.find((e) => e.epoch === report.bestEpoch)!.validation;
    const errors = deltaErrors(model);
    // The validation's state errors are those of the absolute next state, which equal the change's.
    for (let j = 0; j < 6; j++) expect(best.state[j]).toBeCloseTo(errors[j]!, 5);
    // Measured (seed 1, best epoch 7 of 8), squared errors in env units: x 1.3e-3, y 1.6e-3, vx 4.3e-4,
    // vy 1.6e-3, angle 8.0e-4, angular velocity 8.0e-4 (the untrained network's: x 1.7, y 12, angle 1.05,
    // velocities 0.01). Predicting no change at all errs by 3.6e-3, 1.5e-2, 1.5e-4, 9.3e-4, 4.1e-3, 9.6e-4:
    // the raw absolute-state form resolves the large moves but not the small ones (vx, vy: worse than no
    // change), the weakness the later kinds' normalised change targets answer.
    const zero = zeroChangeErrors();
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    for (let j = 0; j < 6; j++) expect(errors[j]).toBeLessThan(5e-3);
    expect(sum(errors)).toBeLessThan(sum(zero) / 2);
    expect(sum(errors)).toBeLessThan(sum(untrained) / 1000);
    // The reward / 100 over every row (the +-100 included): measured 0.016, i.e. an RMSE of 12 in env units.
    expect(best.reward).toBeLessThan(0.03);
    expect(best.outcome).toBe(0);
    expect(best.members).toEqual([best.loss]);
  }, 30_000);

  it('predicts the raw network output: absolute next state minus the observation, legs clamped, reward x 100, always continue', () => {
    const model = new ArticleModel({ n: 4 }, { hiddenSizes: [16, 16], seed: 7 });
    // The same weights, drawn from the same seed: 9 inputs, the action one raw number.
    const twin = new MLP([9, 16, 16, 9], { rng: new Rng(7), activation: 'relu' });
    expect(model.inputSize).toBe(9);
    const rows = 40;
    const observations = valid.observations.slice(0, rows * 8);
    // Shift some observations far from the data: the network sees them raw, with no scaler in between.
    for (let i = 0; i < 8; i++) observations[i * 8]! += 5;
    const actions = Float32Array.from({ length: rows }, (_, i) => i % 4);
    const inputs = new Float32Array(rows * 9);
    encodeArticleInputs({ n: 4 }, observations, actions, rows, inputs);
    expect(Array.from(inputs.subarray(0, 9))).toEqual([...observations.subarray(0, 8), 0]);
    expect(inputs[3 * 9 + 8]).toBe(3);
    expect(inputs[1 * 9 + 8]).toBe(1);
    const out = twin.forward(new Tensor(inputs, [rows, 9])).data;
    const p = model.predict(observations, actions, rows, null);
    expect(p.members).toBe(1);
    expect(p.deltaStd).toBeNull();
    expect(p.rewardStd).toBeNull();
    expect(model.elites).toEqual([0]);
    expect(model.memorySize).toBe(0);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < 6; j++) {
        expect(p.delta[r * 6 + j]).toBe(Math.fround(out[r * 9 + j]! - observations[r * 8 + j]!));
      }
      for (let j = 0; j < 2; j++) {
        expect(p.contactProb[r * 2 + j]).toBe(Math.fround(Math.min(1, Math.max(0, out[r * 9 + 6 + j]!))));
      }
      expect(p.reward[r]).toBe(Math.fround(out[r * 9 + 8]! * 100));
      expect(Array.from(p.outcomeProb.subarray(r * 3, r * 3 + 3))).toEqual([1, 0, 0]);
    }
    // After a fit the scalers are set from the training data, yet the prediction still ignores them.
    model.fit(train, valid, { maxEpochs: 1 });
    const before = model.predict(observations, actions, rows, null).delta.slice();
    expect(model.scalers.observation.std[1]).not.toBe(1);
    model.scalers.observation.mean.fill(100);
    model.scalers.delta.mean.fill(100);
    expect(model.predict(observations, actions, rows, null).delta).toEqual(before);
    // Terminal rows too: the model never predicts an end.
    const terminal = Array.from({ length: valid.count }, (_, i) => i).filter((i) => valid.terminated[i]);
    expect(terminal.length).toBeGreaterThan(10);
    const all = model.predict(valid.observations, valid.actions, valid.count, null);
    for (const i of terminal) expect(all.outcomeProb[i * 3]).toBe(1);
  });

  it('clips gradients by value as the article did, and leaves the default trainer alone', () => {
    expect(articleFitDefaults).toMatchObject({ batchSize: 32, weightDecay: 0, clipValue: 0.5 });
    expect(resolveFitOptions().clipValue).toBeUndefined();
    expect(() => resolveFitOptions({ clipValue: 0 })).toThrow(/clipValue = 0 is invalid/);
    const p = new Tensor(new Float32Array(4), [4], true);
    p.grad = new Tensor(Float32Array.of(-2, -0.25, 0.3, 7), [4]);
    clipGradValue([p], 0.5);
    expect(Array.from(p.grad.data)).toEqual([-0.5, -0.25, Math.fround(0.3), 0.5]);
  });

  it('saves and loads bit for bit, by itself and by kind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wm-article-'));
    const model = new ArticleModel({ n: 4 }, { hiddenSizes: [32, 32] });
    model.fit(train, valid, { maxEpochs: 1 });
    const file = join(dir, 'article.safetensors');
    model.save(file, { note: 'test' });
    const a = model.predict(valid.observations, valid.actions, 200, null);
    const copy = { delta: a.delta.slice(), contacts: a.contactProb.slice(), reward: a.reward.slice() };
    for (const loaded of [ArticleModel.load(file), loadModel(file), loadDynamicsModel(file)]) {
      expect(loaded).toBeInstanceOf(ArticleModel);
      const b = (loaded as ArticleModel).predict(valid.observations, valid.actions, 200, null);
      expect(b.delta).toEqual(copy.delta);
      expect(b.contactProb).toEqual(copy.contacts);
      expect(b.reward).toEqual(copy.reward);
      expect((loaded as ArticleModel).scalers.toArrays()).toEqual(model.scalers.toArrays());
      expect((loaded as ArticleModel).config).toEqual(model.config);
    }
    // A loaded model warm-starts: its scalers stay those of the first fit.
    const loaded = ArticleModel.load(file);
    loaded.fit(syntheticTransitions(20, 9), valid, { maxEpochs: 1 });
    expect(loaded.scalers.toArrays()).toEqual(model.scalers.toArrays());
    const mlpFile = join(dir, 'mlp.safetensors');
    new MlpModel({ n: 4 }, { hiddenSizes: [8] }).save(mlpFile);
    expect(() => ArticleModel.load(mlpFile)).toThrow(/holds a 'mlp' model/);
    expect(makeModel('article', { n: 4 }, 3)).toBeInstanceOf(ArticleModel);
    expect(MODEL_KINDS).toContain('article');
    expect(DYNAMICS_KINDS).toContain('article');
    expect(STANDARD_MODEL_KINDS).not.toContain('article');
  });

  it('refuses a NaN, an action outside the space, and sizes that do not fit', () => {
    const model = new ArticleModel({ n: 4 }, { hiddenSizes: [8] });
    const nan = { ...train, observations: train.observations.slice() };
    nan.observations[8 * 5 + 3] = Number.NaN;
    expect(() => model.fit(nan, valid, { maxEpochs: 1 })).toThrow(
      /ArticleModel\.fit: train: observations row 5 holds NaN/,
    );
    expect(() => model.fit(train, nan, { maxEpochs: 1 })).toThrow(
      /ArticleModel\.fit: validation: observations row 5 holds NaN/,
    );
    const nanReward = { ...train, rewards: train.rewards.slice() };
    nanReward.rewards[9] = Number.NaN;
    expect(() => model.fit(nanReward, valid, { maxEpochs: 1 })).toThrow(/rewards row 9 holds NaN/);
    const wrongAction = { ...train, actions: train.actions.slice() };
    wrongAction.actions[7] = 4;
    expect(() => model.fit(wrongAction, valid, { maxEpochs: 1 })).toThrow(
      /action 4 of row 7 is not an integer in \[0, 4\)/,
    );
    const continuous = new ArticleModel({ size: 2 }, { hiddenSizes: [8] });
    expect(continuous.inputSize).toBe(10);
    expect(() => continuous.fit(train, valid, { maxEpochs: 1 })).toThrow(
      /actions holds \d+ numbers, expected \d+ rows x 2/,
    );
    expect(() => model.fit({ ...train, count: 0 }, valid)).toThrow(/no transitions/);
    expect(() => model.fit(train, valid, { maxEpochs: 0 })).toThrow(/maxEpochs = 0 is invalid/);
    const obs = valid.observations.slice(0, 3 * 8);
    expect(() => model.predict(obs.subarray(0, 20), [0, 1, 2], 3, null)).toThrow(
      /ArticleModel\.predict: observations holds 20 numbers, expected 3 rows x 8/,
    );
    expect(() => model.predict(obs, [0, 1], 3, null)).toThrow(/actions holds 2 numbers, expected 3 rows x 1/);
    expect(() => model.predict(obs, [0, 1, 7], 3, null)).toThrow(/action 7 of row 2 is not an integer/);
    obs[8 + 2] = Number.POSITIVE_INFINITY;
    expect(() => model.predict(obs, [0, 1, 2], 3, null)).toThrow(/observations row 1 holds Infinity/);
    expect(() => new ArticleModel({ n: 0 })).toThrow(/action space \{"n":0\} is invalid/);
  });
});
