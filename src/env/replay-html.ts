// Records an episode under a policy and turns it into one self-contained HTML file that plays it back in
// a browser (no network, no native dependency): the terrain is stored once as SVG, each frame as a small
// SVG group, and a few lines of inline script swap them at the env's 50 frames per second.
import { FPS, VIEWPORT_H, VIEWPORT_W } from './constants.ts';
import type { LanderFrame } from './frame.ts';
import { type LanderAction, LunarLander } from './lunar-lander.ts';
import { type EnvId, optionsForId } from './make-env.ts';
import type { LunarLanderOptions } from './options.ts';
import { escapeXml, frameCaption, svgDynamicLayer, svgStaticLayer } from './render-svg.ts';

/** Chooses the action for `observation`, the `step`-th observation of the episode (0 after reset). */
export type Policy = (observation: Float32Array, step: number) => LanderAction;

export interface RecordEpisodeOptions {
  /** Which registered env to build; default 'LunarLander-v3'. */
  envId?: EnvId;
  /** Options for the env (renderMode is forced to 'svg' so that exhaust particles are drawn). */
  envOptions?: Omit<LunarLanderOptions, 'renderMode'>;
  seed: number;
  policy: Policy;
}

export interface EpisodeRecording {
  envId: EnvId;
  seed: number;
  /** frames[0] is the scene after reset, frames[t] after the t-th step. */
  frames: LanderFrame[];
  actions: LanderAction[];
  totalReward: number;
  steps: number;
  terminated: boolean;
  truncated: boolean;
}

/**
 * Runs one episode of `policy` from `seed` to its end (termination or the env's time limit), keeping a
 * frame per step. Particles never touch the lander, so the trajectory is the one the same seed and
 * policy give without rendering.
 */
export function recordEpisode(options: RecordEpisodeOptions): EpisodeRecording {
  const envId = options.envId ?? 'LunarLander-v3';
  if (typeof options.policy !== 'function') {
    throw new TypeError(`recordEpisode: policy = ${String(options.policy)} is invalid; expected a function`);
  }
  const env = new LunarLander({ ...optionsForId(envId, options.envOptions), renderMode: 'svg' });
  let { observation } = env.reset({ seed: options.seed });
  const frames: LanderFrame[] = [env.frame()];
  const actions: LanderAction[] = [];
  let totalReward = 0;
  for (let t = 0; ; t++) {
    const policyAction = options.policy(observation, t);
    const action = typeof policyAction === 'number' ? policyAction : Array.from(policyAction);
    const result = env.step(action);
    actions.push(action);
    totalReward += result.reward;
    observation = result.observation;
    frames.push(env.frame());
    if (result.terminated || result.truncated) {
      return {
        envId,
        seed: options.seed,
        frames,
        actions,
        totalReward,
        steps: t + 1,
        terminated: result.terminated,
        truncated: result.truncated,
      };
    }
  }
}

/** JSON that can sit inside a <script> element: `<` is escaped so no `</script>` can close it early. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** The recording as a self-contained HTML page that plays it back (play/pause, scrubber, speed, keys). */
export function replayHtml(recording: EpisodeRecording, options: { title?: string } = {}): string {
  if (recording.frames.length === 0) throw new RangeError('replayHtml: the recording has no frames');
  const ending = recording.terminated ? 'terminated' : recording.truncated ? 'truncated' : 'unfinished';
  const title =
    options.title ??
    `${recording.envId} seed ${recording.seed}: return ${recording.totalReward.toFixed(2)} in ${recording.steps} steps (${ending})`;
  const data = {
    fps: FPS,
    frames: recording.frames.map(svgDynamicLayer),
    captions: recording.frames.map(frameCaption),
  };
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeXml(title)}</title>
<style>
body { background: #222; color: #eee; font-family: monospace; margin: 16px; }
svg { display: block; border: 1px solid #555; max-width: 100%; height: auto; }
.controls { margin-top: 8px; display: flex; gap: 8px; align-items: center; }
input[type=range] { flex: 1; }
</style>
</head>
<body>
<h3>${escapeXml(title)}</h3>
<svg id="scene" xmlns="http://www.w3.org/2000/svg" width="${VIEWPORT_W}" height="${VIEWPORT_H}" viewBox="0 0 ${VIEWPORT_W} ${VIEWPORT_H}">${svgStaticLayer(recording.frames[0]!)}<g id="dynamic"></g></svg>
<div class="controls">
<button id="play">pause</button>
<input id="scrub" type="range" min="0" max="${recording.frames.length - 1}" value="0">
<select id="speed"><option value="0.25">0.25x</option><option value="0.5">0.5x</option><option value="1" selected>1x</option><option value="2">2x</option><option value="4">4x</option></select>
</div>
<div id="caption"></div>
<script id="replay-data" type="application/json">${scriptJson(data)}</script>
<script>
(() => {
  const data = JSON.parse(document.getElementById('replay-data').textContent);
  const dynamic = document.getElementById('dynamic');
  const caption = document.getElementById('caption');
  const scrub = document.getElementById('scrub');
  const play = document.getElementById('play');
  const speed = document.getElementById('speed');
  let index = 0, playing = true, last = performance.now(), carry = 0;
  function show(i) {
    index = Math.max(0, Math.min(data.frames.length - 1, i));
    dynamic.innerHTML = data.frames[index];
    caption.textContent = data.captions[index];
    scrub.value = String(index);
  }
  function setPlaying(on) { playing = on; play.textContent = on ? 'pause' : 'play'; last = performance.now(); carry = 0; }
  play.onclick = () => { if (!playing && index === data.frames.length - 1) show(0); setPlaying(!playing); };
  scrub.oninput = () => { setPlaying(false); show(Number(scrub.value)); };
  document.onkeydown = (e) => {
    if (e.key === ' ') { e.preventDefault(); play.onclick(); }
    if (e.key === 'ArrowRight') { setPlaying(false); show(index + 1); }
    if (e.key === 'ArrowLeft') { setPlaying(false); show(index - 1); }
  };
  function tick(now) {
    if (playing) {
      carry += ((now - last) / 1000) * data.fps * Number(speed.value);
      const advance = Math.floor(carry);
      carry -= advance;
      if (advance > 0) show(index + advance);
      if (index === data.frames.length - 1) setPlaying(false);
    }
    last = now;
    requestAnimationFrame(tick);
  }
  show(0);
  requestAnimationFrame(tick);
})();
</script>
</body>
</html>
`;
}

/** What the CLI calls: record one episode of `policy` and return the replay page. */
export function recordReplayHtml(options: RecordEpisodeOptions & { title?: string }): {
  html: string;
  recording: EpisodeRecording;
} {
  const recording = recordEpisode(options);
  return { html: replayHtml(recording, { title: options.title }), recording };
}
