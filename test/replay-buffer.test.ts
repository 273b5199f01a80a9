import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Linear, saveModule } from '../src/nn/index.ts';
import type { RlVectorStep } from '../src/rl/vector-env.ts';
import { ReplayBuffer, type Transition } from '../src/rl/world-model/index.ts';
import { Rng } from '../src/tensor/index.ts';

const root = mkdtempSync(join(tmpdir(), 'lander-replay-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A transition whose numbers encode `tag`, so rows can be told apart. */
function transition(
  tag: number,
  end: Partial<Pick<Transition, 'terminated' | 'truncated'>> = {},
): Transition {
  return {
    observation: [tag, tag + 0.25, tag + 0.5],
    action: [tag % 4, -tag],
    reward: tag / 10,
    nextObservation: [tag + 1, tag + 1.25, tag + 1.5],
    terminated: end.terminated ?? false,
    truncated: end.truncated ?? false,
  };
}

const small = (capacity: number) => new ReplayBuffer({ observationSize: 3, actionSize: 2, capacity });

/**
 * A buffer fed by `streams` interleaved streams with random episode ends (terminations and truncations),
 * more rows than it holds, plus the episode id and step of every row ever added, for brute-force checks.
 */
function randomBuffer(seed: number, capacity: number, rows: number, streams: number) {
  const rng = new Rng(seed);
  const buffer = new ReplayBuffer({ observationSize: 2, actionSize: 1, capacity });
  const open = new Array<number>(streams).fill(-1);
  const stepOf = new Array<number>(streams).fill(0);
  let nextId = 0;
  const added: { episode: number; step: number }[] = [];
  for (let r = 0; r < rows; r++) {
    const stream = rng.integer(0, streams);
    const end = rng.uniform() < 0.15;
    const cut = !end && rng.uniform() < 0.02;
    buffer.add(
      {
        observation: [r, stream],
        action: rng.integer(0, 4),
        reward: rng.normal(),
        nextObservation: [r + 1, stream],
        terminated: end && rng.uniform() < 0.5,
        truncated: end,
      },
      stream,
    );
    if (open[stream] === -1) {
      open[stream] = nextId++;
      stepOf[stream] = 0;
    } else {
      stepOf[stream]!++;
    }
    added.push({ episode: open[stream]!, step: stepOf[stream]! });
    if (end) open[stream] = -1;
    if (cut) {
      buffer.cutEpisodes();
      open.fill(-1);
    }
  }
  return { buffer, added };
}

describe('ReplayBuffer storage', () => {
  it('keeps the newest rows of a full ring, oldest first', () => {
    const buffer = small(5);
    for (let t = 0; t < 8; t++) buffer.add(transition(t));
    expect(buffer.size).toBe(5);
    expect(buffer.totalAdded).toBe(8);
    expect(buffer.writePosition).toBe(3);
    const rows = Array.from({ length: 5 }, (_, i) => buffer.view(i));
    expect(rows.map((r) => r.observation[0])).toEqual([3, 4, 5, 6, 7]);
    expect(rows.map((r) => r.step)).toEqual([3, 4, 5, 6, 7]);
    expect(rows[4]!.reward).toBeCloseTo(0.7, 6);
    expect(Array.from(rows[4]!.action)).toEqual([3, -7]);
    expect(Array.from(rows[4]!.nextObservation)).toEqual([8, 8.25, 8.5]);
    expect(() => buffer.view(5)).toThrow(/index 5 is out of range; expected an integer in \[0, 5\)/);
  });

  it('starts a new episode after a terminated or truncated row, and after cutEpisodes', () => {
    const buffer = small(10);
    buffer.add(transition(0));
    buffer.add(transition(1, { terminated: true }));
    buffer.add(transition(2));
    buffer.add(transition(3, { truncated: true }));
    buffer.add(transition(4));
    buffer.cutEpisodes();
    buffer.add(transition(5));
    const ids = Array.from({ length: 6 }, (_, i) => [buffer.view(i).episode, buffer.view(i).step]);
    expect(ids).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
      [2, 0],
      [3, 0],
    ]);
    expect(buffer.episodesStarted).toBe(4);
  });

  it('takes a discrete action as one number and checks every size', () => {
    const buffer = new ReplayBuffer({ observationSize: 2, actionSize: 1, capacity: 4 });
    buffer.add({
      observation: [1, 2],
      action: 3,
      reward: 1,
      nextObservation: [2, 3],
      terminated: false,
      truncated: false,
    });
    expect(Array.from(buffer.view(0).action)).toEqual([3]);
    expect(() =>
      buffer.add({
        observation: [1],
        action: 3,
        reward: 1,
        nextObservation: [2, 3],
        terminated: false,
        truncated: false,
      }),
    ).toThrow(/observation has 1 numbers; expected 2/);
    expect(() => new ReplayBuffer({ observationSize: 2, actionSize: 0, capacity: 4 })).toThrow(
      /actionSize = 0 is invalid; expected an integer in \[1,/,
    );
    expect(() => new ReplayBuffer({ observationSize: 2, actionSize: 1, capacity: 2 ** 24 + 1 })).toThrow(
      /capacity = 16777217 is invalid/,
    );
  });

  it('rejects a NaN, naming the field and the row, and stores nothing', () => {
    const buffer = small(4);
    buffer.add(transition(0));
    const bad = { ...transition(1), observation: [0, 1, Number.NaN] };
    expect(() => buffer.add(bad)).toThrow(
      /transition 1 \(stream 0\): observation is NaN at element 2; expected finite numbers/,
    );
    expect(() => buffer.add({ ...transition(1), reward: Number.NaN })).toThrow(/reward is NaN/);
    expect(() => buffer.add({ ...transition(1), action: [0, Number.POSITIVE_INFINITY] })).toThrow(
      /action is Infinity at element 1/,
    );
    expect(buffer.size).toBe(1);

    const step = vectorStep(2, [0, 1]);
    step.finalObservations[3 + 1] = Number.NaN;
    expect(() => buffer.addVectorStep(new Float32Array(6), new Float32Array(4), step)).toThrow(
      /addVectorStep: copy 1: nextObservation is NaN at element 1/,
    );
    expect(buffer.size).toBe(1);
  });
});

/** A vector step of `n` copies of observation size 3; `ended` lists which copies terminated. */
function vectorStep(n: number, ended: number[]): RlVectorStep {
  const step: RlVectorStep = {
    observations: new Float32Array(n * 3).map((_, i) => 100 + i),
    rewards: new Float32Array(n).map((_, i) => i + 0.5),
    terminated: new Uint8Array(n),
    truncated: new Uint8Array(n),
    finalObservations: new Float32Array(n * 3).map((_, i) => 200 + i),
    episodeReturns: new Float64Array(n),
    episodeLengths: new Int32Array(n),
  };
  for (const i of ended) step.terminated[i] = 1;
  return step;
}

describe('ReplayBuffer.addVectorStep', () => {
  it("takes an ended copy's next observation from finalObservations, not the reset one", () => {
    const buffer = small(10);
    const observations = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const actions = new Float32Array([0, 1, 2, 3, 4, 5]);
    buffer.addVectorStep(observations, actions, vectorStep(3, [1]));
    expect(Array.from(buffer.view(0).nextObservation)).toEqual([100, 101, 102]);
    expect(Array.from(buffer.view(1).nextObservation)).toEqual([203, 204, 205]);
    expect(Array.from(buffer.view(2).nextObservation)).toEqual([106, 107, 108]);
    expect(Array.from(buffer.view(1).observation)).toEqual([4, 5, 6]);
    expect(Array.from(buffer.view(2).action)).toEqual([4, 5]);
    expect(buffer.view(1).terminated).toBe(true);
    expect(buffer.view(2).reward).toBe(2.5);
    // Copy i is stream i: copy 1 starts a new episode, the others continue theirs.
    buffer.addVectorStep(observations, actions, vectorStep(3, []), 2);
    expect(buffer.size).toBe(5);
    expect([buffer.view(3).episode, buffer.view(3).step]).toEqual([0, 1]);
    expect([buffer.view(4).episode, buffer.view(4).step]).toEqual([3, 0]);
    expect(() => buffer.addVectorStep(observations, actions.subarray(2), vectorStep(3, []))).toThrow(
      /actions holds 4 numbers; expected 6 \(3 copies\)/,
    );
  });
});

describe('ReplayBuffer streams of a second env', () => {
  it('writes copy i of a second env to stream firstStream + i, and cutStream ends that stream alone', () => {
    const buffer = small(20);
    const two = new Float32Array(6);
    const one = new Float32Array(3);
    buffer.addVectorStep(two, new Float32Array(4), vectorStep(2, [])); // streams 0, 1: episodes 0, 1
    buffer.addVectorStep(one, new Float32Array(2), vectorStep(1, []), 1, 2); // stream 2: episode 2
    buffer.addVectorStep(two, new Float32Array(4), vectorStep(2, [])); // streams 0, 1 go on
    buffer.addVectorStep(one, new Float32Array(2), vectorStep(1, []), 1, 2); // stream 2 goes on
    const rows = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, k) => [
        buffer.view(from + k).episode,
        buffer.view(from + k).step,
      ]);
    expect(rows(0, 6)).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
      [0, 1],
      [1, 1],
      [2, 1],
    ]);
    buffer.cutStream(2);
    buffer.addVectorStep(two, new Float32Array(4), vectorStep(2, []));
    buffer.addVectorStep(one, new Float32Array(2), vectorStep(1, []), 1, 2);
    expect(rows(6, 9)).toEqual([
      [0, 2],
      [1, 2],
      [3, 0],
    ]);
    expect(() => buffer.cutStream(-1)).toThrow(/stream/);
  });
});

