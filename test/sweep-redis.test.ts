/**
 * Sweeps through BullMQ on a real Redis server (test/helpers/redis-server.ts: persistence on, a password
 * that workers take from REDIS_PASSWORD and the controller from the URL, and that nothing prints),
 * with `npm run worker` processes: four short PPO trials on two workers, one worker killed with SIGKILL in
 * the middle of a trial, and the sweep completes with no trial lost or run twice to completion and every
 * trial's metrics equal to the same sweep's through local workers; then Redis shut down and started again
 * during a sweep, which carries on. Skips, saying why in its name, where redis-server is missing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/cli/args.ts';
import { readMetrics } from '../src/cli/run-folder.ts';
import { runSweep } from '../src/sweep/controller.ts';
import { LocalTransport } from '../src/sweep/local-transport.ts';
import { QueueTransport } from '../src/sweep/queue-transport.ts';
import { checkReachable, parseRedisUrl } from '../src/sweep/redis-connection.ts';
import { parseSweep } from '../src/sweep/sweep-file.ts';
import { TrialFailed } from '../src/sweep/transport.ts';
import { hasRedisServer, redisNote, TestRedis } from './helpers/redis-server.ts';
import { tinyPpoSweep } from './helpers/tiny-ppo.ts';
import { tinyPpoTrainJob } from './helpers/tiny-trial-job.ts';

if (!hasRedisServer) console.warn(`test/sweep-redis.test.ts: ${redisNote}`);

const root = mkdtempSync(join(tmpdir(), 'lander-sweep-redis-'));
const PASSWORD = 'pw-never-printed-7f3a';
let redis: TestRedis;
const workers: ChildProcess[] = [];

// Four trials of 12 PPO updates (2 envs x 64 steps), a checkpoint every 2, an evaluation at the end.
const sweep = parseSweep({
  ...tinyPpoSweep,
  steps: 1536,
  seeds: [1, 2],
  grid: { learningRate: [0.0003, 0.001] },
});
const TRIALS = ['trial-00', 'trial-01', 'trial-02', 'trial-03'];

/** Metrics lines without their timings, which differ between any two runs. */
const metricsOf = (dir: string) =>
  readMetrics(dir).map((row) =>
    Object.fromEntries(Object.entries(row).filter(([k]) => !k.endsWith('Seconds'))),
  );

interface Worker {
  process: ChildProcess;
  output: () => string;
}

