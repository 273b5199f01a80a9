import { afterAll, describe, expect, it } from 'vitest';
import { LunarLander } from '../src/env/lunar-lander.ts';
import { makeVectorEnv } from '../src/env/make-vector-env.ts';
import { SyncVectorEnv, type VectorEnv } from '../src/env/vector.ts';
import { WorkerVectorEnv } from '../src/env/worker-vector.ts';
import { Rng } from '../src/rng/index.ts';

/** Deterministic pseudo-random actions for step t (one per copy, or [main, lateral] pairs). */
function actionsFor(rng: Rng, numEnvs: number, continuous: boolean): Float32Array | Int32Array {
  if (!continuous) return Int32Array.from({ length: numEnvs }, () => rng.integer(0, 4));
  return Float32Array.from({ length: 2 * numEnvs }, () => rng.uniform(-1, 1));
}

/** Everything a vector env returns over `steps` steps from `seed`, copied. */
function rollout(env: VectorEnv, seed: number, steps: number, continuous: boolean) {
  const rng = new Rng(99);
  const out: unknown[] = [Array.from(env.reset(seed).observations)];
  for (let t = 0; t < steps; t++) {
    const r = env.step(actionsFor(rng, env.numEnvs, continuous));
    const ended = Array.from(r.terminated, (x, i) => x | r.truncated[i]!);
    out.push({
      observations: Array.from(r.observations),
      rewards: Array.from(r.rewards),
      terminated: Array.from(r.terminated),
      truncated: Array.from(r.truncated),
      // Only the entries of copies that ended this step are meaningful.
      final: ended.map((e, i) => (e ? Array.from(r.finalObservations.subarray(8 * i, 8 * i + 8)) : null)),
      returns: ended.map((e, i) => (e ? r.episodeReturns[i] : null)),
      lengths: ended.map((e, i) => (e ? r.episodeLengths[i] : null)),
    });
  }
  return out;
}

describe('SyncVectorEnv', () => {
  it('matches independent envs seeded seed + i, with same-step autoreset', async () => {
    const numEnvs = 3;
    const vector = new SyncVectorEnv({ numEnvs, envOptions: { maxEpisodeSteps: 60 } });
    expect(vector.observationSize).toBe(8);
    const singles = Array.from({ length: numEnvs }, () => new LunarLander({ maxEpisodeSteps: 60 }));
    const first = vector.reset(10).observations;
    singles.forEach((env, i) => {
      expect(first.subarray(8 * i, 8 * i + 8)).toEqual(env.reset({ seed: 10 + i }).observation);
    });
    const returns = [0, 0, 0];
    const lengths = [0, 0, 0];
    const rng = new Rng(4);
    let endings = 0;
    for (let t = 0; t < 300; t++) {
      const actions = actionsFor(rng, numEnvs, false);
      const r = vector.step(actions);
      for (let i = 0; i < numEnvs; i++) {
        const single = singles[i]!.step(actions[i]!);
        returns[i]! += single.reward;
        lengths[i]! += 1;
        expect(r.rewards[i]).toBe(Math.fround(single.reward));
        expect(r.terminated[i]).toBe(single.terminated ? 1 : 0);
        expect(r.truncated[i]).toBe(single.truncated ? 1 : 0);
        if (single.terminated || single.truncated) {
          endings++;
          expect(r.finalObservations.subarray(8 * i, 8 * i + 8)).toEqual(single.observation);
          expect(r.episodeReturns[i]).toBeCloseTo(returns[i]!, 9);
          expect(r.episodeLengths[i]).toBe(lengths[i]);
          returns[i] = 0;
          lengths[i] = 0;
          // Autoreset continues the copy's generator, as a reset without a seed does.
          expect(r.observations.subarray(8 * i, 8 * i + 8)).toEqual(singles[i]!.reset().observation);
        } else {
          expect(r.observations.subarray(8 * i, 8 * i + 8)).toEqual(single.observation);
        }
      }
    }
    expect(endings).toBeGreaterThan(5);
    await vector.close();
    expect(() => vector.step(new Int32Array(3))).toThrow(/after close/);
  });

  it('rejects bad actions, naming the copy', async () => {
    const vector = new SyncVectorEnv({ numEnvs: 2 });
    expect(() => vector.step(new Int32Array(2))).toThrow(/before reset/);
    vector.reset(0);
    expect(() => vector.step(new Int32Array(3))).toThrow(/got 3 actions; expected 2/);
    expect(() => vector.step(Int32Array.from([0, 4]))).toThrow(
      /action 4 of copy 1 is outside the action space/,
    );
    const continuous = new SyncVectorEnv({ numEnvs: 2, envOptions: { continuous: true } });
    continuous.reset(0);
    expect(() => continuous.step(new Float32Array(2))).toThrow(/expected 4/);
    expect(() => continuous.step(Float32Array.from([0, 0, 0, 2]))).toThrow(/action 2 of copy 1/);
    expect(() => new SyncVectorEnv({ numEnvs: 0 })).toThrow(/numEnvs = 0/);
    await vector.close();
    await continuous.close();
  });

  it('clips continuous actions to [-1, 1] when asked, as the reference does', async () => {
    const envOptions = { continuous: true };
    const clipping = new SyncVectorEnv({ numEnvs: 2, envOptions, clipActions: true });
    const plain = new SyncVectorEnv({ numEnvs: 2, envOptions });
    expect(Array.from(clipping.reset(5).observations)).toEqual(Array.from(plain.reset(5).observations));
    for (let t = 0; t < 20; t++) {
      const a = clipping.step(Float32Array.from([3, -0.2, 0.7, -9]));
      expect(Array.from(a.observations)).toEqual(
        Array.from(plain.step(Float32Array.from([1, -0.2, 0.7, -1])).observations),
      );
    }
    expect(() => clipping.step(Float32Array.from([Number.NaN, 0, 0, 0]))).toThrow(/action NaN of copy 0/);
    // A wrong length is reported, not replaced by the previous step's clipped actions.
    expect(() => clipping.step(Float32Array.from([3, -0.2]))).toThrow(/got 2 actions; expected 4/);
    await clipping.close();
    await plain.close();
  });
});