describe('ReplayBuffer sampling', () => {
  it('draws the same indices from the same seed, and every row uniformly', () => {
    const buffer = small(50);
    for (let t = 0; t < 80; t++) buffer.add(transition(t));
    const a = buffer.sample(1000, new Rng(7));
    expect(buffer.sample(1000, new Rng(7))).toEqual(a);
    expect(buffer.sample(1000, new Rng(8))).not.toEqual(a);
    expect(Math.min(...a)).toBe(0);
    expect(Math.max(...a)).toBe(49);
    const big = buffer.sample(100_000, new Rng(1));
    const mean = big.reduce((s, i) => s + i, 0) / big.length;
    expect(mean).toBeCloseTo(24.5, 0);
    expect(() => small(3).sample(1, new Rng(1))).toThrow(/empty/);
  });

  it('weights recent rows by 2^(-age / halfLife), as documented', () => {
    const buffer = new ReplayBuffer({ observationSize: 1, actionSize: 1, capacity: 1000 });
    for (let t = 0; t < 1500; t++) {
      buffer.add({
        observation: [t],
        action: 0,
        reward: 0,
        nextObservation: [t],
        terminated: false,
        truncated: false,
      });
    }
    const draws = buffer.sampleRecent(200_000, 100, new Rng(3));
    expect(buffer.sampleRecent(200_000, 100, new Rng(3))).toEqual(draws);
    const ageBelow = (a: number) => draws.filter((i) => 999 - i < a).length / draws.length;
    const expected = (a: number) => (1 - 2 ** (-a / 100)) / (1 - 2 ** -10);
    for (const a of [1, 50, 100, 200, 500]) expect(Math.abs(ageBelow(a) - expected(a))).toBeLessThan(0.005);
    expect(draws.every((i) => i >= 0 && i < 1000)).toBe(true);
    expect(() => buffer.sampleRecent(1, 0, new Rng(1))).toThrow(/halfLife = 0 is invalid/);
    const flat = buffer.sampleRecent(100_000, Number.POSITIVE_INFINITY, new Rng(1));
    expect(flat.reduce((s, i) => s + i, 0) / flat.length).toBeCloseTo(499.5, -1);
  });
});

