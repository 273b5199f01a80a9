// Constants of Gymnasium's LunarLander-v3 (spec §1.1). Lengths in pixels are divided by SCALE to get metres.

export const FPS = 50;
export const SCALE = 30.0;

export const MAIN_ENGINE_POWER = 13.0;
export const SIDE_ENGINE_POWER = 0.6;

/** Bound of each component of the random force applied once at reset (spec §1.2). */
export const INITIAL_RANDOM = 1000.0;

/** Hull outline in pixels (spec §1.1). */
export const LANDER_POLY: ReadonlyArray<readonly [number, number]> = [
  [-14, 17],
  [-17, 0],
  [-17, -10],
  [17, -10],
  [17, 0],
  [14, 17],
];

export const LEG_AWAY = 20;
export const LEG_DOWN = 18;
export const LEG_W = 2;
export const LEG_H = 8;
export const LEG_SPRING_TORQUE = 40;

export const SIDE_ENGINE_HEIGHT = 14;
export const SIDE_ENGINE_AWAY = 12;
export const MAIN_ENGINE_Y_LOCATION = 4;

export const VIEWPORT_W = 600;
export const VIEWPORT_H = 400;
/** World width and height in metres: 20 and 13.333… */
export const W = VIEWPORT_W / SCALE;
export const H = VIEWPORT_H / SCALE;

/** Terrain (spec §1.3). */
export const CHUNKS = 11;
export const HELIPAD_Y = H / 4;
/** The reference's smoothing factor is 0.33, not 1/3 (spec §1.3): the pad lies at 0.99 * HELIPAD_Y. */
export const TERRAIN_SMOOTHING = 0.33;

/** Physics step (spec §1.5 step 7): 6*30 velocity and 2*30 position iterations. */
export const TIME_STEP = 1.0 / FPS;
export const VELOCITY_ITERATIONS = 180;
export const POSITION_ITERATIONS = 60;

/** Collision categories (spec §1.2). */
export const GROUND_CATEGORY = 0x0001;
export const LANDER_CATEGORY = 0x0010;
export const LEG_CATEGORY = 0x0020;

/** Option defaults and bounds (spec §1.1). */
export const DEFAULT_GRAVITY = -10.0;
export const DEFAULT_WIND_POWER = 15.0;
export const DEFAULT_TURBULENCE_POWER = 1.5;
export const DEFAULT_MAX_EPISODE_STEPS = 1000;

export const OBSERVATION_SIZE = 8;
export const CONTINUOUS_ACTION_SIZE = 2;
export const DISCRETE_ACTION_COUNT = 4;
