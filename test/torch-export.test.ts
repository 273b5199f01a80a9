/**
 * A PPO policy exported to PyTorch's layout (src/rl/torch-export.ts) gives the same greedy actions in
 * `torch.nn.Sequential` as in the engine. The PyTorch half runs the README's Python lines as they are, on a
 * trained run folder, and needs a Python that can `import torch` (Debian: `apt-get install python3-torch`);
 * without one it skips and says why in its name. The layout itself is checked in TypeScript everywhere.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRunPolicy } from '../src/cli/run-policy.ts';
import { trainOptionsFromArgs, trainPpo } from '../src/cli/train.ts';
import { decodeSafetensors } from '../src/nn/index.ts';
import { ActorCritic } from '../src/rl/actor-critic.ts';
import { TORCH_POLICY_FILE, torchPolicy, torchPolicySafetensors } from '../src/rl/torch-export.ts';
import { noGrad, Rng, tensor } from '../src/tensor/index.ts';

const root = mkdtempSync(join(tmpdir(), 'lander-torch-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The first of Debian's python3 and the python3 on PATH that can import torch, with its versions. */
function findTorchPython(): { python: string; versions: string } | null {
  for (const python of ['/usr/bin/python3', 'python3']) {
    const probe = spawnSync(
      python,
      ['-c', 'import sys, torch; print(f"python {sys.version.split()[0]}, torch {torch.__version__}")'],
      { encoding: 'utf8', timeout: 120_000 },
    );
    if (probe.status === 0) return { python, versions: probe.stdout.trim() };
  }
  return null;
}

const torchPython = findTorchPython();
const torchNote = torchPython
  ? `${torchPython.python}: ${torchPython.versions}`
  : 'SKIPPED: no python3 that can import torch (apt-get install python3-torch libopenblas0-pthread)';
if (!torchPython) console.warn(`test/torch-export.test.ts: ${torchNote}`);

const observationSize = 8;
const discreteSpace = { n: 4 };
const boxSpace = { shape: [2], low: [-1, -1], high: [1, 1] };

/** A fresh policy with a head scaled up (so logits differ by O(1), not 0.01) and, when normalising, stats. */
function makePolicy(discrete: boolean, normalize: boolean, seed: number): ActorCritic {
  const rng = new Rng(seed);
  const policy = new ActorCritic({
    observationSize,
    actionSpace: discrete ? discreteSpace : boxSpace,
    hiddenSizes: [16, 12],
    initialLogStd: -0.5,
    normalizeObservations: normalize,
    rng,
  });
  const head = policy.actor.layers[policy.actor.layers.length - 1]!;
  for (let i = 0; i < head.weight.data.length; i++) head.weight.data[i]! *= 100;
  for (let i = 0; i < head.bias!.data.length; i++) head.bias!.data[i] = rng.normal() * 0.1;
  if (normalize) {
    for (let j = 0; j < observationSize; j++) {
      policy.obsMean.data[j] = rng.normal() * 3;
      policy.obsVar.data[j] = 10 ** (rng.uniform() * 4 - 2);
    }
  }
  return policy;
}

/** Raw observations around the policy's statistics, a few far enough out to hit the ±10 clip. */
function makeObservations(policy: ActorCritic, rows: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const obs = new Float32Array(rows * observationSize);
  for (let r = 0; r < rows; r++) {
    const spread = r % 8 === 7 ? 50 : 2;
    for (let j = 0; j < observationSize; j++) {
      const std = Math.sqrt(policy.obsVar.data[j]!);
      obs[r * observationSize + j] = policy.obsMean.data[j]! + rng.normal() * spread * std;
    }
  }
  return obs;
}

/** The actor's raw outputs (logits or means) on raw observations, as the engine computes them. */
function actorOutputs(policy: ActorCritic, raw: Float32Array): Float32Array {
  const rows = raw.length / observationSize;
  return noGrad(() => {
    const x = tensor(policy.normalizeObservations(raw, new Float32Array(raw.length)), [
      rows,
      observationSize,
    ]);
    return policy.actor.forward(x).data.slice();
  });
}

