// The reference's hand-written controller (spec §1.6), a demonstration agent and a fidelity check: it
// should land on the pad in most episodes.

/**
 * The action the reference heuristic takes for `observation`: an integer in {0, 1, 2, 3} in discrete mode,
 * a `[main, lateral]` pair in [-1, 1] in continuous mode.
 */
export function heuristicAction(observation: ArrayLike<number>, continuous: false): number;
export function heuristicAction(observation: ArrayLike<number>, continuous: true): [number, number];
export function heuristicAction(
  observation: ArrayLike<number>,
  continuous: boolean,
): number | [number, number];
export function heuristicAction(
  observation: ArrayLike<number>,
  continuous: boolean,
): number | [number, number] {
  if (observation.length < 8) {
    throw new RangeError(`heuristicAction: observation has ${observation.length} elements; expected 8`);
  }
  const s = observation;
  // Point towards the centre; more than 0.4 rad (22 degrees) is bad.
  let angleTarget = s[0]! * 0.5 + s[2]! * 1.0;
  if (angleTarget > 0.4) angleTarget = 0.4;
  if (angleTarget < -0.4) angleTarget = -0.4;
  const hoverTarget = 0.55 * Math.abs(s[0]!);
  let angleTodo = (angleTarget - s[4]!) * 0.5 - s[5]! * 1.0;
  let hoverTodo = (hoverTarget - s[1]!) * 0.5 - s[3]! * 0.5;
  if (s[6]! || s[7]!) {
    // Legs touching: stop correcting the angle, only damp the fall.
    angleTodo = 0;
    hoverTodo = -s[3]! * 0.5;
  }
  if (continuous) {
    return [clipUnit(hoverTodo * 20 - 1), clipUnit(-angleTodo * 20)];
  }
  if (hoverTodo > Math.abs(angleTodo) && hoverTodo > 0.05) return 2;
  if (angleTodo < -0.05) return 3;
  if (angleTodo > 0.05) return 1;
  return 0;
}

function clipUnit(x: number): number {
  return x < -1 ? -1 : x > 1 ? 1 : x;
}
