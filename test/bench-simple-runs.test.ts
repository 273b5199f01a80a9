/**
 * The model-based bench's check that a kept row was made with today's config (bench/simple-runs.ts): a run
 * folder from before a field existed matches where a resume reads the field back as today's value, and any
 * real difference is named.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSameConfig, type RowPlan } from '../bench/simple-runs.ts';
import { writeJson } from '../src/cli/run-folder.ts';
import { trainSimpleOptionsFromArgs } from '../src/cli/train-simple.ts';

const root = mkdtempSync(join(tmpdir(), 'lander-bench-rows-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('bench rows: the kept config check', () => {
  it('matches a run from before trialKeepFrom and trialGuardFrom, and names a field that differs', () => {
    const dir = join(root, 'continuous-s1');
    const plan: RowPlan = {
      name: 'simple-continuous-s1-200k',
      algorithm: 'simple',
      envId: 'LunarLanderContinuous-v3',
      seed: 1,
      steps: 200_000,
      flags: [],
      label: '',
    };
    const { config } = trainSimpleOptionsFromArgs([
      ...['--env', plan.envId, '--seed', '1', '--steps', '200000', '--out', dir, '--eval-every', '1'],
    ]);
    // As config.json held it before the two fields: infinite numbers written as strings.
    const { trialKeepFrom: _k, trialGuardFrom: _g, ...older } = config!.simple;
    const written = { ...config, simple: { ...older, disagreementLimit: 'Infinity' } };
    writeJson(join(dir, 'config.json'), written);
    expect(() => checkSameConfig(plan, dir, 'the kept row')).not.toThrow();
    writeJson(join(dir, 'config.json'), { ...written, simple: { ...written.simple, horizon: 7 } });
    expect(() => checkSameConfig(plan, dir, 'the kept row')).toThrow(
      /the kept row simple-continuous-s1-200k .* was made with another config: horizon 7 \(today 10\)/,
    );
  });

  it('ignores the trial settings of a row whose trials are off on both sides, and not otherwise', () => {
    const dir = join(root, 'discrete-s1');
    const plan: RowPlan = {
      name: '9-contact-weight-s1-100k',
      algorithm: 'simple',
      envId: 'LunarLander-v3',
      seed: 1,
      steps: 100_000,
      flags: ['--set', 'trialEpisodes=0'],
      label: '',
    };
    const { config } = trainSimpleOptionsFromArgs([
      ...['--env', plan.envId, '--seed', '1', '--steps', '100000', '--out', dir, '--eval-every', '1'],
      ...plan.flags,
    ]);
    // An ablation row from before trialKeepFrom and trialGuardFrom: it reads back as Infinity / -Infinity,
    // while today's discrete default is 240 / 150; with no trials neither takes part.
    const { trialKeepFrom: _k, trialGuardFrom: _g, ...older } = config!.simple;
    const written = { ...config, simple: { ...older, disagreementLimit: 'Infinity' } };
    writeJson(join(dir, 'config.json'), written);
    expect(() => checkSameConfig(plan, dir, 'the kept row')).not.toThrow();
    writeJson(join(dir, 'config.json'), { ...written, simple: { ...written.simple, trialEpisodes: 4 } });
    expect(() => checkSameConfig(plan, dir, 'the kept row')).toThrow(/trialEpisodes 4 \(today 0\)/);
  });
});
