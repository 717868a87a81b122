/**
 * A FIFO counting semaphore: at most `limit` tasks run at once; the others wait in arrival order.
 * A finishing task hands its slot straight to the oldest waiter, so a task arriving meanwhile cannot
 * overtake the queue. The slot is released whether the task resolves, rejects or throws.
 */
export class Semaphore {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`Semaphore limit must be a positive integer, not ${limit}`);
  }

  /** Tasks running now. */
  get active(): number {
    return this.running;
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `task` once a slot is free and answers its outcome. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.limit) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes to the next waiter as it is: `running` stays the same.
      if (next) next();
      else this.running--;
    }
  }
}
