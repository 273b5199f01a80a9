import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FPS, H, HELIPAD_Y, LEG_DOWN, SCALE, W } from '../src/env/constants.ts';
import { heuristicAction } from '../src/env/heuristic.ts';
import { LunarLander } from '../src/env/lunar-lander.ts';
import { makeEnv } from '../src/env/make-env.ts';
import { Box, Discrete } from '../src/env/spaces.ts';
import { Rng } from '../src/rng/index.ts';
import { trajectoryHash } from './helpers/env-trajectory.ts';

/** The reference's shaping term (spec §1.5 step 9) from a float64 state. */
function shaping(s: ArrayLike<number>): number {
  return (
    -100 * Math.sqrt(s[0]! * s[0]! + s[1]! * s[1]!) -
    100 * Math.sqrt(s[2]! * s[2]! + s[3]! * s[3]!) -
    100 * Math.abs(s[4]!) +
    10 * s[6]! +
    10 * s[7]!
  );
}

/** Runs `policy` until the episode ends; returns the last step's result and the step count. */
function runEpisode(
  env: LunarLander,
  seed: number,
  policy: (obs: Float32Array, t: number) => number | number[],
) {
  let observation = env.reset({ seed }).observation;
  for (let t = 0; ; t++) {
    const result = env.step(policy(observation, t));
    observation = result.observation;
    if (result.terminated || result.truncated) return { result, steps: t + 1 };
  }
}

describe('LunarLander options and ids', () => {
  it('validates options as the reference does', () => {
    expect(() => new LunarLander({ gravity: -12 })).toThrow(/gravity = -12 .*-12 < gravity < 0/);
    expect(() => new LunarLander({ gravity: 0 })).toThrow(/gravity = 0/);
    expect(() => new LunarLander({ gravity: Number.NaN })).toThrow(/finite number/);
    expect(() => new LunarLander({ maxEpisodeSteps: 0 })).toThrow(/maxEpisodeSteps = 0/);
    expect(() => new LunarLander({ maxEpisodeSteps: 2.5 })).toThrow(/positive integer/);
    expect(() => new LunarLander({ continuous: 1 as unknown as boolean })).toThrow(/continuous = 1.*boolean/);
    expect(() => new LunarLander({ gravityy: -5 } as never)).toThrow(/unknown option 'gravityy'/);
    expect(new LunarLander({ gravity: -11.99 }).options.gravity).toBe(-11.99);
  });

  it('only warns for wind and turbulence outside the recommended ranges', () => {
    const warnings: string[] = [];
    const original = console.warn;
    console.warn = (message: string) => warnings.push(message);
    try {
      new LunarLander({ enableWind: true, windPower: 25, turbulencePower: -1 });
    } finally {
      console.warn = original;
    }
    expect(warnings).toEqual([
      expect.stringMatching(/windPower = 25 .*\[0, 20\]/),
      expect.stringMatching(/turbulencePower = -1 .*\[0, 2\]/),
    ]);
  });

  it('makes both registered ids and rejects others', () => {
    expect(makeEnv('LunarLander-v3').actionSpace).toBeInstanceOf(Discrete);
    const continuous = makeEnv('LunarLanderContinuous-v3');
    expect(continuous.continuous).toBe(true);
    expect(continuous.actionSpace).toBeInstanceOf(Box);
    expect(continuous.options.maxEpisodeSteps).toBe(1000);
    expect(() => makeEnv('LunarLander-v2' as never)).toThrow(/unknown env id 'LunarLander-v2'/);
    expect(() => makeEnv('LunarLander-v3', { continuous: true })).toThrow(/contradicts/);
  });
});

