/**
 * The page's model-based session (src/web/simple-session.ts) on a small config: each iteration reports the
 * model's horizon and its open-loop error (none on the first, before a model has been trained in), and the
 * open-loop path starts where its real episode starts and follows it step for step. The page runs the
 * default config; this one keeps the test to seconds.
 */
import { describe, expect, it } from 'vitest';
import { bufferTransitions } from '../src/rl/world-model/buffer-transitions.ts';
import { rollOpenLoop } from '../src/rl/world-model/diagnostics/predictions.ts';
import { indexEpisodes } from '../src/rl/world-model/episode-index.ts';
import { pathBounds } from '../src/web/model-chart.ts';
import { SimpleSession } from '../src/web/simple-session.ts';
import { createSession } from '../src/web/training-session.ts';

const small = {
  initialRealSteps: 1200,
  realStepsPerIteration: 400,
  model: 'mlp' as const,
  modelHiddenSizes: [32],
  familiarity: false,
  lambdaFamiliarity: 0,
  modelEpochs: 1,
  modelStepsPerEpoch: 10,
  startStates: 64,
  modelEnvs: 16,
  imaginedStepsPerIteration: 400,
  horizon: 5,
  horizonCandidates: [3, 5],
  ppo: { hiddenSizes: [16], epochs: 1 },
};

describe('the page’s model-based session', () => {
  it('reports horizon and open-loop error per iteration, and a model path along a real episode', () => {
    const session = new SimpleSession({ lander: 'discrete', agent: 'simple', seed: 2, steps: 2400 }, small);
    const first = session.update();
    expect(first.steps).toBe(1200);
    expect(first.model).toEqual({ horizon: 5, openLoopError: null });
    const second = session.update();
    expect(second.steps).toBe(1600);
    expect(second.model!.openLoopError).toBeGreaterThan(0);
    expect([3, 5]).toContain(second.model!.horizon);
    expect(second.stepsPerSecond).toBeGreaterThan(0);

    const path = session.modelPath()!;
    expect(path.label).toBe('iteration 2');
    expect(path.real.length).toBe(path.predicted.length);
    expect(path.real.length).toBeGreaterThan(4);
    expect(path.predicted.slice(0, 2)).toEqual(path.real.slice(0, 2));
    expect(path.predicted.every(Number.isFinite)).toBe(true);
    // The path is the model's own rollout along that episode: its first predicted step, redone here.
    const t = bufferTransitions(session.simple.buffer);
    const index = indexEpisodes(t);
    const start = index.firstRows.find(
      (row) => t.observations[row * 8] === path.real[0] && t.observations[row * 8 + 1] === path.real[1],
    )!;
    expect(start).toBeDefined();
    const rollout = rollOpenLoop(session.simple.model, t, index, [start], 1);
    expect(path.predicted.slice(2, 4)).toEqual(Array.from(rollout.predicted.subarray(0, 2)));
    expect(path.real.slice(2, 4)).toEqual([t.nextObservations[start * 8], t.nextObservations[start * 8 + 1]]);
  });

  it('createSession rejects settings it cannot train, naming them', () => {
    expect(() => createSession({ lander: 'discrete', agent: 'simple', seed: 1, steps: 0 })).toThrow(
      /steps = 0 is invalid; expected a positive whole number of real steps/,
    );
  });
});

describe('the model path chart’s bounds', () => {
  it('widen to finite points only, keeping each x with its y', () => {
    // A NaN x drops its whole point; filtering numbers alone would pair 3 (a y) with 0.5 as x and y.
    const path = { label: 'l', real: [NaN, 3, 0.5, 0.2, 2, 1], predicted: [-3, 2.5, 0.1, Infinity] };
    expect(pathBounds(path)).toEqual({ x0: -3, x1: 2, y0: 0, y1: 2.5 });
    expect(pathBounds({ label: 'l', real: [], predicted: [] })).toEqual({ x0: -1, x1: 1, y0: 0, y1: 1.6 });
  });
});