describe('WorkerVectorEnv', () => {
  const opened: VectorEnv[] = [];
  afterAll(async () => {
    for (const env of opened) await env.close();
  });

  for (const continuous of [false, true]) {
    it(`gives exactly the in-thread results (${continuous ? 'continuous' : 'discrete'})`, async () => {
      const envOptions = { continuous, maxEpisodeSteps: 80 };
      const numEnvs = 5;
      const workers = await WorkerVectorEnv.create({ numEnvs, numThreads: 2, envOptions });
      opened.push(workers);
      expect(workers.numWorkers).toBe(1);
      const sync = new SyncVectorEnv({ numEnvs, envOptions });
      expect(rollout(workers, 21, 200, continuous)).toEqual(rollout(sync, 21, 200, continuous));
      // A second reset with the same seed replays the same episode starts.
      expect(Array.from(workers.reset(21).observations)).toEqual(Array.from(sync.reset(21).observations));
    });
  }

  it('works with every copy in workers (mainThreadShare off)', async () => {
    const workers = await WorkerVectorEnv.create({ numEnvs: 4, numThreads: 2, mainThreadShare: false });
    opened.push(workers);
    expect(workers.numWorkers).toBe(2);
    const sync = new SyncVectorEnv({ numEnvs: 4 });
    expect(rollout(workers, 3, 100, false)).toEqual(rollout(sync, 3, 100, false));
  });

  it('clips continuous actions when asked', async () => {
    const envOptions = { continuous: true };
    const workers = await WorkerVectorEnv.create({
      numEnvs: 2,
      numThreads: 2,
      envOptions,
      clipActions: true,
    });
    opened.push(workers);
    const plain = new SyncVectorEnv({ numEnvs: 2, envOptions });
    expect(Array.from(workers.reset(5).observations)).toEqual(Array.from(plain.reset(5).observations));
    for (let t = 0; t < 20; t++) {
      const a = Array.from(workers.step(Float32Array.from([3, -0.2, 0.7, -9])).observations);
      expect(a).toEqual(Array.from(plain.step(Float32Array.from([1, -0.2, 0.7, -1])).observations));
    }
    expect(() => workers.step(Float32Array.from([3, -0.2]))).toThrow(/got 2 actions; expected 4/);
  });

  it('makeVectorEnv builds either kind for an id', async () => {
    const inThread = await makeVectorEnv('LunarLanderContinuous-v3', { numEnvs: 3 });
    expect(inThread).toBeInstanceOf(SyncVectorEnv);
    expect(inThread.actionSpace).toMatchObject({ shape: [2] });
    const threaded = await makeVectorEnv('LunarLander-v3', { numEnvs: 3, threads: 2 });
    opened.push(threaded);
    expect(threaded).toBeInstanceOf(WorkerVectorEnv);
    expect(threaded.actionSpace).toMatchObject({ n: 4 });
    await inThread.close();
  });

  it('reports a bad action, and a step after close', async () => {
    const workers = await WorkerVectorEnv.create({ numEnvs: 2, numThreads: 2 });
    workers.reset(0);
    expect(() => workers.step(Int32Array.from([0, 7]))).toThrow(/action 7 of copy 1/);
    await workers.close();
    expect(() => workers.step(new Int32Array(2))).toThrow(/after close/);
    await expect(WorkerVectorEnv.create({ numEnvs: 2, numThreads: 3 })).rejects.toThrow(/numThreads = 3/);
  });
});