describe('spaces', () => {
  it('has the v3 observation bounds and the two action spaces', () => {
    const env = new LunarLander();
    expect(Array.from(env.observationSpace.low)).toEqual([
      -2.5,
      -2.5,
      -10,
      -10,
      Math.fround(-2 * Math.PI),
      -10,
      -0,
      -0,
    ]);
    expect(Array.from(env.observationSpace.high)).toEqual([
      2.5,
      2.5,
      10,
      10,
      Math.fround(2 * Math.PI),
      10,
      1,
      1,
    ]);
    expect((env.actionSpace as Discrete).n).toBe(4);
    const box = new LunarLander({ continuous: true }).actionSpace as Box;
    expect(Array.from(box.low)).toEqual([-1, -1]);
    expect(Array.from(box.high)).toEqual([1, 1]);
  });

  it('contains accepts exactly the members', () => {
    const discrete = new Discrete(4);
    expect([0, 1, 2, 3].every((a) => discrete.contains(a))).toBe(true);
    for (const bad of [-1, 4, 1.5, Number.NaN, '1', null]) expect(discrete.contains(bad)).toBe(false);
    const box = new Box([-1, -1], [1, 1]);
    expect(box.contains([1, -1])).toBe(true);
    expect(box.contains(new Float32Array([0.5, 0]))).toBe(true);
    for (const bad of [[1.01, 0], [0], [0, 0, 0], [Number.NaN, 0], 'ab', 3])
      expect(box.contains(bad)).toBe(false);
  });

  it('samples inside the space, reproducibly after seeding', () => {
    const box = new Box([-1, -2], [1, 0.5], 7);
    const discrete = new Discrete(4, 7);
    const first = Array.from({ length: 200 }, () => Array.from(box.sample()));
    const actions = Array.from({ length: 200 }, () => discrete.sample());
    for (const x of first) expect(box.contains(x)).toBe(true);
    expect(new Set(actions)).toEqual(new Set([0, 1, 2, 3]));
    box.seed(7);
    discrete.seed(7);
    expect(Array.from({ length: 200 }, () => Array.from(box.sample()))).toEqual(first);
    expect(Array.from({ length: 200 }, () => discrete.sample())).toEqual(actions);
  });

  it('keeps every observation of random episodes inside the observation space', () => {
    const env = new LunarLander();
    const rng = new Rng(3);
    for (let seed = 0; seed < 30; seed++) {
      expect(env.observationSpace.contains(env.reset({ seed }).observation)).toBe(true);
      for (;;) {
        const result = env.step(rng.integer(0, 4));
        expect(env.observationSpace.contains(result.observation)).toBe(true);
        if (result.terminated || result.truncated) break;
      }
    }
  });
});

describe('errors', () => {
  it('rejects actions outside the action space, naming them', () => {
    const env = new LunarLander();
    env.reset({ seed: 1 });
    expect(() => env.step(4)).toThrow(/action 4 is outside the action space.*\{0, 1, 2, 3\}/);
    expect(() => env.step(1.5)).toThrow(/action 1.5/);
    expect(() => env.step([1, 0])).toThrow(/action \[1, 0\] is invalid/);
    const continuous = new LunarLander({ continuous: true });
    continuous.reset({ seed: 1 });
    expect(() => continuous.step([1.5, 0])).toThrow(/action \[1.5, 0\] is outside the action space/);
    expect(() => continuous.step([Number.NaN, 0])).toThrow(/outside the action space/);
    expect(() => continuous.step([0.1])).toThrow(/expected \[main, lateral\]/);
    expect(() => continuous.step(2)).toThrow(/action 2 is invalid/);
  });

  it('rejects a step before reset and after the episode ended', () => {
    const env = new LunarLander({ maxEpisodeSteps: 3 });
    expect(() => env.step(0)).toThrow(/before reset/);
    env.reset({ seed: 2 });
    for (let t = 0; t < 3; t++) env.step(0);
    expect(() => env.step(0)).toThrow(/episode has ended.*reset\(\) before step\(\)/);
    env.reset();
    expect(() => env.step(0)).not.toThrow();
  });
});