/** `npm run worker`'s command, the password given in REDIS_PASSWORD only. */
function startWorker(store: string, lockSeconds: number): Worker {
  const argv = [
    '--import',
    'tsx',
    'src/sweep/main.ts',
    'worker',
    '--redis',
    `redis://127.0.0.1:${redis.port}`,
  ];
  const child = spawn(process.execPath, [...argv, '--store', store, '--lock-seconds', String(lockSeconds)], {
    env: { ...process.env, REDIS_PASSWORD: PASSWORD },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  return { process: child, output: () => output };
}

async function until(what: string, ok: () => boolean, seconds = 60): Promise<void> {
  for (const started = Date.now(); !ok(); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() - started > seconds * 1000) throw new Error(`timed out waiting for ${what}`);
  }
}

async function stopWorkers(): Promise<void> {
  await Promise.all(
    workers.splice(0).map(
      (w) =>
        new Promise((done) => {
          if (w.exitCode !== null || w.signalCode !== null) return done(null);
          w.once('exit', done);
          w.kill('SIGTERM');
        }),
    ),
  );
}

function redisSweep(out: string, log: string[]) {
  const transport = new QueueTransport(parseRedisUrl(redis.url, {}), (l) => log.push(l), 200);
  return runSweep({
    sweep,
    file: 'test',
    out,
    transport,
    transportKind: 'redis',
    log: (l) => log.push(l),
  }).finally(() => transport.close());
}

const finishedLines = (output: string, trial: string) =>
  output.split('\n').filter((line) => line.includes(`finished ${trial} `)).length;

describe.skipIf(!hasRedisServer)(`sweeps through BullMQ on Redis (${redisNote})`, () => {
  const reference = join(root, 'local', 'grid');

  beforeAll(async () => {
    mkdirSync(join(root, 'redis'));
    redis = await TestRedis.start(join(root, 'redis'), PASSWORD);
    // The same sweep through local worker processes: what every Redis run below must reproduce.
    const transport = new LocalTransport(join(root, 'local'), 2, () => {});
    await runSweep({ sweep, file: 'test', out: reference, transport, transportKind: 'local', log: () => {} });
    await transport.close();
  }, 120_000);

  afterAll(async () => {
    await stopWorkers();
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('completes with a worker killed mid-trial: nothing lost or run twice, the same metrics', async () => {
    const store = join(root, 'store-kill');
    const [first, second] = [startWorker(store, 2), startWorker(store, 2)];
    const log: string[] = [];
    const done = redisSweep(join(root, 'kill', 'grid'), log);
    // Kill the first worker once its trial has a checkpoint, long before the trial's 12 updates are done.
    await until('a trial on the first worker', () => /started (trial-\d+)/.test(first.output()));
    const victim = /started (trial-\d+)/.exec(first.output())![1]!;
    const latest = join(store, 'grid', victim, 'checkpoints', 'latest.json');
    await until(`${victim}'s first checkpoint`, () => existsSync(latest));
    first.process.kill('SIGKILL');
    const atKill = readMetrics(join(store, 'grid', victim)).length;
    expect(atKill).toBeLessThan(12);

    const state = await done;
    expect(state.trials.map((t) => [t.name, t.status, t.realSteps])).toEqual(
      TRIALS.map((t) => [t, 'finished', 1536]),
    );
    expect(state.totalRealSteps).toBe(4 * 1536);
    for (const trial of TRIALS) {
      expect(metricsOf(join(store, 'grid', trial)), trial).toEqual(metricsOf(join(reference, trial)));
      expect(finishedLines(first.output(), trial) + finishedLines(second.output(), trial), trial).toBe(1);
    }
    expect(finishedLines(second.output(), victim)).toBe(1);
    expect(second.output()).toMatch(new RegExp(`${victim}: resuming .* at update [1-9]`));
    for (const text of [first.output(), second.output(), log.join('\n')])
      expect(text).not.toContain(PASSWORD);
    await stopWorkers();
  }, 120_000);

  it('carries on after Redis is shut down and started again mid-sweep (persistence on)', async () => {
    const store = join(root, 'store-restart');
    const pair = [startWorker(store, 20), startWorker(store, 20)];
    const log: string[] = [];
    const done = redisSweep(join(root, 'restart', 'grid'), log);
    await until('a first checkpoint', () =>
      TRIALS.some((t) => existsSync(join(store, 'grid', t, 'checkpoints', 'latest.json'))),
    );
    await redis.stop();
    await new Promise((r) => setTimeout(r, 1000));
    await redis.restart();
    const state = await done;
    expect(state.trials.map((t) => t.status)).toEqual(['finished', 'finished', 'finished', 'finished']);
    for (const trial of TRIALS) {
      expect(metricsOf(join(store, 'grid', trial)), trial).toEqual(metricsOf(join(reference, trial)));
      expect(finishedLines(pair[0]!.output(), trial) + finishedLines(pair[1]!.output(), trial), trial).toBe(
        1,
      );
    }
    expect(pair.map((w) => w.output()).join('\n')).toMatch(/ECONNREFUSED/);
    await stopWorkers();
  }, 120_000);

  it("brings a failed trial's error and real steps back to the controller", async () => {
    const store = join(root, 'store-failed');
    startWorker(store, 5);
    const transport = new QueueTransport(parseRedisUrl(redis.url, {}), () => {}, 200);
    const job = (id: string, hyperparameters: Record<string, unknown>) =>
      tinyPpoTrainJob(id, 'failed', 'failed/trial-00', hyperparameters);
    try {
      expect(await transport.run(job('failed.a', {}))).toMatchObject({ realSteps: 128 });
      // A fixed field changed on resume: the job fails after the run had taken 128 real steps.
      const failed = await transport.run(job('failed.b', { hiddenSizes: [32] })).then(
        () => null,
        (e: TrialFailed) => e,
      );
      expect(failed).toBeInstanceOf(TrialFailed);
      expect(failed!.message).toMatch(/trial-00 failed: .*hiddenSizes is fixed once a run has started/);
      expect(failed!.realSteps).toBe(128);
    } finally {
      await transport.close();
      await stopWorkers();
    }
  }, 60_000);

  it('refuses a wrong password, printing neither password', async () => {
    const wrong = 'wrong-pw-also-unprinted';
    const target = parseRedisUrl(`redis://:${wrong}@127.0.0.1:${redis.port}`, {});
    const refused = await checkReachable(target).then(
      () => null,
      (e: Error) => e,
    );
    expect(refused).toBeInstanceOf(UsageError);
    expect(refused!.message).toMatch(
      new RegExp(`cannot use the Redis server at redis://127.0.0.1:${redis.port}: WRONGPASS`),
    );
    expect(refused!.message).not.toContain(wrong);
    expect(refused!.message).not.toContain(PASSWORD);
  });
});