describe('ReplayBuffer windows', () => {
  it('reach back within one episode only, and never past the oldest row kept', () => {
    for (const seed of [1, 2, 3]) {
      const { buffer, added } = randomBuffer(seed, 97, 400, 4);
      const kept = added.slice(added.length - buffer.size);
      const firstKeptStep = new Map<number, number>();
      for (const row of kept) if (!firstKeptStep.has(row.episode)) firstKeptStep.set(row.episode, row.step);
      for (const k of [1, 3, 8]) {
        const all = Array.from({ length: buffer.size }, (_, i) => i);
        const w = buffer.windows(all, k);
        for (let b = 0; b < buffer.size; b++) {
          const target = kept[b]!;
          const count = Math.min(k, target.step - firstKeptStep.get(target.episode)! + 1);
          expect(w.counts[b]).toBe(count);
          for (let j = 0; j < k; j++) {
            const index = w.indices[b * k + j]!;
            if (j < k - count) {
              expect([index, w.mask[b * k + j]]).toEqual([-1, 0]);
              continue;
            }
            expect(w.mask[b * k + j]).toBe(1);
            const row = buffer.view(index);
            expect(row.episode).toBe(target.episode);
            expect(row.step).toBe(target.step - (k - 1 - j));
          }
          expect(w.indices[b * k + k - 1]).toBe(b);
        }
      }
    }
  });

  it('gives one window with its count, and gathers masked positions as zeros', () => {
    const buffer = small(10);
    buffer.add(transition(0, { terminated: true }));
    for (let t = 1; t < 4; t++) buffer.add(transition(t));
    const w = buffer.window(3, 5);
    expect(w.count).toBe(3);
    expect(Array.from(w.indices)).toEqual([-1, -1, 1, 2, 3]);
    expect(Array.from(w.mask)).toEqual([0, 0, 1, 1, 1]);
    const observations = new Float32Array(5 * 3).fill(9);
    const rewards = new Float32Array(5).fill(9);
    const steps = new Int32Array(5).fill(9);
    buffer.gather(w.indices, { observations, rewards, steps });
    expect(Array.from(observations.subarray(0, 6))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(observations.subarray(6, 9))).toEqual([1, 1.25, 1.5]);
    expect(Array.from(steps)).toEqual([0, 0, 0, 1, 2]);
    expect(rewards[4]).toBeCloseTo(0.3, 6);
    expect(() => buffer.gather([0, 1], { actions: new Float32Array(3) })).toThrow(
      /out.actions holds 3 numbers; expected at least 2 rows x 2/,
    );
    expect(() => buffer.gather([4], { rewards })).toThrow(/index 4 is out of range/);
  });
});

