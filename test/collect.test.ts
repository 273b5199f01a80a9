import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CollectMeta, collectData, collectOptionsFromArgs } from '../src/cli/collect.ts';
import { loadRunPolicy } from '../src/cli/run-policy.ts';
import { trainOptionsFromArgs, trainPpo } from '../src/cli/train.ts';
import { heuristicAction, LunarLander } from '../src/env/index.ts';
import { ReplayBuffer } from '../src/rl/world-model/index.ts';

const root = mkdtempSync(join(tmpdir(), 'lander-collect-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const quiet = () => {};

const collect = (out: string, flags: string[]) =>
  collectData({ ...collectOptionsFromArgs([...flags, '--out', out, '--quiet']), log: quiet });

const readMeta = (dir: string): CollectMeta => JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));

/** Returns of a copy's finished episodes within `steps` steps, run by hand: copy i starts from seed + i. */
function heuristicEpisodes(seed: number, steps: number): { end: number; ret: number; length: number }[] {
  const env = new LunarLander();
  let observation = env.reset({ seed }).observation;
  const episodes: { end: number; ret: number; length: number }[] = [];
  let ret = 0;
  let length = 0;
  for (let t = 0; t < steps; t++) {
    const step = env.step(heuristicAction(observation, false));
    ret += step.reward;
    length++;
    observation = step.observation;
    if (step.terminated || step.truncated) {
      episodes.push({ end: t, ret, length });
      observation = env.reset().observation;
      ret = 0;
      length = 0;
    }
  }
  return episodes;
}

