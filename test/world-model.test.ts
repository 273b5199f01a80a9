// World models (issue 11): the mlp and the probabilistic ensemble learn a small system with known dynamics
// and a rare terminal event; the ensemble disagrees more off the data than on it; save/load round trips bit
// for bit; bad data is refused with a clear error.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DynamicsModel } from '../src/rl/world-model/dynamics-model.ts';
import { EnsembleModel } from '../src/rl/world-model/ensemble-model.ts';
import { OUT_OUTCOME, OUTPUT_SIZE } from '../src/rl/world-model/lander-layout.ts';
import { MlpModel } from '../src/rl/world-model/mlp-model.ts';
import { fitOutcomeOffsets } from '../src/rl/world-model/outcome-calibration.ts';
import { Rng } from '../src/tensor/index.ts';
import { syntheticTransitions } from './helpers/synthetic-lander.ts';

const train = syntheticTransitions(200, 1);
const valid = syntheticTransitions(100, 2);

/** Area under the ROC curve of `scores` separating label 1 from label 0. */
function auroc(scores: number[], labels: number[]): number {
  const pos = scores.filter((_, i) => labels[i]);
  const neg = scores.filter((_, i) => !labels[i]);
  let wins = 0;
  for (const p of pos) for (const q of neg) wins += p > q ? 1 : p === q ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

/** AUROC of the elite's predicted probability of each terminal outcome on the validation set. */
function outcomeAuroc(model: DynamicsModel): { crash: number; rest: number } {
  const p = model.predict(valid.observations, valid.actions, valid.count, null);
  const m = model.elites[0]!;
  const crash: number[] = [];
  const rest: number[] = [];
  const isCrash: number[] = [];
  const isRest: number[] = [];
  for (let i = 0; i < valid.count; i++) {
    const at = m * valid.count + i;
    crash.push(p.outcomeProb[at * 3 + 1]!);
    rest.push(p.outcomeProb[at * 3 + 2]!);
    isCrash.push(valid.terminated[i] && valid.rewards[i]! < 0 ? 1 : 0);
    isRest.push(valid.terminated[i] && valid.rewards[i]! > 0 ? 1 : 0);
  }
  return { crash: auroc(crash, isCrash), rest: auroc(rest, isRest) };
}

describe('world models on a system with known dynamics', () => {
  it('the mlp learns the state change, reward and the rare terminal outcomes', () => {
    const model = new MlpModel({ n: 4 }, { hiddenSizes: [64, 64] });
    const untrained = model.predict(valid.observations, valid.actions, 1, null).delta[0];
    const report = model.fit(train, valid, { maxEpochs: 15, batchSize: 64 });
    const best = report.epochs.find((e) => e.epoch === report.bestEpoch)!.validation;
    // Measured: every dimension's normalised squared error 0.001-0.04 (vy carries the noise, 0.035); an
    // untrained model's is about 1.
    for (const error of best.state) expect(error).toBeLessThan(0.08);
    expect(best.reward).toBeLessThan(0.4);
    // Measured: crash 0.994, at rest 1.000.
    const { crash, rest } = outcomeAuroc(model);
    expect(crash).toBeGreaterThan(0.95);
    expect(rest).toBeGreaterThan(0.95);
    expect(model.predict(valid.observations, valid.actions, 1, null).delta[0]).not.toBe(untrained);
  });

  it('the ensemble learns too, and its members disagree far more off the data than on it', () => {
    const model = new EnsembleModel({ n: 4 }, { members: 3, elites: 2, hiddenSizes: [32, 32] });
    const report = model.fit(train, valid, { maxEpochs: 10, batchSize: 64 });
    const best = report.epochs.find((e) => e.epoch === report.bestEpoch)!.validation;
    for (const error of best.state) expect(error).toBeLessThan(0.1);
    expect(model.elites).toHaveLength(2);
    expect(outcomeAuroc(model).crash).toBeGreaterThan(0.95);
    const rows = 100;
    const on = valid.observations.slice(0, rows * 8);
    const off = on.slice();
    for (let i = 0; i < rows; i++) {
      off[i * 8] = 3 + 0.01 * i;
      off[i * 8 + 1] = 4;
      off[i * 8 + 2] = 0.5;
    }
    const disagreement = (obs: Float32Array): number => {
      const p = model.predict(obs, valid.actions, rows, null);
      let total = 0;
      for (let i = 0; i < rows; i++) {
        const xs = Array.from({ length: 3 }, (_, e) => p.delta[(e * rows + i) * 6]!);
        const mean = xs.reduce((a, b) => a + b) / 3;
        total += Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / 3);
      }
      return total / rows;
    };
    // Measured: about 40x.
    expect(disagreement(off)).toBeGreaterThan(10 * disagreement(on));
  });

  it('outcome offsets fitted on held-out rows make expected counts match actual counts there', () => {
    const rng = new Rng(3);
    const rows = 2000;
    const outputs = new Float32Array(rows * OUTPUT_SIZE);
    const labels = new Uint8Array(rows);
    for (let r = 0; r < rows; r++) {
      // Logits that rank well but are badly scaled: the true class gets +2, and class 1 is inflated by 3.
      labels[r] = rng.uniform() < 0.05 ? 1 : rng.uniform() < 0.03 ? 2 : 0;
      for (let c = 0; c < 3; c++) {
        outputs[r * OUTPUT_SIZE + OUT_OUTCOME + c] =
          rng.normal() + (c === labels[r] ? 2 : 0) + (c === 1 ? 3 : 0);
      }
    }
    const offsets = fitOutcomeOffsets(outputs, rows, labels, [0, 0, 0]);
    const expected = [0, 0, 0];
    for (let r = 0; r < rows; r++) {
      const z = [0, 1, 2].map((c) => outputs[r * OUTPUT_SIZE + OUT_OUTCOME + c]! + offsets[c]!);
      const max = Math.max(...z);
      const e = z.map((v) => Math.exp(v - max));
      const total = e.reduce((a, b) => a + b);
      for (let c = 0; c < 3; c++) expected[c]! += e[c]! / total;
    }
    const actual = [0, 1, 2].map((c) => labels.filter((l) => l === c).length);
    for (let c = 0; c < 3; c++) expect(Math.abs(expected[c]! - actual[c]!)).toBeLessThan(1);
    expect(offsets[0]).toBe(0);
    expect(offsets[1]).toBeLessThan(-2);
    // A class absent from the rows keeps a finite offset (about half a row's worth of probability), the same
    // however long the fit runs.
    const noRest = labels.map((l) => (l === 2 ? 0 : l));
    const short = fitOutcomeOffsets(outputs, rows, noRest, [0, 0, 0], 100);
    const long = fitOutcomeOffsets(outputs, rows, noRest, [0, 0, 0], 2000);
    expect(Number.isFinite(short[2]!)).toBe(true);
    expect(Math.abs(short[2]! - long[2]!)).toBeLessThan(0.01);
  });

  it('an ensemble predicts with its new weights after every refit (the kernels keep weights packed between calls)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wm-packed-'));
    const model = new EnsembleModel({ n: 4 }, { members: 3, elites: 2, hiddenSizes: [16, 16], seed: 5 });
    const rows = 20;
    const assigned = Int32Array.from({ length: rows }, (_, i) => i % 3);
    const snapshot = (m: EnsembleModel) => [
      m.predict(valid.observations, valid.actions, rows, null).delta.slice(),
      m.predictAssigned(valid.observations, valid.actions, rows, assigned).delta.slice(),
    ];
    for (let refit = 0; refit < 2; refit++) {
      const before = snapshot(model);
      model.fit(train, valid, { maxEpochs: 1, batchSize: 64, seed: refit });
      const after = snapshot(model);
      const file = join(dir, `m${refit}.safetensors`);
      model.save(file);
      const fresh = snapshot(EnsembleModel.load(file));
      expect(after[0]).toEqual(fresh[0]);
      expect(after[1]).toEqual(fresh[1]);
      expect(after[0]).not.toEqual(before[0]);
    }
  });

  it('save and load give bit-identical predictions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wm-'));
    for (const model of [
      new MlpModel({ n: 4 }, { hiddenSizes: [16] }),
      new EnsembleModel({ n: 4 }, { members: 2, elites: 1, hiddenSizes: [16] }),
    ]) {
      model.fit(train, valid, { maxEpochs: 1, batchSize: 64 });
      const file = join(dir, `${model.kind}.safetensors`);
      model.save(file);
      const loaded = model.kind === 'mlp' ? MlpModel.load(file) : EnsembleModel.load(file);
      const a = model.predict(valid.observations, valid.actions, 50, null);
      const copy = { delta: a.delta.slice(), outcome: a.outcomeProb.slice(), reward: a.reward.slice() };
      const b = loaded.predict(valid.observations, valid.actions, 50, null);
      expect(b.delta).toEqual(copy.delta);
      expect(b.outcomeProb).toEqual(copy.outcome);
      expect(b.reward).toEqual(copy.reward);
      expect(loaded.elites).toEqual(model.elites);
    }
    const garbage = join(dir, 'garbage.safetensors');
    writeFileSync(garbage, 'not a model');
    expect(() => MlpModel.load(garbage)).toThrow(/garbage\.safetensors/);
    expect(() => EnsembleModel.load(join(dir, 'mlp.safetensors'))).toThrow(/holds a 'mlp' model/);
  });

  it('refuses data with a NaN, an action outside the space, or sizes that do not fit', () => {
    const model = new MlpModel({ n: 4 }, { hiddenSizes: [8] });
    const nan = { ...train, observations: train.observations.slice() };
    nan.observations[8 * 5 + 3] = Number.NaN;
    expect(() => model.fit(nan, valid, { maxEpochs: 1 })).toThrow(/observations row 5 holds NaN/);
    const wrongAction = { ...train, actions: train.actions.slice() };
    wrongAction.actions[7] = 4;
    expect(() => model.fit(wrongAction, valid, { maxEpochs: 1 })).toThrow(
      /action 4 of row 7 is not an integer in \[0, 4\)/,
    );
    const continuous = new MlpModel({ size: 2 }, { hiddenSizes: [8] });
    expect(() => continuous.fit(train, valid, { maxEpochs: 1 })).toThrow(
      /actions holds \d+ numbers, expected \d+ rows x 2/,
    );
    expect(() => model.fit(train, valid, { maxEpochs: 0 })).toThrow(/maxEpochs = 0 is invalid/);
  });
});
