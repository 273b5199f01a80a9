// Allocation-free replacements for planck 1.5.0's solver hot path: RevoluteJoint's initVelocityConstraints,
// solveVelocityConstraints and solvePositionConstraints, and a fused velocity loop (joints and contacts) in
// Solver.solveIsland.
//
// Why: the reference steps with 180 velocity iterations (spec §1.5 step 7), so the velocity solver runs 360
// times per env step and, in stock planck, allocates about six small Vec2/Vec3 objects each time. The
// profile of a straight port showed it at ~39% of the time plus ~11% in the garbage collector.
//
// Scope: only the worlds given to `installFastSolver` (the lander's) use these. They are set as own methods
// of that world's Solver object and, the first time that solver meets them in a fused island, of its
// RevoluteJoint objects; planck's prototypes are never touched, so any other planck World in the process
// (a user's own) runs planck's code unchanged. Contacts are not patched (planck pools Contact objects across
// worlds): inside the fused loop their solve is our port, called directly; in planck's time-of-impact
// sub-steps planck's own Contact.solveVelocityConstraint runs (measured over 40 episodes: about 2.5 such
// solves per env step, against 180 per touching contact in the fused loop).
//
// Bit-identical by construction: every function performs the same floating-point operations in the same
// order as planck's (including the `0 + x` of Vec2.zero().addCombine and the `-1 * x` of Vec2.combine);
// test/env-fast-solver.test.ts compares whole trajectories against stock planck to prove it. Two changes
// of structure keep the values:
// - the terms of Mat33.solve33 and Mat33.solve22 that depend only on the effective-mass matrix are computed
//   once per step (in initVelocityConstraints) instead of in each iteration;
// - the solver's velocity loop (180 iterations of: every joint, then every contact) runs in one function
//   over plain numbers, in the same order, with planck's Contact.solveVelocityConstraint ported to match
//   (fast-contact-solver.ts): Solver.solveIsland is wrapped so that the loop runs right after the joints'
//   initVelocityConstraints, and the solver's own loop runs no iteration.
import * as planck from 'planck';
import { RevoluteJoint, Solver, Vec2, type World } from 'planck';
import {
  type ContactInternals,
  canFuseContact,
  iterateContact,
  loadContactState,
  storeContactState,
} from './fast-contact-solver.ts';

/** planck's run-time settings (exported by the package but missing from its type declarations). */
const SettingsInternal = (
  planck as unknown as {
    SettingsInternal: { angularSlop: number; linearSlop: number; maxAngularCorrection: number };
  }
).SettingsInternal;

interface XY {
  x: number;
  y: number;
}
interface XYZ extends XY {
  z: number;
}
interface SolverBody {
  c_velocity: { v: XY; w: number };
  c_position: { c: XY; a: number };
  m_sweep: { localCenter: XY };
  m_invMass: number;
  m_invI: number;
}
/** The private fields of planck's RevoluteJoint that its solver reads and writes. */
interface RevoluteInternals {
  m_bodyA: SolverBody;
  m_bodyB: SolverBody;
  m_invMassA: number;
  m_invMassB: number;
  m_invIA: number;
  m_invIB: number;
  m_rA: XY;
  m_rB: XY;
  m_mass: { ex: XYZ; ey: XYZ; ez: XYZ };
  m_impulse: XYZ;
  m_motorImpulse: number;
  m_motorMass: number;
  m_motorSpeed: number;
  m_maxMotorTorque: number;
  m_enableMotor: boolean;
  m_enableLimit: boolean;
  m_limitState: number;
  m_localAnchorA: XY;
  m_localAnchorB: XY;
  m_localCenterA: XY;
  m_localCenterB: XY;
  m_referenceAngle: number;
  m_lowerAngle: number;
  m_upperAngle: number;
  /** Ours: this step's constants and accumulators, filled by initVelocityConstraints. */
  fast_state: JointState | undefined;
  // The solver methods planck calls on the joint; ours are set as own properties (see adoptJoint).
  initVelocityConstraints: (step: SolverStep) => void;
  solveVelocityConstraints: (step: SolverStep) => void;
  solvePositionConstraints: (step: SolverStep) => boolean;
}
/** The private fields of planck's Solver that its island solve uses, and the method we replace. */
interface SolverInternals {
  m_joints: unknown[];
  m_contacts: unknown[];
  solveIsland: (step: SolverStep) => unknown;
}
interface SolverStep {
  dt: number;
  dtRatio: number;
  warmStarting: boolean;
  blockSolve: boolean;
  velocityIterations: number;
}

