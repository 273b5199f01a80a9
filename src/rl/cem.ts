/**
 * Model-predictive control with the cross-entropy method (Rubinstein 1997; PETS, Chua et al. 2018): before
 * each real step, search the action sequences of the next H steps in the learned model and carry out the
 * first action of the best; repeat at the next step, starting the search from the last plan shifted by one.
 *
 * Per planned action (`plan`):
 *   1. start from a distribution over H-step plans: the previous one shifted a step (warm start), or a fresh
 *      one (uniform over discrete actions; a wide Gaussian over a box);
 *   2. for each of `iterations` rounds:
 *      a. draw `population` candidate plans from it: discrete steps by the Gumbel-max trick
 *         (a = argmax_k log p_k + g_k, g_k ~ Gumbel(0, 1)), continuous ones from the Gaussian, clipped to the
 *         box; a share of them is instead chosen by a policy prior as it rolls (the evaluator's);
 *      b. score every candidate at once: its discounted return in the model, the mean over its particles
 *         (the evaluator: one batched forward of population x particles copies per step);
 *      c. refit the distribution to the `elites` best: the elites' action frequencies per step (discrete) or
 *         their mean and variance (continuous), mixed with the old distribution by `smoothing`;
 *   3. carry out the first action of the best candidate seen (or of the final distribution).
 * mbrl-lib's CEM handles continuous actions only (its issue #184); the categorical refit makes it discrete.
 */
import { Rng } from '../tensor/index.ts';
import { type CemConfig, resolveCemConfig } from './cem-config.ts';
import { actionSize, isDiscrete, type RlActionSpace } from './vector-env.ts';

/** Where a plan starts: the real observation, and any state of the env the observation does not show. */
export interface PlanStart {
  observation: Float32Array;
  /** Steps in a row the lander has already stood still (the sleep rule's count); 0 when unknown. */
  stillSteps?: number;
}

/** Scores candidate plans: the model side of the planner (model-plan-evaluator.ts for the lander). */
export interface PlanEvaluator {
  readonly actionSpace: RlActionSpace;
  /**
   * Writes to `returns[c]` the return of candidate c of `count`, each a plan of `horizon` steps in
   * `actions` ([count, horizon, action size]) rolled from `start`. The first `priorCount` candidates' actions
   * are picked as they roll by the evaluator's policy and written back into `actions`.
   */
  evaluate(
    start: PlanStart,
    actions: Float32Array,
    count: number,
    horizon: number,
    priorCount: number,
    returns: Float32Array,
  ): void;
  /** Whether the evaluator has a policy to pick prior candidates (priorShare > 0 needs one). */
  readonly hasPrior: boolean;
}

/** What one planned action found. */
export interface PlanResult {
  /** The action to carry out (one number for a discrete space, the box size otherwise). */
  action: Float32Array;
  /** The best candidate's return in the model. */
  plannedReturn: number;
  /** The best candidate's whole plan ([horizon, action size]). */
  bestPlan: Float32Array;
}

export class CemPlanner {
  readonly config: CemConfig;
  private readonly space: RlActionSpace;
  private readonly discrete: boolean;
  /** Numbers per action: 1 for a discrete space, the box size otherwise. */
  private readonly width: number;
  /** Discrete: actions n. */
  private readonly choices: number;
  private readonly rng: Rng;
  /** Discrete: [H, n] probabilities. Continuous: [H, A] means and standard deviations. */
  private readonly probabilities: Float32Array;
  private readonly means: Float32Array;
  private readonly stds: Float32Array;
  private hasPlan = false;
  private readonly candidates: Float32Array;
  private readonly returns: Float32Array;
  private readonly order: Int32Array;
  private readonly elitePlans: Float32Array;

