/**
 * Gymnasium's reward of an ordinary Lunar Lander step as a function of the two observations and the action
 * (`../shared/lunar-lander-spec.md`, the reward rules): the change of
 *   shaping(s) = -100 sqrt(x² + y²) - 100 sqrt(vx² + vy²) - 100 |angle| + 10 leg1 + 10 leg2
 * minus the fuel: 0.30 x the main engine's power and 0.03 x a side engine's. A model environment can use
 * it on imagined states (as PETS assumes a known reward): the return of an imagined episode then telescopes
 * to shaping(end) - shaping(start) - fuel + the terminal event, so a small per-step bias of a learned
 * reward cannot pile up over a long episode.
 */

/** The shaping potential of one 8-number observation at `offset`. */
export function shaping(obs: ArrayLike<number>, offset = 0): number {
  const x = obs[offset]!;
  const y = obs[offset + 1]!;
  const vx = obs[offset + 2]!;
  const vy = obs[offset + 3]!;
  return (
    -100 * Math.sqrt(x * x + y * y) -
    100 * Math.sqrt(vx * vx + vy * vy) -
    100 * Math.abs(obs[offset + 4]!) +
    10 * obs[offset + 6]! +
    10 * obs[offset + 7]!
  );
}

/**
 * The fuel cost of one action: discrete 2 fires the main engine (power 1), 1 and 3 a side engine (power
 * 1); continuous [main, lateral] fires the main engine above 0 with power (clip(main, 0, 1) + 1) / 2 and a
 * side engine where |lateral| > 0.5 with power clip(|lateral|, 0.5, 1).
 */
export function fuelCost(discrete: boolean, actions: ArrayLike<number>, offset: number): number {
  if (discrete) {
    const a = actions[offset]!;
    return a === 2 ? 0.3 : a === 1 || a === 3 ? 0.03 : 0;
  }
  const main = actions[offset]!;
  const lateral = actions[offset + 1]!;
  let cost = 0;
  if (main > 0) cost += 0.3 * ((Math.min(main, 1) + 1) * 0.5);
  if (Math.abs(lateral) > 0.5) cost += 0.03 * Math.min(Math.abs(lateral), 1);
  return cost;
}

/** The reward of an ordinary step from `before` to `after` (8-number observations) under the action. */
export function shapingReward(
  before: ArrayLike<number>,
  beforeOffset: number,
  after: ArrayLike<number>,
  afterOffset: number,
  discrete: boolean,
  actions: ArrayLike<number>,
  actionOffset: number,
): number {
  return (
    shaping(after, afterOffset) - shaping(before, beforeOffset) - fuelCost(discrete, actions, actionOffset)
  );
}
