// Token buckets per user and per chat: a burst is fine, a flood is slowed with a friendly note.

export class TokenBucket {
  private tokens: number;
  private updated: number;

  constructor(
    private readonly capacity: number,
    private readonly refillPerMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = capacity;
    this.updated = now();
  }

  /** Takes a token; returns 0 on success, else the milliseconds until one is available. */
  take(): number {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.updated) * this.refillPerMs);
    this.updated = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - this.tokens) / this.refillPerMs);
  }

  /** Gives back a token taken for something that did not happen after all. */
  refund(): void {
    this.tokens = Math.min(this.capacity, this.tokens + 1);
  }
}

export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds to wait before this user may ask in this chat again (0: go ahead). A chat
   * gets three times a user's allowance, so one busy group cannot starve the others. */
  check(userId: number, chatId: number): number {
    const user = this.bucket(`u${userId}`, this.perMinute);
    const userWait = user.take();
    // A refused user takes nothing from the chat: one flooder must not lock a group out.
    if (userWait > 0) return userWait;
    const chatWait = this.bucket(`c${chatId}`, this.perMinute * 3).take();
    if (chatWait > 0) user.refund();
    return chatWait;
  }

  private bucket(key: string, perMinute: number): TokenBucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size > 10_000) this.buckets.clear(); // bounded: idle buckets are full anyway
      bucket = new TokenBucket(perMinute, perMinute / 60_000, this.now);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }
}

/** At most one notice of a kind per user per window: a flood of messages must not become a
 * flood of replies ("too frequent", "busy"). */
export class NoticeLimiter {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  allow(userId: number, kind: string): boolean {
    const key = `${kind}:${userId}`;
    const now = this.now();
    if (now - (this.last.get(key) ?? -Infinity) < this.windowMs) return false;
    if (this.last.size > 10_000) this.last.clear(); // bounded: forgetting only allows one more notice
    this.last.set(key, now);
    return true;
  }
}