  constructor(
    private readonly evaluator: PlanEvaluator,
    overrides: Partial<CemConfig> = {},
  ) {
    this.config = resolveCemConfig(overrides);
    const c = this.config;
    if (c.priorShare > 0 && !evaluator.hasPrior) {
      throw new Error(`CemPlanner: priorShare = ${c.priorShare} needs an evaluator with a policy prior`);
    }
    this.space = evaluator.actionSpace;
    this.discrete = isDiscrete(this.space);
    this.width = actionSize(this.space);
    this.choices = isDiscrete(this.space) ? this.space.n : 0;
    this.rng = new Rng(c.seed);
    this.probabilities = new Float32Array(this.discrete ? c.horizon * this.choices : 0);
    this.means = new Float32Array(this.discrete ? 0 : c.horizon * this.width);
    this.stds = new Float32Array(this.discrete ? 0 : c.horizon * this.width);
    this.candidates = new Float32Array(c.population * c.horizon * this.width);
    this.returns = new Float32Array(c.population);
    this.order = new Int32Array(c.population);
    this.elitePlans = new Float32Array(c.keepElites * c.horizon * this.width);
  }

  /** The action space plans are made in (the evaluator's). */
  get actionSpace(): RlActionSpace {
    return this.space;
  }

  /** Forgets the last plan (a new episode starts from a fresh distribution). */
  reset(): void {
    this.hasPlan = false;
  }

  /** Searches plans from `start` and returns the action to carry out now. */
  plan(start: PlanStart): PlanResult {
    const c = this.config;
    const H = c.horizon;
    const W = this.width;
    const stepSize = H * W;
    // 1. The first distribution: the last plan shifted one step, or a fresh one.
    this.startDistribution();
    const priorCount = Math.round(c.priorShare * c.population);
    let bestReturn = Number.NEGATIVE_INFINITY;
    const bestPlan = new Float32Array(stepSize);
    for (let iteration = 0; iteration < c.iterations; iteration++) {
      // 2a. Candidates from the distribution (the prior's are filled in by the evaluator as they roll); the
      // last iteration's elites come along again at the end of the population (iCEM, Pinneri et al. 2020).
      const kept = iteration > 0 ? Math.min(c.keepElites, c.population - priorCount) : 0;
      for (let e = 0; e < kept; e++) {
        const from = this.order[e]!;
        this.elitePlans.set(this.candidates.subarray(from * stepSize, (from + 1) * stepSize), e * stepSize);
      }
      for (let k = priorCount; k < c.population - kept; k++) this.drawPlan(this.candidates, k * stepSize);
      this.candidates.set(this.elitePlans.subarray(0, kept * stepSize), (c.population - kept) * stepSize);
      // 2b. Every candidate's return in the model, all at once.
      this.evaluator.evaluate(start, this.candidates, c.population, H, priorCount, this.returns);
      // 2c. Refit to the elites.
      this.rankCandidates();
      const top = this.order[0]!;
      if (this.returns[top]! > bestReturn) {
        bestReturn = this.returns[top]!;
        bestPlan.set(this.candidates.subarray(top * stepSize, (top + 1) * stepSize));
      }
      this.refit();
    }
    this.hasPlan = true;
    // 3. The action to carry out.
    const action = new Float32Array(W);
    if (c.choose === 'best') action.set(bestPlan.subarray(0, W));
    else if (this.discrete) action[0] = argmax(this.probabilities, 0, this.choices);
    else for (let j = 0; j < W; j++) action[j] = this.clip(this.means[j]!, j);
    return { action, plannedReturn: bestReturn, bestPlan };
  }

  /** The current distribution's probabilities (discrete) or means (continuous) of step `t`, for tests. */
  stepDistribution(t: number): Float32Array {
    return this.discrete
      ? this.probabilities.slice(t * this.choices, (t + 1) * this.choices)
      : this.means.slice(t * this.width, (t + 1) * this.width);
  }

