/** One seed per iteration of a loop, so each iteration's draws depend only on the run's seed and its number. */
export function iterationSeed(seed: number, iteration: number): number {
  return (seed * 1_000_003 + iteration * 7919) % 2_147_483_647;
}
