import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../src/cli/args.ts';
import { evalRun } from '../src/cli/eval.ts';
import { plotRuns } from '../src/cli/plot.ts';
import { replayRun } from '../src/cli/replay.ts';
import { readMetrics } from '../src/cli/run-folder.ts';
import { trainOptionsFromArgs, trainPpo, trainSpec } from '../src/cli/train.ts';
import { tinyPpoArgs as tiny } from './helpers/tiny-ppo.ts';
import { withoutTimings } from './helpers/without-timings.ts';

const root = mkdtempSync(join(tmpdir(), 'lander-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const quiet = () => {};

describe('command line', () => {
  it('rejects unknown flags, bad values and misplaced arguments with the usage', () => {
    expect(() => parseArgs(['--bogus', '1'], trainSpec)).toThrow(UsageError);
    expect(() => parseArgs(['--bogus', '1'], trainSpec)).toThrow(
      /unknown flag '--bogus'[\s\S]*usage: npm run train -- ppo/,
    );
    expect(() => parseArgs(['--steps', 'many'], trainSpec)).toThrow(
      /--steps = 'many' is invalid; expected an integer/,
    );
    expect(() => parseArgs(['--steps', '0'], trainSpec)).toThrow(/expected an integer >= 1/);
    expect(() => parseArgs(['--env', 'CartPole-v1'], trainSpec)).toThrow(
      /one of LunarLander-v3, LunarLanderContinuous-v3/,
    );
    expect(() => parseArgs(['extra'], trainSpec)).toThrow(/expected 0 positional/);
    expect(() => parseArgs(['--steps'], trainSpec)).toThrow(/needs a value/);
    expect(() => trainOptionsFromArgs(['--set', 'gamma=2'])).toThrow(/gamma = 2 is invalid/);
    expect(() => trainOptionsFromArgs(['--set', 'nope=2'])).toThrow(/unknown option 'nope'/);
    expect(() => trainOptionsFromArgs(['--resume', 'x', '--seed', '2'])).toThrow(/drop --seed/);
  });

  it('prints the usage with status 0 on --help', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'eval', '--help'], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/usage: npm run eval -- <run-dir \| policy\.safetensors>[\s\S]*--episodes/);
  });

  it('exits with status 2 and the usage on a bad command line', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'train', 'ppo', '--steps', '-5'],
      { encoding: 'utf8' },
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--steps = '-5' is invalid[\s\S]*usage:/);
  });

  it('trains a few thousand steps into a run folder, then evaluates, plots and replays it', async () => {
    const dir = join(root, 'smoke');
    const result = await trainPpo({ ...trainOptionsFromArgs(tiny(dir)), log: quiet });
    expect(result.finished).toBe(true);
    expect(result.metrics).toHaveLength(4);
    const rows = readMetrics<{ steps: number; evalMeanReturn?: number }>(dir);
    expect(rows.map((r) => r.steps)).toEqual([512, 1024, 1536, 2048]);
    expect(rows.filter((r) => typeof r.evalMeanReturn === 'number')).toHaveLength(2);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).ppo.totalSteps).toBe(2048);

    const summary = evalRun([dir, '--episodes', '4'], quiet);
    expect(summary.episodes).toBe(4);
    const written = JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8'));
    expect(written).toMatchObject({ episodes: 4, update: 4 });
    for (const key of [
      'meanReturn',
      'stdReturn',
      'minReturn',
      'medianReturn',
      'solvedFraction',
      'meanLength',
    ]) {
      expect(Number.isFinite(written[key])).toBe(true);
    }
    const svg = readFileSync(await plotRuns([dir], quiet), 'utf8');
    expect(svg).toMatch(/^<svg[\s\S]*real environment steps[\s\S]*<\/svg>$/);
    const html = readFileSync(replayRun([dir], quiet), 'utf8');
    expect(html).toMatch(/<html[\s\S]*<svg/);
    await expect(trainPpo({ ...trainOptionsFromArgs(tiny(dir)), log: quiet })).rejects.toThrow(
      /already holds a run/,
    );
  });

  it('resumes a stopped run to the same metrics as an unbroken run', async () => {
    const unbroken = join(root, 'unbroken');
    await trainPpo({
      ...trainOptionsFromArgs(tiny(unbroken, ['--env', 'LunarLanderContinuous-v3'])),
      log: quiet,
    });
    const broken = join(root, 'broken');
    const first = await trainPpo({
      ...trainOptionsFromArgs(tiny(broken, ['--env', 'LunarLanderContinuous-v3', '--stop-after', '2'])),
      log: quiet,
    });
    expect(first.finished).toBe(false);
    const second = await trainPpo({ ...trainOptionsFromArgs(['--resume', broken, '--quiet']), log: quiet });
    expect(second.finished).toBe(true);
    expect(withoutTimings(readMetrics(broken))).toEqual(withoutTimings(readMetrics(unbroken)));
    expect(existsSync(join(broken, 'checkpoints', 'latest.json'))).toBe(true);
  });
});