// planck's LimitState enum values.
const INACTIVE_LIMIT = 0;
const AT_LOWER_LIMIT = 1;
const AT_UPPER_LIMIT = 2;
const EQUAL_LIMITS = 3;

// One joint's solver state for one step, in a Float64Array (plain numbers, no boxed object fields): the
// constants copied from planck's fields, then the accumulators.
const MA = 0;
const MB = 1;
const IA = 2;
const IB = 3;
const RAX = 4;
const RAY = 5;
const RBX = 6;
const RBY = 7;
/** Effective-mass matrix columns ex, ey, ez. */
const EXX = 8;
const EXY = 9;
const EXZ = 10;
const EYX = 11;
const EYY = 12;
const EYZ = 13;
const EZX = 14;
const EZY = 15;
const EZZ = 16;
/** Mat33.solve33's first cross product (ey x ez) and inverse determinant. */
const CROSS_X = 17;
const CROSS_Y = 18;
const CROSS_Z = 19;
const DET33 = 20;
/** Mat33.solve22's inverse determinant of the upper-left 2x2 block. */
const DET22 = 21;
const MOTOR_MASS = 22;
const MOTOR_SPEED = 23;
const MAX_IMPULSE = 24;
/** 1 when the motor part runs, 1 when the limit part runs; the limit state. */
const USE_MOTOR = 25;
const USE_LIMIT = 26;
const LIMIT_STATE = 27;
/** Accumulated motor impulse and the joint's Vec3 impulse. */
const MOTOR_IMPULSE = 28;
const IMPULSE_X = 29;
const IMPULSE_Y = 30;
const IMPULSE_Z = 31;
const JOINT_STATE_SIZE = 32;
type JointState = Float64Array;

// Body velocities (c_velocity.v.x, .v.y, .w) while one joint is solved on its own: A at 0, B at 3.
const VELOCITY_A = 0;
const VELOCITY_B = 3;
const velocities = new Float64Array(6);

type SolverMethod = (this: unknown, step: SolverStep) => unknown;

/** planck's own island solve, which ours wraps (read once; planck's prototype is left as it is). */
const stockSolveIsland = (Solver.prototype as unknown as SolverInternals).solveIsland as SolverMethod;

