/**
 * Population-based training through the sweep controller (the one scheduler of `npm run sweep`), on a
 * synthetic task whose best schedule is not any fixed step size (test/helpers/synthetic-trials.ts): the
 * population is ranked at every ready interval and no other time, the bottom quarter copies the top quarter
 * and perturbs the copied step size by 0.8 or 1.25, and the result beats the initial configurations trained
 * alone. Also: grid and random search's trials, and PBT's decision rule on its own.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSweep } from '../src/sweep/controller.ts';
import { lineage, lineageEvals } from '../src/sweep/lineage.ts';
import { rank, truncationCount, truncationSelection } from '../src/sweep/pbt.ts';
import { writeReport } from '../src/sweep/report.ts';
import { plannedTrials } from '../src/sweep/search.ts';
import { parseSweep, type Sweep } from '../src/sweep/sweep-file.ts';
import type { SweepState } from '../src/sweep/sweep-state.ts';
import type { TrainJob } from '../src/sweep/trial-job.ts';
import { Rng } from '../src/tensor/index.ts';
import { SyntheticTrials } from './helpers/synthetic-trials.ts';

const root = mkdtempSync(join(tmpdir(), 'lander-sweep-pbt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
};

/** The sweep through the synthetic task into `out`. */
const synthetic = (sweep: Sweep, out: string, transport = new SyntheticTrials()) =>
  runSweep({ sweep, file: 'synthetic', out, transport, transportKind: 'local', log: () => {} });

describe('population-based training on a synthetic task', () => {
  const sweep = parseSweep({
    algorithm: 'ppo',
    steps: 100,
    seeds: [1, 2, 3, 4, 5, 6, 7, 8],
    pbt: {
      population: 8,
      readyInterval: 10,
      explore: { learningRate: { initial: { logUniform: [0.001, 0.3] }, perturb: [0.8, 1.25] } },
    },
  });

  it('exploits and explores at the ready interval, and beats the initial configurations trained alone', async () => {
    const trials = new SyntheticTrials();
    const out = join(root, 'pbt');
    const state = await synthetic(sweep, out, trials);

    // Ten rounds: every member trains to 10, 20, ... 90 real steps, then to its budget; exploits only between.
    const rounds = Array.from({ length: 10 }, (_, r) => trials.jobs.slice(r * 10, r * 10 + 10));
    for (const [r, jobs] of rounds.entries()) {
      const train = jobs.slice(0, 8) as TrainJob[];
      expect(train.map((j) => [j.kind, j.stopAtSteps])).toEqual(
        Array(8).fill(['train', r < 9 ? (r + 1) * 10 : null]),
      );
      expect(jobs.slice(8).map((j) => j.kind)).toEqual(r < 9 ? ['exploit', 'exploit'] : []);
    }
    expect(trials.jobs).toHaveLength(9 * 10 + 8);
    // Each copy takes the donor's step size times 0.8 or 1.25 (kept inside the initial range).
    for (const t of state.trials) {
      for (const [i, s] of t.segments.entries()) {
        expect(s.fromSteps).toBe(10 * i);
        if (!s.copiedFrom) continue;
        const donor = state.trials.find((d) => d.name === s.copiedFrom)!.segments[i - 1]!;
        const copied = donor.hyperparameters.learningRate as number;
        const perturbed = [0.8, 1.25].map((f) => Math.min(0.3, Math.max(0.001, copied * f)));
        expect(perturbed).toContain(s.hyperparameters.learningRate);
        expect(donor.score!).toBeGreaterThanOrEqual(t.segments[i - 1]!.score!);
      }
    }
    expect(state.trials.flatMap((t) => t.segments).filter((s) => s.copiedFrom)).toHaveLength(18);
    expect(state.totalRealSteps).toBe(8 * 100);

    // The same first configurations, each trained alone for the whole budget.
    const alone = await Promise.all(
      state.trials.map(async (t) => {
        const result = await new SyntheticTrials().run({
          kind: 'train',
          id: t.name,
          sweep: 'alone',
          trial: t.name,
          algorithm: 'ppo',
          dir: t.name,
          args: ['--steps', '100', '--seed', String(t.seed)],
          hyperparameters: t.segments[0]!.hyperparameters,
          stopAtSteps: null,
        });
        return result.evals.at(-1)!.meanReturn;
      }),
    );
    const finals = state.trials.map((t) => t.evals.at(-1)!.meanReturn);
    expect(Math.max(...finals)).toBeGreaterThan(median(alone));
    expect(median(finals)).toBeGreaterThan(median(alone));
    // The winner's lineage ends on a smaller step size than its largest: the schedule PBT found.
    const rates = lineage(state.trials, state.best!).map((s) => s.hyperparameters.learningRate as number);
    expect(rates).toHaveLength(10);
    expect(rates.at(-1)!).toBeLessThan(Math.max(...rates));

    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report).toContain('**Real steps of the whole sweep: 800**');
    expect(report).toContain(`## Best: \`${state.best}\``);
    expect(report).toContain('![learningRate against real steps](hyperparameter-learningRate.svg)');
    expect(readFileSync(join(out, 'hyperparameter-learningRate.svg'), 'utf8')).toMatch(/^<svg/);
  });

  it('continues a sweep from its sweep.json without running finished jobs again', async () => {
    const out = join(root, 'again');
    const first = await synthetic(sweep, out);
    const trials = new SyntheticTrials();
    const second = await synthetic(sweep, out, trials);
    expect(trials.jobs).toEqual([]);
    expect(second.trials).toEqual(first.trials);
    const other = parseSweep({ algorithm: 'ppo', steps: 50, grid: { gamma: [0.9] } });
    await expect(
      runSweep({
        sweep: other,
        file: 'other.json',
        out,
        transport: trials,
        transportKind: 'local',
        log: () => {},
      }),
    ).rejects.toThrow(/holds a sweep of another file or content \(synthetic\)/);
  });
});

