// planck 1.5.0's Contact.solveVelocityConstraint (friction, then normal impulses with Box2D's 2-point block
// solver) on plain numbers, for the fused velocity loop of fast-solver.ts. It performs the same
// floating-point operations in the same order as planck's version, so results are bit-identical; the
// trajectory test in test/env-fast-solver.test.ts (landings resting on the ground) proves it.

interface XY {
  x: number;
  y: number;
}
interface VelocityPoint {
  rA: XY;
  rB: XY;
  normalImpulse: number;
  tangentImpulse: number;
  normalMass: number;
  tangentMass: number;
  velocityBias: number;
}
/** The private fields of planck's Contact that its velocity solver reads and writes. */
export interface ContactInternals {
  m_fixtureA: { m_body: unknown } | null;
  m_fixtureB: { m_body: unknown } | null;
  v_invMassA: number;
  v_invIA: number;
  v_invMassB: number;
  v_invIB: number;
  v_normal: XY;
  v_friction: number;
  v_tangentSpeed: number;
  v_pointCount: number;
  v_points: VelocityPoint[];
  v_K: { ex: XY; ey: XY };
  v_normalMass: { ex: XY; ey: XY };
  /** Ours: this step's constants and impulses. */
  fast_state: Float64Array | undefined;
}

// Layout of a contact's state: constants, then per point (at POINT + POINT_SIZE * p) its values.
const MA = 0;
const IA = 1;
const MB = 2;
const IB = 3;
const NORMAL_X = 4;
const NORMAL_Y = 5;
const FRICTION = 6;
const TANGENT_SPEED = 7;
const POINT_COUNT = 8;
/** v_K and v_normalMass, columns ex then ey. */
const K_EXX = 9;
const K_EXY = 10;
const K_EYX = 11;
const K_EYY = 12;
const NM_EXX = 13;
const NM_EXY = 14;
const NM_EYX = 15;
const NM_EYY = 16;
const POINT = 17;
const RAX = 0;
const RAY = 1;
const RBX = 2;
const RBY = 3;
const NORMAL_MASS = 4;
const TANGENT_MASS = 5;
const VELOCITY_BIAS = 6;
const NORMAL_IMPULSE = 7;
const TANGENT_IMPULSE = 8;
const POINT_SIZE = 9;
/** Box2D's manifolds have at most 2 points. */
const MAX_POINTS = 2;
const CONTACT_STATE_SIZE = POINT + POINT_SIZE * MAX_POINTS;

/** True when the contact can be solved here (both bodies present, 1 or 2 points). */
export function canFuseContact(contact: ContactInternals): boolean {
  const a = contact.m_fixtureA;
  const b = contact.m_fixtureB;
  return (
    a !== null &&
    b !== null &&
    a.m_body !== null &&
    b.m_body !== null &&
    contact.v_pointCount >= 1 &&
    contact.v_pointCount <= MAX_POINTS
  );
}

/** Copies the contact's constants and current impulses (after initVelocityConstraint and warm start). */
export function loadContactState(contact: ContactInternals): Float64Array {
  if (contact.fast_state === undefined) contact.fast_state = new Float64Array(CONTACT_STATE_SIZE);
  const s = contact.fast_state;
  s[MA] = contact.v_invMassA;
  s[IA] = contact.v_invIA;
  s[MB] = contact.v_invMassB;
  s[IB] = contact.v_invIB;
  s[NORMAL_X] = contact.v_normal.x;
  s[NORMAL_Y] = contact.v_normal.y;
  s[FRICTION] = contact.v_friction;
  s[TANGENT_SPEED] = contact.v_tangentSpeed;
  s[POINT_COUNT] = contact.v_pointCount;
  s[K_EXX] = contact.v_K.ex.x;
  s[K_EXY] = contact.v_K.ex.y;
  s[K_EYX] = contact.v_K.ey.x;
  s[K_EYY] = contact.v_K.ey.y;
  s[NM_EXX] = contact.v_normalMass.ex.x;
  s[NM_EXY] = contact.v_normalMass.ex.y;
  s[NM_EYX] = contact.v_normalMass.ey.x;
  s[NM_EYY] = contact.v_normalMass.ey.y;
  for (let j = 0; j < contact.v_pointCount; j++) {
    const vcp = contact.v_points[j]!;
    const p = POINT + POINT_SIZE * j;
    s[p + RAX] = vcp.rA.x;
    s[p + RAY] = vcp.rA.y;
    s[p + RBX] = vcp.rB.x;
    s[p + RBY] = vcp.rB.y;
    s[p + NORMAL_MASS] = vcp.normalMass;
    s[p + TANGENT_MASS] = vcp.tangentMass;
    s[p + VELOCITY_BIAS] = vcp.velocityBias;
    s[p + NORMAL_IMPULSE] = vcp.normalImpulse;
    s[p + TANGENT_IMPULSE] = vcp.tangentImpulse;
  }
  return s;
}