function initVelocityConstraints(this: RevoluteInternals, step: SolverStep): void {
  const bodyA = this.m_bodyA;
  const bodyB = this.m_bodyB;
  this.m_localCenterA = bodyA.m_sweep.localCenter;
  this.m_localCenterB = bodyB.m_sweep.localCenter;
  this.m_invMassA = bodyA.m_invMass;
  this.m_invMassB = bodyB.m_invMass;
  this.m_invIA = bodyA.m_invI;
  this.m_invIB = bodyB.m_invI;
  const aA = bodyA.c_position.a;
  const vA = bodyA.c_velocity.v;
  let wA = bodyA.c_velocity.w;
  const aB = bodyB.c_position.a;
  const vB = bodyB.c_velocity.v;
  let wB = bodyB.c_velocity.w;
  // m_rA = Rot.mulVec2(Rot(aA), localAnchorA - localCenterA), likewise m_rB; the objects are reused.
  if (this.m_rA === undefined) this.m_rA = new Vec2(0, 0);
  if (this.m_rB === undefined) this.m_rB = new Vec2(0, 0);
  rotateInto(this.m_rA, aA, this.m_localAnchorA, this.m_localCenterA);
  rotateInto(this.m_rB, aB, this.m_localAnchorB, this.m_localCenterB);
  const rA = this.m_rA;
  const rB = this.m_rB;
  const mA = this.m_invMassA;
  const mB = this.m_invMassB;
  const iA = this.m_invIA;
  const iB = this.m_invIB;
  const fixedRotation = iA + iB === 0;
  const mass = this.m_mass;
  mass.ex.x = mA + mB + rA.y * rA.y * iA + rB.y * rB.y * iB;
  mass.ey.x = -rA.y * rA.x * iA - rB.y * rB.x * iB;
  mass.ez.x = -rA.y * iA - rB.y * iB;
  mass.ex.y = mass.ey.x;
  mass.ey.y = mA + mB + rA.x * rA.x * iA + rB.x * rB.x * iB;
  mass.ez.y = rA.x * iA + rB.x * iB;
  mass.ex.z = mass.ez.x;
  mass.ey.z = mass.ez.y;
  mass.ez.z = iA + iB;
  this.m_motorMass = iA + iB;
  if (this.m_motorMass > 0) this.m_motorMass = 1 / this.m_motorMass;
  if (this.m_enableMotor === false || fixedRotation) this.m_motorImpulse = 0;
  if (this.m_enableLimit && fixedRotation === false) {
    const jointAngle = aB - aA - this.m_referenceAngle;
    if (Math.abs(this.m_upperAngle - this.m_lowerAngle) < 2 * SettingsInternal.angularSlop) {
      this.m_limitState = EQUAL_LIMITS;
    } else if (jointAngle <= this.m_lowerAngle) {
      if (this.m_limitState !== AT_LOWER_LIMIT) this.m_impulse.z = 0;
      this.m_limitState = AT_LOWER_LIMIT;
    } else if (jointAngle >= this.m_upperAngle) {
      if (this.m_limitState !== AT_UPPER_LIMIT) this.m_impulse.z = 0;
      this.m_limitState = AT_UPPER_LIMIT;
    } else {
      this.m_limitState = INACTIVE_LIMIT;
      this.m_impulse.z = 0;
    }
  } else {
    this.m_limitState = INACTIVE_LIMIT;
  }
  const impulse = this.m_impulse;
  if (step.warmStarting) {
    impulse.x *= step.dtRatio;
    impulse.y *= step.dtRatio;
    impulse.z *= step.dtRatio;
    this.m_motorImpulse *= step.dtRatio;
    const px = impulse.x;
    const py = impulse.y;
    vA.x -= mA * px;
    vA.y -= mA * py;
    wA -= iA * (rA.x * py - rA.y * px + this.m_motorImpulse + impulse.z);
    vB.x += mB * px;
    vB.y += mB * py;
    wB += iB * (rB.x * py - rB.y * px + this.m_motorImpulse + impulse.z);
  } else {
    impulse.x = 0;
    impulse.y = 0;
    impulse.z = 0;
    this.m_motorImpulse = 0;
  }
  bodyA.c_velocity.w = wA;
  bodyB.c_velocity.w = wB;

  prepareJointState(this, step);
  // The island's last joint: its velocity loop runs here, fused (see top of file).
  if (pendingIsland !== null && pendingIsland.lastJoint === this) {
    const island = pendingIsland;
    pendingIsland = null;
    solveIslandVelocities(island, step);
  }
}

/** out = Rot(angle) * (anchor - center), as Rot.mulVec2(Rot.neo(angle), Vec2.sub(anchor, center)). */
function rotateInto(out: XY, angle: number, anchor: XY, center: XY): void {
  const s = Math.sin(angle);
  const c = Math.cos(angle);
  const x = anchor.x - center.x;
  const y = anchor.y - center.y;
  out.x = c * x - s * y;
  out.y = s * x + c * y;
}