/** The exported Sequential evaluated by hand, from the file's tensors and its `layers` metadata. */
function runSequential(bytes: Uint8Array, raw: Float32Array): Float32Array {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const layers = JSON.parse(metadata.layers!) as [string, ...(number | boolean)[]][];
  let x = Float64Array.from(raw);
  let width = observationSize;
  const rows = raw.length / width;
  layers.forEach(([name, ...args], index) => {
    if (name === 'Linear') {
      const [inF, outF] = args as [number, number];
      const w = tensors[`${index}.weight`]!;
      const b = tensors[`${index}.bias`]!;
      expect(w.shape).toEqual([outF, inF]);
      expect(inF).toBe(width);
      const y = new Float64Array(rows * outF);
      for (let r = 0; r < rows; r++) {
        for (let o = 0; o < outF; o++) {
          let s = b.data[o]!;
          for (let i = 0; i < inF; i++) s += w.data[o * inF + i]! * x[r * inF + i]!;
          y[r * outF + o] = s;
        }
      }
      x = y;
      width = outF;
    } else if (name === 'Tanh') {
      x = x.map(Math.tanh);
    } else if (name === 'Hardtanh') {
      const [lo, hi] = args as [number, number];
      x = x.map((v) => Math.min(hi, Math.max(lo, v)));
    } else {
      throw new Error(`unexpected layer ${name}`);
    }
  });
  return Float32Array.from(x);
}

function argmaxRows(values: ArrayLike<number>, width: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < values.length / width; r++) {
    let best = 0;
    for (let k = 1; k < width; k++) if (values[r * width + k]! > values[r * width + best]!) best = k;
    out.push(best);
  }
  return out;
}

const cases = [
  { name: 'discrete, normalised', discrete: true, normalize: true },
  { name: 'discrete', discrete: true, normalize: false },
  { name: 'continuous, normalised', discrete: false, normalize: true },
  { name: 'continuous', discrete: false, normalize: false },
];