/** Writes the accumulated impulses back (planck's storeConstraintImpulses reads them next). */
export function storeContactState(contact: ContactInternals, s: Float64Array): void {
  for (let j = 0; j < contact.v_pointCount; j++) {
    const vcp = contact.v_points[j]!;
    const p = POINT + POINT_SIZE * j;
    vcp.normalImpulse = s[p + NORMAL_IMPULSE]!;
    vcp.tangentImpulse = s[p + TANGENT_IMPULSE]!;
  }
}

/**
 * Applies `impulse` along the normal at point p to the velocities: one loop step of planck's friction
 * (with the tangent) or single-point normal solve.
 */
function applyPointImpulse(
  s: Float64Array,
  v: Float64Array,
  a: number,
  b: number,
  p: number,
  px: number,
  py: number,
): void {
  v[a]! -= s[MA]! * px;
  v[a + 1]! -= s[MA]! * py;
  v[a + 2]! -= s[IA]! * (s[p + RAX]! * py - s[p + RAY]! * px);
  v[b]! += s[MB]! * px;
  v[b + 1]! += s[MB]! * py;
  v[b + 2]! += s[IB]! * (s[p + RBX]! * py - s[p + RBY]! * px);
}

/**
 * Relative velocity at point p, 0 + vB + wB x rB - vA - wA x rA in planck's order, written to `relative`
 * (a typed array: a double returned, or kept in a module-level `let`, may be boxed on the heap).
 */
const relative = new Float64Array(2);
function relativeVelocity(s: Float64Array, v: Float64Array, a: number, b: number, p: number): void {
  let x = 0;
  let y = 0;
  x += v[b]!;
  y += v[b + 1]!;
  const wB = v[b + 2]!;
  x += -wB * s[p + RBY]!;
  y += wB * s[p + RBX]!;
  x -= v[a]!;
  y -= v[a + 1]!;
  const wA = v[a + 2]!;
  x -= -wA * s[p + RAY]!;
  y -= wA * s[p + RAX]!;
  relative[0] = x;
  relative[1] = y;
}

/** Applies the block solver's impulse change d = x - a at both points. */
function applyBlockImpulse(
  s: Float64Array,
  v: Float64Array,
  a: number,
  b: number,
  x1: number,
  x2: number,
  a1: number,
  a2: number,
): void {
  const nx = s[NORMAL_X]!;
  const ny = s[NORMAL_Y]!;
  const dx = x1 - a1;
  const dy = x2 - a2;
  const p1x = dx * nx;
  const p1y = dx * ny;
  const p2x = dy * nx;
  const p2y = dy * ny;
  const mA = s[MA]!;
  const mB = s[MB]!;
  const q1 = POINT;
  const q2 = POINT + POINT_SIZE;
  // combine3Vec2(vA, -mA, P1, -mA, P2, 1, vA), then the same for B with +mB.
  v[a] = -mA * p1x + -mA * p2x + 1 * v[a]!;
  v[a + 1] = -mA * p1y + -mA * p2y + 1 * v[a + 1]!;
  v[a + 2]! -= s[IA]! * (s[q1 + RAX]! * p1y - s[q1 + RAY]! * p1x + (s[q2 + RAX]! * p2y - s[q2 + RAY]! * p2x));
  v[b] = mB * p1x + mB * p2x + 1 * v[b]!;
  v[b + 1] = mB * p1y + mB * p2y + 1 * v[b + 1]!;
  v[b + 2]! += s[IB]! * (s[q1 + RBX]! * p1y - s[q1 + RBY]! * p1x + (s[q2 + RBX]! * p2y - s[q2 + RBY]! * p2x));
  s[q1 + NORMAL_IMPULSE] = x1;
  s[q2 + NORMAL_IMPULSE] = x2;
}