describe('observation and reward', () => {
  it('computes the observation from the bodies as the reference does', () => {
    const env = new LunarLander({ continuous: true });
    const rng = new Rng(11);
    env.reset({ seed: 4 });
    for (let t = 0; t < 60; t++) {
      const result = env.step([rng.uniform(-1, 1), rng.uniform(-1, 1)]);
      const { lander } = env.bodies;
      const pos = lander.getPosition();
      const vel = lander.getLinearVelocity();
      const expected = [
        (pos.x - W / 2) / (W / 2),
        (pos.y - (HELIPAD_Y + LEG_DOWN / SCALE)) / (H / 2),
        (vel.x * (W / 2)) / FPS,
        (vel.y * (H / 2)) / FPS,
        lander.getAngle(),
        (20.0 * lander.getAngularVelocity()) / FPS,
      ];
      for (let i = 0; i < 6; i++) {
        expect(env.stateFloat64[i]).toBe(expected[i]);
        expect(result.observation[i]).toBe(Math.fround(expected[i]!));
      }
      expect([0, 1]).toContain(result.observation[6]);
      expect([0, 1]).toContain(result.observation[7]);
      if (result.terminated) break;
    }
  });

  it('pays the shaping difference minus fuel on every non-terminal step, summing to the total difference', () => {
    for (const continuous of [false, true]) {
      const env = new LunarLander({ continuous, maxEpisodeSteps: 40 });
      const rng = new Rng(5);
      for (let seed = 0; seed < 5; seed++) {
        env.reset({ seed });
        const start = shaping(env.stateFloat64);
        let previous = start;
        let sumRewardPlusFuel = 0;
        for (;;) {
          const action = continuous ? [rng.uniform(-1, 1), rng.uniform(-1, 1)] : rng.integer(0, 4);
          const result = env.step(action);
          let fuel: number;
          if (typeof action === 'number') {
            fuel = action === 2 ? 0.3 : action === 1 || action === 3 ? 0.03 : 0;
          } else {
            const main = action[0]! > 0 ? ((Math.min(action[0]!, 1) + 1) / 2) * 0.3 : 0;
            const side = Math.abs(action[1]!) > 0.5 ? Math.min(Math.abs(action[1]!), 1) * 0.03 : 0;
            fuel = main + side;
          }
          const current = shaping(env.stateFloat64);
          if (result.terminated) break;
          expect(result.reward + fuel).toBeCloseTo(current - previous, 10);
          sumRewardPlusFuel += result.reward + fuel;
          previous = current;
          if (result.truncated) {
            expect(sumRewardPlusFuel).toBeCloseTo(current - start, 8);
            break;
          }
        }
      }
    }
  });
});

describe('termination', () => {
  it('crash: the hull touching the ground ends the episode with -100', () => {
    const env = new LunarLander();
    const { result } = runEpisode(env, 0, () => 0);
    expect(result.terminated).toBe(true);
    expect(result.reward).toBe(-100);
    expect(Math.abs(env.stateFloat64[0]!)).toBeLessThan(1);
    expect(env.bodies.lander.isAwake()).toBe(true);
    // The hull itself is in a touching contact with the moon.
    let hullTouches = false;
    for (let edge = env.bodies.lander.getContactList(); edge; edge = edge.next ?? null) {
      if (edge.contact.isTouching()) hullTouches = true;
    }
    expect(hullTouches).toBe(true);
  });

  it('out of bounds: |x| >= 1 ends the episode with -100', () => {
    const env = new LunarLander();
    env.reset({ seed: 3 });
    env.bodies.lander.setLinearVelocity({ x: 40, y: 3 });
    let result = env.step(0);
    let steps = 1;
    while (!result.terminated) {
      result = env.step(0);
      steps++;
    }
    expect(steps).toBeLessThan(20);
    expect(env.stateFloat64[0]).toBeGreaterThanOrEqual(1);
    expect(result.reward).toBe(-100);
    expect(result.truncated).toBe(false);
  });

  it('at rest: the lander falling asleep ends the episode with +100', () => {
    const env = new LunarLander();
    const { result } = runEpisode(env, 1, (obs) => heuristicAction(obs, false));
    expect(result.terminated).toBe(true);
    expect(result.reward).toBe(100);
    expect(env.bodies.lander.isAwake()).toBe(false);
    // Landed on the pad (the leg flags are not checked: EndContact has no counter, spec §1.5 step 11).
    expect(Math.abs(env.stateFloat64[0]!)).toBeLessThan(0.2);
  });

  it('time limit: truncated after maxEpisodeSteps agent steps, not counting reset', () => {
    const env = new LunarLander({ maxEpisodeSteps: 25 });
    const { result, steps } = runEpisode(env, 6, () => 2);
    expect(steps).toBe(25);
    expect(result.truncated).toBe(true);
    expect(result.terminated).toBe(false);
    expect(env.episodeSteps).toBe(25);
  });
});

