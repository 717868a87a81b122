/** What {@link AdmissionGate.enter} answers: a release function, or why the request was not admitted. */
export type Admission = { admitted: true; release: () => void } | { admitted: false; reason: 'queue full' | 'timed out' | 'withdrawn' };

/** A request waiting in the queue: its admission to come, and `withdraw` for a client that went away meanwhile. */
export type Waiting = Promise<Admission> & { withdraw: () => void };

/**
 * A bounded queue in front of the database work (SPEC §8, overload): at most `permits` requests
 * use the database at once (the connection pool's size, so that an admitted request never waits
 * in the driver's unbounded queue, and on SQLite the same bound on work in flight); up to
 * `queueLimit` more wait, each at most `timeoutMs`; anything beyond is refused at once. A refused
 * request is answered 503 temporarily_unavailable with Retry-After, never left hanging.
 */
export class AdmissionGate {
  private active = 0;
  private readonly waiting: { admit: () => void; timer: NodeJS.Timeout }[] = [];


  constructor(
    readonly permits: number,
    readonly queueLimit: number,
    readonly timeoutMs: number,
  ) {}

  /** Requests using the database now, and waiting for it. */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }

  enter(): Waiting | Admission {
    if (this.active < this.permits) {
      this.active++;
      return { admitted: true, release: this.releaser() };
    }
    if (this.waiting.length >= this.queueLimit) return { admitted: false, reason: 'queue full' };
    let withdraw = () => {};
    const waiting = new Promise<Admission>((resolve) => {
      const entry = {
        // A permit handed over by release(): `active` stays as it is.
        admit: () => {
          clearTimeout(entry.timer);
          resolve({ admitted: true, release: this.releaser() });
        },
        timer: setTimeout(() => {
          const at = this.waiting.indexOf(entry);
          if (at >= 0) this.waiting.splice(at, 1);
          resolve({ admitted: false, reason: 'timed out' });
        }, this.timeoutMs),
      };
      this.waiting.push(entry);
      // Leaves the queue without a permit (the slot goes to whoever comes next); nothing once admitted or timed out.
      withdraw = () => {
        const at = this.waiting.indexOf(entry);
        if (at < 0) return;
        this.waiting.splice(at, 1);
        clearTimeout(entry.timer);
        resolve({ admitted: false, reason: 'withdrawn' });
      };
    });
    return Object.assign(waiting, { withdraw: () => withdraw() });
  }

  /** A release that counts once, however often it is called (a response can both finish and close). */
  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next.admit();
      else this.active--;
    };
  }
}
