// The command line of a tiny PPO run (a few thousand steps: 2 envs x 256 steps per update), for tests that
// need a real run folder quickly.
export const tinyPpoArgs = (out: string, extra: string[] = []): string[] => [
  '--steps',
  '2048',
  '--envs',
  '2',
  '--set',
  'stepsPerEnv=256',
  '--set',
  'hiddenSizes=[16]',
  '--eval-every',
  '2',
  '--eval-episodes',
  '3',
  '--checkpoint-every',
  '1',
  '--out',
  out,
  '--quiet',
  ...extra,
];

/**
 * The shared part of a sweep file of tiny PPO trials (2 envs x 64 steps per update, a 16-unit network, 2
 * evaluation episodes at the end only, a checkpoint every 2 updates); add `steps`, the seeds and a search.
 */
export const tinyPpoSweep = {
  algorithm: 'ppo',
  settings: { stepsPerEnv: 64, hiddenSizes: [16] },
  flags: { envs: 2, 'eval-every': 0, 'eval-episodes': 2, 'checkpoint-every': 2 },
};