/** Copies this step's constants into the joint's JointState (the values planck's solver would recompute). */
function prepareJointState(joint: RevoluteInternals, step: SolverStep): void {
  if (joint.fast_state === undefined) joint.fast_state = new Float64Array(JOINT_STATE_SIZE);
  const s = joint.fast_state;
  const mass = joint.m_mass;
  s[MA] = joint.m_invMassA;
  s[MB] = joint.m_invMassB;
  s[IA] = joint.m_invIA;
  s[IB] = joint.m_invIB;
  s[RAX] = joint.m_rA.x;
  s[RAY] = joint.m_rA.y;
  s[RBX] = joint.m_rB.x;
  s[RBY] = joint.m_rB.y;
  const { ex, ey, ez } = mass;
  s[EXX] = ex.x;
  s[EXY] = ex.y;
  s[EXZ] = ex.z;
  s[EYX] = ey.x;
  s[EYY] = ey.y;
  s[EYZ] = ey.z;
  s[EZX] = ez.x;
  s[EZY] = ez.y;
  s[EZZ] = ez.z;
  // Mat33.solve33: cross = ey x ez, det = ex . cross, inverted unless zero.
  const crossX = ey.y * ez.z - ey.z * ez.y;
  const crossY = ey.z * ez.x - ey.x * ez.z;
  const crossZ = ey.x * ez.y - ey.y * ez.x;
  let det33 = ex.x * crossX + ex.y * crossY + ex.z * crossZ;
  if (det33 !== 0) det33 = 1 / det33;
  s[CROSS_X] = crossX;
  s[CROSS_Y] = crossY;
  s[CROSS_Z] = crossZ;
  s[DET33] = det33;
  // Mat33.solve22 with a11 = ex.x, a12 = ey.x, a21 = ex.y, a22 = ey.y.
  let det22 = ex.x * ey.y - ey.x * ex.y;
  if (det22 !== 0) det22 = 1 / det22;
  s[DET22] = det22;
  s[MOTOR_MASS] = joint.m_motorMass;
  s[MOTOR_SPEED] = joint.m_motorSpeed;
  s[MAX_IMPULSE] = step.dt * joint.m_maxMotorTorque;
  const fixedRotation = joint.m_invIA + joint.m_invIB === 0;
  const limitState = joint.m_limitState;
  s[LIMIT_STATE] = limitState;
  s[USE_MOTOR] = joint.m_enableMotor && limitState !== EQUAL_LIMITS && !fixedRotation ? 1 : 0;
  s[USE_LIMIT] = joint.m_enableLimit && limitState !== INACTIVE_LIMIT && !fixedRotation ? 1 : 0;
}

/**
 * One velocity iteration of one joint between the bodies at offsets a and b of `v`: planck's
 * RevoluteJoint.solveVelocityConstraints on plain numbers.
 */
