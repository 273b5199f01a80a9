// Touchdowns weighted in the model's loss (trainer.ts `contactEventWeight`): the rows where a
// leg contact changes are 0.2% of a loop's data, and a uniformly fitted model missed them.
import { describe, expect, it } from 'vitest';
import { ArticleModel } from '../src/rl/world-model/article-model.ts';
import { GruModel } from '../src/rl/world-model/gru-model.ts';
import {
  CONTACT_DIMS,
  OUT_CONTACTS,
  OUT_DELTA,
  OUTPUT_SIZE,
  STATE_DIMS,
} from '../src/rl/world-model/lander-layout.ts';
import { MlpModel } from '../src/rl/world-model/mlp-model.ts';
import { landerModelLoss } from '../src/rl/world-model/model-loss.ts';
import { memberErrors } from '../src/rl/world-model/trainer.ts';
import { Rng, randn } from '../src/tensor/index.ts';
import { syntheticModelData, syntheticTransitions } from './helpers/synthetic-lander.ts';

describe('contact events in the model loss', () => {
  const { t, data } = syntheticModelData(40, 3);
  const events = Array.from(data.events.keys()).filter((r) => data.events[r] === 1);

  it('marks exactly the rows where a leg contact turns on (touchdowns, not lift-offs)', () => {
    for (let r = 0; r < t.count; r++) {
      let touchdown = false;
      for (let j = 0; j < CONTACT_DIMS; j++) {
        const before = t.observations[r * 8 + STATE_DIMS + j]! > 0.5;
        const after = t.nextObservations[r * 8 + STATE_DIMS + j]! > 0.5;
        touchdown ||= after && !before;
      }
      expect(data.events[r]).toBe(touchdown ? 1 : 0);
    }
    expect(events.length).toBeGreaterThan(0);
    expect(events.length).toBeLessThan(t.count / 4);
  });

  it('scales an event row’s state and contact gradients by the weight, leaves others and the reward alone', () => {
    const out = randn([t.count, OUTPUT_SIZE], new Rng(2), { requiresGrad: true });
    const grads = (weight: number) => {
      out.grad = null;
      landerModelLoss(out, null, data, new Float32Array([1, 1, 1]), weight).loss.backward();
      return out.grad!.data.slice();
    };
    const plain = grads(1);
    const weighted = grads(5);
    const event = events[0]!;
    const quiet = data.events.indexOf(0);
    for (let j = 0; j < STATE_DIMS; j++) {
      expect(weighted[event * OUTPUT_SIZE + OUT_DELTA + j]).toBeCloseTo(
        5 * plain[event * OUTPUT_SIZE + OUT_DELTA + j]!,
        6,
      );
    }
    for (let j = 0; j < CONTACT_DIMS; j++) {
      const k = event * OUTPUT_SIZE + OUT_CONTACTS + j;
      expect(weighted[k]).toBeCloseTo(5 * plain[k]!, 6);
    }
    for (let k = quiet * OUTPUT_SIZE; k < (quiet + 1) * OUTPUT_SIZE; k++) expect(weighted[k]).toBe(plain[k]);
    // The validation loss early stopping watches weighs the same rows the same way.
    const outputs = out.data.slice();
    const lossAt = (weight: number) =>
      memberErrors(outputs, null, data, new Float32Array([1, 1, 1]), weight).loss;
    expect(lossAt(5)).toBeGreaterThan(lossAt(1));
  });

  it('a model fitted with the weight predicts the touchdowns a uniform fit misses', () => {
    const valid = syntheticTransitions(20, 9);
    const contactOn = (model: MlpModel) => {
      const rows = Array.from({ length: valid.count }, (_, r) => r).filter(
        (r) => valid.observations[r * 8 + 6]! < 0.5 && valid.nextObservations[r * 8 + 6]! > 0.5,
      );
      const obs = new Float32Array(rows.length * 8);
      const act = new Float32Array(rows.length);
      rows.forEach((r, i) => {
        obs.set(valid.observations.subarray(r * 8, r * 8 + 8), i * 8);
        act[i] = valid.actions[r]!;
      });
      const p = model.predict(obs, act, rows.length, null);
      return rows.reduce((sum, _, i) => sum + p.contactProb[i * 2]!, 0) / rows.length;
    };
    const fitWith = (weight: number) => {
      const model = new MlpModel({ n: 4 }, { hiddenSizes: [32, 32], seed: 4 });
      model.fit(t, valid, {
        maxEpochs: 6,
        stepsPerEpoch: 60,
        batchSize: 64,
        contactEventWeight: weight,
        seed: 4,
      });
      return contactOn(model);
    };
    const uniform = fitWith(1);
    const weighted = fitWith(20);
    // Measured: 0.09 uniform, 0.63 weighted.
    expect(weighted).toBeGreaterThan(uniform + 0.3);
  });

  it('the gru and article models refuse a weight they would ignore', () => {
    const valid = syntheticTransitions(4, 9);
    for (const model of [new GruModel({ n: 4 }, { seed: 1 }), new ArticleModel({ n: 4 }, { seed: 1 })]) {
      expect(() => model.fit(t, valid, { maxEpochs: 1, contactEventWeight: 20 })).toThrow(
        /contactEventWeight = 20 is not supported by this model/,
      );
    }
  });
});
