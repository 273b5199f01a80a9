// Gymnasium's LunarLander-v3 on planck (spec §1). One instance owns one planck World, rebuilt at every reset
// (the v3 fix for Gymnasium issue #728), and its own seeded generator, so a seed and a sequence of actions
// always give the same trajectory.

import type { Body, Contact } from 'planck';
import { Box as BoxShape, Edge, Polygon, RevoluteJoint, Vec2, World } from 'planck';
import { entropySeed, Rng } from '../rng/index.ts';
import {
  CONTINUOUS_ACTION_SIZE,
  DISCRETE_ACTION_COUNT,
  FPS,
  GROUND_CATEGORY,
  H,
  INITIAL_RANDOM,
  LANDER_CATEGORY,
  LANDER_POLY,
  LEG_AWAY,
  LEG_CATEGORY,
  LEG_DOWN,
  LEG_H,
  LEG_SPRING_TORQUE,
  LEG_W,
  MAIN_ENGINE_POWER,
  MAIN_ENGINE_Y_LOCATION,
  OBSERVATION_SIZE,
  POSITION_ITERATIONS,
  SCALE,
  SIDE_ENGINE_AWAY,
  SIDE_ENGINE_HEIGHT,
  SIDE_ENGINE_POWER,
  TIME_STEP,
  VELOCITY_ITERATIONS,
  W,
} from './constants.ts';
import { installFastSolver } from './fast-solver.ts';
import type { LanderFrame } from './frame.ts';
import { type LunarLanderOptions, type ResolvedLunarLanderOptions, resolveOptions } from './options.ts';
import { ParticleSystem } from './particles.ts';
import { renderSvg } from './render-svg.ts';
import { Box, Discrete } from './spaces.ts';
import { generateTerrain, type Terrain } from './terrain.ts';

/** A discrete action (0 noop, 1 left engine, 2 main engine, 3 right engine) or [main, lateral] in [-1, 1]. */
export type LanderAction = number | ArrayLike<number>;

export type LanderInfo = Record<string, never>;

export interface ResetResult {
  observation: Float32Array;
  info: LanderInfo;
}

export interface StepResult {
  observation: Float32Array;
  reward: number;
  terminated: boolean;
  truncated: boolean;
  info: LanderInfo;
}

/** Observation bounds of v3 (spec §1.5 Spaces). */
export const OBSERVATION_LOW = [-2.5, -2.5, -10, -10, -2 * Math.PI, -10, -0, -0];
export const OBSERVATION_HIGH = [2.5, 2.5, 10, 10, 2 * Math.PI, 10, 1, 1];

const EMPTY_INFO: LanderInfo = Object.freeze({});

/** The action space of one env: Discrete(4), or Box([-1, -1], [1, 1]) for [main, lateral]. */
export function landerActionSpace(continuous: boolean): Box | Discrete {
  return continuous ? new Box([-1, -1], [1, 1]) : new Discrete(DISCRETE_ACTION_COUNT);
}

/** Reference height for the observation's y: the pad plus the legs' drop (spec §1.5 step 8). */
const LEG_DOWN_M = LEG_DOWN / SCALE;

export class LunarLander {
  readonly options: ResolvedLunarLanderOptions;
  readonly continuous: boolean;
  readonly observationSpace: Box;
  readonly actionSpace: Box | Discrete;

  private rng: Rng | null = null;
  private world: World | null = null;
  private lander: Body | null = null;
  private legs: Body[] = [];
  private readonly legContact: [boolean, boolean] = [false, false];
  private gameOver = false;
  /** The reference's prev_shaping, NaN for its None: a field that only holds numbers is updated in place. */
  private prevShaping = Number.NaN;
  private terrain: Terrain | null = null;
  private windIdx = 0;
  private torqueIdx = 0;
  private elapsedSteps = 0;
  private needsReset = true;
  private lastTerminated = false;
  private lastTruncated = false;
  private lastMainPower = 0;
  private lastSidePower = 0;
  private lastSideDirection = 0;
  private lastReward = 0;
  private totalReward = 0;
  private readonly particles = new ParticleSystem();

