/**
 * Exhaustive search over every discrete plan of a short horizon (n^H of them): the exact optimum a CEM
 * planner's answer is checked against. Candidates go to the evaluator in batches of `batch`.
 */
import type { PlanEvaluator, PlanStart } from './cem.ts';
import { isDiscrete } from './vector-env.ts';

export interface EnumeratedOptimum {
  /** The best return over all plans. */
  bestReturn: number;
  /** The plan that reached it ([horizon] action indices). */
  bestPlan: Float32Array;
  /** Plans scored (n^H). */
  plans: number;
}

export function enumeratePlans(
  evaluator: PlanEvaluator,
  start: PlanStart,
  horizon: number,
  batch: number,
  maxPlans = 1_000_000,
): EnumeratedOptimum {
  const space = evaluator.actionSpace;
  if (!isDiscrete(space))
    throw new Error('enumeratePlans: the action space is continuous; expected a discrete one');
  const n = space.n;
  const plans = n ** horizon;
  if (!(plans <= maxPlans)) {
    throw new Error(`enumeratePlans: ${n}^${horizon} = ${plans} plans is more than maxPlans = ${maxPlans}`);
  }
  if (!Number.isSafeInteger(batch) || batch < 1) {
    throw new Error(`enumeratePlans: batch = ${batch}; expected a positive integer`);
  }
  const actions = new Float32Array(batch * horizon);
  const returns = new Float32Array(batch);
  let bestReturn = Number.NEGATIVE_INFINITY;
  const bestPlan = new Float32Array(horizon);
  for (let first = 0; first < plans; first += batch) {
    const count = Math.min(batch, plans - first);
    // Plan number k, written in base n, is its action sequence (the first step the most significant digit).
    for (let c = 0; c < count; c++) {
      let k = first + c;
      for (let t = horizon - 1; t >= 0; t--) {
        actions[c * horizon + t] = k % n;
        k = Math.floor(k / n);
      }
    }
    evaluator.evaluate(start, actions, count, horizon, 0, returns);
    for (let c = 0; c < count; c++) {
      if (returns[c]! > bestReturn) {
        bestReturn = returns[c]!;
        bestPlan.set(actions.subarray(c * horizon, (c + 1) * horizon));
      }
    }
  }
  return { bestReturn, bestPlan, plans };
}