describe('a failed trial', () => {
  it('is recorded with its error and the real steps it took, and the sweep carries on without it', async () => {
    const sweep = parseSweep({ algorithm: 'ppo', steps: 50, grid: { learningRate: [0.1, 2, 0.01] } });
    const out = join(root, 'failed');
    const state = await synthetic(sweep, out);
    expect(state.trials.map((t) => [t.name, t.status, t.error])).toEqual([
      ['trial-00', 'finished', null],
      ['trial-01', 'failed', 'trial-01 failed: diverged at step size 2'],
      ['trial-02', 'finished', null],
    ]);
    // Step size 2 multiplies theta's mean by -3 a step: past 100 after 3 steps, which the total counts.
    expect(state.trials.map((t) => t.spentRealSteps)).toEqual([50, 3, 50]);
    expect(state).toMatchObject({ status: 'finished', best: 'trial-00', totalRealSteps: 103 });
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain(
      '| failed: trial-01 failed: diverged at step size 2 |',
    );
  });
});

describe('the search', () => {
  it('ranks by score and copies from the top into the bottom quarter', () => {
    const members = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((name, i) => ({
      name,
      score: i === 7 ? null : i,
      hyperparameters: { learningRate: 0.01 * (i + 1) },
    }));
    expect(rank(members).map((m) => m.name)).toEqual(['g', 'f', 'e', 'd', 'c', 'b', 'a', 'h']);
    expect([
      truncationCount(8, 0.25),
      truncationCount(2, 0.25),
      truncationCount(5, 0.5),
      truncationCount(1, 0.5),
    ]).toEqual([2, 1, 2, 0]);
    const pbt = parseSweep({
      algorithm: 'ppo',
      steps: 100,
      pbt: {
        population: 8,
        readyInterval: 10,
        explore: { learningRate: { initial: { uniform: [0, 1] }, perturb: [2] } },
      },
    }).search;
    if (pbt.kind !== 'pbt') throw new Error('expected pbt');
    const decisions = truncationSelection(members, pbt, new Rng(3));
    expect(decisions.map((d) => d.member)).toEqual(['a', 'h']);
    for (const d of decisions) {
      expect(['g', 'f']).toContain(d.from);
      const donor = members.find((m) => m.name === d.from)!;
      expect(d.hyperparameters.learningRate).toBeCloseTo(
        Math.min(1, 2 * donor.hyperparameters.learningRate),
        12,
      );
    }
  });

  it('plans grid trials as every combination with every seed, and random ones reproducibly', () => {
    const grid = parseSweep({
      algorithm: 'ppo',
      steps: 10,
      seeds: [1, 2],
      grid: { gamma: [0.9, 0.99], lambda: [0.9] },
    });
    expect(plannedTrials(grid)).toEqual([
      { name: 'trial-00', seed: 1, hyperparameters: { gamma: 0.9, lambda: 0.9 } },
      { name: 'trial-01', seed: 2, hyperparameters: { gamma: 0.9, lambda: 0.9 } },
      { name: 'trial-02', seed: 1, hyperparameters: { gamma: 0.99, lambda: 0.9 } },
      { name: 'trial-03', seed: 2, hyperparameters: { gamma: 0.99, lambda: 0.9 } },
    ]);
    const random = parseSweep({
      algorithm: 'ppo',
      steps: 10,
      random: {
        trials: 20,
        parameters: {
          learningRate: { logUniform: [1e-5, 1e-3] },
          epochs: { intUniform: [1, 3] },
          hiddenSizes: { choice: [[16], [32]] },
        },
      },
    });
    const planned = plannedTrials(random);
    expect(planned).toEqual(plannedTrials(random));
    expect(planned).toHaveLength(20);
    for (const { hyperparameters: h } of planned) {
      expect(h.learningRate).toBeGreaterThanOrEqual(1e-5);
      expect(h.learningRate).toBeLessThanOrEqual(1e-3);
      expect([1, 2, 3]).toContain(h.epochs);
      expect([[16], [32]]).toContainEqual(h.hiddenSizes);
    }
    expect(new Set(planned.map((t) => t.hyperparameters.epochs)).size).toBe(3);
  });
});

