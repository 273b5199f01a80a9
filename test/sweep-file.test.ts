/**
 * The sweep file's schema and the sweep commands' usage errors: each bad field is named with its value and
 * what was expected, every trial's command line is checked by its train command before any job, and a
 * malformed file, a bad Redis URL or an unreachable server exit with status 2 without printing a password.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/cli/args.ts';
import { checkReachable, hidePassword, parseRedisUrl } from '../src/sweep/redis-connection.ts';
import { sweepCommand } from '../src/sweep/sweep-command.ts';
import { parseSweep, readSweepFile } from '../src/sweep/sweep-file.ts';
import { checkSweepArgs, freshArgs } from '../src/sweep/trial-args.ts';
import { freePort } from './helpers/redis-server.ts';

const root = mkdtempSync(join(tmpdir(), 'lander-sweep-file-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const base = { algorithm: 'ppo', steps: 1000 };
const pbt = (explore: object, extra: object = {}) => ({
  ...base,
  pbt: { population: 4, readyInterval: 100, explore, ...extra },
});
const lr = { initial: { logUniform: [1e-4, 1e-3] }, perturb: [0.8, 1.25] };

describe('a sweep file', () => {
  it('parses with defaults for what it leaves out', () => {
    expect(parseSweep({ ...base, grid: { gamma: [0.9, 0.99] } })).toEqual({
      algorithm: 'ppo',
      env: 'LunarLander-v3',
      steps: 1000,
      settings: {},
      flags: {},
      seeds: [1],
      seed: 1,
      search: { kind: 'grid', parameters: { gamma: [0.9, 0.99] } },
    });
    expect(parseSweep(pbt({ learningRate: lr })).search).toEqual({
      kind: 'pbt',
      population: 4,
      readyInterval: 100,
      truncation: 0.25,
      explore: { learningRate: { initial: { logUniform: [1e-4, 1e-3] }, perturb: [0.8, 1.25], resample: 0 } },
    });
  });

  it('names a bad field, its value and what was expected', () => {
    const cases: [object, RegExp][] = [
      [
        { ...base, algorithm: 'dqn', grid: { a: [1] } },
        /algorithm = "dqn" is invalid; expected "ppo", "simple", "pets"/,
      ],
      [
        { ...base, env: 'CartPole-v1', grid: { a: [1] } },
        /env = "CartPole-v1" is invalid; expected "LunarLander-v3" or/,
      ],
      [{ ...base, steps: -5, grid: { a: [1] } }, /steps = -5 is invalid; expected a positive integer/],
      [{ ...base, grid: { a: [1] }, bogus: 1 }, /unknown field 'bogus'/],
      [{ ...base }, /exactly one search, "grid", "random" or "pbt"; it has none/],
      [{ ...base, grid: { a: [1] }, random: {} }, /it has grid and random/],
      [{ ...base, grid: { gamma: [] } }, /grid.gamma = \[\] is invalid; expected a non-empty list/],
      [
        { ...base, seeds: [1, -2], grid: { a: [1] } },
        /seeds = \[1,-2\] is invalid; expected a non-empty list of non-negative/,
      ],
      [
        { ...base, random: { trials: 0, parameters: {} } },
        /random.trials = 0 is invalid; expected a positive integer/,
      ],
      [
        { ...base, random: { trials: 2, parameters: { x: { logUniform: [0, 1] } } } },
        /random.parameters.x.logUniform = \[0,1\] is invalid; expected \[low, high\] with 0 < low/,
      ],
      [
        { ...base, random: { trials: 2, parameters: { x: { normal: [0, 1] } } } },
        /random.parameters.x = \{"normal":\[0,1\]\} is invalid; expected \{"uniform"/,
      ],
      [
        pbt({ learningRate: lr }, { population: 1 }),
        /pbt.population = 1 is invalid; expected an integer >= 2/,
      ],
      [
        pbt({ learningRate: lr }, { readyInterval: 1000 }),
        /pbt.readyInterval = 1000 is invalid; expected a positive integer of real steps below steps = 1000/,
      ],
      [
        pbt({ learningRate: lr }, { truncation: 0.7 }),
        /pbt.truncation = 0.7 is invalid; expected a fraction in \(0, 0.5\]/,
      ],
      [
        pbt({ learningRate: { initial: { uniform: [0, 1] } } }),
        /pbt.explore.learningRate: explores no way; give "perturb"/,
      ],
      [
        pbt({ x: { initial: { choice: [1, 2] }, perturb: [2] } }),
        /pbt.explore.x.perturb: a list of choices cannot be perturbed/,
      ],
      [
        pbt({ x: { initial: { uniform: [0, 1] }, perturb: [0] } }),
        /pbt.explore.x.perturb = \[0\] is invalid; expected a non-empty list of positive factors/,
      ],
      [
        pbt({ x: { initial: { uniform: [0, 1] }, resample: 2 } }),
        /pbt.explore.x.resample = 2 is invalid; expected a probability/,
      ],
      [
        { ...base, settings: { gamma: 0.9 }, grid: { gamma: [0.99] } },
        /settings.gamma: gamma is searched; drop it from settings/,
      ],
    ];
    for (const [raw, message] of cases) expect(() => parseSweep(raw), JSON.stringify(raw)).toThrow(message);
  });

  it("is checked against the algorithm's train command before any job starts", () => {
    const check = (raw: object) => () => checkSweepArgs(parseSweep(raw));
    expect(check({ ...base, grid: { gamma: [0.9, 2] } })).toThrow(
      /grid.gamma: PPO config: gamma = 2 is invalid; expected a number in \[0, 1\]/,
    );
    expect(check({ ...base, grid: { bogus: [1] } })).toThrow(
      /grid.bogus: --set bogus=1: unknown option 'bogus'/,
    );
    expect(check({ ...base, flags: { out: 'x' }, grid: { gamma: [0.9] } })).toThrow(
      /flags.out: not a flag a sweep passes to 'train ppo'; expected one of envs, workers/,
    );
    expect(check({ ...base, flags: { envs: 0 }, grid: { gamma: [0.9] } })).toThrow(
      /settings and flags: --envs = '0' is invalid; expected an integer >= 1/,
    );
    expect(check(pbt({ hiddenSizes: { initial: { choice: [[16], [32]] }, resample: 1 } }))).toThrow(
      /pbt.explore.hiddenSizes: hiddenSizes is fixed once a run has started, so PBT cannot explore it/,
    );
    expect(check(pbt({ learningRate: { initial: { uniform: [-1, 1] }, perturb: [2] } }))).toThrow(
      /learningRate = -1 is invalid/,
    );
    expect(
      check({
        algorithm: 'simple',
        steps: 1000,
        pbt: { population: 2, readyInterval: 500, explore: { 'ppo.learningRate': lr } },
      }),
    ).not.toThrow();
    expect(
      freshArgs(
        parseSweep({
          ...base,
          settings: { disagreementLimit: Infinity },
          flags: { workers: true, envs: 4 },
          grid: { a: [1] },
        }),
        3,
        {
          hiddenSizes: [8],
        },
      ),
    ).toEqual([
      ...['--env', 'LunarLander-v3', '--steps', '1000', '--seed', '3', '--workers', '--envs', '4'],
      ...['--set', 'disagreementLimit=Infinity', '--set', 'hiddenSizes=[8]', '--quiet'],
    ]);
  });

  it('reads from a file, naming the file in every error', () => {
    const file = join(root, 'broken.json');
    writeFileSync(file, '{ "algorithm": ');
    expect(() => readSweepFile(file)).toThrow(new RegExp(`sweep file ${file} is not valid JSON`));
    expect(() => readSweepFile(join(root, 'missing.json'))).toThrow(
      /sweep file .*missing.json: cannot read it/,
    );
    expect(readSweepFile('sweeps/pbt-simple-lander.json').search.kind).toBe('pbt');
    for (const example of ['sweeps/pbt-simple-lander.json', 'sweeps/ppo-learning-rate.json']) {
      expect(() => checkSweepArgs(readSweepFile(example))).not.toThrow();
    }
  });
});

describe('the Redis address', () => {
  it('takes the password from the URL or REDIS_PASSWORD, and never shows it', () => {
    const target = parseRedisUrl('redis://:s3cret%21@cache.example:6380/2', {});
    expect(target).toMatchObject({
      host: 'cache.example',
      port: 6380,
      db: 2,
      password: 's3cret!',
      tls: false,
    });
    expect(target.shown).toBe('redis://cache.example:6380/2');
    expect(parseRedisUrl('rediss://worker@h', { REDIS_PASSWORD: 'envpw' })).toMatchObject({
      port: 6379,
      username: 'worker',
      password: 'envpw',
      tls: true,
      shown: 'rediss://worker@h:6379',
    });
    expect(hidePassword('WRONGPASS for s3cret! at redis://:s3cret!@h', target)).toBe(
      'WRONGPASS for *** at redis://***@h',
    );
    expect(() => parseRedisUrl('http://:pw@h:1', {})).toThrow(
      /--redis: 'http:\/\/\*\*\*@h:1' has scheme 'http:'; expected redis:\/\//,
    );
    expect(() => parseRedisUrl('not a url', {})).toThrow(/is not a URL/);
    // A password with an unencoded '@' or '/' makes a URL that does not parse: masked whole all the same.
    for (const url of ['redis://:p@ss@host:abc', 'redis://:p/ss@host', 'http://:p@ss@h']) {
      expect(() => parseRedisUrl(url, {}), url).toThrow(/'\w+:\/\/\*\*\*@h\w*(:abc)?' /);
    }
    expect(() => parseRedisUrl('redis://h:6379/x', {})).toThrow(/has database 'x'; expected a number >= 0/);
  });

  it('is checked for a server that answers', async () => {
    const port = await freePort();
    await expect(
      checkReachable(parseRedisUrl(`redis://:hunter2@127.0.0.1:${port}`, {}), 2000),
    ).rejects.toThrow(new RegExp(`cannot use the Redis server at redis://127.0.0.1:${port}: .*ECONNREFUSED`));
  });
});

/** Runs `npm run <script> -- args`'s command (package.json: tsx src/sweep/main.ts <script>); its exit status and output. */
function run(script: string, args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const argv = ['--import', 'tsx', 'src/sweep/main.ts', script, ...args];
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (status) => resolve({ status, output }));
  });
}

