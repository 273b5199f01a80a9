// Prints trajectoryHash(JSON options from argv[2]) as JSON; the determinism test runs it in a child process.
import { trajectoryHash } from './env-trajectory.ts';

const options = JSON.parse(process.argv[2] ?? '{}');
process.stdout.write(`${JSON.stringify(trajectoryHash(options))}\n`);
