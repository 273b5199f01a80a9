// One frame of the scene as SVG text, with no native dependency. The look follows the reference's pygame
// renderer (black sky above the terrain, white ground, purple hull and legs, yellow pad flags, exhaust
// particles fading from orange to red), plus flames drawn from each engine's power in the last step.
//
// The scene is split into a static part (sky and terrain, pad flags: fixed for an episode) and a dynamic
// part (lander, legs, flames, particles), so a replay stores the static part once and one small group per
// frame.
import { SCALE, SIDE_ENGINE_AWAY, SIDE_ENGINE_HEIGHT, VIEWPORT_H, VIEWPORT_W } from './constants.ts';
import type { LanderFrame } from './frame.ts';

/** Reference colours (Gymnasium's `color1`/`color2` of the lander and legs). */
const HULL_FILL = 'rgb(128,102,230)';
const HULL_STROKE = 'rgb(77,77,128)';
const FLAG_FILL = 'rgb(204,204,0)';
const PARTICLE_RADIUS_PX = 2;

/** Pixel x of a world x (metres). */
function px(x: number): string {
  return (x * SCALE).toFixed(1);
}

/** Pixel y of a world y: SVG's y grows downwards, the world's upwards. */
function py(y: number): string {
  return (VIEWPORT_H - y * SCALE).toFixed(1);
}

function points(flat: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push(`${px(flat[i]!)},${py(flat[i + 1]!)}`);
  return out.join(' ');
}

/** Sky polygon above the terrain line and the two pad flags; fixed for an episode. */
export function svgStaticLayer(frame: LanderFrame): string {
  const terrain = frame.terrain;
  const top = VIEWPORT_H / SCALE;
  const sky: number[] = [];
  for (const v of terrain) sky.push(v);
  sky.push(terrain[terrain.length - 2]!, top, terrain[0]!, top);
  const [x1, x2, padY] = frame.helipad;
  const flags: string[] = [];
  for (const x of [x1, x2]) {
    const pole = padY + 50 / SCALE;
    flags.push(
      `<line x1="${px(x)}" y1="${py(padY)}" x2="${px(x)}" y2="${py(pole)}" stroke="white" stroke-width="1"/>`,
      `<polygon points="${points([x, pole, x, pole - 10 / SCALE, x + 25 / SCALE, pole - 5 / SCALE])}" fill="${FLAG_FILL}"/>`,
    );
  }
  return `<g class="static"><rect width="${VIEWPORT_W}" height="${VIEWPORT_H}" fill="white"/><polygon points="${points(sky)}" fill="black"/>${flags.join('')}</g>`;
}

/** A flame as a triangle from `(x, y)` along the unit direction `(dx, dy)`, `length` metres long. */
function flame(x: number, y: number, dx: number, dy: number, length: number, width: number): string {
  const nx = -dy * width;
  const ny = dx * width;
  const tip = [x + dx * length, y + dy * length];
  const flat = [x + nx, y + ny, tip[0]!, tip[1]!, x - nx, y - ny];
  return `<polygon points="${points(flat)}" fill="rgb(255,170,40)" stroke="rgb(255,90,20)" stroke-width="1"/>`;
}

/** Lander, legs, flames and particles of one frame. */
export function svgDynamicLayer(frame: LanderFrame): string {
  const parts: string[] = ['<g class="dynamic">'];
  const p = frame.particles;
  for (let i = 0; i + 3 < p.length; i += 4) {
    const ttl = Math.max(0, p[i + 2]!);
    const r = Math.round(255 * Math.max(0.2, Math.min(1, 0.15 + ttl)));
    const gb = Math.round(255 * Math.max(0.2, 0.5 * ttl));
    parts.push(
      `<circle cx="${px(p[i]!)}" cy="${py(p[i + 1]!)}" r="${PARTICLE_RADIUS_PX}" fill="rgb(${r},${gb},${gb})"/>`,
    );
  }
  // The hull's axes in the world: up = R(angle) (0, 1), right = R(angle) (1, 0).
  const upX = -Math.sin(frame.angle);
  const upY = Math.cos(frame.angle);
  const rightX = upY;
  const rightY = -upX;
  if (frame.mainPower > 0) {
    // Below the hull's bottom edge (10 px under its origin), pointing down (spec §1.5 step 4).
    const baseX = frame.x - (upX * 10) / SCALE;
    const baseY = frame.y - (upY * 10) / SCALE;
    parts.push(flame(baseX, baseY, -upX, -upY, (12 + 18 * frame.mainPower) / SCALE, 5 / SCALE));
  }
  if (frame.sidePower > 0) {
    // The side engine sits SIDE_ENGINE_AWAY px to the side opposite to `direction` and SIDE_ENGINE_HEIGHT
    // px up (spec §1.5 step 5) and blows outwards: direction -1 (action 1) pushes the hull towards -x.
    const d = frame.sideDirection;
    const outX = -d * rightX;
    const outY = -d * rightY;
    const away = (SIDE_ENGINE_AWAY + 5) / SCALE;
    const up = SIDE_ENGINE_HEIGHT / SCALE;
    const baseX = frame.x + outX * away + upX * up;
    const baseY = frame.y + outY * away + upY * up;
    parts.push(flame(baseX, baseY, outX, outY, (6 + 8 * frame.sidePower) / SCALE, 3 / SCALE));
  }
  for (let k = 0; k < 2; k++) {
    const stroke = frame.legContacts[k] ? 'rgb(40,200,80)' : HULL_STROKE;
    parts.push(`<polygon points="${points(frame.legs[k]!)}" fill="${HULL_FILL}" stroke="${stroke}"/>`);
  }
  parts.push(`<polygon points="${points(frame.hull)}" fill="${HULL_FILL}" stroke="${HULL_STROKE}"/>`);
  parts.push('</g>');
  return parts.join('');
}

/** A one-line caption: step, reward of the last step and the episode's return so far. */
export function frameCaption(frame: LanderFrame): string {
  return `step ${frame.step}  reward ${frame.reward.toFixed(2)}  return ${frame.totalReward.toFixed(2)}`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The whole frame as a standalone SVG document (600 x 400, the reference's viewport). */
export function renderSvg(frame: LanderFrame, options: { caption?: boolean } = {}): string {
  const caption =
    options.caption === false
      ? ''
      : `<text x="8" y="18" fill="white" font-family="monospace" font-size="13">${escapeXml(frameCaption(frame))}</text>`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${VIEWPORT_W}" height="${VIEWPORT_H}" ` +
    `viewBox="0 0 ${VIEWPORT_W} ${VIEWPORT_H}">${svgStaticLayer(frame)}${svgDynamicLayer(frame)}${caption}</svg>`
  );
}

export { escapeXml };
