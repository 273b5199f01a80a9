/**
 * What population-based training asks of the train commands: a run stopped at a real-step count
 * (`--stop-at-steps`, checkpointed and evaluated there) continues exactly as an unbroken one; `--resume
 * --set` changes its hyperparameters from the checkpoint on and records the change in config.json, but not
 * a field fixed for a run; and PBT's exploit (copying a better run's checkpoint) makes a run continue
 * exactly as the better run would.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { latestCheckpoint, readJson, readMetrics } from '../src/cli/run-folder.ts';
import { type PpoRunConfig, trainOptionsFromArgs, trainPpo } from '../src/cli/train.ts';
import { trainPets, trainPetsOptionsFromArgs } from '../src/cli/train-pets.ts';
import { readSimpleRunConfig, trainSimple, trainSimpleOptionsFromArgs } from '../src/cli/train-simple.ts';
import { copyBetterRun } from '../src/sweep/exploit.ts';

const root = mkdtempSync(join(tmpdir(), 'lander-segments-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const quiet = () => {};

// 8 updates of 2 envs x 64 steps, an evaluation only at the end, a checkpoint every 4 updates.
const ppoArgs = (out: string, seed = 1) => [
  ...[
    '--steps',
    '1024',
    '--seed',
    String(seed),
    '--envs',
    '2',
    '--set',
    'stepsPerEnv=64',
    '--set',
    'hiddenSizes=[16]',
  ],
  ...['--eval-every', '0', '--eval-episodes', '2', '--checkpoint-every', '4', '--out', out, '--quiet'],
];
const ppo = (argv: string[]) => trainPpo({ ...trainOptionsFromArgs(argv), log: quiet });
/** One evaluation episode, only when a run stops or ends (every 9 iterations never comes). */
const rareEvaluation = (out: string) => ['--eval-episodes', '1', '--eval-every', '9', '--out', out];

/** Metrics lines without timings and evaluations (a stop adds an evaluation; it changes nothing else). */
const training = (rows: Record<string, unknown>[]) =>
  rows.map((row) =>
    Object.fromEntries(Object.entries(row).filter(([k]) => !k.endsWith('Seconds') && !k.startsWith('eval'))),
  );

