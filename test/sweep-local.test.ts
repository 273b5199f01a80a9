/**
 * `npm run sweep` on one machine, end to end: a tiny PBT of PPO on the lander through two local worker
 * processes (no server), its run folders, the exploit recorded in the worse member's config.json and taking
 * effect in its metrics, and sweep.json, report.md and the charts. And a local worker process killed in the
 * middle of a trial: the trial resumes in a new one and ends as it would have.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readJson, readMetrics } from '../src/cli/run-folder.ts';
import type { PpoRunConfig } from '../src/cli/train.ts';
import { runSweep } from '../src/sweep/controller.ts';
import { LocalTransport } from '../src/sweep/local-transport.ts';
import { parseSweep } from '../src/sweep/sweep-file.ts';
import type { SweepState } from '../src/sweep/sweep-state.ts';
import { TrialFailed } from '../src/sweep/transport.ts';
import { tinyPpoSweep } from './helpers/tiny-ppo.ts';
import { tinyPpoTrainJob } from './helpers/tiny-trial-job.ts';

const root = mkdtempSync(join(tmpdir(), 'lander-sweep-local-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('npm run sweep, locally', () => {
  it('runs a PBT sweep of PPO in local worker processes and reports it', () => {
    const file = join(root, 'tiny-pbt.json');
    writeFileSync(
      file,
      JSON.stringify({
        ...tinyPpoSweep,
        steps: 512,
        seeds: [1, 2],
        pbt: {
          population: 2,
          readyInterval: 256,
          explore: { learningRate: { initial: { logUniform: [1e-4, 1e-3] }, perturb: [0.5, 2] } },
        },
      }),
    );
    const out = join(root, 'tiny-pbt');
    const run = spawnSync('npm', ['run', '--silent', 'sweep', '--', file, '--out', out, '--jobs', '2'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /sweep tiny-pbt: 2 members of 'train ppo' on LunarLander-v3, 512 real steps each, through 2 local worker processes/,
    );
    expect(run.stdout).toMatch(
      /ready at 256 real steps: member-0\d -?\d+\.\d, member-0\d -?\d+\.\d; member-0(\d) copies member-0\d/,
    );

    const state = readJson<SweepState>(join(out, 'sweep.json'), 'test');
    expect(state).toMatchObject({ status: 'finished', round: 1, totalRealSteps: 1024 });
    const copied = state.trials.find((t) => t.segments[1]!.copiedFrom !== null)!;
    const donor = state.trials.find((t) => t !== copied)!;
    expect(copied.segments[1]).toMatchObject({ fromSteps: 256, toSteps: 512, copiedFrom: donor.name });
    expect(donor.segments[0]!.score!).toBeGreaterThanOrEqual(copied.segments[0]!.score!);
    const newRate = copied.segments[1]!.hyperparameters.learningRate as number;
    const donorRate = donor.hyperparameters.learningRate as number;
    expect([0.5, 2].map((f) => Math.min(1e-3, Math.max(1e-4, donorRate * f)))).toContain(newRate);

    // The worse member's run folder: the donor's checkpoint, then its own new learning rate, both recorded.
    const dir = join(out, copied.name);
    const config = readJson<PpoRunConfig>(join(dir, 'config.json'), 'test');
    expect(config.changes).toEqual([
      { update: 2, steps: 256, checkpointFrom: donor.name },
      {
        update: 2,
        steps: 256,
        set: { learningRate: newRate },
        was: { learningRate: copied.segments[0]!.hyperparameters.learningRate },
      },
    ]);
    expect(readMetrics<{ learningRate: number }>(dir).map((m) => m.learningRate)).toEqual([
      donorRate,
      donorRate,
      newRate,
      newRate,
    ]);

    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report).toContain('**Real steps of the whole sweep: 1024** (2 members)');
    expect(report).toMatch(/## Best: `member-0\d`/);
    expect(report).toMatch(/\| round \| real steps \| member \| learningRate \| copied from \|/);
    for (const chart of ['population.svg', 'hyperparameter-learningRate.svg']) {
      expect(report).toContain(`](${chart})`);
      expect(existsSync(join(out, chart))).toBe(true);
    }
  });

  it('fails a job in a run folder of another sweep, and reports the real steps a failed run took', async () => {
    const transport = new LocalTransport(join(root, 'store'), 1, () => {});
    const job = (id: string, sweep: string, hyperparameters: Record<string, unknown>) =>
      tinyPpoTrainJob(id, sweep, 'shared/trial-00', hyperparameters);
    const failure = (id: string, sweep: string, hyperparameters: Record<string, unknown>) =>
      transport.run(job(id, sweep, hyperparameters)).then(
        () => null,
        (e: TrialFailed) => e,
      );
    try {
      expect(await transport.run(job('a', 'sweep-a', {}))).toMatchObject({ realSteps: 128, finished: false });
      // Its own sweep's job that fails (a fixed field changed): the steps the run had taken.
      const fixed = await failure('b', 'sweep-a', { hiddenSizes: [32] });
      expect(fixed).toBeInstanceOf(TrialFailed);
      expect(fixed!.message).toMatch(/hiddenSizes is fixed once a run has started/);
      expect(fixed!.realSteps).toBe(128);
      // Another sweep's job in the same folder (two sweeps of one --out name in one store): refused, untouched.
      const other = await failure('c', 'sweep-b', {});
      expect(other!.message).toMatch(
        /shared\/trial-00 in the store holds trial-00 of sweep sweep-a, not trial-00 of sweep sweep-b/,
      );
      expect(other!.realSteps).toBe(0);
      expect(readMetrics(join(root, 'store', 'shared', 'trial-00'))).toHaveLength(1);
    } finally {
      await transport.close();
    }
  }, 60_000);

  it('resumes a trial whose local worker process was killed, to the metrics it would have had', async () => {
    // Two identical trials side by side: the one whose worker dies must end as the other does.
    const sweep = parseSweep({
      ...tinyPpoSweep,
      steps: 1536,
      seeds: [1, 1],
      grid: { learningRate: [0.0003] },
    });
    const out = join(root, 'killed');
    const log: string[] = [];
    const transport = new LocalTransport(root, 2, (line) => log.push(line));
    const done = runSweep({
      sweep,
      file: 'test',
      out,
      transport,
      transportKind: 'local',
      log: (l) => log.push(l),
    });
    // Kill the process of a trial that has a checkpoint and is not done (12 updates).
    let victim: number | null = null;
    for (const started = Date.now(); victim === null; await new Promise((r) => setTimeout(r, 50))) {
      if (Date.now() - started > 60_000) throw new Error(`no trial to kill:\n${log.join('\n')}`);
      for (const [, pid, trial] of log.join('\n').matchAll(/worker (\d+): started (trial-0\d)/g)) {
        const dir = join(out, trial!);
        if (existsSync(join(dir, 'checkpoints', 'latest.json')) && readMetrics(dir).length < 10)
          victim = Number(pid);
      }
    }
    process.kill(victim, 'SIGKILL');
    const state = await done;
    await transport.close();
    expect(log.join('\n')).toMatch(
      /worker process \d+ ended \(SIGKILL\) during trial-0\d; it resumes on another/,
    );
    expect(state.trials.map((t) => [t.status, t.realSteps])).toEqual([
      ['finished', 1536],
      ['finished', 1536],
    ]);
    const metrics = (trial: string) =>
      readMetrics(join(out, trial)).map((row) =>
        Object.fromEntries(Object.entries(row).filter(([k]) => !k.endsWith('Seconds'))),
      );
    expect(metrics('trial-00')).toHaveLength(12);
    expect(metrics('trial-00')).toEqual(metrics('trial-01'));
  }, 120_000);
});