describe('ReplayBuffer.splitByEpisode', () => {
  it('keeps whole episodes on one side, is seeded, and keeps sides as the buffer grows', () => {
    const { buffer } = randomBuffer(5, 5000, 3000, 8);
    const split = buffer.splitByEpisode(0.2, 11);
    expect(buffer.splitByEpisode(0.2, 11)).toEqual(split);
    expect(split.train.length + split.validation.length).toBe(buffer.size);
    const side = new Map<number, string>();
    const record = (indices: Int32Array, name: string) => {
      for (const i of indices) {
        const episode = buffer.view(i).episode;
        expect(side.get(episode) ?? name).toBe(name);
        side.set(episode, name);
      }
    };
    record(split.train, 'train');
    record(split.validation, 'validation');
    const episodes = split.trainEpisodes + split.validationEpisodes;
    expect(side.size).toBe(episodes);
    expect(Math.abs(split.validationEpisodes / episodes - 0.2)).toBeLessThan(0.08);
    expect(buffer.splitByEpisode(0.2, 12).validation).not.toEqual(split.validation);

    // More rows: every episode seen before keeps its side.
    for (let t = 0; t < 500; t++) {
      const row = { observation: [t, 0], action: 0, reward: 0, nextObservation: [t, 0] };
      buffer.add({ ...row, terminated: false, truncated: t % 37 === 0 }, t % 3);
    }
    const later = buffer.splitByEpisode(0.2, 11);
    for (const i of later.validation) {
      const before = side.get(buffer.view(i).episode);
      if (before !== undefined) expect(before).toBe('validation');
    }
  });

  it('holds out at least one episode, keeps one for training, and rejects what it cannot split', () => {
    const buffer = small(10);
    buffer.add(transition(0, { terminated: true }));
    expect(() => buffer.splitByEpisode(0.5, 1)).toThrow(
      /holds 1 episode\(s\); a validation split needs at least 2/,
    );
    expect(buffer.splitByEpisode(0, 1).train).toEqual(new Int32Array([0]));
    buffer.add(transition(1));
    const tiny = buffer.splitByEpisode(0.01, 1);
    expect([tiny.trainEpisodes, tiny.validationEpisodes]).toEqual([1, 1]);
    const most = buffer.splitByEpisode(0.99, 1);
    expect([most.trainEpisodes, most.validationEpisodes]).toEqual([1, 1]);
    expect(() => buffer.splitByEpisode(1, 1)).toThrow(
      /validationFraction = 1 is invalid; expected a number in \[0, 1\)/,
    );
  });
});