function iterateJoint(s: JointState, v: Float64Array, a: number, b: number): void {
  let wA = v[a + 2]!;
  let wB = v[b + 2]!;
  const mA = s[MA]!;
  const mB = s[MB]!;
  const iA = s[IA]!;
  const iB = s[IB]!;
  const rAx = s[RAX]!;
  const rAy = s[RAY]!;
  const rBx = s[RBX]!;
  const rBy = s[RBY]!;
  // Every constant in a local: stores to the accumulators in `s` would make the engine reload them.
  const exx = s[EXX]!;
  const exy = s[EXY]!;
  const exz = s[EXZ]!;
  const eyx = s[EYX]!;
  const eyy = s[EYY]!;
  const eyz = s[EYZ]!;
  const ezx = s[EZX]!;
  const ezy = s[EZY]!;
  const ezz = s[EZZ]!;
  const crossX0 = s[CROSS_X]!;
  const crossY0 = s[CROSS_Y]!;
  const crossZ0 = s[CROSS_Z]!;
  const det = s[DET33]!;
  const det22 = s[DET22]!;
  const motorMass = s[MOTOR_MASS]!;
  const motorSpeed = s[MOTOR_SPEED]!;
  const maxImpulse = s[MAX_IMPULSE]!;
  let motorImpulse = s[MOTOR_IMPULSE]!;
  let accumulatedX = s[IMPULSE_X]!;
  let accumulatedY = s[IMPULSE_Y]!;
  let accumulatedZ = s[IMPULSE_Z]!;

  if (s[USE_MOTOR] === 1) {
    const cdot = wB - wA - motorSpeed;
    let impulse = -motorMass * cdot;
    const oldImpulse = motorImpulse;
    motorImpulse = clamp(motorImpulse + impulse, -maxImpulse, maxImpulse);
    impulse = motorImpulse - oldImpulse;
    wA -= iA * impulse;
    wB += iB * impulse;
  }

  if (s[USE_LIMIT] === 1) {
    // Cdot1 = 0 + (vB + wB x rB), then -= (vA + wA x rA), as Vec2.zero().addCombine().subCombine().
    let cdot1x = 0;
    let cdot1y = 0;
    cdot1x += v[b]! + -wB * rBy;
    cdot1y += v[b + 1]! + wB * rBx;
    cdot1x -= v[a]! + -wA * rAy;
    cdot1y -= v[a + 1]! + wA * rAx;
    const cdot2 = wB - wA;

    // impulse = -solve33(Cdot), Mat33.solve33 written out; its matrix-only terms come from the state.
    const solvedX = det * (cdot1x * crossX0 + cdot1y * crossY0 + cdot2 * crossZ0);
    let crossX = cdot1y * ezz - cdot2 * ezy;
    let crossY = cdot2 * ezx - cdot1x * ezz;
    let crossZ = cdot1x * ezy - cdot1y * ezx;
    const solvedY = det * (exx * crossX + exy * crossY + exz * crossZ);
    crossX = eyy * cdot2 - eyz * cdot1y;
    crossY = eyz * cdot1x - eyx * cdot2;
    crossZ = eyx * cdot1y - eyy * cdot1x;
    const solvedZ = det * (exx * crossX + exy * crossY + exz * crossZ);
    let impulseX = -solvedX;
    let impulseY = -solvedY;
    let impulseZ = -solvedZ;

    const state = s[LIMIT_STATE];
    if (state === EQUAL_LIMITS) {
      accumulatedX += impulseX;
      accumulatedY += impulseY;
      accumulatedZ += impulseZ;
    } else if (state === AT_LOWER_LIMIT || state === AT_UPPER_LIMIT) {
      const newImpulse = accumulatedZ + impulseZ;
      if (state === AT_LOWER_LIMIT ? newImpulse < 0 : newImpulse > 0) {
        // rhs = Vec2.combine(-1, Cdot1, impulse.z, (ez.x, ez.y)); reduced = solve22(rhs).
        const rhsX = -1 * cdot1x + accumulatedZ * ezx;
        const rhsY = -1 * cdot1y + accumulatedZ * ezy;
        const reducedX = det22 * (eyy * rhsX - eyx * rhsY);
        const reducedY = det22 * (exx * rhsY - exy * rhsX);
        impulseX = reducedX;
        impulseY = reducedY;
        impulseZ = -accumulatedZ;
        accumulatedX += reducedX;
        accumulatedY += reducedY;
        accumulatedZ = 0;
      } else {
        accumulatedX += impulseX;
        accumulatedY += impulseY;
        accumulatedZ += impulseZ;
      }
    }
    v[a]! -= mA * impulseX;
    v[a + 1]! -= mA * impulseY;
    wA -= iA * (rAx * impulseY - rAy * impulseX + impulseZ);
    v[b]! += mB * impulseX;
    v[b + 1]! += mB * impulseY;
    wB += iB * (rBx * impulseY - rBy * impulseX + impulseZ);
  } else {
    let cdotX = 0;
    let cdotY = 0;
    cdotX += v[b]! + -wB * rBy;
    cdotY += v[b + 1]! + wB * rBx;
    cdotX -= v[a]! + -wA * rAy;
    cdotY -= v[a + 1]! + wA * rAx;
    // impulse = solve22(-Cdot).
    const x = -cdotX;
    const y = -cdotY;
    const impulseX = det22 * (eyy * x - eyx * y);
    const impulseY = det22 * (exx * y - exy * x);
    accumulatedX += impulseX;
    accumulatedY += impulseY;
    v[a]! -= mA * impulseX;
    v[a + 1]! -= mA * impulseY;
    wA -= iA * (rAx * impulseY - rAy * impulseX);
    v[b]! += mB * impulseX;
    v[b + 1]! += mB * impulseY;
    wB += iB * (rBx * impulseY - rBy * impulseX);
  }
  v[a + 2] = wA;
  v[b + 2] = wB;
  s[MOTOR_IMPULSE] = motorImpulse;
  s[IMPULSE_X] = accumulatedX;
  s[IMPULSE_Y] = accumulatedY;
  s[IMPULSE_Z] = accumulatedZ;
}

function loadVelocity(offset: number, body: SolverBody): void {
  velocities[offset] = body.c_velocity.v.x;
  velocities[offset + 1] = body.c_velocity.v.y;
  velocities[offset + 2] = body.c_velocity.w;
}

