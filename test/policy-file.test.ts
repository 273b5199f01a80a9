/**
 * A lone policy.safetensors: rebuilt without its run's config (src/rl/policy-file.ts), evaluated by
 * `npm run eval -- <file>` (src/cli/policy-file.ts), and written by the web page's training session with
 * the env in its metadata, so a policy downloaded from the page evaluates with no flag.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evalRun } from '../src/cli/eval.ts';
import { evaluatePolicy } from '../src/cli/evaluate.ts';
import { latestCheckpoint } from '../src/cli/run-folder.ts';
import { trainOptionsFromArgs, trainPpo } from '../src/cli/train.ts';
import { moduleToSafetensors } from '../src/nn/index.ts';
import { ActorCritic } from '../src/rl/actor-critic.ts';
import { policyFromSafetensors } from '../src/rl/policy-file.ts';
import { Rng } from '../src/tensor/index.ts';
import { createSession } from '../src/web/training-session.ts';
import { tinyPpoArgs } from './helpers/tiny-ppo.ts';

const root = mkdtempSync(join(tmpdir(), 'lander-policy-file-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const quiet = () => {};
const discrete = { observationSize: 8, actionSpace: { n: 4 } };
const box = { observationSize: 8, actionSpace: { shape: [2], low: [-1, -1], high: [1, 1] } };

function randomPolicy(space: typeof discrete | typeof box, normalize: boolean): ActorCritic {
  const policy = new ActorCritic({
    ...space,
    hiddenSizes: [12, 7],
    initialLogStd: -0.3,
    normalizeObservations: normalize,
    rng: new Rng(3),
  });
  if (normalize) {
    policy.obsMean.data.set([0.1, 1, -0.2, 0.3, 0, 0.5, 0.2, 0.1]);
    policy.obsVar.data.set([2, 0.5, 1, 3, 0.25, 1, 1, 0.1]);
  }
  return policy;
}

describe('policyFromSafetensors', () => {
  it('rebuilds hidden sizes, action kind and normalisation from the file alone', () => {
    const observations = Float32Array.from({ length: 5 * 8 }, (_, i) => Math.sin(i * 1.7) * 3);
    for (const [space, normalize] of [
      [discrete, false],
      [discrete, true],
      [box, true],
      [box, false],
    ] as const) {
      const saved = randomPolicy(space, normalize);
      const { policy, metadata } = policyFromSafetensors(
        moduleToSafetensors(saved, { note: 'x' }),
        space,
        'p',
      );
      expect(metadata.note).toBe('x');
      expect(policy.actor.layers.map((l) => l.weight.shape[1])).toEqual([12, 7, space === discrete ? 4 : 2]);
      expect(policy.normalizesObservations).toBe(normalize);
      expect(policy.discrete).toBe(space === discrete);
      expect(Array.from(policy.act(observations))).toEqual(Array.from(saved.act(observations)));
    }
  });

  it('names what does not fit the env', () => {
    const bytes = moduleToSafetensors(randomPolicy(discrete, false));
    expect(() => policyFromSafetensors(bytes, box, 'd.safetensors')).toThrow(
      /d\.safetensors is not a policy for this env: it has 4 action outputs and no logStd \(discrete\); the env expects 2 continuous/,
    );
    expect(() => policyFromSafetensors(bytes, { ...discrete, observationSize: 6 }, 'd')).toThrow(
      /first layer takes 8 observation values, the env gives 6/,
    );
    expect(() => policyFromSafetensors(new Uint8Array(3), discrete, 'short.safetensors')).toThrow(
      /short\.safetensors is not a valid safetensors file/,
    );
  });
});

describe('npm run eval -- <policy.safetensors>', () => {
  it("evaluates a run's checkpoint file given --env, as the run folder evaluates", async () => {
    const dir = join(root, 'ppo');
    await trainPpo({
      ...trainOptionsFromArgs(tinyPpoArgs(dir)),
      log: quiet,
    });
    const file = join(root, 'checkpoint-policy.safetensors');
    copyFileSync(join(latestCheckpoint(dir)!.path, 'policy.safetensors'), file);
    expect(() => evalRun([file, '--episodes', '2'], quiet)).toThrow(
      /does not say which env.*--env LunarLander-v3/,
    );
    const fromFile = evalRun([file, '--episodes', '3', '--env', 'LunarLander-v3'], quiet);
    const fromRun = evalRun([dir, '--episodes', '3'], quiet);
    expect(fromFile.returns).toEqual(fromRun.returns);
    expect(existsSync(join(root, 'checkpoint-policy.eval.json'))).toBe(true);
    expect(() => evalRun([dir, '--env', 'LunarLander-v3'], quiet)).toThrow(
      /--env and --wind are for a policy file/,
    );
  });

  it('says a missing policy file is missing, not a run folder without config.json', () => {
    const missing = join(root, 'nowhere', 'x.safetensors');
    expect(() => evalRun([missing], quiet)).toThrow(
      /^eval: no such file .*nowhere\/x\.safetensors; expected a policy\.safetensors or a run folder$/,
    );
  });

  it("evaluates the web page's download with no flag: its metadata names the env, wind included", () => {
    const session = createSession({ lander: 'wind', agent: 'ppo', seed: 4, steps: 100_000 });
    session.update();
    const file = join(root, 'downloaded.safetensors');
    writeFileSync(file, session.weights());
    const summary = evalRun([file, '--episodes', '2', '--seed', '7'], quiet);
    const expected = evaluatePolicy(session.policy, 'LunarLander-v3', { enableWind: true }, 2, 7);
    expect(summary.returns).toEqual(expected.returns);
    const written = JSON.parse(readFileSync(join(root, 'downloaded.eval.json'), 'utf8'));
    expect(written.envOptions.enableWind).toBe(true);
    expect(written.metadata.trainedBy).toBe('lander-engine web page');
  });

  it('the training session rejects an agent or seed it does not offer', () => {
    expect(() => createSession({ lander: 'discrete', agent: 'dqn' as 'ppo', seed: 1, steps: 10 })).toThrow(
      /agent 'dqn' is not offered in the page; expected 'ppo' or 'simple'/,
    );
    expect(() => createSession({ lander: 'discrete', agent: 'ppo', seed: -2, steps: 10 })).toThrow(
      /seed = -2 is invalid/,
    );
    expect(() => createSession({ lander: 'moon' as 'wind', agent: 'ppo', seed: 1, steps: 10 })).toThrow(
      /lander 'moon' is not offered; expected one of discrete, continuous, wind/,
    );
  });
});
