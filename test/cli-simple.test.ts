import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evalRun } from '../src/cli/eval.ts';
import { plotRunFiles } from '../src/cli/plot.ts';
import { replayRun } from '../src/cli/replay.ts';
import { appendMetrics, latestCheckpoint, readMetrics, writeJson } from '../src/cli/run-folder.ts';
import { loadRunPolicy } from '../src/cli/run-policy.ts';
import {
  CHECKPOINT_FILES,
  readSimpleRunConfig,
  simpleRunFinished,
  trainSimple,
  trainSimpleOptionsFromArgs,
} from '../src/cli/train-simple.ts';
import type { SimpleConfig } from '../src/rl/simple-config.ts';
import { withoutTimings } from './helpers/without-timings.ts';

const root = mkdtempSync(join(tmpdir(), 'lander-cli-simple-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const quiet = () => {};

// A few hundred real steps (8 real copies x 25 steps per iteration) and a tiny model, PPO and eval.
const tiny = (out: string, steps: number, extra: string[] = []) => [
  '--steps',
  String(steps),
  '--set',
  'initialRealSteps=200',
  'realStepsPerIteration=200',
  'modelEnvs=16',
  'imaginedStepsPerIteration=512',
  'modelHiddenSizes=16,16',
  'ensembleMembers=3',
  'ensembleElites=2',
  'modelStepsPerEpoch=5',
  'modelEpochs=1',
  'startStates=64',
  '--set',
  'ppo.hiddenSizes=16,16',
  '--eval-episodes',
  '2',
  '--eval-every',
  '2',
  '--out',
  out,
  '--quiet',
  ...extra,
];

describe('train simple', () => {
  it('parses --set: several after one flag, lists, ppo.<field>, and names a bad key or value', () => {
    const options = trainSimpleOptionsFromArgs(tiny(join(root, 'parse'), 600, ['--model', 'mlp']));
    const c = options.config!.simple;
    expect(c).toMatchObject({
      totalRealSteps: 600,
      initialRealSteps: 200,
      modelHiddenSizes: [16, 16],
      model: 'mlp',
      evalEpisodes: 2,
      evalEvery: 2,
    });
    expect(c.ppo).toEqual({ hiddenSizes: [16, 16] });
    expect(options.config).toMatchObject({ algorithm: 'simple', envId: 'LunarLander-v3', evalEpisodes: 2 });
    expect(trainSimpleOptionsFromArgs(['--set=disagreementLimit=Infinity']).config!.simple).toMatchObject({
      disagreementLimit: Number.POSITIVE_INFINITY,
    });
    expect(trainSimpleOptionsFromArgs([]).dir).toBe(join('runs', 'simple-LunarLander-v3-s1'));

    expect(() => trainSimpleOptionsFromArgs(['--set', 'nope=1'])).toThrow(
      /--set nope=1: unknown option 'nope'[\s\S]*usage: npm run train -- simple/,
    );
    expect(() => trainSimpleOptionsFromArgs(['--set', 'modelEnvs=-3'])).toThrow(
      /modelEnvs = -3 is invalid; expected a positive integer/,
    );
    expect(() => trainSimpleOptionsFromArgs(['--set', 'modelHiddenSizes=16,x'])).toThrow(
      /modelHiddenSizes = "16,x" is invalid/,
    );
    expect(() => trainSimpleOptionsFromArgs(['--set', 'ppo.bogus=1'])).toThrow(/unknown PPO option 'bogus'/);
    expect(() => trainSimpleOptionsFromArgs(['--set', 'ppo.gamma=2'])).toThrow(/gamma = 2 is invalid/);
    expect(() => trainSimpleOptionsFromArgs(['--set', 'ppo.stepsPerEnv=8'])).toThrow(/set by the loop/);
    expect(() => trainSimpleOptionsFromArgs(['--set'])).toThrow(/'--set' needs key=value/);
    // On resume --set changes the saved config (a field fixed for a run is refused when the run is read).
    expect(trainSimpleOptionsFromArgs(['--resume', 'x', '--set', 'horizon=3'])).toMatchObject({
      set: { horizon: 3 },
    });
    expect(() => trainSimpleOptionsFromArgs(['--resume', 'x', '--model', 'mlp'])).toThrow(/drop --model/);
  });

  it("takes the penalty weights' defaults from the lander's action space; --set and config.json win", () => {
    const penalties = (args: string[]) => {
      const { lambdaUncertainty, lambdaFamiliarity } = trainSimpleOptionsFromArgs(args).config!.simple;
      return [lambdaUncertainty, lambdaFamiliarity];
    };
    expect(penalties([])).toEqual([1, 1]);
    expect(penalties(['--env', 'LunarLander-v3'])).toEqual([1, 1]);
    expect(penalties(['--env', 'LunarLanderContinuous-v3'])).toEqual([0, 0]);
    expect(penalties(['--env', 'LunarLanderContinuous-v3', '--set', 'lambdaUncertainty=0.5'])).toEqual([
      0.5, 0,
    ]);
    expect(penalties(['--env', 'LunarLander-v3', '--set', 'lambdaFamiliarity=0'])).toEqual([1, 0]);
    // A continuous run's config.json read back without the two fields takes the continuous defaults.
    const dir = join(root, 'continuous-defaults');
    const { config } = trainSimpleOptionsFromArgs(['--env', 'LunarLanderContinuous-v3', '--out', dir]);
    const { lambdaUncertainty: _u, lambdaFamiliarity: _f, ...older } = config!.simple;
    // Infinite numbers as train-simple writes them.
    const infinite = {
      disagreementLimit: 'Infinity',
      trialKeepFrom: 'Infinity',
      trialGuardFrom: '-Infinity',
    };
    writeJson(join(dir, 'config.json'), { ...config, simple: { ...older, ...infinite } });
    expect(readSimpleRunConfig(dir).simple).toMatchObject({ lambdaUncertainty: 0, lambdaFamiliarity: 0 });
    // Trials (step 5) are on by default on both landers, guarded on the discrete one.
    type Trials = Pick<SimpleConfig, 'trialEpisodes' | 'trialKeepFrom' | 'trialGuardFrom'>;
    const trials = ({ trialEpisodes, trialKeepFrom, trialGuardFrom }: Trials) => [
      trialEpisodes,
      trialKeepFrom,
      trialGuardFrom,
    ];
    const always = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    expect(trials(config!.simple)).toEqual([2, ...always]);
    const discreteDir = join(root, 'discrete-defaults');
    const discrete = trainSimpleOptionsFromArgs(['--env', 'LunarLander-v3', '--out', discreteDir]).config!;
    expect(trials(discrete.simple)).toEqual([4, 240, 150]);
    // A run from before trials reads back without them, whatever its lander's default today.
    const { trialEpisodes: _t, trialKeepFrom: _k, trialGuardFrom: _g, ...beforeTrials } = discrete.simple;
    const infinity = { disagreementLimit: 'Infinity' };
    writeJson(join(discreteDir, 'config.json'), { ...discrete, simple: { ...beforeTrials, ...infinity } });
    expect(trials(readSimpleRunConfig(discreteDir).simple)).toEqual([0, ...always]);
    // One from before trialKeepFrom and trialGuardFrom tried the old policy beside every new one.
    const beforeGuard = { ...beforeTrials, ...infinity, trialEpisodes: 4 };
    writeJson(join(discreteDir, 'config.json'), { ...discrete, simple: beforeGuard });
    expect(trials(readSimpleRunConfig(discreteDir).simple)).toEqual([4, ...always]);
  });

  it('is reached from the command line, and a bad --set exits with status 2', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'train', 'simple', '--set', 'nope=1'],
      { encoding: 'utf8' },
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/unknown option 'nope'[\s\S]*usage: npm run train -- simple/);
  });

  it('trains a few hundred real steps into a run folder, then evaluates, plots and replays it', async () => {
    const dir = join(root, 'smoke');
    const result = await trainSimple({ ...trainSimpleOptionsFromArgs(tiny(dir, 600)), log: quiet });
    expect(result.finished).toBe(true);
    expect(result.finalEval?.episodes).toBe(2);
    const rows = readMetrics<Record<string, unknown>>(dir);
    expect(rows.map((r) => r.realSteps)).toEqual([200, 400, 600]);
    expect(rows.map((r) => r.steps)).toEqual([200, 400, 600]);
    expect(rows.map((r) => r.iteration)).toEqual([1, 2, 3]);
    // Evaluations at iteration 2 (every 2) and at the end.
    expect(rows.map((r) => typeof r.evalMeanReturn)).toEqual(['undefined', 'number', 'number']);
    expect(rows[0]!.fresh).toBeNull();
    expect(rows[1]!.fresh).toMatchObject({ rows: 200 });
    expect(rows.every((r) => typeof r.wallSeconds === 'number')).toBe(true);
    expect((rows[2]!.imaginedSteps as number) > 0).toBe(true);

    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ algorithm: 'simple', checkpointEvery: 1, evalEpisodes: 2 });
    expect(config.simple).toMatchObject({ totalRealSteps: 600, disagreementLimit: 'Infinity' });
    expect(readSimpleRunConfig(dir).simple.disagreementLimit).toBe(Number.POSITIVE_INFINITY);
    const checkpoint = latestCheckpoint(dir)!;
    expect(checkpoint.update).toBe(3);
    for (const file of [...Object.values(CHECKPOINT_FILES), 'policy.torch.safetensors']) {
      expect(existsSync(join(checkpoint.path, file)), file).toBe(true);
    }
    expect(simpleRunFinished(dir)).toBe(true);

    const summary = evalRun([dir, '--episodes', '2'], quiet);
    expect(summary.episodes).toBe(2);
    expect(JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8'))).toMatchObject({
      algorithm: 'simple',
      iteration: 3,
      episodes: 2,
    });
    expect(loadRunPolicy(dir, 2).update).toBe(2);
    expect(() => loadRunPolicy(dir, 1)).toThrow(/no checkpoint of iteration 1; expected one of 2, 3/);

    // A PPO run beside it on the same axis (its metrics only: plot reads no weights).
    const ppo = join(root, 'ppo-beside');
    writeJson(join(ppo, 'config.json'), { algorithm: 'ppo' });
    for (const steps of [256, 512])
      appendMetrics(ppo, { update: steps / 256, steps, meanReturn: -100, evalMeanReturn: -90 });
    const files = await plotRunFiles([dir, ppo], quiet);
    const curve = readFileSync(files.curve, 'utf8');
    expect(curve).toMatch(/^<svg[\s\S]*real environment steps[\s\S]*<\/svg>$/);
    expect(curve).toMatch(/smoke[\s\S]*ppo-beside|ppo-beside[\s\S]*smoke/);
    expect(files.model).toBe(join(dir, 'plots', 'model.svg'));
    expect(readFileSync(files.model!, 'utf8')).toMatch(/^<svg[\s\S]*horizon H[\s\S]*<\/svg>$/);
    expect((await plotRunFiles([ppo, '--out', join(root, 'ppo.svg')], quiet)).model).toBeNull();

    const html = readFileSync(replayRun([dir], quiet), 'utf8');
    expect(html).toMatch(/<html[\s\S]*<svg/);
    await expect(trainSimple({ ...trainSimpleOptionsFromArgs(tiny(dir, 600)), log: quiet })).rejects.toThrow(
      /already holds a run/,
    );
  });

  it('resumes a stopped run to the same metrics as an unbroken run', async () => {
    const args = (out: string, extra: string[] = []) =>
      tiny(out, 800, ['--env', 'LunarLanderContinuous-v3', '--checkpoint-every', '2', ...extra]);
    const unbroken = join(root, 'unbroken');
    await trainSimple({ ...trainSimpleOptionsFromArgs(args(unbroken)), log: quiet });
    const broken = join(root, 'broken');
    // Three iterations, the last checkpoint at the second: the resume drops the third's line and redoes it.
    const first = await trainSimple({
      ...trainSimpleOptionsFromArgs(args(broken, ['--stop-after', '3'])),
      log: quiet,
    });
    expect(first.finished).toBe(false);
    expect(readMetrics(broken)).toHaveLength(3);
    expect(latestCheckpoint(broken)!.update).toBe(2);
    expect(simpleRunFinished(broken)).toBe(false);
    const lines: string[] = [];
    const second = await trainSimple({
      ...trainSimpleOptionsFromArgs(['--resume', broken, '--quiet']),
      log: (line) => lines.push(line),
    });
    expect(lines.join('\n')).toMatch(/resuming .* at iteration 2 \(400 real steps\); replaying 50 env steps/);
    expect(second.finished).toBe(true);
    expect(second.metrics.map((m) => m.iteration)).toEqual([3, 4]);
    const unbrokenRows = readMetrics(unbroken);
    expect(unbrokenRows.map((r) => r.realSteps)).toEqual([200, 400, 600, 800]);
    expect(withoutTimings(readMetrics(broken))).toEqual(withoutTimings(unbrokenRows));
    expect(latestCheckpoint(broken)!.update).toBe(4);
    // The policies at the end agree too.
    const a = loadRunPolicy(broken).policy.parameters();
    const b = loadRunPolicy(unbroken).policy.parameters();
    a.forEach((p, i) => {
      expect(Array.from(p.data)).toEqual(Array.from(b[i]!.data));
    });
  });
});
