import type { ServerResponse } from 'node:http';

/**
 * Writes to a streaming client with a deadline. A client that stops reading but keeps its socket open
 * would otherwise hold the handler on 'drain' forever (and the hold with it): when a write waits longer
 * than the timeout, or the client closes, the connection is destroyed and `onGone` runs (the caller
 * aborts the upstream call and bills what was delivered).
 */
export class ClientWriter {
  gone = false;

  constructor(
    private readonly raw: ServerResponse,
    private readonly timeoutMilliseconds: number,
    private readonly onGone: () => void,
  ) {
    raw.once('close', () => {
      if (!raw.writableFinished) this.leave();
    });
  }

  /** Writes the frames; false when the client is gone (nothing more should be sent). */
  async write(frames: string[]): Promise<boolean> {
    if (this.gone || this.raw.destroyed) return false;
    if (frames.length === 0) return true;
    if (this.raw.write(frames.length === 1 ? frames[0]! : frames.join(''))) return true;
    if (!(await drained(this.raw, this.timeoutMilliseconds))) this.leave();
    return !this.gone;
  }

  /** Ends the response; one the client never reads out is destroyed after the same deadline. */
  end(): void {
    if (this.gone || this.raw.destroyed) return;
    this.raw.end();
    if (this.raw.writableFinished) return;
    const timer = setTimeout(() => this.raw.destroy(), this.timeoutMilliseconds);
    timer.unref();
    this.raw.once('close', () => clearTimeout(timer));
  }

  private leave(): void {
    if (this.gone) return;
    this.gone = true;
    this.raw.destroy();
    this.onGone();
  }
}

/** Resolves true on 'drain', false on close or after the timeout — never waits forever. */
function drained(raw: ServerResponse, timeoutMilliseconds: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (value: boolean) => {
      clearTimeout(timer);
      raw.off('drain', onDrain);
      raw.off('close', onClose);
      resolve(value);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    const timer = setTimeout(() => done(false), timeoutMilliseconds);
    raw.once('drain', onDrain);
    raw.once('close', onClose);
  });
}