describe('PPO policy in PyTorch layout', () => {
  it('names and transposes the weights as nn.Sequential, folding in the normalisation and its clip', () => {
    const policy = makePolicy(true, true, 3);
    const { tensors, metadata } = torchPolicy(policy);
    expect(JSON.parse(metadata.layers!)).toEqual([
      ['Linear', 8, 8],
      ['Hardtanh', -10, 10],
      ['Linear', 8, 16],
      ['Tanh'],
      ['Linear', 16, 12],
      ['Tanh'],
      ['Linear', 12, 4],
    ]);
    expect(Object.keys(tensors)).toEqual([
      '0.weight',
      '0.bias',
      '2.weight',
      '2.bias',
      '4.weight',
      '4.bias',
      '6.weight',
      '6.bias',
    ]);
    const first = policy.actor.layers[0]!;
    expect(tensors['2.weight']!.shape).toEqual([16, 8]);
    expect(tensors['2.weight']!.data[3 * 8 + 5]).toBe(first.weight.data[5 * 16 + 3]);
    expect(metadata.action).toBe('argmax');
    const plain = torchPolicy(makePolicy(false, false, 4));
    expect(JSON.parse(plain.metadata.layers!)[0]).toEqual(['Linear', 8, 16]);
    expect(plain.metadata.action).toBe('mean');
    expect(JSON.parse(plain.metadata.action_low!)).toEqual([-1, -1]);
    expect(JSON.parse(plain.metadata.log_std!)).toEqual([-0.5, -0.5]);
  });

  it.each(cases)(
    'computes what the policy computes on raw observations ($name)',
    ({ discrete, normalize }) => {
      const policy = makePolicy(discrete, normalize, 5);
      const obs = makeObservations(policy, 64, 6);
      const ours = actorOutputs(policy, obs);
      const exported = runSequential(torchPolicySafetensors(policy), obs);
      for (let i = 0; i < ours.length; i++) {
        expect(Math.abs(exported[i]! - ours[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(ours[i]!)));
      }
      if (discrete) expect(argmaxRows(exported, 4)).toEqual(Array.from(policy.act(obs)));
    },
  );

  it.skipIf(!torchPython)(
    `loads into torch.nn.Sequential with the README's lines and acts greedily as we do (${torchNote})`,
    async () => {
      // A run trained one update, with normalised observations, where the README's lines look for it.
      const work = join(root, 'py');
      const run = join(work, 'runs', 'ppo-s1');
      mkdirSync(join(work, 'runs'), { recursive: true });
      const options = trainOptionsFromArgs(
        ['--steps', '4096', '--envs', '2', '--set', 'stepsPerEnv=256', '--set', 'hiddenSizes=[16]'].concat(
          ['--set', 'normalizeObservations=true', '--eval-every', '0', '--checkpoint-every', '1'],
          ['--out', run, '--quiet'],
        ),
      );
      await trainPpo({ ...options, stopAfter: 1, log: () => {} });
      const trained = loadRunPolicy(run).policy;
      expect(trained.normalizesObservations).toBe(true);

      // The trained run plus fresh policies of every kind, each with its own observations.
      const jobs: {
        file: string;
        obs: number[];
        discrete: boolean;
        outputs: Float32Array;
        actions: number[];
      }[] = [];
      const add = (policy: ActorCritic, file: string, seed: number) => {
        const obs = makeObservations(policy, 64, seed);
        const actions = Array.from(policy.act(obs));
        jobs.push({
          file,
          obs: Array.from(obs),
          discrete: policy.discrete,
          outputs: actorOutputs(policy, obs),
          actions,
        });
      };
      add(trained, '', 10);
      cases.forEach(({ discrete, normalize }, k) => {
        const policy = makePolicy(discrete, normalize, 20 + k);
        const file = join(work, `case-${k}.${TORCH_POLICY_FILE}`);
        writeFileSync(file, torchPolicySafetensors(policy));
        add(policy, file, 30 + k);
      });
      const jobsFile = join(work, 'jobs.json');
      writeFileSync(jobsFile, JSON.stringify(jobs.map(({ file, obs }) => ({ file, obs }))));

      // The README's Python block, verbatim, after `observations` (the trained run's); then the other files.
      const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
      const block = /```python\n([\s\S]*?)```/.exec(readme)?.[1];
      expect(block, 'README.md has a ```python block').toMatch(/def load_policy[\s\S]*load_state_dict/);
      const script = [
        'import json',
        `jobs = json.load(open(${JSON.stringify(jobsFile)}))`,
        'observations = [jobs[0]["obs"][i:i + 8] for i in range(0, len(jobs[0]["obs"]), 8)]',
        block,
        'results = [{"out": out.flatten().tolist(), "actions": actions.flatten().tolist()}]',
        'for job in jobs[1:]:',
        '    policy, meta = load_policy(job["file"])',
        '    obs = torch.tensor(job["obs"], dtype=torch.float32).reshape(-1, 8)',
        '    with torch.no_grad():',
        '        out = policy(obs)',
        '    low, high = (torch.tensor(json.loads(meta[k])) for k in ("action_low", "action_high")) if meta["action"] == "mean" else (None, None)',
        '    actions = out.argmax(-1) if meta["action"] == "argmax" else torch.max(torch.min(out, high), low)',
        '    results.append({"out": out.flatten().tolist(), "actions": actions.flatten().tolist()})',
        'print(json.dumps(results))',
      ].join('\n');
      const py = spawnSync(torchPython!.python, ['-c', script], {
        cwd: work,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(py.stderr + py.stdout, 'python ran').not.toMatch(/Traceback/);
      expect(py.status).toBe(0);
      const results = JSON.parse(py.stdout.trim().split('\n').pop()!) as {
        out: number[];
        actions: number[];
      }[];
      expect(results).toHaveLength(jobs.length);
      jobs.forEach((job, k) => {
        const { out, actions } = results[k]!;
        expect(out).toHaveLength(job.outputs.length);
        let worst = 0;
        for (let i = 0; i < out.length; i++) {
          worst = Math.max(worst, Math.abs(out[i]! - job.outputs[i]!) / (1 + Math.abs(job.outputs[i]!)));
        }
        if (job.discrete) expect(new Set(job.actions).size, `job ${k}: distinct actions`).toBeGreaterThan(1);
        expect(worst, `job ${k}: largest relative difference of the actor outputs`).toBeLessThan(1e-4);
        if (job.discrete) {
          expect(actions, `job ${k}: greedy actions`).toEqual(job.actions);
        } else {
          actions.forEach((a, i) => {
            expect(Math.abs(a - job.actions[i]!), `job ${k}: action ${i}`).toBeLessThan(1e-4);
          });
        }
      });
    },
    120_000,
  );
});
