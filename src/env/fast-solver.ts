// An allocation-free replacement for planck's RevoluteJoint.solveVelocityConstraints.
//
// Why: the reference steps with 180 velocity iterations (spec §1.5 step 7), so this one function runs 360
// times per env step and, in stock planck 1.5.0, allocates about six small Vec2/Vec3 objects each time. The
// profile of a straight port showed it at ~39% of the time plus ~11% in the garbage collector.
//
// It performs the same floating-point operations in the same order as planck's version (including the
// `0 + x` of Vec2.zero().addCombine and the `-1 * x` of Vec2.combine), so results are bit-identical; the
// test test/env-fast-solver.test.ts compares whole trajectories against stock planck to prove it.
import { RevoluteJoint } from 'planck';

interface XY {
  x: number;
  y: number;
}
interface XYZ extends XY {
  z: number;
}
interface SolverBody {
  c_velocity: { v: XY; w: number };
}
/** The private fields of planck's RevoluteJoint that its velocity solver reads and writes. */
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
}

// planck's LimitState enum values.
const INACTIVE_LIMIT = 0;
const AT_LOWER_LIMIT = 1;
const AT_UPPER_LIMIT = 2;
const EQUAL_LIMITS = 3;

type SolveVelocity = (this: unknown, step: { dt: number }) => void;

const prototype = RevoluteJoint.prototype as unknown as { solveVelocityConstraints: SolveVelocity };
const stockSolveVelocity: SolveVelocity = prototype.solveVelocityConstraints;