/** One velocity iteration of one contact between the bodies at offsets a and b of `v`. */
export function iterateContact(
  s: Float64Array,
  v: Float64Array,
  a: number,
  b: number,
  blockSolve: boolean,
): void {
  const pointCount = s[POINT_COUNT]!;
  const nx = s[NORMAL_X]!;
  const ny = s[NORMAL_Y]!;
  // tangent = crossVec2Num(normal, 1) = (1 * n.y, -1 * n.x).
  const tx = 1 * ny;
  const ty = -1 * nx;
  const friction = s[FRICTION]!;
  for (let j = 0; j < pointCount; j++) {
    const p = POINT + POINT_SIZE * j;
    relativeVelocity(s, v, a, b, p);
    const dvx = relative[0]!;
    const vt = dvx * tx + relative[1]! * ty - s[TANGENT_SPEED]!;
    let lambda = s[p + TANGENT_MASS]! * -vt;
    const maxFriction = friction * s[p + NORMAL_IMPULSE]!;
    const newImpulse = clamp(s[p + TANGENT_IMPULSE]! + lambda, -maxFriction, maxFriction);
    lambda = newImpulse - s[p + TANGENT_IMPULSE]!;
    s[p + TANGENT_IMPULSE] = newImpulse;
    applyPointImpulse(s, v, a, b, p, lambda * tx, lambda * ty);
  }
  if (pointCount === 1 || blockSolve === false) {
    for (let i = 0; i < pointCount; i++) {
      const p = POINT + POINT_SIZE * i;
      relativeVelocity(s, v, a, b, p);
      const dvx = relative[0]!;
      const vn = dvx * nx + relative[1]! * ny;
      let lambda = -s[p + NORMAL_MASS]! * (vn - s[p + VELOCITY_BIAS]!);
      const newImpulse = Math.max(s[p + NORMAL_IMPULSE]! + lambda, 0);
      lambda = newImpulse - s[p + NORMAL_IMPULSE]!;
      s[p + NORMAL_IMPULSE] = newImpulse;
      applyPointImpulse(s, v, a, b, p, lambda * nx, lambda * ny);
    }
    return;
  }
  // Box2D's block solver for two points (b2ContactSolver::SolveVelocityConstraints), as planck writes it.
  const q1 = POINT;
  const q2 = POINT + POINT_SIZE;
  const a1 = s[q1 + NORMAL_IMPULSE]!;
  const a2 = s[q2 + NORMAL_IMPULSE]!;
  relativeVelocity(s, v, a, b, q1);
  const dv1x = relative[0]!;
  const dv1y = relative[1]!;
  relativeVelocity(s, v, a, b, q2);
  const dv2x = relative[0]!;
  const dv2y = relative[1]!;
  const vn1 = dv1x * nx + dv1y * ny;
  const vn2 = dv2x * nx + dv2y * ny;
  let bx = vn1 - s[q1 + VELOCITY_BIAS]!;
  let by = vn2 - s[q2 + VELOCITY_BIAS]!;
  bx -= s[K_EXX]! * a1 + s[K_EYX]! * a2;
  by -= s[K_EXY]! * a1 + s[K_EYY]! * a2;
  // Case 1: both points pushing.
  let x1 = -(s[NM_EXX]! * bx + s[NM_EYX]! * by);
  let x2 = -(s[NM_EXY]! * bx + s[NM_EYY]! * by);
  if (x1 >= 0 && x2 >= 0) {
    applyBlockImpulse(s, v, a, b, x1, x2, a1, a2);
    return;
  }
  // Case 2: only the first point pushing.
  x1 = -s[q1 + NORMAL_MASS]! * bx;
  x2 = 0;
  let n2 = s[K_EXY]! * x1 + by;
  if (x1 >= 0 && n2 >= 0) {
    applyBlockImpulse(s, v, a, b, x1, x2, a1, a2);
    return;
  }
  // Case 3: only the second point pushing.
  x1 = 0;
  x2 = -s[q2 + NORMAL_MASS]! * by;
  let n1 = s[K_EYX]! * x2 + bx;
  if (x2 >= 0 && n1 >= 0) {
    applyBlockImpulse(s, v, a, b, x1, x2, a1, a2);
    return;
  }
  // Case 4: neither.
  x1 = 0;
  x2 = 0;
  n1 = bx;
  n2 = by;
  if (n1 >= 0 && n2 >= 0) applyBlockImpulse(s, v, a, b, x1, x2, a1, a2);
}

function clamp(x: number, low: number, high: number): number {
  return x < low ? low : x > high ? high : x;
}
