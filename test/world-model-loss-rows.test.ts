// The lander model's loss computed a few rows at a time (model-loss.ts `landerModelLossRows`, as a fit split
// across threads takes each member's rows as they arrive) against one call over the whole batch.
import { describe, expect, it } from 'vitest';
import { OUTPUT_SIZE } from '../src/rl/world-model/lander-layout.ts';
import {
  type LossRows,
  landerModelLoss,
  landerModelLossRows,
  lossOfSums,
  lossSums,
} from '../src/rl/world-model/model-loss.ts';
import { Rng, randn } from '../src/tensor/index.ts';
import { syntheticModelData } from './helpers/synthetic-lander.ts';

describe('the lander model loss by rows', () => {
  const { t, data } = syntheticModelData(3, 4);
  const weights = new Float32Array([1, 3, 7]);

  it('gives the loss, its parts and its derivatives of one call over the batch, bit for bit', () => {
    const out = randn([t.count, OUTPUT_SIZE], new Rng(1), { requiresGrad: true });
    const logVar = randn([t.count, OUTPUT_SIZE], new Rng(2), { requiresGrad: true });
    const whole = landerModelLoss(out, logVar, data, weights, 4);
    whole.loss.backward();
    const sums = lossSums();
    const dOut = new Float32Array(out.size);
    const dLogVar = new Float32Array(out.size);
    // Uneven chunks, one of a single row, in order.
    for (const [from, to] of [
      [0, 5],
      [5, 6],
      [6, 30],
      [30, t.count],
    ] as const) {
      const span = [from * OUTPUT_SIZE, to * OUTPUT_SIZE] as const;
      landerModelLossRows(
        {
          out: out.data.subarray(...span),
          logVar: logVar.data.subarray(...span),
          first: from,
          total: t.count,
          dOut: dOut.subarray(...span),
          dLogVar: dLogVar.subarray(...span),
        },
        data,
        weights,
        4,
        sums,
      );
    }
    const rows = lossOfSums(sums, t.count);
    expect(rows.loss.item()).toBe(whole.loss.item());
    expect(rows.parts).toEqual(whole.parts);
    // The whole call's backward pass applies exactly these derivatives (its gradient is 1).
    expect(Array.from(dOut)).toEqual(Array.from(out.grad!.data));
    expect(Array.from(dLogVar)).toEqual(Array.from(logVar.grad!.data));
  });

  it('refuses rows beyond the batch or arrays that do not match', () => {
    const o = new Float32Array(2 * OUTPUT_SIZE);
    const call = (rows: Partial<LossRows>) =>
      landerModelLossRows(
        {
          out: o,
          logVar: null,
          first: 0,
          total: t.count,
          dOut: new Float32Array(o.length),
          dLogVar: null,
          ...rows,
        },
        data,
        weights,
        1,
        lossSums(),
      );
    const last = t.count - 1;
    expect(() => call({ first: last })).toThrow(
      `2 rows from row ${last} do not fit a batch of ${t.count} rows`,
    );
    expect(() => call({ out: new Float32Array(5), dOut: new Float32Array(5) })).toThrow(
      '5 outputs are not whole rows of 12',
    );
    expect(() => call({ logVar: new Float32Array(o.length) })).toThrow(
      '24 outputs with 24 log-variances, 24 output derivatives and no log-variance derivatives',
    );
    expect(() => call({})).not.toThrow();
  });
});