  /** The float64 observation of the last step, from which the reward is computed (spec §1.5 step 9). */
  private readonly state = new Float64Array(OBSERVATION_SIZE);
  // Reused arguments for planck calls, so a step allocates nothing of ours.
  private readonly vecA = { x: 0, y: 0 };
  private readonly vecB = { x: 0, y: 0 };

  constructor(options: LunarLanderOptions = {}) {
    this.options = resolveOptions(options);
    this.continuous = this.options.continuous;
    this.observationSpace = new Box(OBSERVATION_LOW, OBSERVATION_HIGH);
    this.actionSpace = landerActionSpace(this.continuous);
  }

  /**
   * Starts an episode. A seed reseeds the generator; without one the generator carries on (or, the first
   * time, is seeded from OS entropy), as Gymnasium does (spec §1.4).
   */
  reset(options: { seed?: number } = {}): ResetResult {
    this.resetInPlace(options.seed);
    return { observation: this.observation(), info: EMPTY_INFO };
  }

  step(action: LanderAction): StepResult {
    if (this.continuous) {
      if (!isArrayLike(action) || action.length !== CONTINUOUS_ACTION_SIZE) {
        throw new TypeError(
          `LunarLander.step: action ${describe(action)} is invalid; expected [main, lateral] with 2 numbers in [-1, 1]`,
        );
      }
      this.stepInPlace(0, action[0]!, action[1]!);
    } else {
      if (typeof action !== 'number') {
        throw new TypeError(
          `LunarLander.step: action ${describe(action)} is invalid; expected an integer in {0, 1, 2, 3}`,
        );
      }
      this.stepInPlace(action, 0, 0);
    }
    return {
      observation: this.observation(),
      reward: this.lastReward,
      terminated: this.lastTerminated,
      truncated: this.lastTruncated,
      info: EMPTY_INFO,
    };
  }

  /**
   * Resets without allocating a result (used by vector envs); read the observation with `writeObservation`.
   */
  resetInPlace(seed?: number): void {
    if (seed !== undefined) this.rng = new Rng(seed);
    else if (this.rng === null) this.rng = new Rng(entropySeed());
    this.buildWorld(this.rng);
    this.needsReset = false;
    this.elapsedSteps = 0;
    this.totalReward = 0;
    // The reference ends reset with one no-op step whose reward is dropped but which sets prev_shaping and
    // consumes the initial force; the TimeLimit wrapper does not count it (spec §1.4).
    this.physicsStep(0, 0, 0);
    this.lastReward = 0;
    this.lastTerminated = false;
    this.lastTruncated = false;
  }

  /**
   * One agent step without allocating a result (used by vector envs). Discrete mode reads `discreteAction`,
   * continuous mode reads `main` and `lateral`. Returns the reward; see `terminated`, `truncated`.
   */
  stepInPlace(discreteAction: number, main: number, lateral: number): number {
    if (this.needsReset) {
      throw new Error(
        this.world === null
          ? 'LunarLander.step: called before reset(); expected reset() first'
          : 'LunarLander.step: the episode has ended (terminated or truncated); expected reset() before step()',
      );
    }
    if (this.continuous) {
      if (!(main >= -1 && main <= 1 && lateral >= -1 && lateral <= 1)) {
        throw new RangeError(
          `LunarLander.step: action [${main}, ${lateral}] is outside the action space; expected both in [-1, 1]`,
        );
      }
    } else if (
      !(Number.isInteger(discreteAction) && discreteAction >= 0 && discreteAction < DISCRETE_ACTION_COUNT)
    ) {
      throw new RangeError(
        `LunarLander.step: action ${discreteAction} is outside the action space; expected an integer in {0, 1, 2, 3}`,
      );
    }
    const terminated = this.physicsStep(discreteAction, main, lateral);
    this.elapsedSteps++;
    // Gymnasium's TimeLimit sets truncated once the step count reaches the limit, terminated or not.
    const truncated = this.elapsedSteps >= this.options.maxEpisodeSteps;
    this.lastTerminated = terminated;
    this.lastTruncated = truncated;
    this.totalReward += this.lastReward;
    if (terminated || truncated) this.needsReset = true;
    return this.lastReward;
  }

