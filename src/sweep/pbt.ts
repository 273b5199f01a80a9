/**
 * Population-based training's decision at a ready point (Jaderberg et al. 2017, "truncation selection"):
 * the members are ranked by their score there (the evaluation at the ready point); each of the bottom
 * `truncation` fraction copies the weights of a member drawn from the top fraction (exploit) and takes its
 * hyperparameters, each changed (explore) by drawing afresh from its initial range with probability
 * `resample`, else by multiplying by one of the `perturb` factors, kept inside that range. The rest carry on
 * unchanged. A pure function of the scores and a seeded generator, so a restarted controller decides the same.
 */
import type { Rng } from '../tensor/index.ts';
import { keepInside, sample } from './distributions.ts';
import type { ExploredParameter, PbtSearch } from './sweep-file.ts';

export interface RankedMember {
  name: string;
  /** Its evaluation at the ready point; null (none) ranks last. */
  score: number | null;
  hyperparameters: Record<string, unknown>;
}

export interface ExploitDecision {
  /** The member that copies. */
  member: string;
  /** The member whose checkpoint it copies. */
  from: string;
  /** Its hyperparameters from here on: the donor's, explored. */
  hyperparameters: Record<string, unknown>;
}

/** The donor's values, each explored (see the header). */
export function explore(
  values: Record<string, unknown>,
  parameters: Record<string, ExploredParameter>,
  rng: Rng,
): Record<string, unknown> {
  const explored: Record<string, unknown> = { ...values };
  for (const [key, p] of Object.entries(parameters)) {
    if (p.resample > 0 && rng.uniform() < p.resample) {
      explored[key] = sample(p.initial, rng);
    } else if (p.perturb) {
      const factor = p.perturb[rng.integer(0, p.perturb.length)]!;
      explored[key] = keepInside(p.initial, (values[key] as number) * factor);
    }
  }
  return explored;
}

/** Best first: higher scores, then no score, ties by name. */
export function rank(members: readonly RankedMember[]): RankedMember[] {
  const key = (m: RankedMember) => m.score ?? Number.NEGATIVE_INFINITY;
  return [...members].sort((a, b) => key(b) - key(a) || a.name.localeCompare(b.name));
}

/** How many members sit at each end of the ranking: at least one, at most half. */
export function truncationCount(population: number, truncation: number): number {
  return Math.min(Math.floor(population / 2), Math.max(1, Math.floor(truncation * population)));
}

export function truncationSelection(
  members: readonly RankedMember[],
  pbt: PbtSearch,
  rng: Rng,
): ExploitDecision[] {
  const ranked = rank(members);
  const n = truncationCount(ranked.length, pbt.truncation);
  const top = ranked.slice(0, n);
  return ranked.slice(ranked.length - n).map((member) => {
    const donor = top[rng.integer(0, top.length)]!;
    return {
      member: member.name,
      from: donor.name,
      hyperparameters: explore(donor.hyperparameters, pbt.explore, rng),
    };
  });
}
