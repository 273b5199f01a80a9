// What one rendered frame shows, in world metres: plain numbers so it can go into JSON for a replay.

export interface LanderFrame {
  /** Terrain vertices, flat [x0, y0, x1, y1, …]. */
  readonly terrain: number[];
  /** Pad x range and the y of its flags' poles. */
  readonly helipad: readonly [number, number, number];
  /** Hull polygon in world coordinates, flat [x, y, …]. */
  readonly hull: number[];
  /** Each leg's box in world coordinates, flat [x, y, …]. */
  readonly legs: readonly [number[], number[]];
  readonly legContacts: readonly [boolean, boolean];
  /** Main engine power of the last step (0 when off). */
  readonly mainPower: number;
  /** Side engine power of the last step (0 when off) and its direction (-1 left, +1 right). */
  readonly sidePower: number;
  readonly sideDirection: number;
  /** Hull position and angle, for drawing flames. */
  readonly x: number;
  readonly y: number;
  readonly angle: number;
  /** Particles, flat [x, y, ttl, kind (0 main, 1 side), …]. */
  readonly particles: number[];
  /** Agent steps since reset. */
  readonly step: number;
  readonly reward: number;
  readonly totalReward: number;
}