  get terminated(): boolean {
    return this.lastTerminated;
  }

  get truncated(): boolean {
    return this.lastTruncated;
  }

  /** Agent steps since the last reset. */
  get episodeSteps(): number {
    return this.elapsedSteps;
  }

  /** Sum of the rewards of this episode's agent steps. */
  get episodeReturn(): number {
    return this.totalReward;
  }

  /** Copies the float32 observation into `out` at `offset`. */
  writeObservation(out: Float32Array, offset = 0): void {
    const s = this.state;
    for (let i = 0; i < OBSERVATION_SIZE; i++) out[offset + i] = s[i]!;
  }

  /** The last observation in float64, before rounding to float32 (the reward uses these values). */
  get stateFloat64(): Float64Array {
    return this.state;
  }

  /** The physics bodies, for tests and rendering. Valid until the next reset. */
  get bodies(): { lander: Body; legs: readonly [Body, Body]; world: World } {
    if (this.lander === null || this.world === null)
      throw new Error('LunarLander.bodies: call reset() first');
    return { lander: this.lander, legs: [this.legs[0]!, this.legs[1]!], world: this.world };
  }

  /** The current episode's terrain. */
  get terrainProfile(): Terrain {
    if (this.terrain === null) throw new Error('LunarLander.terrainProfile: call reset() first');
    return this.terrain;
  }

  /** Wind and turbulence phase indices (spec §1.5 step 1), drawn at reset when wind is enabled. */
  get windState(): { windIdx: number; torqueIdx: number } {
    return { windIdx: this.windIdx, torqueIdx: this.torqueIdx };
  }

  /** The current scene in world coordinates, for rendering and replays. */
  frame(): LanderFrame {
    const { lander, legs } = this.bodies;
    const terrain = this.terrainProfile;
    const points: number[] = [];
    for (let i = 0; i < terrain.chunkX.length; i++) points.push(terrain.chunkX[i]!, terrain.smoothY[i]!);
    const particles: number[] = [];
    for (const p of this.particles.particles) particles.push(p.x, p.y, p.ttl, p.kind === 'main' ? 0 : 1);
    const position = lander.getPosition();
    return {
      terrain: points,
      helipad: [terrain.helipadX1, terrain.helipadX2, terrain.helipadY],
      hull: worldPolygon(lander),
      legs: [worldPolygon(legs[0]), worldPolygon(legs[1])],
      legContacts: [this.legContact[0], this.legContact[1]],
      mainPower: this.lastMainPower,
      sidePower: this.lastSidePower,
      sideDirection: this.lastSideDirection,
      x: position.x,
      y: position.y,
      angle: lander.getAngle(),
      particles,
      step: this.elapsedSteps,
      reward: this.lastReward,
      totalReward: this.totalReward,
    };
  }

  /** The current scene as an SVG document; needs `renderMode: 'svg'` (which also simulates exhaust particles). */
  render(): string {
    if (this.options.renderMode !== 'svg') {
      throw new Error(
        "LunarLander.render: renderMode is null; expected the env to be built with renderMode: 'svg'",
      );
    }
    return renderSvg(this.frame());
  }