describe('train ppo in segments', () => {
  it('stops at a real-step count with a checkpoint and an evaluation, and continues as an unbroken run', async () => {
    const unbroken = join(root, 'unbroken');
    await ppo(ppoArgs(unbroken));
    const dir = join(root, 'segments');
    const first = await ppo([...ppoArgs(dir), '--stop-at-steps', '300']);
    expect(first.finished).toBe(false);
    expect(latestCheckpoint(dir)?.update).toBe(3);
    expect(readMetrics<{ steps: number; evalMeanReturn?: number }>(dir).at(-1)).toMatchObject({ steps: 384 });
    expect(typeof readMetrics<{ evalMeanReturn?: number }>(dir).at(-1)!.evalMeanReturn).toBe('number');
    await ppo(['--resume', dir, '--stop-at-steps', '700', '--quiet']);
    expect(latestCheckpoint(dir)?.update).toBe(6);
    const last = await ppo(['--resume', dir, '--quiet']);
    expect(last.finished).toBe(true);
    expect(training(readMetrics(dir))).toEqual(training(readMetrics(unbroken)));
    expect(readJson<PpoRunConfig>(join(dir, 'config.json'), 'test').changes).toBeUndefined();
  });

  it('changes hyperparameters on resume, records each change, and refuses a fixed field', async () => {
    const dir = join(root, 'changed');
    await ppo([...ppoArgs(dir), '--stop-at-steps', '256']);
    await ppo([
      '--resume',
      dir,
      '--set',
      'learningRate=0.001',
      '--set',
      'hiddenSizes=[16]',
      '--stop-at-steps',
      '512',
      '--quiet',
    ]);
    await expect(ppo(['--resume', dir, '--set', 'hiddenSizes=[32]', '--quiet'])).rejects.toThrow(
      /--set hiddenSizes=\[32\]: hiddenSizes is fixed once a run has started \(.* has \[16\]\)/,
    );
    await expect(ppo(['--resume', dir, '--set', 'gamma=2', '--quiet'])).rejects.toThrow(
      /gamma = 2 is invalid/,
    );
    await ppo(['--resume', dir, '--set', 'entropyCoef=0', '--quiet']);
    const config = readJson<PpoRunConfig>(join(dir, 'config.json'), 'test');
    expect(config.ppo).toMatchObject({ learningRate: 0.001, entropyCoef: 0 });
    expect(config.changes).toEqual([
      { update: 2, steps: 256, set: { learningRate: 0.001 }, was: { learningRate: 0.0003 } },
      { update: 4, steps: 512, set: { entropyCoef: 0 }, was: { entropyCoef: 0.01 } },
    ]);
    const rates = readMetrics<{ learningRate: number }>(dir).map((m) => m.learningRate);
    expect(rates).toEqual([0.0003, 0.0003, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001]);
  });

  it("exploit: a run given a better run's checkpoint continues exactly as that run does", async () => {
    const better = join(root, 'better');
    const worse = join(root, 'worse');
    await ppo([...ppoArgs(better, 1), '--stop-at-steps', '384']);
    await ppo([...ppoArgs(worse, 2), '--stop-at-steps', '384']);
    const worseOwn = latestCheckpoint(worse)!;
    copyBetterRun(better, worse, 'update');
    const copied = latestCheckpoint(worse)!;
    expect(copied.update).toBe(3);
    for (const file of readdirSync(latestCheckpoint(better)!.path)) {
      expect(readFileSync(join(copied.path, file))).toEqual(
        readFileSync(join(latestCheckpoint(better)!.path, file)),
      );
    }
    expect(existsSync(worseOwn.path)).toBe(true);
    expect(readdirSync(join(worse, 'checkpoints')).sort()).toEqual(['latest.json', 'update-000003']);
    expect(readFileSync(join(worse, 'metrics.jsonl'), 'utf8')).toBe(
      readFileSync(join(better, 'metrics.jsonl'), 'utf8'),
    );
    copyBetterRun(better, worse, 'update');
    expect(readJson<PpoRunConfig>(join(worse, 'config.json'), 'test').changes).toEqual([
      { update: 3, steps: 384, checkpointFrom: 'better' },
    ]);
    await ppo(['--resume', better, '--quiet']);
    await ppo(['--resume', worse, '--quiet']);
    expect(training(readMetrics(worse))).toEqual(training(readMetrics(better)));
  });
});

