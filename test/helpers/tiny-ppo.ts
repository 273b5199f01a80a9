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
