// The model report (issue 11, "Knowing how wrong"): the statistics on hand-made inputs (ranks, Spearman,
// AUROC, F1 at the best threshold, expected counts), the error measures on hand-made transitions, open-loop
// rollouts and in-model episodes on fake models with known dynamics, and a smoke run of the command on tiny
// collected data with tiny fitted models.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collectData, collectOptionsFromArgs } from '../src/cli/collect.ts';
import { type ModelReport, modelReport, modelReportOptionsFromArgs } from '../src/cli/model-report.ts';
import { trainModels } from '../src/cli/train-model.ts';
import { allocatePrediction } from '../src/rl/world-model/decode-outputs.ts';
import {
  auroc,
  averageRanks,
  bestF1Threshold,
  binaryScores,
  chooseRows,
  type ElitePredictions,
  expectedCounts,
  indexEpisodes,
  memoryBefore,
  modelEpisodeReturns,
  oneStepErrors,
  openLoopErrors,
  outcomeMetrics,
  predictTransitions,
  rewardErrors,
  rollOpenLoop,
  scoresOf,
  separationAuroc,
  spearman,
} from '../src/rl/world-model/diagnostics/index.ts';
import type {
  DynamicsModel,
  DynamicsPrediction,
  EpisodeTransitions,
} from '../src/rl/world-model/dynamics-model.ts';
import { OBSERVATION_SIZE, STATE_DIMS } from '../src/rl/world-model/lander-layout.ts';
import { LanderScalers } from '../src/rl/world-model/model-data.ts';

const O = OBSERVATION_SIZE;

