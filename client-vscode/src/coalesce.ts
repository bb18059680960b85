/**
 * Coalescing of restart requests: any number of requests that arrive while a restart is
 * pending become one restart, and requests that arrive while one is running cause exactly
 * one more after it. No `vscode` import.
 */

/** Runs an async action at most once at a time, merging the requests that arrive meanwhile. */
export class CoalescingRunner {
  private queued: { reasons: string[]; done: Promise<void>; resolve: () => void } | undefined;
  private running = false;

  /**
   * @param action the work to do, called with the reasons of all merged requests.
   * @param delayMs how long to wait after the first request for more to arrive.
   * @param onError called with an error thrown by `action` (the runner keeps working).
   */
  constructor(
    private readonly action: (reasons: readonly string[]) => Promise<void>,
    private readonly delayMs = 100,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  /** Request a run; resolves when a run that started after this request has finished. */
  request(reason: string): Promise<void> {
    if (this.queued === undefined) {
      let resolve: () => void = () => undefined;
      const done = new Promise<void>((r) => {
        resolve = r;
      });
      this.queued = { reasons: [], done, resolve };
      if (!this.running) setTimeout(() => void this.drain(), this.delayMs);
    }
    this.queued.reasons.push(reason);
    return this.queued.done;
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queued !== undefined) {
        const batch = this.queued;
        this.queued = undefined;
        try {
          await this.action(batch.reasons);
        } catch (error) {
          this.onError(error);
        }
        batch.resolve();
      }
    } finally {
      this.running = false;
    }
  }
}
