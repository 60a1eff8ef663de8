/**
 * The outcomes (time, ok) of one endpoint's recent requests, oldest first, for the health
 * window (health.ts): a ring of typed arrays, so recording an outcome allocates nothing (at
 * 500 req/s a 30 s window holds ~15,000; as objects they outlived the young generation and
 * loaded the old one) and the failures in the window are counted as outcomes come and go.
 */
export class OutcomeWindow {
  #at = new Float64Array(16);
  #ok = new Uint8Array(16);
  #head = 0;
  #size = 0;
  #failures = 0;

  /** Outcomes in the window. */
  get size(): number {
    return this.#size;
  }

  /** Failures in the window. */
  get failures(): number {
    return this.#failures;
  }

  /** Whether the newest outcome is a failure (false when empty). */
  get lastFailed(): boolean {
    if (this.#size === 0) return false;
    return this.#ok[(this.#head + this.#size - 1) & (this.#at.length - 1)] === 0;
  }

  push(at: number, ok: boolean): void {
    if (this.#size === this.#at.length) this.#resize(this.#at.length * 2);
    const i = (this.#head + this.#size) & (this.#at.length - 1);
    this.#at[i] = at;
    this.#ok[i] = ok ? 1 : 0;
    this.#size++;
    if (!ok) this.#failures++;
  }

  /** Drops the oldest outcomes while they are older than `cutoff`. */
  dropBefore(cutoff: number): void {
    const mask = this.#at.length - 1;
    while (this.#size > 0 && this.#at[this.#head]! < cutoff) {
      if (this.#ok[this.#head] === 0) this.#failures--;
      this.#head = (this.#head + 1) & mask;
      this.#size--;
    }
    // Give memory back after a burst, keeping room to grow again.
    if (this.#at.length > 1024 && this.#size < this.#at.length / 8) this.#resize(this.#at.length / 4);
  }

  /** Capacity `capacity` (a power of two, ≥ size), outcomes in order from index 0. */
  #resize(capacity: number): void {
    const at = new Float64Array(capacity);
    const ok = new Uint8Array(capacity);
    const mask = this.#at.length - 1;
    for (let k = 0; k < this.#size; k++) {
      const i = (this.#head + k) & mask;
      at[k] = this.#at[i]!;
      ok[k] = this.#ok[i]!;
    }
    this.#at = at;
    this.#ok = ok;
    this.#head = 0;
  }
}