function storeVelocity(body: SolverBody, offset: number): void {
  body.c_velocity.v.x = velocities[offset]!;
  body.c_velocity.v.y = velocities[offset + 1]!;
  body.c_velocity.w = velocities[offset + 2]!;
}

function loadAccumulators(s: JointState, joint: RevoluteInternals): void {
  s[MOTOR_IMPULSE] = joint.m_motorImpulse;
  s[IMPULSE_X] = joint.m_impulse.x;
  s[IMPULSE_Y] = joint.m_impulse.y;
  s[IMPULSE_Z] = joint.m_impulse.z;
}

function storeAccumulators(joint: RevoluteInternals, s: JointState): void {
  joint.m_motorImpulse = s[MOTOR_IMPULSE]!;
  joint.m_impulse.x = s[IMPULSE_X]!;
  joint.m_impulse.y = s[IMPULSE_Y]!;
  joint.m_impulse.z = s[IMPULSE_Z]!;
}

/** An island whose velocity loop runs fused, waiting for its last joint's initVelocityConstraints. */
interface PendingIsland {
  joints: RevoluteInternals[];
  contacts: FusableContact[];
  lastJoint: RevoluteInternals | null;
  iterations: number;
}
type FusableContact = ContactInternals & {
  solveVelocityConstraint(step: SolverStep): void;
  m_fixtureA: { m_body: SolverBody } | null;
  m_fixtureB: { m_body: SolverBody } | null;
};
let pendingIsland: PendingIsland | null = null;
/** The one PendingIsland object, reused so that a step allocates nothing. */
const islandSlot: PendingIsland = { joints: [], contacts: [], lastJoint: null, iterations: 0 };

/** Bodies of the island being solved, the first `bodyCount`; body k's velocity is at 3k of islandVelocities. */
const islandBodies: SolverBody[] = [];
let bodyCount = 0;
let islandVelocities = new Float64Array(3 * 8);
/** Velocity offsets of each joint's, then each contact's, bodies A and B. */
let offsetsA = new Int32Array(8);
let offsetsB = new Int32Array(8);
/** The island's contacts' states, the first contacts.length entries. */
const contactStates: Float64Array[] = [];

function bodyOffset(body: SolverBody): number {
  for (let k = 0; k < bodyCount; k++) if (islandBodies[k] === body) return 3 * k;
  islandBodies[bodyCount] = body;
  return 3 * bodyCount++;
}

/**
 * The solver's velocity loop for an island (each iteration: every joint, then every contact, in the
 * island's order) over plain numbers: velocities and impulses are loaded once, iterated, stored once.
 */
function solveIslandVelocities(island: PendingIsland, step: SolverStep): void {
  const { joints, contacts, iterations } = island;
  for (let k = 0; k < contacts.length; k++) {
    if (!canFuseContact(contacts[k]!)) {
      // A case the port does not cover: run planck's loop as it would have run.
      for (let i = 0; i < iterations; i++) {
        for (const joint of joints) solveVelocityConstraints.call(joint, step);
        for (const c of contacts) c.solveVelocityConstraint(step);
      }
      return;
    }
  }
  const jointCount = joints.length;
  const constraints = jointCount + contacts.length;
  if (offsetsA.length < constraints) {
    offsetsA = new Int32Array(2 * constraints);
    offsetsB = new Int32Array(2 * constraints);
  }
  bodyCount = 0;
  for (let k = 0; k < jointCount; k++) {
    const joint = joints[k]!;
    offsetsA[k] = bodyOffset(joint.m_bodyA);
    offsetsB[k] = bodyOffset(joint.m_bodyB);
    loadAccumulators(joint.fast_state!, joint);
  }
  for (let k = 0; k < contacts.length; k++) {
    const contact = contacts[k]!;
    offsetsA[jointCount + k] = bodyOffset(contact.m_fixtureA!.m_body);
    offsetsB[jointCount + k] = bodyOffset(contact.m_fixtureB!.m_body);
    contactStates[k] = loadContactState(contact);
  }
  if (islandVelocities.length < 3 * bodyCount) islandVelocities = new Float64Array(6 * bodyCount);
  const v = islandVelocities;
  for (let k = 0; k < bodyCount; k++) {
    const velocity = islandBodies[k]!.c_velocity;
    v[3 * k] = velocity.v.x;
    v[3 * k + 1] = velocity.v.y;
    v[3 * k + 2] = velocity.w;
  }
  const blockSolve = step.blockSolve;
  const contactCount = contacts.length;
  for (let i = 0; i < iterations; i++) {
    for (let k = 0; k < jointCount; k++) iterateJoint(joints[k]!.fast_state!, v, offsetsA[k]!, offsetsB[k]!);
    for (let k = 0; k < contactCount; k++) {
      const c = jointCount + k;
      iterateContact(contactStates[k]!, v, offsetsA[c]!, offsetsB[c]!, blockSolve);
    }
  }
  for (let k = 0; k < jointCount; k++) storeAccumulators(joints[k]!, joints[k]!.fast_state!);
  for (let k = 0; k < contactCount; k++) storeContactState(contacts[k]!, contactStates[k]!);
  for (let k = 0; k < bodyCount; k++) {
    const velocity = islandBodies[k]!.c_velocity;
    velocity.v.x = v[3 * k]!;
    velocity.v.y = v[3 * k + 1]!;
    velocity.w = v[3 * k + 2]!;
  }
}

