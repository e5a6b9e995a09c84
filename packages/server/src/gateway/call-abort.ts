import { EventEmitter } from 'node:events';

/**
 * A call's cancellation: aborted when the client leaves, and passed to the provider request as its
 * `signal`. undici takes an EventEmitter that emits 'abort' as readily as an AbortSignal, and Node 20's
 * AbortController (an EventTarget, with its listener bookkeeping) cost ~2–3 % of a metered call's CPU.
 */
export class CallAbort extends EventEmitter {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}