describe('the sweep commands', () => {
  it('exit 2 on a malformed sweep file or an unreachable server, printing no password', async () => {
    const bad = join(root, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...base, grid: { gamma: [0.9, 2] } }));
    const port = await freePort();
    const [malformed, worker] = await Promise.all([
      run('sweep', [bad, '--out', join(root, 'never')]),
      run('worker', ['--redis', `redis://:topsecret@127.0.0.1:${port}`, '--store', root]),
    ]);
    expect(malformed).toMatchObject({ status: 2 });
    expect(malformed.output).toMatch(/sweep file .*bad.json: grid.gamma: PPO config: gamma = 2 is invalid/);
    expect(worker.status).toBe(2);
    expect(worker.output).toMatch(
      new RegExp(`cannot use the Redis server at redis://127.0.0.1:${port}: .*ECONNREFUSED`),
    );
    expect(worker.output).not.toContain('topsecret');
  });

  it('refuse a bad Redis URL or an unreachable server before any job, printing no password', async () => {
    const port = await freePort();
    const sweep = (redis: string) =>
      sweepCommand(
        ['sweeps/ppo-learning-rate.json', '--out', join(root, 'never'), '--redis', redis],
        () => {},
      );
    for (const [redis, message] of [
      ['redis//:topsecret@host', /--redis: .* is not a URL/],
      [
        `redis://:topsecret@127.0.0.1:${port}`,
        new RegExp(`cannot use the Redis server at redis://127.0.0.1:${port}`),
      ],
    ] as const) {
      const error = await sweep(redis).then(
        () => null,
        (e: Error) => e,
      );
      expect(error).toBeInstanceOf(UsageError);
      expect(error!.message).toMatch(message);
      expect(error!.message).not.toContain('topsecret');
    }
    await expect(
      sweepCommand(['sweeps/ppo-learning-rate.json', '--jobs', '2', '--redis', 'redis://h'], () => {}),
    ).rejects.toThrow(
      /--jobs counts local worker processes; with --redis, start `npm run worker` processes instead/,
    );
  });
});