describe('ReplayBuffer files', () => {
  it('saves and loads bit for bit, and a loaded buffer continues as the original does', () => {
    const { buffer } = randomBuffer(9, 64, 150, 3);
    const file = join(root, 'ring.safetensors');
    buffer.save(file);
    const loaded = ReplayBuffer.load(file, { observationSize: 2, actionSize: 1, capacity: 64 });
    expect(loaded.toSafetensors()).toEqual(buffer.toSafetensors());
    expect(new Uint8Array(readFileSync(file))).toEqual(buffer.toSafetensors());
    expect([loaded.size, loaded.writePosition, loaded.totalAdded, loaded.episodesStarted]).toEqual([
      buffer.size,
      buffer.writePosition,
      buffer.totalAdded,
      buffer.episodesStarted,
    ]);
    for (let t = 0; t < 40; t++) {
      const row = {
        observation: [t, -t],
        action: t % 4,
        reward: t,
        nextObservation: [t, t],
        terminated: t % 11 === 0,
        truncated: false,
      };
      buffer.add(row, t % 3);
      loaded.add(row, t % 3);
    }
    expect(loaded.toSafetensors()).toEqual(buffer.toSafetensors());
    expect(loaded.windows([63, 62, 10], 6)).toEqual(buffer.windows([63, 62, 10], 6));
  });

  it('round-trips a buffer that is not full, and an empty one', () => {
    const buffer = small(100);
    for (let t = 0; t < 7; t++) buffer.add(transition(t * 1.37, { terminated: t === 3 }), t % 2);
    const again = ReplayBuffer.fromSafetensors(buffer.toSafetensors());
    expect(again.toSafetensors()).toEqual(buffer.toSafetensors());
    expect(again.view(6)).toEqual(buffer.view(6));
    const empty = ReplayBuffer.fromSafetensors(small(3).toSafetensors());
    expect([empty.size, empty.capacity]).toEqual([0, 3]);
  });

  it('names the file and the problem for a bad, truncated, foreign or mismatched file', () => {
    const buffer = small(8);
    for (let t = 0; t < 5; t++) buffer.add(transition(t));
    const bytes = buffer.toSafetensors();
    const truncated = join(root, 'truncated.safetensors');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 10));
    expect(() => ReplayBuffer.load(truncated)).toThrow(
      /ReplayBuffer.load: .*truncated.safetensors is not a valid safetensors file: .*truncated\?/,
    );
    const garbage = join(root, 'garbage.safetensors');
    writeFileSync(garbage, 'not a buffer at all');
    expect(() => ReplayBuffer.load(garbage)).toThrow(/garbage.safetensors is not a valid safetensors file/);
    expect(() => ReplayBuffer.load(join(root, 'missing.safetensors'))).toThrow(
      /ReplayBuffer.load: cannot read .*missing.safetensors/,
    );
    const model = join(root, 'model.safetensors');
    saveModule(model, new Linear(2, 2, { rng: new Rng(1) }));
    expect(() => ReplayBuffer.load(model)).toThrow(
      /model.safetensors: its metadata format is null; expected 'replay-buffer'/,
    );

    const good = join(root, 'good.safetensors');
    buffer.save(good);
    expect(() => ReplayBuffer.load(good, { observationSize: 8 })).toThrow(
      /good.safetensors: it holds observationSize = 3; expected 8/,
    );
    expect(() => ReplayBuffer.load(good, { actionSize: 1 })).toThrow(/it holds actionSize = 2; expected 1/);
    expect(() => ReplayBuffer.load(good, { capacity: 9 })).toThrow(/it holds capacity = 8; expected 9/);

    // A well-formed safetensors file whose contents contradict themselves.
    const lying = bytes.slice();
    const at = Buffer.from(lying).indexOf('"observationSize":"3"');
    expect(at).toBeGreaterThan(0);
    lying[at + '"observationSize":"'.length] = '4'.charCodeAt(0);
    expect(() => ReplayBuffer.fromSafetensors(lying, 'lying')).toThrow(
      /lying: tensor 'observations' has shape \[5, 3\]; expected \[5, 4\]/,
    );
    const sizeAt = Buffer.from(bytes).indexOf('"size":"5"');
    const tooBig = bytes.slice();
    tooBig[sizeAt + '"size":"'.length] = '6'.charCodeAt(0);
    expect(() => ReplayBuffer.fromSafetensors(tooBig, 'tooBig')).toThrow(
      /tooBig: totalAdded 5 is less than size 6/,
    );
  });
});
