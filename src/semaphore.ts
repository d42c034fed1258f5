/** A counting semaphore with disposable permits (std's shape): `using _ = await sem.acquire()`. */

/** One held slot; releasing it (or leaving its `using` block) hands the slot to the next waiter. Idempotent. */
export interface Permit extends Disposable {
  release(): void;
}

/** Bounds how many tasks run at once. A released slot goes straight to the oldest waiter, so none jumps the queue. */
export class Semaphore {
  #free: number;
  readonly #waiting: ((permit: Permit) => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`semaphore limit must be >= 1, got ${limit}`);
    }
    this.#free = limit;
  }

  /** Resolves with a permit once a slot is free. */
  acquire(): Promise<Permit> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(this.#permit());
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Runs `fn` holding one slot. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    using _permit = await this.acquire();
    return await fn();
  }

  #permit(): Permit {
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      const next = this.#waiting.shift();
      if (next) next(this.#permit());
      else this.#free++;
    };
    return { release, [Symbol.dispose]: release };
  }
}