  private startDistribution(): void {
    const c = this.config;
    const H = c.horizon;
    if (this.discrete) {
      const n = this.choices;
      const p = this.probabilities;
      if (!this.hasPlan) p.fill(1 / n);
      else {
        p.copyWithin(0, n);
        p.fill(1 / n, (H - 1) * n);
        for (let i = 0; i < p.length; i++) p[i] = c.warmStart * p[i]! + (1 - c.warmStart) / n;
      }
      return;
    }
    const W = this.width;
    const space = this.space as { low: ArrayLike<number>; high: ArrayLike<number> };
    if (this.hasPlan) this.means.copyWithin(0, W);
    for (let t = 0; t < H; t++) {
      for (let j = 0; j < W; j++) {
        const middle = (space.low[j]! + space.high[j]!) / 2;
        const i = t * W + j;
        // Warm start keeps the shifted mean (pulled towards the middle by 1 - warmStart); the last step is new.
        this.means[i] =
          this.hasPlan && t < H - 1 ? c.warmStart * this.means[i]! + (1 - c.warmStart) * middle : middle;
        this.stds[i] = (c.initialStd * (space.high[j]! - space.low[j]!)) / 2;
      }
    }
  }

  /** Draws one plan from the distribution into `out` at `offset`. */
  private drawPlan(out: Float32Array, offset: number): void {
    const H = this.config.horizon;
    if (this.discrete) {
      const n = this.choices;
      for (let t = 0; t < H; t++) {
        // Gumbel-max: argmax_k log p_k - log(-log u_k) is a draw from p.
        let best = 0;
        let bestKey = Number.NEGATIVE_INFINITY;
        for (let k = 0; k < n; k++) {
          const p = this.probabilities[t * n + k]!;
          if (p <= 0) continue;
          const key = Math.log(p) - Math.log(-Math.log(1 - this.rng.uniform()));
          if (key > bestKey) {
            bestKey = key;
            best = k;
          }
        }
        out[offset + t] = best;
      }
      return;
    }
    const W = this.width;
    for (let i = 0; i < H * W; i++) {
      out[offset + i] = this.clip(this.means[i]! + this.stds[i]! * this.rng.normal(), i % W);
    }
  }

  /** `order` = candidate indices by return, best first (NaN last). */
  private rankCandidates(): void {
    const returns = this.returns;
    for (let i = 0; i < this.order.length; i++) this.order[i] = i;
    this.order.sort((a, b) => {
      const ra = Number.isNaN(returns[a]!) ? Number.NEGATIVE_INFINITY : returns[a]!;
      const rb = Number.isNaN(returns[b]!) ? Number.NEGATIVE_INFINITY : returns[b]!;
      return rb - ra;
    });
  }

  /** Moves the distribution towards the elites: new = smoothing x old + (1 - smoothing) x the elites' fit. */
  private refit(): void {
    const c = this.config;
    const H = c.horizon;
    const W = this.width;
    const E = c.elites;
    const keep = c.smoothing;
    if (this.discrete) {
      const n = this.choices;
      const counts = new Float32Array(n);
      for (let t = 0; t < H; t++) {
        counts.fill(0);
        for (let e = 0; e < E; e++) counts[this.candidates[this.order[e]! * H + t]!]! += 1;
        for (let k = 0; k < n; k++) {
          const i = t * n + k;
          this.probabilities[i] = keep * this.probabilities[i]! + ((1 - keep) * counts[k]!) / E;
        }
      }
      return;
    }
    for (let i = 0; i < H * W; i++) {
      let sum = 0;
      let sumSq = 0;
      for (let e = 0; e < E; e++) {
        const a = this.candidates[this.order[e]! * H * W + i]!;
        sum += a;
        sumSq += a * a;
      }
      const mean = sum / E;
      const variance = Math.max(0, sumSq / E - mean * mean);
      const oldStd = this.stds[i]!;
      this.means[i] = keep * this.means[i]! + (1 - keep) * mean;
      this.stds[i] = Math.max(c.minStd, Math.sqrt(keep * oldStd * oldStd + (1 - keep) * variance));
    }
  }

  private clip(value: number, j: number): number {
    const space = this.space as { low: ArrayLike<number>; high: ArrayLike<number> };
    return Math.min(space.high[j]!, Math.max(space.low[j]!, value));
  }
}

function argmax(values: Float32Array, offset: number, count: number): number {
  let best = 0;
  for (let k = 1; k < count; k++) if (values[offset + k]! > values[offset + best]!) best = k;
  return best;
}
