// Work that runs off the update loop: answers take seconds, and Telegraf handles updates batch by
// batch, so one slow chat would otherwise hold up every other. Per chat, work stays in order.

export class TaskQueue {
  private readonly tails = new Map<number, Promise<void>>();
  private readonly running = new Set<Promise<void>>();

  /** Runs `task` after the chat's earlier tasks; never rejects (tasks catch their own errors). */
  run(chatId: number, task: () => Promise<void>): Promise<void> {
    const previous = this.tails.get(chatId) ?? Promise.resolve();
    const next = previous.then(task, task).catch(() => {});
    this.tails.set(chatId, next);
    this.running.add(next);
    void next.finally(() => {
      this.running.delete(next);
      if (this.tails.get(chatId) === next) this.tails.delete(chatId);
    });
    return next;
  }

  get size(): number {
    return this.running.size;
  }

  private drainDeadline = Infinity;

  /** Waits for everything in flight (and what it queues), up to `timeoutMs` or a shorter
   * deadline set meanwhile by `shortenDrain`. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.drainDeadline = Math.min(this.drainDeadline, Date.now() + timeoutMs);
    while (this.running.size > 0 && Date.now() < this.drainDeadline) {
      let timer: NodeJS.Timeout | undefined;
      // Wakes at least every 100 ms, so that a shortened deadline takes effect.
      const slice = Math.min(100, this.drainDeadline - Date.now());
      await Promise.race([Promise.allSettled([...this.running]), new Promise((r) => (timer = setTimeout(r, slice)))]);
      clearTimeout(timer); // or it would hold the process open until the deadline
    }
    this.drainDeadline = Infinity;
    return this.running.size === 0;
  }

  /** A drain under way ends within `timeoutMs` (a second Ctrl-C). */
  shortenDrain(timeoutMs: number): void {
    this.drainDeadline = Math.min(this.drainDeadline, Date.now() + timeoutMs);
  }
}