describe('the model-based loops in segments', () => {
  it('train simple: stops with an evaluation, resumes with a new horizon recorded, refuses a fixed field', async () => {
    const dir = join(root, 'simple');
    const args = [
      ...['--steps', '600', '--set', 'initialRealSteps=200', 'realStepsPerIteration=200', 'modelEnvs=16'],
      ...['imaginedStepsPerIteration=256', 'modelHiddenSizes=16,16', 'ensembleMembers=2', 'ensembleElites=1'],
      ...[
        'modelStepsPerEpoch=5',
        'modelEpochs=1',
        'startStates=32',
        'familiarity=false',
        'lambdaFamiliarity=0',
      ],
      ...['dynamic=false', 'horizon=5', 'ppo.hiddenSizes=16'],
      ...rareEvaluation(dir),
    ];
    await trainSimple({
      ...trainSimpleOptionsFromArgs([...args, '--stop-at-steps', '200', '--quiet']),
      log: quiet,
    });
    const resume = (set: string[]) =>
      trainSimple({
        ...trainSimpleOptionsFromArgs(['--resume', dir, '--set', ...set, '--quiet']),
        log: quiet,
      });
    await expect(resume(['model=mlp'])).rejects.toThrow(/model is fixed once a run has started/);
    await resume(['horizon=3', 'ppo.entropyCoef=0.02']);
    const rows = readMetrics<{ iteration: number; horizon: number; evalMeanReturn?: number }>(dir);
    expect(rows.map((r) => [r.iteration, r.horizon, typeof r.evalMeanReturn])).toEqual([
      [1, 5, 'number'],
      [2, 3, 'undefined'],
      [3, 3, 'number'],
    ]);
    expect(readSimpleRunConfig(dir).changes).toEqual([
      {
        update: 1,
        steps: 200,
        set: { horizon: 3, 'ppo.entropyCoef': 0.02 },
        was: { horizon: 5, 'ppo.entropyCoef': null },
      },
    ]);
  });

  it('train simple: a starting value set again unchanged keeps the dynamic state; a change applies from its checkpoint', async () => {
    // Dynamic rules on (an ensemble of 2): iteration 4 measures a temperature that iteration 5 collects with.
    const args = (out: string) => [
      ...['--steps', '1000', '--set', 'initialRealSteps=200', 'realStepsPerIteration=200', 'modelEnvs=16'],
      ...['imaginedStepsPerIteration=128', 'modelHiddenSizes=16,16', 'ensembleMembers=2', 'ensembleElites=2'],
      ...['modelStepsPerEpoch=5', 'modelEpochs=1', 'startStates=32', 'familiarity=false'],
      ...['lambdaFamiliarity=0', 'temperature=1.5', 'ppo.hiddenSizes=16', '--quiet'],
      ...rareEvaluation(out),
    ];
    const train = (argv: string[]) => trainSimple({ ...trainSimpleOptionsFromArgs(argv), log: quiet });
    const rows = (dir: string) => training(readMetrics(dir));
    const unbroken = join(root, 'simple-dynamic');
    await train(args(unbroken));
    const temperatures = readMetrics<{ temperature: number }>(unbroken).map((r) => r.temperature);
    expect(temperatures[4]).not.toBe(1.5);

    const same = join(root, 'simple-dynamic-same');
    await train([...args(same), '--stop-at-steps', '800']);
    const stopped = join(root, 'simple-dynamic-stopped');
    cpSync(same, stopped, { recursive: true });
    await train(['--resume', same, '--set', 'temperature=1.5', '--quiet']);
    expect(rows(same)).toEqual(rows(unbroken));
    expect(readSimpleRunConfig(same).changes).toBeUndefined();

    // A change restarts the temperature from the new value at the checkpoint it was made at, also when the
    // session that made it died before its next checkpoint (config.json changed, the checkpoint not).
    const changed = join(root, 'simple-dynamic-changed');
    cpSync(stopped, changed, { recursive: true });
    await train(['--resume', changed, '--set', 'temperature=2', '--quiet']);
    expect(readMetrics<{ temperature: number }>(changed)[4]!.temperature).toBe(2);
    const died = join(root, 'simple-dynamic-died');
    cpSync(stopped, died, { recursive: true });
    cpSync(join(changed, 'config.json'), join(died, 'config.json'));
    await train(['--resume', died, '--set', 'temperature=2', '--quiet']);
    expect(rows(died)).toEqual(rows(changed));
  });

  it('train pets: stops with an evaluation and resumes with a new planner setting recorded', async () => {
    const dir = join(root, 'pets');
    const args = [
      ...[
        '--steps',
        '350',
        '--set',
        'initialRealSteps=200',
        'realStepsPerIteration=150',
        'modelHiddenSizes=16,16',
      ],
      ...[
        'ensembleMembers=2',
        'ensembleElites=1',
        'modelEpochs=1',
        'modelStepsPerEpoch=5',
        'cem.population=8',
      ],
      ...['cem.elites=2', 'cem.horizon=4', 'cem.iterations=1'],
      ...rareEvaluation(dir),
    ];
    await trainPets({
      ...trainPetsOptionsFromArgs([...args, '--stop-at-steps', '100', '--quiet']),
      log: quiet,
    });
    const first = readMetrics<{ realSteps: number; evalMeanReturn?: number }>(dir);
    expect(first).toHaveLength(1);
    expect(typeof first[0]!.evalMeanReturn).toBe('number');
    const options = trainPetsOptionsFromArgs(['--resume', dir, '--set', 'cem.horizon=3', '--quiet']);
    expect((await trainPets({ ...options, log: quiet })).finished).toBe(true);
    const config = readJson<{ pets: { cem: object }; changes: unknown[] }>(join(dir, 'config.json'), 'test');
    expect(config.pets.cem).toMatchObject({ horizon: 3 });
    expect(config.changes).toEqual([
      { update: 1, steps: first[0]!.realSteps, set: { 'cem.horizon': 3 }, was: { 'cem.horizon': 4 } },
    ]);
  });
});
