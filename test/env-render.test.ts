import { describe, expect, it } from 'vitest';
import { heuristicAction } from '../src/env/heuristic.ts';
import { LunarLander } from '../src/env/lunar-lander.ts';
import { renderSvg } from '../src/env/render-svg.ts';
import { recordEpisode, recordReplayHtml, replayHtml } from '../src/env/replay-html.ts';

describe('SVG frame', () => {
  it('draws terrain, pad flags, lander, legs, flames and particles', () => {
    const env = new LunarLander({ renderMode: 'svg' });
    env.reset({ seed: 3 });
    const idle = env.render();
    expect(idle.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="600" height="400"')).toBe(true);
    expect(idle.endsWith('</svg>')).toBe(true);
    // Sky polygon, two flags (pole + pennant each), two legs and the hull; no flame yet.
    expect(idle.match(/<line /g)).toHaveLength(2);
    expect(idle.match(/<polygon /g)).toHaveLength(1 + 2 + 2 + 1);
    expect(idle).not.toMatch(/<circle /);
    env.step(2);
    env.step(1);
    const firing = env.render();
    expect(firing.match(/<polygon /g)).toHaveLength(1 + 2 + 2 + 1 + 1);
    expect(firing).toMatch(/<circle /);
    expect(firing).toMatch(/step 2 +reward -?\d+\.\d\d +return/);
    // Every number is a finite pixel coordinate.
    expect(firing).not.toMatch(/NaN|Infinity/);
  });

  it('draws the main flame below the hull and a side flame on the side opposite to its push', () => {
    const flames = (svg: string) =>
      [...svg.matchAll(/<polygon points="([^"]+)" fill="rgb\(255,170,40\)"/g)].map((m) =>
        m[1]!.split(' ').map((p) => p.split(',').map(Number) as [number, number]),
      );
    const env = new LunarLander({ renderMode: 'svg' });
    env.reset({ seed: 3 });
    env.step(2);
    const main = flames(env.render());
    expect(main).toHaveLength(1);
    const hullX = env.frame().x * 30;
    const hullY = 400 - env.frame().y * 30;
    // The flame's tip (second point) is below the hull (larger SVG y) and roughly under it.
    expect(main[0]![1]![1]).toBeGreaterThan(hullY + 15);
    expect(Math.abs(main[0]![1]![0] - hullX)).toBeLessThan(10);
    // Action 1 pushes the hull towards -x, so its exhaust leaves on the +x side.
    env.step(1);
    const side = flames(env.render());
    expect(side).toHaveLength(1);
    const x = env.frame().x * 30;
    expect(side[0]![0]![0]).toBeGreaterThan(x + 10);
    expect(side[0]![1]![0]).toBeGreaterThan(side[0]![0]![0]);
    // Tilted a quarter turn anticlockwise, the hull's "down" is world +x: the main flame points there.
    const tilted = renderSvg({ ...env.frame(), angle: Math.PI / 2, mainPower: 1, sidePower: 0 });
    const [left, tip, right] = flames(tilted)[0] as [[number, number], [number, number], [number, number]];
    expect(tip[0] - (left[0] + right[0]) / 2).toBeGreaterThan(10);
    expect(Math.abs(tip[1] - (left[1] + right[1]) / 2)).toBeLessThan(1);
  });

  it('puts the lander where the body is, in pixels with y pointing down', () => {
    const env = new LunarLander({ renderMode: 'svg' });
    env.reset({ seed: 3 });
    const frame = env.frame();
    const hull = frame.hull;
    const svg = renderSvg(frame, { caption: false });
    const expectedFirst = `${(hull[0]! * 30).toFixed(1)},${(400 - hull[1]! * 30).toFixed(1)}`;
    expect(svg).toContain(expectedFirst);
    expect(svg).not.toMatch(/<text/);
  });

  it('render() needs renderMode svg', () => {
    const env = new LunarLander();
    env.reset({ seed: 1 });
    expect(() => env.render()).toThrow(/renderMode is null/);
  });
});

describe('episode replay', () => {
  it('records the same episode as an unrendered run and embeds every frame in one HTML page', () => {
    const policy = (observation: Float32Array) => heuristicAction(observation, false);
    const recording = recordEpisode({ seed: 5, policy });
    const env = new LunarLander();
    let observation = env.reset({ seed: 5 }).observation;
    let total = 0;
    let steps = 0;
    for (;;) {
      const result = env.step(policy(observation));
      total += result.reward;
      steps++;
      observation = result.observation;
      if (result.terminated || result.truncated) break;
    }
    expect(recording.totalReward).toBe(total);
    expect(recording.steps).toBe(steps);
    expect(recording.frames).toHaveLength(steps + 1);
    expect(recording.terminated).toBe(true);

    const html = replayHtml(recording);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    // Self-contained: no external script, stylesheet, image or fetch.
    expect(html).not.toMatch(/\ssrc=|<link|href=|fetch\(|@import/);
    const json = html.match(/<script id="replay-data" type="application\/json">(.*?)<\/script>/s)?.[1];
    const data = JSON.parse(json!) as { fps: number; frames: string[]; captions: string[] };
    expect(data.fps).toBe(50);
    expect(data.frames).toHaveLength(steps + 1);
    expect(data.captions[steps]).toContain(`step ${steps}`);
    expect(html).toContain(`return ${total.toFixed(2)} in ${steps} steps (terminated)`);
  });

  it('escapes titles and works for continuous policies', () => {
    const { html, recording } = recordReplayHtml({
      envId: 'LunarLanderContinuous-v3',
      envOptions: { maxEpisodeSteps: 30 },
      seed: 2,
      policy: (observation) => heuristicAction(observation, true),
      title: 'a </script><b>title</b>',
    });
    expect(recording.steps).toBeLessThanOrEqual(30);
    expect(recording.actions[0]).toHaveLength(2);
    expect(html).toContain('a &#60;/script&#62;&#60;b&#62;title&#60;/b&#62;');
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    expect(() => recordEpisode({ seed: 1, policy: 3 as never })).toThrow(/policy = 3/);
  });
});
