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

/**
 * A model-based row of seed 1 and its run folder holding the config.json a run made before trialKeepFrom and
 * trialGuardFrom existed would hold (infinite numbers written as strings); returns the row and that config.
 */
function rowFromBeforeTheGuard(name: string, envId: string, steps: number, flags: string[]) {
  const dir = join(root, name);
  const plan: RowPlan = { name, algorithm: 'simple', envId, seed: 1, steps, flags, label: '' };
  const args = ['--env', envId, '--seed', '1', '--steps', String(steps), '--out', dir, '--eval-every', '1'];
  const { config } = trainSimpleOptionsFromArgs([...args, ...flags]);
  const { trialKeepFrom: _k, trialGuardFrom: _g, ...older } = config!.simple;
  const written = { ...config, simple: { ...older, disagreementLimit: 'Infinity' } };
  writeJson(join(dir, 'config.json'), written);
  /** Writes the run's config.json with `simple` changed. */
  const rewrite = (simple: Record<string, unknown>) =>
    writeJson(join(dir, 'config.json'), { ...written, simple: { ...written.simple, ...simple } });
  return { plan, dir, rewrite };
}

describe('bench rows: the kept config check', () => {
  it('matches a run from before trialKeepFrom and trialGuardFrom, and names a field that differs', () => {
    const { plan, dir, rewrite } = rowFromBeforeTheGuard(
      'simple-continuous-s1-200k',
      'LunarLanderContinuous-v3',
      200_000,
      [],
    );
    expect(() => checkSameConfig(plan, dir, 'the kept row')).not.toThrow();
    rewrite({ horizon: 7 });
    expect(() => checkSameConfig(plan, dir, 'the kept row')).toThrow(
      /the kept row simple-continuous-s1-200k .* was made with another config: horizon 7 \(today 10\)/,
    );
  });

  it('ignores the trial settings of a row whose trials are off on both sides, and not otherwise', () => {
    // An ablation row: it reads back as Infinity / -Infinity, while today's discrete default is 240 / 150;
    // with no trials neither takes part.
    const { plan, dir, rewrite } = rowFromBeforeTheGuard(
      '9-contact-weight-s1-100k',
      'LunarLander-v3',
      100_000,
      ['--set', 'trialEpisodes=0'],
    );
    expect(() => checkSameConfig(plan, dir, 'the kept row')).not.toThrow();
    rewrite({ trialEpisodes: 4 });
    expect(() => checkSameConfig(plan, dir, 'the kept row')).toThrow(/trialEpisodes 4 \(today 0\)/);
  });
});