function solveVelocityConstraints(this: RevoluteInternals, _step: SolverStep): void {
  const s = this.fast_state!;
  loadVelocity(VELOCITY_A, this.m_bodyA);
  loadVelocity(VELOCITY_B, this.m_bodyB);
  loadAccumulators(s, this);
  iterateJoint(s, velocities, VELOCITY_A, VELOCITY_B);
  storeAccumulators(this, s);
  storeVelocity(this.m_bodyA, VELOCITY_A);
  storeVelocity(this.m_bodyB, VELOCITY_B);
}

/** Gives one of the world's RevoluteJoints our solver methods, as own properties of that joint only. */
function adoptJoint(joint: RevoluteInternals): void {
  joint.initVelocityConstraints = initVelocityConstraints;
  joint.solveVelocityConstraints = solveVelocityConstraints;
  joint.solvePositionConstraints = solvePositionConstraints;
}

/**
 * planck's Solver.solveIsland. When every joint of the island is a RevoluteJoint, its velocity loop runs
 * fused at the end of the last joint's initVelocityConstraints (which comes after the contacts' init and
 * warm start, right before the solver's loop), and the solver's own loop is given zero iterations.
 */
function solveIsland(this: SolverInternals, step: SolverStep): unknown {
  const joints = this.m_joints as RevoluteInternals[];
  let fusable = joints.length > 0 && step.velocityIterations > 0;
  for (let k = 0; fusable && k < joints.length; k++) fusable = joints[k] instanceof RevoluteJoint;
  if (!fusable) return stockSolveIsland.call(this, step);
  for (let k = 0; k < joints.length; k++) {
    const joint = joints[k]!;
    if (joint.initVelocityConstraints !== initVelocityConstraints) adoptJoint(joint);
  }
  const iterations = step.velocityIterations;
  islandSlot.joints = joints;
  islandSlot.contacts = this.m_contacts as FusableContact[];
  islandSlot.lastJoint = joints[joints.length - 1]!;
  islandSlot.iterations = iterations;
  pendingIsland = islandSlot;
  step.velocityIterations = 0;
  try {
    return stockSolveIsland.call(this, step);
  } finally {
    step.velocityIterations = iterations;
    pendingIsland = null;
    islandSlot.lastJoint = null;
  }
}