function solveVelocityConstraints(this: RevoluteInternals, step: { dt: number }): void {
  const vA = this.m_bodyA.c_velocity.v;
  let wA = this.m_bodyA.c_velocity.w;
  const vB = this.m_bodyB.c_velocity.v;
  let wB = this.m_bodyB.c_velocity.w;
  const mA = this.m_invMassA;
  const mB = this.m_invMassB;
  const iA = this.m_invIA;
  const iB = this.m_invIB;
  const fixedRotation = iA + iB === 0;
  const rA = this.m_rA;
  const rB = this.m_rB;
  const mass = this.m_mass;
  const accumulated = this.m_impulse;

  if (this.m_enableMotor && this.m_limitState !== EQUAL_LIMITS && !fixedRotation) {
    const cdot = wB - wA - this.m_motorSpeed;
    let impulse = -this.m_motorMass * cdot;
    const oldImpulse = this.m_motorImpulse;
    const maxImpulse = step.dt * this.m_maxMotorTorque;
    this.m_motorImpulse = clamp(this.m_motorImpulse + impulse, -maxImpulse, maxImpulse);
    impulse = this.m_motorImpulse - oldImpulse;
    wA -= iA * impulse;
    wB += iB * impulse;
  }

  if (this.m_enableLimit && this.m_limitState !== INACTIVE_LIMIT && !fixedRotation) {
    // Cdot1 = 0 + (vB + wB x rB), then -= (vA + wA x rA), as Vec2.zero().addCombine().subCombine().
    let cdot1x = 0;
    let cdot1y = 0;
    cdot1x += vB.x + -wB * rB.y;
    cdot1y += vB.y + wB * rB.x;
    cdot1x -= vA.x + -wA * rA.y;
    cdot1y -= vA.y + wA * rA.x;
    const cdot2 = wB - wA;

    // impulse = -solve33(Cdot), Mat33.solve33 written out.
    const ex = mass.ex;
    const ey = mass.ey;
    const ez = mass.ez;
    let crossX = ey.y * ez.z - ey.z * ez.y;
    let crossY = ey.z * ez.x - ey.x * ez.z;
    let crossZ = ey.x * ez.y - ey.y * ez.x;
    let det = ex.x * crossX + ex.y * crossY + ex.z * crossZ;
    if (det !== 0) det = 1 / det;
    const solvedX = det * (cdot1x * crossX + cdot1y * crossY + cdot2 * crossZ);
    crossX = cdot1y * ez.z - cdot2 * ez.y;
    crossY = cdot2 * ez.x - cdot1x * ez.z;
    crossZ = cdot1x * ez.y - cdot1y * ez.x;
    const solvedY = det * (ex.x * crossX + ex.y * crossY + ex.z * crossZ);
    crossX = ey.y * cdot2 - ey.z * cdot1y;
    crossY = ey.z * cdot1x - ey.x * cdot2;
    crossZ = ey.x * cdot1y - ey.y * cdot1x;
    const solvedZ = det * (ex.x * crossX + ex.y * crossY + ex.z * crossZ);
    let impulseX = -solvedX;
    let impulseY = -solvedY;
    let impulseZ = -solvedZ;

    const state = this.m_limitState;
    if (state === EQUAL_LIMITS) {
      accumulated.x += impulseX;
      accumulated.y += impulseY;
      accumulated.z += impulseZ;
    } else if (state === AT_LOWER_LIMIT || state === AT_UPPER_LIMIT) {
      const newImpulse = accumulated.z + impulseZ;
      if (state === AT_LOWER_LIMIT ? newImpulse < 0 : newImpulse > 0) {
        // rhs = Vec2.combine(-1, Cdot1, impulse.z, (ez.x, ez.y)); reduced = solve22(rhs).
        const rhsX = -1 * cdot1x + accumulated.z * ez.x;
        const rhsY = -1 * cdot1y + accumulated.z * ez.y;
        solve22(ex.x, ey.x, ex.y, ey.y, rhsX, rhsY);
        const reducedX = solved[0]!;
        const reducedY = solved[1]!;
        impulseX = reducedX;
        impulseY = reducedY;
        impulseZ = -accumulated.z;
        accumulated.x += reducedX;
        accumulated.y += reducedY;
        accumulated.z = 0;
      } else {
        accumulated.x += impulseX;
        accumulated.y += impulseY;
        accumulated.z += impulseZ;
      }
    }
    vA.x -= mA * impulseX;
    vA.y -= mA * impulseY;
    wA -= iA * (rA.x * impulseY - rA.y * impulseX + impulseZ);
    vB.x += mB * impulseX;
    vB.y += mB * impulseY;
    wB += iB * (rB.x * impulseY - rB.y * impulseX + impulseZ);
  } else {
    let cdotX = 0;
    let cdotY = 0;
    cdotX += vB.x + -wB * rB.y;
    cdotY += vB.y + wB * rB.x;
    cdotX -= vA.x + -wA * rA.y;
    cdotY -= vA.y + wA * rA.x;
    solve22(mass.ex.x, mass.ey.x, mass.ex.y, mass.ey.y, -cdotX, -cdotY);
    const impulseX = solved[0]!;
    const impulseY = solved[1]!;
    accumulated.x += impulseX;
    accumulated.y += impulseY;
    vA.x -= mA * impulseX;
    vA.y -= mA * impulseY;
    wA -= iA * (rA.x * impulseY - rA.y * impulseX);
    vB.x += mB * impulseX;
    vB.y += mB * impulseY;
    wB += iB * (rB.x * impulseY - rB.y * impulseX);
  }
  this.m_bodyA.c_velocity.w = wA;
  this.m_bodyB.c_velocity.w = wB;
}

// Mat33.solve22's result, written to one reused Float64Array to stay allocation-free.
const solved = new Float64Array(2);

function solve22(a11: number, a12: number, a21: number, a22: number, x: number, y: number): void {
  let det = a11 * a22 - a12 * a21;
  if (det !== 0) det = 1 / det;
  solved[0] = det * (a22 * x - a12 * y);
  solved[1] = det * (a11 * y - a21 * x);
}

function clamp(x: number, low: number, high: number): number {
  return x < low ? low : x > high ? high : x;
}

/** Installs the allocation-free solver on planck's RevoluteJoint (idempotent). */
export function installFastRevoluteSolver(): void {
  prototype.solveVelocityConstraints = solveVelocityConstraints as SolveVelocity;
}

/** Puts planck's own solver back (tests use it to compare the two). */
export function restoreStockRevoluteSolver(): void {
  prototype.solveVelocityConstraints = stockSolveVelocity;
}

export function isFastRevoluteSolverInstalled(): boolean {
  return prototype.solveVelocityConstraints === (solveVelocityConstraints as SolveVelocity);
}