describe('wind', () => {
  it('draws the wind and turbulence phases per reset from the seed', () => {
    const env = new LunarLander({ enableWind: true });
    const phases = (seed: number) => {
      env.reset({ seed });
      return env.windState;
    };
    const a = phases(1);
    const b = phases(2);
    expect(phases(1)).toEqual(a);
    expect(b).not.toEqual(a);
    // A reset without a seed carries on with the generator, so it draws new phases.
    env.reset({ seed: 1 });
    env.reset();
    expect(env.windState).not.toEqual(a);
    const seen = new Set<number>();
    for (let seed = 0; seed < 50; seed++) {
      const { windIdx, torqueIdx } = phases(seed);
      for (const idx of [windIdx, torqueIdx]) {
        expect(Number.isInteger(idx) && idx >= -9999 && idx < 9999).toBe(true);
      }
      seen.add(windIdx);
    }
    expect(seen.size).toBeGreaterThan(45);
  });

  it('advances the phases once per airborne step and pushes the lander', () => {
    // The same seed with and without wind: the wind's push is the difference between the two runs' change
    // of vx over one step (the calm run's own change is about 0.004).
    const firstStep = (enableWind: boolean) => {
      const env = new LunarLander({ enableWind, windPower: 20, turbulencePower: 2 });
      env.reset({ seed: 9 });
      const start = env.windState;
      const vxBefore = env.bodies.lander.getLinearVelocity().x;
      env.step(0);
      return { start, end: env.windState, dvx: env.bodies.lander.getLinearVelocity().x - vxBefore };
    };
    const windy = firstStep(true);
    const calm = firstStep(false);
    expect(windy.end).toEqual({ windIdx: windy.start.windIdx + 1, torqueIdx: windy.start.torqueIdx + 1 });
    // Wind force over one step, divided by the total mass (~4.96 kg), changes vx by about F * dt / m:
    // about 0.028 for seed 9. Within 2% of it; without wind the difference would be 0.
    const k = windy.start.windIdx;
    const force = Math.tanh(Math.sin(0.02 * k) + Math.sin(Math.PI * 0.01 * k)) * 20;
    const expected = force / FPS / 4.959;
    expect(Math.abs(expected)).toBeGreaterThan(0.02);
    const windEffect = windy.dvx - calm.dvx;
    expect(
      Math.abs(windEffect - expected),
      `wind changed vx by ${windEffect}, expected ${expected}`,
    ).toBeLessThan(0.02 * Math.abs(expected));
  });
});

describe('determinism', () => {
  it('gives the same trajectory for the same seed and actions, and another for another seed', () => {
    const a = trajectoryHash({ seed: 42, episodes: 3 });
    expect(trajectoryHash({ seed: 42, episodes: 3 })).toEqual(a);
    expect(trajectoryHash({ seed: 43, episodes: 3 }).hash).not.toBe(a.hash);
    const windy = { seed: 7, episodes: 2, continuous: true, enableWind: true };
    expect(trajectoryHash(windy)).toEqual(trajectoryHash(windy));
  });

  it('gives the same trajectory in another process', () => {
    const options = { seed: 42, episodes: 3, continuous: true, enableWind: true };
    const script = fileURLToPath(new URL('./helpers/env-trajectory-cli.ts', import.meta.url));
    const child = spawnSync(process.execPath, ['--import', 'tsx', script, JSON.stringify(options)], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual(trajectoryHash(options));
  });

  it('rendering (particles) does not change the trajectory', () => {
    const plain = new LunarLander();
    const rendered = new LunarLander({ renderMode: 'svg' });
    for (const env of [plain, rendered]) env.reset({ seed: 8 });
    for (let t = 0; t < 200; t++) {
      const action = heuristicAction(plain.stateFloat64, false);
      const a = plain.step(action);
      const b = rendered.step(action);
      expect(b.observation).toEqual(a.observation);
      expect(b.reward).toBe(a.reward);
      if (a.terminated) break;
    }
  });
});
