// Request coalescing (collapsed forwarding): while one upstream fetch for a key is in flight, later
// requests for that key wait for it instead of sending their own, so N concurrent misses cost one
// upstream request.

export interface Joined<T> {
  promise: Promise<T>;
  /** True for the request that started the fetch; false for followers that joined it. */
  leader: boolean;
}

export class Coalescer {
  readonly enabled: boolean;
  private readonly inflight = new Map<string, Promise<unknown>>();
  /** Followers currently waiting for a leader's fetch. */
  waiting = 0;

  constructor(enabled: boolean) {
    this.enabled = enabled;
  }

  /** Joins the fetch in flight for `key`, or starts `fetch` as its leader. */
  run<T>(key: string, fetch: () => Promise<T>): Joined<T> {
    if (this.enabled) {
      const pending = this.inflight.get(key);
      if (pending) {
        this.waiting++;
        const done = () => {
          this.waiting--;
        };
        pending.then(done, done);
        return { promise: pending as Promise<T>, leader: false };
      }
    }
    const promise = fetch();
    if (!this.enabled) return { promise, leader: true };
    this.inflight.set(key, promise);
    const forget = () => {
      if (this.inflight.get(key) === promise) this.inflight.delete(key);
    };
    promise.then(forget, forget);
    return { promise, leader: true };
  }

  /** Whether a fetch for `key` is in flight. */
  has(key: string): boolean {
    return this.inflight.has(key);
  }

  get size(): number {
    return this.inflight.size;
  }
}