describe('the PBT report', () => {
  it("counts the winner's real steps to 200 along its lineage, not its own evaluations before it copied", async () => {
    const sweep = parseSweep({
      algorithm: 'ppo',
      steps: 20,
      seeds: [1, 2],
      pbt: {
        population: 2,
        readyInterval: 10,
        explore: { learningRate: { initial: { uniform: [0.1, 0.2] }, perturb: [2] } },
      },
    });
    const segment = (round: number, copiedFrom: string | null) => ({
      round,
      fromSteps: 10 * round,
      toSteps: 10 * round + 10,
      hyperparameters: { learningRate: 0.1 },
      copiedFrom,
      score: null,
    });
    const member = (name: string, returns: [number, number], copiedFrom: string | null) => ({
      name,
      seed: 1,
      hyperparameters: { learningRate: 0.1 },
      status: 'finished' as const,
      error: null,
      realSteps: 20,
      spentRealSteps: 20,
      evals: returns.map((meanReturn, i) => ({ steps: 10 * i + 10, meanReturn })),
      segments: [segment(0, null), segment(1, copiedFrom)],
    });
    // member-00 was the worse at 10 steps and copied member-01, which had reached 200 by then.
    const trials = [member('member-00', [50, 230], 'member-01'), member('member-01', [205, 150], null)];
    expect(lineageEvals(trials, 'member-00')).toEqual([
      { steps: 10, meanReturn: 205 },
      { steps: 20, meanReturn: 230 },
    ]);
    const out = join(root, 'lineage-report');
    mkdirSync(out);
    const state: SweepState = {
      id: 'lineage-report',
      name: 'lineage-report',
      file: 'test',
      sweep,
      transport: 'local',
      transportDescription: 'test',
      status: 'finished',
      round: 1,
      phase: 'train',
      exploits: [],
      trials,
      totalRealSteps: 40,
      best: 'member-00',
    };
    await writeReport(out, state, () => {});
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain(
      'Final evaluation 230.0 (mean greedy return); first at or above 200 at 10 real steps of its own lineage.',
    );
  });
});