  /** Builds the world for a new episode in the reference's order (spec §1.2): moon, lander, legs. */
  private buildWorld(rng: Rng): void {
    const world = new World({ gravity: { x: 0, y: this.options.gravity } });
    // Bit-identical to planck's own solver, and about 2.5x the env steps per second; only this world uses
    // it (see fast-solver.ts).
    installFastSolver(world);
    this.world = world;
    this.gameOver = false;
    this.prevShaping = Number.NaN;
    this.legContact[0] = false;
    this.legContact[1] = false;
    this.particles.clear();
    world.on('begin-contact', (contact) => this.onBeginContact(contact));
    world.on('end-contact', (contact) => this.onEndContact(contact));

    const terrain = generateTerrain(rng);
    this.terrain = terrain;
    const moon = world.createBody();
    // The base edge takes the default fixture (friction 0.2); the terrain edges take friction 0.1.
    moon.createFixture(new Edge(new Vec2(0, 0), new Vec2(W, 0)), {});
    for (let i = 0; i < terrain.chunkX.length - 1; i++) {
      const p1 = new Vec2(terrain.chunkX[i]!, terrain.smoothY[i]!);
      const p2 = new Vec2(terrain.chunkX[i + 1]!, terrain.smoothY[i + 1]!);
      moon.createFixture(new Edge(p1, p2), { density: 0, friction: 0.1 });
    }

    const lander = world.createDynamicBody({ position: new Vec2(W / 2, H), angle: 0 });
    lander.createFixture(new Polygon(LANDER_POLY.map(([x, y]) => new Vec2(x / SCALE, y / SCALE))), {
      density: 5.0,
      friction: 0.1,
      restitution: 0.0,
      filterCategoryBits: LANDER_CATEGORY,
      filterMaskBits: GROUND_CATEGORY,
    });
    this.lander = lander;
    // A force, not an impulse: it is integrated once by the no-op step at the end of reset (spec §1.2).
    const forceX = rng.uniform(-INITIAL_RANDOM, INITIAL_RANDOM);
    const forceY = rng.uniform(-INITIAL_RANDOM, INITIAL_RANDOM);
    lander.applyForceToCenter({ x: forceX, y: forceY }, true);

    if (this.options.enableWind) {
      // v3 draws the wind phases per reset from the seeded generator (spec §1.7); upper bound exclusive.
      this.windIdx = rng.integer(-9999, 9999);
      this.torqueIdx = rng.integer(-9999, 9999);
    }

    this.legs = [];
    for (const i of [-1, 1]) {
      const leg = world.createDynamicBody({
        position: new Vec2(W / 2 - (i * LEG_AWAY) / SCALE, H),
        angle: i * 0.05,
      });
      leg.createFixture(new BoxShape(LEG_W / SCALE, LEG_H / SCALE), {
        density: 1.0,
        restitution: 0.0,
        filterCategoryBits: LEG_CATEGORY,
        filterMaskBits: GROUND_CATEGORY,
      });
      // referenceAngle is left unset: planck then uses bodyB.angle - bodyA.angle = i*0.05, as pybox2d does.
      const joint = new RevoluteJoint({
        bodyA: lander,
        bodyB: leg,
        localAnchorA: new Vec2(0, 0),
        localAnchorB: new Vec2((i * LEG_AWAY) / SCALE, LEG_DOWN / SCALE),
        enableMotor: true,
        enableLimit: true,
        maxMotorTorque: LEG_SPRING_TORQUE,
        motorSpeed: 0.3 * i,
        lowerAngle: i === -1 ? 0.9 - 0.5 : -0.9,
        upperAngle: i === -1 ? 0.9 : -0.9 + 0.5,
      });
      world.createJoint(joint);
      this.legs.push(leg);
    }
  }

