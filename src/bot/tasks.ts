// Work that runs off the update loop. Answers take from milliseconds to many seconds, and
// Telegraf handles updates batch by batch, so nothing heavy is awaited in a handler. Questions
// wait in one bounded queue: at most `concurrency` run at once, users take turns (the one served
// longest ago goes next, so one user's flood does not delay everyone else), and a conversation's
// questions (a chat's, or a forum topic's: its lane) are answered in order.

export interface QueueOptions {
  concurrency: number;
  /** Questions waiting (not yet running) before `submit` says the queue is full. */
  maxQueued: number;
  /** Questions one user may have waiting. */
  maxPerUser: number;
}

/** Questions in one lane are answered one at a time, in order: a chat id, or a conversation key
 * so that a slow answer in one forum topic does not hold back the others. */
export type Lane = number | string;

interface Item {
  lane: Lane;
  task: () => Promise<void>;
}

export type Submitted = 'queued' | 'full' | 'user-full';

export class TaskQueue {
  /** Waiting items per user, in arrival order. */
  private readonly waiting = new Map<number, Item[]>();
  /** When each user was last served, as a sequence number. */
  private readonly lastServed = new Map<number, number>();
  private served = 0;
  private queued = 0;
  private active = 0;
  private readonly busyLanes = new Set<Lane>();
  /** Everything not yet settled: running questions, and tracked work such as sends and reindexes. */
  private readonly running = new Set<Promise<unknown>>();
  private shortenedTo = Infinity;
  private draining = 0;

  constructor(private readonly options: QueueOptions = { concurrency: 8, maxQueued: 200, maxPerUser: 5 }) {}

  /** Queues a question; never rejects (tasks catch their own errors). */
  submit(userId: number, lane: Lane, task: () => Promise<void>): Submitted {
    const admission = this.admission(userId);
    if (admission !== 'queued') return admission;
    const mine = this.waiting.get(userId) ?? [];
    mine.push({ lane, task });
    this.waiting.set(userId, mine);
    this.queued++;
    this.dispatch();
    return 'queued';
  }

  /** What `submit` would answer now, without queueing: lets a caller act (acknowledge) before a
   * task that may start at once inside `submit`. */
  admission(userId: number): Submitted {
    if ((this.waiting.get(userId)?.length ?? 0) >= this.options.maxPerUser) return 'user-full';
    return this.queued >= this.options.maxQueued ? 'full' : 'queued';
  }

  /** Counts work that runs outside the queue (sends, a reindex) until it settles, so that a
   * drain waits for it too. */
  track(work: Promise<unknown>): void {
    const settled = work.then(
      () => {},
      () => {},
    );
    this.running.add(settled);
    void settled.finally(() => this.running.delete(settled));
  }

  /** Questions waiting, running and tracked work. */
  get size(): number {
    return this.queued + this.running.size;
  }

  get waitingCount(): number {
    return this.queued;
  }

  /** Questions waiting or being answered. */
  get answers(): number {
    return this.queued + this.active;
  }

  private dispatch(): void {
    while (this.active < this.options.concurrency) {
      const next = this.takeNext();
      if (!next) return;
      this.active++;
      this.busyLanes.add(next.lane);
      const run = next.task().catch(() => {});
      this.track(run);
      void run.finally(() => {
        this.active--;
        this.busyLanes.delete(next.lane);
        this.dispatch();
      });
    }
  }

  /** Of the users whose next question's lane is free, the one served longest ago (or never):
   * round robin that also remembers users whose queue emptied and refilled. */
  private takeNext(): Item | undefined {
    let chosen: number | undefined;
    for (const [userId, items] of this.waiting) {
      if (this.busyLanes.has(items[0].lane)) continue;
      if (chosen === undefined || (this.lastServed.get(userId) ?? -1) < (this.lastServed.get(chosen) ?? -1)) chosen = userId;
    }
    if (chosen === undefined) return undefined;
    const items = this.waiting.get(chosen)!;
    const item = items.shift()!;
    if (items.length === 0) this.waiting.delete(chosen);
    this.queued--;
    if (this.lastServed.size > 10_000) this.lastServed.clear(); // bounded; forgetting only resets turns
    this.lastServed.set(chosen, ++this.served);
    return item;
  }

  /** Waits for everything in flight (and what it queues), up to `timeoutMs` or a shorter
   * deadline set meanwhile by `shortenDrain`. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const ends = () => Math.min(deadline, this.shortenedTo);
    this.draining++;
    while (this.size > 0 && Date.now() < ends()) {
      let timer: NodeJS.Timeout | undefined;
      // Wakes at least every 100 ms, so that a shortened deadline takes effect.
      const slice = Math.min(100, ends() - Date.now());
      await Promise.race([Promise.allSettled([...this.running]), new Promise((r) => (timer = setTimeout(r, slice)))]);
      clearTimeout(timer); // or it would hold the process open until the deadline
    }
    if (--this.draining === 0) this.shortenedTo = Infinity;
    return this.size === 0;
  }

  /** Drains under way end within `timeoutMs` (a second Ctrl-C). */
  shortenDrain(timeoutMs: number): void {
    this.shortenedTo = Math.min(this.shortenedTo, Date.now() + timeoutMs);
  }
}