describe('npm run collect', () => {
  it("writes a loadable buffer whose episodes are the env's, heuristic policy", async () => {
    const dir = join(root, 'heuristic');
    const meta = await collect(dir, [
      '--policy',
      'heuristic',
      '--steps',
      '900',
      '--envs',
      '2',
      '--seed',
      '3',
    ]);
    expect(readMeta(dir)).toEqual(meta);
    expect(meta).toMatchObject({ envId: 'LunarLander-v3', steps: 900, numEnvs: 2, temperature: null });
    const buffer = ReplayBuffer.load(join(dir, 'buffer.safetensors'), {
      observationSize: 8,
      actionSize: 1,
      capacity: 900,
    });
    expect(buffer.size).toBe(900);

    // The same episodes by hand, in the order they ended (by step, then copy).
    const byHand = [0, 1]
      .flatMap((copy) => heuristicEpisodes(3 + copy, 450).map((e) => ({ ...e, copy })))
      .sort((a, b) => a.end - b.end || a.copy - b.copy);
    expect(byHand.length).toBeGreaterThanOrEqual(2);
    expect(meta.episodes).toBe(byHand.length);
    byHand.forEach((e, i) => {
      expect(meta.returns[i]).toBeCloseTo(e.ret, 9);
      expect(meta.lengths[i]).toBe(e.length);
    });
    expect(meta.meanReturn).toBeCloseTo(meta.returns.reduce((a, b) => a + b, 0) / meta.episodes, 9);

    // The buffer agrees: each finished episode's rows sum to its return, every row chains to the previous
    // one of its episode, and every action is the heuristic's.
    const sums = new Map<number, { reward: number; rows: number }>();
    for (let i = 0; i < buffer.size; i++) {
      const row = buffer.view(i);
      const sum = sums.get(row.episode) ?? { reward: 0, rows: 0 };
      sums.set(row.episode, { reward: sum.reward + row.reward, rows: sum.rows + 1 });
      expect(row.action[0]).toBe(heuristicAction(row.observation, false));
      const { indices, count } = buffer.window(i, 2);
      if (row.step > 0) {
        expect(count).toBe(2);
        expect(buffer.view(indices[0]!).nextObservation).toEqual(row.observation);
      }
    }
    meta.episodeIds.forEach((id, i) => {
      expect(sums.get(id)!.rows).toBe(meta.lengths[i]);
      expect(sums.get(id)!.reward).toBeCloseTo(meta.returns[i]!, 2);
    });

    await expect(collect(dir, ['--policy', 'heuristic', '--steps', '10'])).rejects.toThrow(
      /meta.json|buffer.safetensors/,
    );
  });

  it('collects the continuous lander with wind, random actions mixed in, reproducibly', async () => {
    const flags = ['--policy', 'heuristic', '--env', 'LunarLanderContinuous-v3', '--wind', '--steps', '300'];
    const a = await collect(join(root, 'wind-a'), [...flags, '--random-fraction', '0.5']);
    await collect(join(root, 'wind-b'), [...flags, '--random-fraction', '0.5']);
    expect(a).toMatchObject({
      wind: true,
      actionSize: 2,
      envOptions: { continuous: true, enableWind: true },
    });
    const bytes = (name: string) => readFileSync(join(root, name, 'buffer.safetensors'));
    expect(bytes('wind-b')).toEqual(bytes('wind-a'));
    const buffer = ReplayBuffer.load(join(root, 'wind-a', 'buffer.safetensors'), { actionSize: 2 });
    let heuristic = 0;
    for (let i = 0; i < buffer.size; i++) {
      const row = buffer.view(i);
      const [main, lateral] = heuristicAction(row.observation, true);
      if (row.action[0] === Math.fround(main) && row.action[1] === Math.fround(lateral)) heuristic++;
    }
    // About half the actions are the heuristic's, the rest uniform.
    expect(heuristic / buffer.size).toBeGreaterThan(0.35);
    expect(heuristic / buffer.size).toBeLessThan(0.65);
  });

  it('rejects flags that do not fit, with the usage', () => {
    expect(() => collectOptionsFromArgs(['--steps', '10'])).toThrow(/--policy is required[\s\S]*usage:/);
    expect(() => collectOptionsFromArgs(['--policy', 'heuristic', '--temperature', '2'])).toThrow(
      /--temperature applies to a run's policy; --policy heuristic has no logits/,
    );
    expect(() => collectOptionsFromArgs(['--policy', 'random', '--random-fraction', '1.5'])).toThrow(
      /--random-fraction = 1.5 is invalid; expected a number in \[0, 1\]/,
    );
    expect(() => collectOptionsFromArgs(['--policy', join(root, 'no-such-run')])).toThrow(
      /cannot read .*no-such-run.*config.json/,
    );
  });

  it('acts with a PPO run, its newest checkpoint or a given one, at a temperature', async () => {
    const run = join(root, 'ppo');
    await trainPpo({
      ...trainOptionsFromArgs([
        ...['--steps', '2048', '--envs', '2', '--set', 'stepsPerEnv=512', '--set', 'minibatchSize=64'],
        ...['--set', 'hiddenSizes=[16]', '--eval-every', '0', '--eval-episodes', '1'],
        ...['--checkpoint-every', '1', '--out', run, '--quiet'],
      ]),
      log: quiet,
    });
    const latest = await collect(join(root, 'ppo-latest'), [
      '--policy',
      run,
      '--steps',
      '200',
      '--envs',
      '2',
    ]);
    expect(latest).toMatchObject({ policy: run, update: 2, temperature: 1, steps: 200 });
    const older = await collect(join(root, 'ppo-1'), [
      '--policy',
      `${run}@1`,
      '--steps',
      '50',
      '--temperature',
      '0',
    ]);
    expect(older).toMatchObject({ update: 1, temperature: 0 });

    // Temperature 0 is the greedy policy of that checkpoint.
    const { policy } = loadRunPolicy(run, 1);
    const buffer = ReplayBuffer.load(join(root, 'ppo-1', 'buffer.safetensors'));
    for (let i = 0; i < buffer.size; i++) {
      const row = buffer.view(i);
      expect(row.action[0]).toBe(policy.act(Float32Array.from(row.observation))[0]);
    }

    await expect(collect(join(root, 'ppo-9'), ['--policy', `${run}@9`, '--steps', '10'])).rejects.toThrow(
      /no checkpoint of update 9; expected one of 1, 2/,
    );
    await expect(
      collect(join(root, 'ppo-c'), ['--policy', run, '--env', 'LunarLanderContinuous-v3', '--steps', '10']),
    ).rejects.toThrow(/was trained on LunarLander-v3; expected --env LunarLander-v3/);
  });

  it('prints its usage on --help', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'collect', '--help'], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(
      /usage: npm run collect -- \[flags\][\s\S]*--policy[\s\S]*--random-fraction/,
    );
  });
});

describe('collect: a constant policy (an out-of-distribution set no trainer makes)', () => {
  const root = mkdtempSync(join(tmpdir(), 'lander-collect-constant-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('repeats its action on every step, and refuses one that does not fit the env', async () => {
    const out = join(root, 'spin');
    await collectData(
      collectOptionsFromArgs([
        '--policy',
        'constant:1',
        '--steps',
        '200',
        '--envs',
        '2',
        '--quiet',
        '--out',
        out,
      ]),
    );
    const buffer = ReplayBuffer.load(join(out, 'buffer.safetensors'));
    const actions = new Float32Array(buffer.size);
    buffer.gather(
      Int32Array.from({ length: buffer.size }, (_, i) => i),
      { actions },
    );
    expect(actions.every((a) => a === 1)).toBe(true);
    await expect(
      collectData(
        collectOptionsFromArgs([
          '--policy',
          'constant:0.5,1',
          '--steps',
          '10',
          '--quiet',
          '--out',
          join(root, 'bad'),
        ]),
      ),
    ).rejects.toThrow(/constant:0.5,1 has 2 numbers; the env's action takes 1/);
    for (const bad of ['constant:x', 'constant:', 'constant:1,']) {
      expect(() => collectOptionsFromArgs(['--policy', bad, '--out', join(root, 'x')])).toThrow(
        /constant:<action>/,
      );
    }
  });
});