  /**
   * The reference's `step` body (spec §1.5 steps 1-10) without the action check and the time limit.
   * Returns `terminated`; leaves the reward in `lastReward` and the observation in `state`.
   */
  private physicsStep(discreteAction: number, main: number, lateral: number): boolean {
    const lander = this.lander!;
    const world = this.world!;
    const rng = this.rng!;
    const opts = this.options;

    if (opts.enableWind && !(this.legContact[0] || this.legContact[1])) {
      const windMag =
        Math.tanh(Math.sin(0.02 * this.windIdx) + Math.sin(Math.PI * 0.01 * this.windIdx)) * opts.windPower;
      this.windIdx += 1;
      this.vecA.x = windMag;
      this.vecA.y = 0.0;
      lander.applyForceToCenter(this.vecA, true);
      const torqueMag =
        Math.tanh(Math.sin(0.02 * this.torqueIdx) + Math.sin(Math.PI * 0.01 * this.torqueIdx)) *
        opts.turbulencePower;
      this.torqueIdx += 1;
      lander.applyTorque(torqueMag, true);
    }

    const angle = lander.getAngle();
    const tip0 = Math.sin(angle);
    const tip1 = Math.cos(angle);
    const side0 = -tip1;
    const side1 = tip0;
    // Two dispersion draws on every step, whatever the action (spec §1.4).
    const dispersion0 = rng.uniform(-1.0, 1.0) / SCALE;
    const dispersion1 = rng.uniform(-1.0, 1.0) / SCALE;
    const position = lander.getPosition();

    let mainPower = 0.0;
    if ((this.continuous && main > 0.0) || (!this.continuous && discreteAction === 2)) {
      mainPower = this.continuous ? (clip(main, 0.0, 1.0) + 1.0) * 0.5 : 1.0;
      const ox = tip0 * (MAIN_ENGINE_Y_LOCATION / SCALE + 2 * dispersion0) + side0 * dispersion1;
      const oy = -tip1 * (MAIN_ENGINE_Y_LOCATION / SCALE + 2 * dispersion0) - side1 * dispersion1;
      // Applied at the body origin plus the offset, not at the centre of mass (spec §7).
      this.fireEngine('main', MAIN_ENGINE_POWER, mainPower, ox, oy, position.x + ox, position.y + oy);
    }

    let sidePower = 0.0;
    let direction = 0;
    if (
      (this.continuous && Math.abs(lateral) > 0.5) ||
      (!this.continuous && (discreteAction === 1 || discreteAction === 3))
    ) {
      if (this.continuous) {
        direction = Math.sign(lateral);
        sidePower = clip(Math.abs(lateral), 0.5, 1.0);
      } else {
        direction = discreteAction - 2;
        sidePower = 1.0;
      }
      const ox = tip0 * dispersion0 + side0 * (3 * dispersion1 + (direction * SIDE_ENGINE_AWAY) / SCALE);
      const oy = -tip1 * dispersion0 - side1 * (3 * dispersion1 + (direction * SIDE_ENGINE_AWAY) / SCALE);
      // The reference's 17 (not SIDE_ENGINE_HEIGHT) in x is a known bug we keep (spec §1.5 step 5).
      const px = position.x + ox - (tip0 * 17) / SCALE;
      const py = position.y + oy + (tip1 * SIDE_ENGINE_HEIGHT) / SCALE;
      this.fireEngine('side', SIDE_ENGINE_POWER, sidePower, ox, oy, px, py);
    }

    world.step(TIME_STEP, VELOCITY_ITERATIONS, POSITION_ITERATIONS);
    if (opts.renderMode !== null)
      this.particles.advance(TIME_STEP, opts.gravity, (x) => this.groundHeightAt(x));

    const pos = lander.getPosition();
    const vel = lander.getLinearVelocity();
    const s = this.state;
    s[0] = (pos.x - W / 2) / (W / 2);
    s[1] = (pos.y - (this.terrain!.helipadY + LEG_DOWN_M)) / (H / 2);
    s[2] = (vel.x * (W / 2)) / FPS;
    s[3] = (vel.y * (H / 2)) / FPS;
    s[4] = lander.getAngle();
    s[5] = (20.0 * lander.getAngularVelocity()) / FPS;
    s[6] = this.legContact[0] ? 1.0 : 0.0;
    s[7] = this.legContact[1] ? 1.0 : 0.0;

    const shaping =
      -100 * Math.sqrt(s[0] * s[0] + s[1] * s[1]) -
      100 * Math.sqrt(s[2] * s[2] + s[3] * s[3]) -
      100 * Math.abs(s[4]) +
      10 * s[6] +
      10 * s[7];
    let reward = Number.isNaN(this.prevShaping) ? 0 : shaping - this.prevShaping;
    this.prevShaping = shaping;
    reward -= mainPower * 0.3;
    reward -= sidePower * 0.03;

    let terminated = false;
    if (this.gameOver || Math.abs(s[0]) >= 1.0) {
      terminated = true;
      reward = -100;
    }
    // Checked second, so coming to rest wins over a crash in the same step (spec §1.5 step 10).
    if (!lander.isAwake()) {
      terminated = true;
      reward = +100;
    }
    this.lastReward = reward;
    this.lastMainPower = mainPower;
    this.lastSidePower = sidePower;
    this.lastSideDirection = direction;
    return terminated;
  }