/** planck's RevoluteJoint.solvePositionConstraints without Rot/Vec2/Mat22 temporaries. */
function solvePositionConstraints(this: RevoluteInternals, _step: SolverStep): boolean {
  const bodyA = this.m_bodyA;
  const bodyB = this.m_bodyB;
  const cA = bodyA.c_position.c;
  let aA = bodyA.c_position.a;
  const cB = bodyB.c_position.c;
  let aB = bodyB.c_position.a;
  let angularError = 0;
  let positionError = 0;
  const fixedRotation = this.m_invIA + this.m_invIB === 0;
  if (this.m_enableLimit && this.m_limitState !== INACTIVE_LIMIT && fixedRotation === false) {
    const angle = aB - aA - this.m_referenceAngle;
    const maxCorrection = SettingsInternal.maxAngularCorrection;
    let limitImpulse = 0;
    if (this.m_limitState === EQUAL_LIMITS) {
      const c = clamp(angle - this.m_lowerAngle, -maxCorrection, maxCorrection);
      limitImpulse = -this.m_motorMass * c;
      angularError = Math.abs(c);
    } else if (this.m_limitState === AT_LOWER_LIMIT) {
      let c = angle - this.m_lowerAngle;
      angularError = -c;
      c = clamp(c + SettingsInternal.angularSlop, -maxCorrection, 0);
      limitImpulse = -this.m_motorMass * c;
    } else if (this.m_limitState === AT_UPPER_LIMIT) {
      let c = angle - this.m_upperAngle;
      angularError = c;
      c = clamp(c - SettingsInternal.angularSlop, 0, maxCorrection);
      limitImpulse = -this.m_motorMass * c;
    }
    aA -= this.m_invIA * limitImpulse;
    aB += this.m_invIB * limitImpulse;
  }
  rotateInto(scratchA, aA, this.m_localAnchorA, this.m_localCenterA);
  rotateInto(scratchB, aB, this.m_localAnchorB, this.m_localCenterB);
  const rAx = scratchA.x;
  const rAy = scratchA.y;
  const rBx = scratchB.x;
  const rBy = scratchB.y;
  // C = 0 + (cB + rB), then -= (cA + rA), as Vec2.zero().addCombine().subCombine().
  let cx = 0;
  let cy = 0;
  cx += cB.x + rBx;
  cy += cB.y + rBy;
  cx -= cA.x + rAx;
  cy -= cA.y + rAy;
  positionError = Math.sqrt(cx * cx + cy * cy);
  const mA = this.m_invMassA;
  const mB = this.m_invMassB;
  const iA = this.m_invIA;
  const iB = this.m_invIB;
  const k11 = mA + mB + iA * rAy * rAy + iB * rBy * rBy;
  const k21 = -iA * rAx * rAy - iB * rBx * rBy;
  const k12 = k21;
  const k22 = mA + mB + iA * rAx * rAx + iB * rBx * rBx;
  // impulse = -K.solve(C), Mat22.solve written out.
  let det = k11 * k22 - k12 * k21;
  if (det !== 0) det = 1 / det;
  const impulseX = -(det * (k22 * cx - k12 * cy));
  const impulseY = -(det * (k11 * cy - k21 * cx));
  cA.x -= mA * impulseX;
  cA.y -= mA * impulseY;
  aA -= iA * (rAx * impulseY - rAy * impulseX);
  cB.x += mB * impulseX;
  cB.y += mB * impulseY;
  aB += iB * (rBx * impulseY - rBy * impulseX);
  bodyA.c_position.a = aA;
  bodyB.c_position.a = aB;
  return positionError <= SettingsInternal.linearSlop && angularError <= SettingsInternal.angularSlop;
}

const scratchA: XY = { x: 0, y: 0 };
const scratchB: XY = { x: 0, y: 0 };

function clamp(x: number, low: number, high: number): number {
  return x < low ? low : x > high ? high : x;
}

/** Set by `useStockSolver(true)`: worlds built afterwards keep planck's own solver. */
let stockRequested = false;

function solverOf(world: World): SolverInternals {
  return (world as unknown as { m_solver: SolverInternals }).m_solver;
}

/**
 * Gives `world` our solver (every LunarLander does this for the world it builds at reset): its Solver
 * object gets our island solve as an own method, which in turn gives the world's revolute joints ours.
 * Nothing outside this world changes. Does nothing after `useStockSolver(true)`.
 */
export function installFastSolver(world: World): void {
  if (!stockRequested) solverOf(world).solveIsland = solveIsland;
}

/**
 * Worlds built (at reset) after `useStockSolver(true)` keep planck's own solver, after `(false)` get ours;
 * tests compare the two.
 */
export function useStockSolver(stock: boolean): void {
  stockRequested = stock;
}

/** Whether `world` runs our solver (true for a LunarLander's world unless `useStockSolver(true)`). */
export function usesFastSolver(world: World): boolean {
  return solverOf(world).solveIsland === solveIsland;
}
