import { Box, Circle, Contact, Edge, RevoluteJoint, Solver, Vec2, World } from 'planck';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { useStockSolver, usesFastSolver } from '../src/env/fast-solver.ts';
import { heuristicAction } from '../src/env/heuristic.ts';
import { LunarLander } from '../src/env/lunar-lander.ts';
import { type TrajectoryOptions, trajectoryHash } from './helpers/env-trajectory.ts';

/** The world of a fresh LunarLander after reset. */
function landerWorld(): World {
  const env = new LunarLander();
  env.reset({ seed: 1 });
  return env.bodies.world;
}

/** The trajectory hash with planck's own solver in place of ours. */
function stockHash(options: TrajectoryOptions) {
  useStockSolver(true);
  try {
    expect(usesFastSolver(landerWorld())).toBe(false);
    return trajectoryHash(options);
  } finally {
    useStockSolver(false);
  }
}

describe('allocation-free revolute-joint velocity solver', () => {
  it('gives bit-identical trajectories to stock planck (crashes, landings at rest, wind, both modes)', () => {
    const cases: TrajectoryOptions[] = [
      { seed: 1, episodes: 4 },
      { seed: 2, episodes: 3, continuous: true },
      { seed: 3, episodes: 3, enableWind: true },
      { seed: 4, episodes: 3, continuous: true, enableWind: true, actionSeed: 5 },
      { seed: 5, episodes: 2, policy: 'heuristic' },
      { seed: 6, episodes: 2, policy: 'heuristic', continuous: true },
    ];
    for (const options of cases) {
      expect(usesFastSolver(landerWorld())).toBe(true);
      const fast = trajectoryHash(options);
      expect(stockHash(options)).toEqual(fast);
    }
  });
});

describe('scope of the fast solver', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("leaves planck's prototypes alone: a plain World in the same process runs planck's own solver", () => {
    type Methods = Record<string, unknown>;
    const solver = Solver.prototype as unknown as Methods;
    const joint = RevoluteJoint.prototype as unknown as Methods;
    const contact = Contact.prototype as unknown as Methods;
    const before = [
      solver.solveIsland,
      joint.initVelocityConstraints,
      joint.solveVelocityConstraints,
      joint.solvePositionConstraints,
      contact.solveVelocityConstraint,
    ];

    // A lander exists and has flown a whole episode (the heuristic lands it: its world has had contacts).
    const env = new LunarLander();
    env.reset({ seed: 3 });
    for (let done = false; !done; ) {
      const result = env.step(heuristicAction(env.stateFloat64, false));
      done = result.terminated || result.truncated;
    }
    expect(usesFastSolver(env.bodies.world)).toBe(true);
    for (let j = env.bodies.world.getJointList(); j !== null; j = j.getNext()) {
      expect(Object.hasOwn(j, 'initVelocityConstraints')).toBe(true);
    }
    expect([
      solver.solveIsland,
      joint.initVelocityConstraints,
      joint.solveVelocityConstraints,
      joint.solvePositionConstraints,
      contact.solveVelocityConstraint,
    ]).toEqual(before);

    // A user's world: a pendulum on a revolute joint and a ball falling onto the ground.
    const spies = [
      vi.spyOn(Solver.prototype as never, 'solveIsland' as never),
      vi.spyOn(RevoluteJoint.prototype, 'initVelocityConstraints'),
      vi.spyOn(RevoluteJoint.prototype, 'solveVelocityConstraints'),
      vi.spyOn(RevoluteJoint.prototype, 'solvePositionConstraints'),
      vi.spyOn(Contact.prototype, 'solveVelocityConstraint'),
    ];
    const world = new World({ gravity: new Vec2(0, -10) });
    expect(usesFastSolver(world)).toBe(false);
    const ground = world.createBody();
    ground.createFixture(new Edge(new Vec2(-10, 0), new Vec2(10, 0)), {});
    const arm = world.createDynamicBody({ position: new Vec2(1, 5) });
    arm.createFixture(new Box(0.5, 0.1), { density: 1 });
    const pin = world.createJoint(
      new RevoluteJoint({ enableMotor: true, maxMotorTorque: 1, motorSpeed: 1 }, ground, arm, new Vec2(0, 5)),
    );
    const ball = world.createDynamicBody({ position: new Vec2(5, 1) });
    ball.createFixture(new Circle(0.5), { density: 1 });
    for (let t = 0; t < 60; t++) world.step(1 / 60, 8, 3);

    for (const spy of spies) expect(spy).toHaveBeenCalled();
    expect(Object.hasOwn(pin as object, 'initVelocityConstraints')).toBe(false);
    expect(ball.getPosition().y).toBeCloseTo(0.5, 1);
  });
});