  /**
   * Applies an engine's impulse -(ox, oy) * enginePower * power at (px, py), and emits an exhaust particle
   * there when rendering (the reference's particle gets the opposite impulse).
   */
  private fireEngine(
    kind: 'main' | 'side',
    enginePower: number,
    power: number,
    ox: number,
    oy: number,
    px: number,
    py: number,
  ): void {
    if (this.options.renderMode !== null) {
      const k = enginePower * power;
      this.particles.emit(kind, px, py, ox * k, oy * k, power);
    }
    this.vecA.x = -ox * enginePower * power;
    this.vecA.y = -oy * enginePower * power;
    this.vecB.x = px;
    this.vecB.y = py;
    this.lander!.applyLinearImpulse(this.vecA, this.vecB, true);
  }

  private observation(): Float32Array {
    const out = new Float32Array(OBSERVATION_SIZE);
    this.writeObservation(out);
    return out;
  }

  private onBeginContact(contact: Contact): void {
    const a = contact.getFixtureA().getBody();
    const b = contact.getFixtureB().getBody();
    if (a === this.lander || b === this.lander) this.gameOver = true;
    for (let i = 0; i < 2; i++) {
      const leg = this.legs[i];
      if (leg === a || leg === b) this.legContact[i] = true;
    }
  }

  // No contact counter: leaving one edge clears the flag even while touching the next (spec §1.5 step 11).
  private onEndContact(contact: Contact): void {
    const a = contact.getFixtureA().getBody();
    const b = contact.getFixtureB().getBody();
    for (let i = 0; i < 2; i++) {
      const leg = this.legs[i];
      if (leg === a || leg === b) this.legContact[i] = false;
    }
  }

  private groundHeightAt(x: number): number {
    const t = this.terrain!;
    const last = t.chunkX.length - 1;
    if (x <= t.chunkX[0]!) return t.smoothY[0]!;
    if (x >= t.chunkX[last]!) return t.smoothY[last]!;
    const i = Math.min(last - 1, Math.floor((x - t.chunkX[0]!) / (t.chunkX[1]! - t.chunkX[0]!)));
    const f = (x - t.chunkX[i]!) / (t.chunkX[i + 1]! - t.chunkX[i]!);
    return t.smoothY[i]! + f * (t.smoothY[i + 1]! - t.smoothY[i]!);
  }
}

function clip(x: number, low: number, high: number): number {
  return x < low ? low : x > high ? high : x;
}

function isArrayLike(x: unknown): x is ArrayLike<number> {
  return Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof DataView));
}

function describe(x: unknown): string {
  if (isArrayLike(x)) return `[${Array.from(x as ArrayLike<unknown>, String).join(', ')}]`;
  return typeof x === 'string' ? `'${x}'` : String(x);
}

function worldPolygon(body: Body): number[] {
  const out: number[] = [];
  const fixture = body.getFixtureList();
  if (fixture === null) return out;
  const shape = fixture.getShape() as Polygon;
  for (const v of shape.m_vertices) {
    const p = body.getWorldPoint(v);
    out.push(p.x, p.y);
  }
  return out;
}