describe('report statistics', () => {
  it('ranks with ties averaged, and Spearman over them', () => {
    expect(Array.from(averageRanks([10, 20, 20, 30]))).toEqual([1, 2.5, 2.5, 4]);
    expect(Array.from(averageRanks([3, 1, 2]))).toEqual([3, 1, 2]);
    expect(spearman([1, 2, 3, 4], [1, 8, 27, 64])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    // b's ranks [1, 2, 3.5, 5, 3.5] against [1..5]: 8 / sqrt(10 x 9.5).
    expect(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])).toBeCloseTo(8 / Math.sqrt(95), 12);
    expect(spearman([1, 2, 3], [5, 5, 5])).toBeNull();
    expect(spearman([1], [2])).toBeNull();
    expect(() => spearman([1, 2], [1])).toThrow(/expected equal lengths/);
  });

  it('AUROC: the chance a positive outscores a negative, ties half', () => {
    expect(auroc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(auroc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
    expect(auroc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
    // sklearn's roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.75.
    expect(auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    // One tie between a positive and a negative: 3.5 of 4 pairs.
    expect(auroc([0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1])).toBe(0.875);
    expect(auroc([0.1, 0.2], [1, 1])).toBeNull();
    expect(separationAuroc([0.1, 0.2, 0.3], [0.25, 0.9])).toBeCloseTo(5 / 6, 12);
  });

  it('precision, recall and F1, at a prediction and at the best threshold', () => {
    expect(binaryScores(0, 0, 3)).toEqual({
      predicted: 0,
      truePositives: 0,
      precision: null,
      recall: 0,
      f1: 0,
    });
    expect(binaryScores(0, 0, 0).f1).toBeNull();
    const s = scoresOf([1, 1, 0, 0, 1], [1, 0, 1, 0, 1]);
    expect(s).toEqual({ predicted: 3, truePositives: 2, precision: 2 / 3, recall: 2 / 3, f1: 2 / 3 });
    // Thresholds 0.9 ... 0.4 give F1 0.5, 0.4, 0.667, 0.857, 0.75, 0.667: the best is 0.6.
    const best = bestF1Threshold([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [1, 0, 1, 1, 0, 0])!;
    expect(best.threshold).toBe(0.6);
    expect(best.precision).toBe(0.75);
    expect(best.recall).toBe(1);
    expect(best.f1).toBeCloseTo(6 / 7, 12);
    // A threshold cannot split tied scores.
    const tied = bestF1Threshold([0.5, 0.5, 0.1], [1, 0, 0])!;
    expect(tied.threshold).toBe(0.5);
    expect(tied.f1).toBeCloseTo(2 / 3, 12);
    expect(bestF1Threshold([0.3, 0.2], [0, 0])).toBeNull();
  });

  it('expected counts: the sum of each class probability against the actual count', () => {
    const probs = [0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6];
    const counts = expectedCounts(probs, [0, 1, 1], 3);
    expect(counts.actual).toEqual([1, 2, 0]);
    counts.expected.forEach((v, k) => {
      expect(v).toBeCloseTo([1.0, 1.2, 0.8][k]!, 12);
    });
  });

  it('chooses distinct start rows, reproducibly', () => {
    const a = chooseRows(100, 10, 3);
    expect(new Set(a).size).toBe(10);
    expect(Array.from(a)).toEqual(Array.from(chooseRows(100, 10, 3)));
    expect(Array.from(chooseRows(4, 10, 3))).toEqual([0, 1, 2, 3]);
  });
});

/** Transitions from per-row fields; episodes and steps as given. */
function transitions(
  rows: {
    obs: number[];
    next: number[];
    action?: number;
    reward?: number;
    terminated?: number;
    ep: number;
    step: number;
  }[],
): EpisodeTransitions {
  const n = rows.length;
  const t = {
    count: n,
    observations: new Float32Array(n * O),
    actions: new Float32Array(n),
    rewards: new Float32Array(n),
    nextObservations: new Float32Array(n * O),
    terminated: new Uint8Array(n),
    episodes: new Int32Array(n),
    steps: new Int32Array(n),
  };
  rows.forEach((r, i) => {
    t.observations.set(r.obs, i * O);
    t.nextObservations.set(r.next, i * O);
    t.actions[i] = r.action ?? 0;
    t.rewards[i] = r.reward ?? 0;
    t.terminated[i] = r.terminated ?? 0;
    t.episodes[i] = r.ep;
    t.steps[i] = r.step;
  });
  return t;
}

const state = (x: number, y = 0, contacts: [number, number] = [0, 0]) => [x, y, 0, 0, 0, 0, ...contacts];

/** Elite predictions from per-row fields. */
function predictions(
  rows: { delta?: number[]; contact?: number[]; reward?: number; outcome?: number[] }[],
): ElitePredictions {
  const n = rows.length;
  const p: ElitePredictions = {
    count: n,
    delta: new Float32Array(n * STATE_DIMS),
    contactProb: new Float32Array(n * 2),
    reward: new Float32Array(n),
    outcomeProb: new Float32Array(n * 3),
    disagreement: new Float32Array(n),
  };
  rows.forEach((r, i) => {
    p.delta.set(r.delta ?? [0, 0, 0, 0, 0, 0], i * STATE_DIMS);
    p.contactProb.set(r.contact ?? [0, 0], i * 2);
    p.reward[i] = r.reward ?? 0;
    p.outcomeProb.set(r.outcome ?? [1, 0, 0], i * 3);
  });
  return p;
}

describe('one-step errors on hand-made transitions', () => {
  const t = transitions([
    // ordinary: real reward -1
    { obs: state(0), next: state(0.2), reward: -1, ep: 0, step: 0 },
    // a leg touches: real reward +10
    { obs: state(0.2), next: state(0.4, 0, [1, 0]), reward: 10, ep: 0, step: 1 },
    // crash
    { obs: state(0.4, 0, [1, 0]), next: state(0.4, 0, [1, 0]), reward: -100, terminated: 1, ep: 0, step: 2 },
    // at rest
    { obs: state(0), next: state(0), reward: 100, terminated: 1, ep: 1, step: 0 },
  ]);
  const p = predictions([
    { delta: [0.1, 0, 0, 0, 0, 0], reward: -2, outcome: [0.9, 0.1, 0] },
    { delta: [0.2, 0, 0, 0, 0, 0], contact: [0.9, 0.2], reward: 0, outcome: [0.8, 0.1, 0.1] },
    { delta: [0.1, 0, 0, 0, 0, 0], contact: [0.9, 0.2], reward: 0, outcome: [0.5, 0.3, 0.2] },
    { delta: [0, 0, 0, 0, 0, 0], reward: 1, outcome: [0.2, 0.1, 0.7] },
  ]);

  it('measures the change per dimension and the contacts', () => {
    const e = oneStepErrors(t, p);
    // x errors -0.1, 0, 0.1, 0: RMSE sqrt(0.02 / 4); the real changes 0.2, 0.2, 0, 0 have std 0.1.
    expect(e.rmse[0]).toBeCloseTo(Math.sqrt(0.005), 6);
    expect(e.changeStd[0]).toBeCloseTo(0.1, 6);
    expect(e.relative[0]).toBeCloseTo(Math.sqrt(0.005) / 0.1, 5);
    expect(e.relative[1]).toBeNull();
    expect(e.contactAccuracy).toEqual([1, 1]);
    expect(e.contactAccuracyBoth).toBe(1);
  });

  it('splits the reward error into ordinary, leg-contact and terminal (expected) steps', () => {
    const r = rewardErrors(t, p);
    expect(r.ordinary).toEqual({ rows: 1, bias: -1, rmse: 1, meanAbsolute: 1 });
    expect(r.legContact.rows).toBe(1);
    expect(r.legContact.bias).toBe(-10);
    // Crash row: 0.5 x 0 + 0.3 x -100 + 0.2 x 100 = -10 against -100; rest row: 0.2 x 1 - 10 + 70 = 60.2 vs 100.
    expect(r.terminal.rows).toBe(2);
    expect(r.terminal.bias!).toBeCloseTo((90 - 39.8) / 2, 4);
  });

  it('scores the outcome head per class at argmax and at the best threshold', () => {
    const o = outcomeMetrics(t, p);
    expect(o.actualCounts).toEqual([2, 1, 1]);
    expect(o.expectedCounts[1]).toBeCloseTo(0.6, 6);
    expect(o.crash.actual).toBe(1);
    // argmax never says crash: recall 0; the crash row scores highest (0.3): threshold 0.3 is perfect.
    expect(o.crash.argmax.recall).toBe(0);
    expect(o.crash.bestThreshold!.threshold).toBeCloseTo(0.3, 6);
    expect(o.crash.bestThreshold!.f1).toBe(1);
    expect(o.crash.auroc).toBe(1);
    // argmax says rest on the rest row only.
    expect(o.rest.argmax).toMatchObject({ precision: 1, recall: 1, f1: 1 });
  });
});

/**
 * A fake model with known dynamics: member m changes x by rates[m] x x per step (so the elites' mean rate
 * is known), y by the copy's memory (when it has memory, which grows by 1 per step), reward 1 per step,
 * outcome always continue.
 */
class GrowthModel implements DynamicsModel {
  readonly kind = 'ensemble';
  readonly actionSpace = { n: 4 };
  readonly scalers = new LanderScalers();
  readonly members: number;
  warmed: { k: number; counts: number[]; xs: number[] } | null = null;
  private pred: DynamicsPrediction | null = null;

  constructor(
    private readonly rates: number[],
    readonly elites: number[],
    readonly memorySize = 0,
  ) {
    this.members = rates.length;
  }

  predict(obs: Float32Array, _actions: ArrayLike<number>, rows: number, memory: Float32Array | null) {
    if (this.pred?.rows !== rows) this.pred = allocatePrediction(this.members, rows, false);
    const p = this.pred;
    for (let m = 0; m < this.members; m++) {
      for (let i = 0; i < rows; i++) {
        const at = m * rows + i;
        p.delta.fill(0, at * STATE_DIMS, (at + 1) * STATE_DIMS);
        p.delta[at * STATE_DIMS] = this.rates[m]! * obs[i * O]!;
        p.delta[at * STATE_DIMS + 1] = memory ? memory[i]! : 0;
        p.contactProb.fill(0, at * 2, at * 2 + 2);
        p.reward[at] = 1;
        p.outcomeProb.set([1, 0, 0], at * 3);
      }
    }
    if (memory) for (let i = 0; i < rows; i++) memory[i]! += 1;
    return p;
  }

  /** Memory = the number of warm-up steps; records what it was given. */
  warmMemory(
    observations: Float32Array,
    _actions: ArrayLike<number>,
    rows: number,
    k: number,
    counts: ArrayLike<number>,
    memory: Float32Array,
  ): void {
    this.warmed = {
      k,
      counts: Array.from(counts),
      xs: Array.from({ length: rows * k }, (_, j) => observations[j * O]!),
    };
    for (let r = 0; r < rows; r++) memory[r] = counts[r]!;
  }

  fit(): never {
    throw new Error('GrowthModel does not learn');
  }

  save(): void {}
}

/** Two interleaved episodes whose x grows by 20% a step: A of 3 steps, B of 10, from x = 1. */
function growthEpisodes(): EpisodeTransitions {
  const rows: Parameters<typeof transitions>[0] = [];
  for (let s = 0; s < 10; s++) {
    if (s < 3) rows.push({ obs: state(1.2 ** s), next: state(1.2 ** (s + 1)), ep: 7, step: s });
    rows.push({ obs: state(1.2 ** s), next: state(1.2 ** (s + 1)), ep: 3, step: s });
  }
  return transitions(rows);
}

describe('open-loop rollouts on a fake model', () => {
  const t = growthEpisodes();
  const index = indexEpisodes(t);
  const startA = 0; // episode 7, step 0
  const startB = 1; // episode 3, step 0

  it('links interleaved rows by episode and step', () => {
    expect(index.firstRows.length).toBe(2);
    expect(index.next[startA]).toBe(2);
    expect(index.previous[2]).toBe(startA);
    const lastA = 4;
    expect(t.episodes[lastA]).toBe(7);
    expect(index.next[lastA]).toBe(-1);
  });

  it('feeds the elites mean back, stops where the real episode ends, and counts trajectories', () => {
    // Elites 0 and 1 grow x by 5% and 15% (mean 10%); member 2 (not an elite) by 1000%.
    const model = new GrowthModel([0.05, 0.15, 10], [0, 1]);
    const rollout = rollOpenLoop(model, t, index, [startA, startB], 10);
    expect(Array.from(rollout.lengths)).toEqual([3, 10]);
    // Open loop: the model's x after h steps is 1.1^h (teacher forcing would give 1.2^(h-1) x 1.1).
    expect(rollout.predicted[(1 * 10 + 4) * O]).toBeCloseTo(1.1 ** 5, 4);
    const std = [0.5, 1, 1, 1, 1, 1];
    const errors = openLoopErrors(rollout, t, [1, 3, 5], std);
    expect(errors.map((e) => e.trajectories)).toEqual([2, 2, 1]);
    expect(errors[0]!.rmse[0]).toBeCloseTo(0.1, 5);
    expect(errors[1]!.rmse[0]).toBeCloseTo(1.2 ** 3 - 1.1 ** 3, 5);
    expect(errors[2]!.rmse[0]).toBeCloseTo(1.2 ** 5 - 1.1 ** 5, 4);
    expect(errors[2]!.rmse[1]).toBe(0);
    expect(errors[2]!.scalar!).toBeCloseTo((1.2 ** 5 - 1.1 ** 5) / 0.5 / 6, 4);
    // One-step predictions are the elites' mean too.
    const pred = predictTransitions(model, t, index);
    expect(pred.delta[startB * STATE_DIMS]).toBeCloseTo(0.1, 6);
    expect(pred.disagreement[startB]).toBeGreaterThan(0);
  });

  it("warms a recurrent model's memory on the real steps before the start, right-aligned", () => {
    const model = new GrowthModel([0.1], [0], 1);
    const rowAtStep4 = Array.from({ length: t.count }, (_, r) => r).find(
      (r) => t.episodes[r] === 3 && t.steps[r] === 4,
    )!;
    const memory = memoryBefore(model, t, index, [rowAtStep4, startB], 3)!;
    expect(Array.from(memory)).toEqual([3, 0]);
    expect(model.warmed!.counts).toEqual([3, 0]);
    // Steps 1, 2, 3 of episode B (x = 1.2, 1.44, 1.728), oldest first.
    expect(model.warmed!.xs.slice(0, 3).map((x) => +x.toFixed(4))).toEqual([1.2, 1.44, 1.728]);
    // The rollout starts from the warmed memory: y changes by 3, then 4.
    const rollout = rollOpenLoop(model, t, index, [rowAtStep4], 2, { warmSteps: 3 });
    expect(rollout.predicted[1]).toBeCloseTo(3, 6);
    expect(rollout.predicted[O + 1]).toBeCloseTo(7, 6);
  });
});

describe('episodes inside a model', () => {
  it('starts copy i from state i and runs each to its end (crash past |x| = 1, or the step limit)', () => {
    // x grows by 0.125 a step whatever the state: from 0.875, 0.5, 0 the copies cross x = 1 after 1, 4, 8 steps.
    class Drift extends GrowthModel {
      override predict(
        obs: Float32Array,
        actions: ArrayLike<number>,
        rows: number,
        memory: Float32Array | null,
      ) {
        const p = super.predict(obs, actions, rows, memory);
        for (let i = 0; i < rows; i++) p.delta[i * STATE_DIMS] = 0.125;
        return p;
      }
    }
    const starts = Float32Array.from([...state(0.875), ...state(0.5), ...state(0)]);
    let calls = 0;
    const act = (observations: Float32Array, actions: Float32Array) => {
      expect(observations.length).toBe(3 * O);
      actions.fill(0);
      calls++;
    };
    const model = new Drift([0], [0]);
    const predicted = { reward: 'predicted' } as const;
    const e = modelEpisodeReturns(model, starts, act, { maxSteps: 100, seed: 1, config: predicted });
    expect(Array.from(e.lengths)).toEqual([1, 4, 8]);
    expect(Array.from(e.returns)).toEqual([-100, 3 - 100, 7 - 100]);
    expect(e.endings).toEqual(['crash', 'crash', 'crash']);
    expect(calls).toBe(8);
    const cut = modelEpisodeReturns(model, starts, act, { maxSteps: 5, seed: 1, config: predicted });
    expect(Array.from(cut.lengths)).toEqual([1, 4, 5]);
    expect(cut.endings).toEqual(['crash', 'crash', 'truncated']);
    expect(cut.returns[2]).toBe(5);
  });
});

describe('npm run model-report', () => {
  const root = mkdtempSync(join(tmpdir(), 'lander-model-report-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const quiet = () => {};
  const collect = (name: string, flags: string[]) =>
    collectData({
      ...collectOptionsFromArgs([...flags, '--envs', '4', '--out', join(root, name), '--quiet']),
      log: quiet,
    });

  it('parses its flags and always adds the heuristic', () => {
    const o = modelReportOptionsFromArgs(['runs/m', '--data', 'data/a,data/b', '--policies', 'random']);
    expect(o).toMatchObject({
      run: 'runs/m',
      data: ['data/a', 'data/b'],
      ood: [],
      policies: ['random', 'heuristic'],
    });
    expect(o.out).toBe(join('runs/m', 'report'));
    expect(o.episodes).toBe(100);
    expect(o.maxSteps).toBe(1000);
    expect(() => modelReportOptionsFromArgs(['runs/m'])).toThrow(/--data is required/);
  });

  it('writes report.json, report.md and the plots for every model kind of a tiny run', {
    timeout: 180_000,
  }, async () => {
    await collect('heuristic', ['--policy', 'heuristic', '--steps', '400', '--seed', '1']);
    await collect('random', ['--policy', 'random', '--steps', '400', '--seed', '2']);
    await collect('held-out', ['--policy', 'random', '--steps', '400', '--seed', '50']);
    await collect('wind', ['--policy', 'random', '--steps', '100', '--seed', '60', '--wind']);
    const run = join(root, 'run');
    trainModels({
      data: [join(root, 'heuristic'), join(root, 'random')],
      kinds: ['mlp', 'ensemble', 'gru', 'dae', 'inverse'],
      seed: 1,
      validationFraction: 0.25,
      out: run,
      fit: { maxEpochs: 1 },
      quiet: true,
      log: quiet,
    });
    const lines: string[] = [];
    const report = await modelReport({
      ...modelReportOptionsFromArgs([
        run,
        '--data',
        join(root, 'held-out'),
        '--ood',
        join(root, 'wind'),
        '--policies',
        'heuristic,random',
        '--episodes',
        '4',
        '--max-steps',
        '60',
        '--starts',
        '40',
      ]),
      log: (line) => lines.push(line),
    });
    const out = join(run, 'report');
    for (const f of [
      'report.json',
      'report.md',
      'one-step.svg',
      'open-loop.svg',
      'policies.svg',
      'episode.svg',
    ]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ModelReport;
    expect(json.rows).toBe(400);
    expect(json.dynamics.map((d) => d.kind)).toEqual(['mlp', 'ensemble', 'gru']);
    for (const d of json.dynamics) {
      expect(d.oneStep.rmse).toHaveLength(6);
      expect(d.openLoop.horizons.map((h) => h.horizon)).toEqual([1, 5, 10, 25, 50]);
      const n = d.openLoop.horizons.map((h) => h.trajectories);
      expect(n[0]).toBe(40);
      for (let i = 1; i < n.length; i++) expect(n[i]!).toBeLessThanOrEqual(n[i - 1]!);
      // Random play crashes: the terminal rows are there, and counted as crashes.
      expect(d.reward.terminal.rows).toBeGreaterThan(0);
      expect(d.outcome.crash.actual).toBe(d.reward.terminal.rows - d.outcome.rest.actual);
    }
    expect(json.dynamics.find((d) => d.kind === 'gru')!.warmSteps).toBeGreaterThan(0);
    expect(json.dynamics.find((d) => d.kind === 'ensemble')!.uncertainty!.rows).toBe(400);
    expect(json.dynamics.find((d) => d.kind === 'mlp')!.uncertainty).toBeNull();
    expect(typeof json.familiarity!.ood!.auroc).toBe('number');
    expect(json.inverse!.accuracy).toBeGreaterThanOrEqual(0);
    const p = json.policyEvaluation!;
    expect(p.policies.map((x) => x.policy)).toEqual(['heuristic', 'random']);
    expect(p.seeds).toEqual([1e9, 1e9 + 3]);
    for (const policy of p.policies) {
      expect(Object.keys(policy.models)).toEqual(['mlp', 'ensemble', 'gru']);
      const ends = policy.real.endings;
      expect(ends.crash + ends.rest + ends.truncated).toBe(4);
    }
    expect(Object.keys(p.heuristicGap)).toEqual(['mlp', 'ensemble', 'gru']);
    expect(json.episode).not.toBeNull();
    expect(report.plots).toEqual(['one-step.svg', 'open-loop.svg', 'policies.svg', 'episode.svg']);
    expect(readFileSync(join(out, 'episode.svg'), 'utf8')).toMatch(/^<svg/);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/## Open-loop error/);
    expect(lines.at(-1)).toMatch(/report\.json, report\.md and 4 plots/);
  });
});
