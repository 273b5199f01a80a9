/**
 * The main thread's end of the shared-memory commands to a helper thread (split-protocol.ts): a command is
 * written, the request counter bumped and notified; the helper runs it and sets its done counter to the
 * request. A helper whose command threw sets the failed slot and sends the error on its error port.
 */
import type { MessagePort } from 'node:worker_threads';
import { nodeBuiltin } from '../../node-builtins/index.ts';
import { SLOT_COMMAND, SLOT_DONE, SLOT_FAILED, SLOT_REQUEST, wakeEverySlot } from './split-protocol.ts';

/** How long the main thread waits for one command of the helper before giving up on it. */
export const COMMAND_TIMEOUT_MS = 600_000;
/** How long a new helper may take to load (tsx compiles its modules) and answer. */
export const START_TIMEOUT_MS = 120_000;

export class HelperChannel {
  private over = false;

  /**
   * `name` says in errors what the helper does ("ensemble fit thread"); `release` is called once when the
   * session ends, with `healthy` false when the helper stopped answering (it cannot serve another session).
   */
  constructor(
    readonly control: Int32Array,
    // Typed loosely so that the package's declarations need no Node types (test/package.test.ts).
    private readonly errorPort: object,
    private readonly name: string,
    private readonly release: (healthy: boolean) => void = () => {},
  ) {}

  /** Whether the session is over: finished, or the helper failed or stopped answering (nothing more is sent). */
  get ended(): boolean {
    return this.over;
  }

  /** Ends the session with `command` (the helper leaves it), unless it is over already. */
  finish(command: number): void {
    if (this.over) return;
    this.send(command);
    // A helper left mid-command may be waiting on another slot for the main thread: wake it to see the end.
    wakeEverySlot(this.control);
    this.wait(COMMAND_TIMEOUT_MS, 'end');
    this.end(true);
  }

  private end(healthy: boolean): void {
    if (this.over) return;
    this.over = true;
    this.release(healthy);
  }

  send(command: number): void {
    Atomics.store(this.control, SLOT_COMMAND, command);
    Atomics.add(this.control, SLOT_REQUEST, 1);
    Atomics.notify(this.control, SLOT_REQUEST);
  }

  /**
   * Waits for the helper to finish the latest request; throws its error, or after `timeoutMs`. While the
   * helper works, `whileWaiting` runs units of other work until it has none (returns false) or the helper
   * is done.
   */
  wait(timeoutMs: number, what: string, whileWaiting?: () => boolean): void {
    const request = Atomics.load(this.control, SLOT_REQUEST);
    this.waitUntil(SLOT_DONE, (done) => done === request, timeoutMs, what, whileWaiting);
  }

  /** As `wait`, for the helper to count `slot` up to `value` within the request it is running. */
  waitFor(slot: number, value: number, timeoutMs: number, what: string, whileWaiting?: () => boolean): void {
    this.waitUntil(slot, (count) => count >= value, timeoutMs, what, whileWaiting);
  }

  /** Sets `slot` to `value` for a helper that waits on it. */
  signal(slot: number, value: number): void {
    Atomics.store(this.control, slot, value);
    Atomics.notify(this.control, slot);
  }

  private waitUntil(
    slot: number,
    reached: (value: number) => boolean,
    timeoutMs: number,
    what: string,
    whileWaiting?: () => boolean,
  ): void {
    let work = whileWaiting;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (Atomics.load(this.control, SLOT_FAILED) === 1) {
        const { receiveMessageOnPort } = nodeBuiltin(
          'node:worker_threads',
          this.name,
          'elsewhere, use threads = 1',
        );
        const message = receiveMessageOnPort(this.errorPort as MessagePort)?.message ?? 'unknown error';
        // The helper reported its error and went back to waiting for the next session.
        this.end(true);
        throw new Error(`${this.name} failed (${what}): ${String(message)}`);
      }
      const seen = Atomics.load(this.control, slot);
      if (reached(seen)) return;
      const left = deadline - performance.now();
      if (left <= 0) {
        this.end(false);
        throw new Error(`${this.name}: no answer to '${what}' in ${timeoutMs / 1000} s`);
      }
      if (work?.()) continue;
      work = undefined;
      Atomics.wait(this.control, slot, seen, Math.min(left, 1000));
    }
  }

  /** Sends `command` and waits for it. */
  command(command: number, what: string): void {
    this.send(command);
    this.wait(COMMAND_TIMEOUT_MS, what);
  }
}
