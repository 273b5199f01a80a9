/**
 * The main thread's end of the shared-memory commands to a helper thread (split-protocol.ts): a command is
 * written, the request counter bumped and notified; the helper runs it and sets its done counter to the
 * request. A helper whose command threw sets the failed slot and sends the error on its error port.
 */
import type { MessagePort } from 'node:worker_threads';
import { nodeBuiltin } from '../../node-builtins/index.ts';
import { SLOT_COMMAND, SLOT_DONE, SLOT_FAILED, SLOT_REQUEST } from './split-protocol.ts';

/** How long the main thread waits for one command of the helper before giving up on it. */
export const COMMAND_TIMEOUT_MS = 600_000;
/** How long a new helper may take to load (tsx compiles its modules) and answer. */
export const START_TIMEOUT_MS = 120_000;

export class HelperChannel {
  /** Set once the helper failed, timed out or was let go: nothing more is sent. */
  ended = false;

  /** `name` says in errors what the helper does ("ensemble fit thread"). */
  constructor(
    readonly control: Int32Array,
    private readonly errorPort: MessagePort,
    private readonly name: string,
  ) {}

  send(command: number): void {
    Atomics.store(this.control, SLOT_COMMAND, command);
    Atomics.add(this.control, SLOT_REQUEST, 1);
    Atomics.notify(this.control, SLOT_REQUEST);
  }

  /** Waits for the helper to finish the latest request; throws its error, or after `timeoutMs`. */
  wait(timeoutMs: number, what: string): void {
    const request = Atomics.load(this.control, SLOT_REQUEST);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (Atomics.load(this.control, SLOT_FAILED) === 1) {
        const { receiveMessageOnPort } = nodeBuiltin(
          'node:worker_threads',
          this.name,
          'elsewhere, use threads = 1',
        );
        const message = receiveMessageOnPort(this.errorPort)?.message ?? 'unknown error';
        this.ended = true;
        throw new Error(`${this.name} failed (${what}): ${String(message)}`);
      }
      const seen = Atomics.load(this.control, SLOT_DONE);
      if (seen === request) return;
      const left = deadline - performance.now();
      if (left <= 0) {
        this.ended = true;
        throw new Error(`${this.name}: no answer to '${what}' in ${timeoutMs / 1000} s`);
      }
      Atomics.wait(this.control, SLOT_DONE, seen, Math.min(left, 1000));
    }
  }

  /** Sends `command` and waits for it. */
  command(command: number, what: string): void {
    this.send(command);
    this.wait(COMMAND_TIMEOUT_MS, what);
  }
}
