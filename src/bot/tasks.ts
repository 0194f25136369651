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

  /** Waits for everything in flight (and what it queues), up to `timeoutMs`. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.running.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.running]), new Promise((r) => (timer = setTimeout(r, deadline - Date.now())))]);
      clearTimeout(timer); // or it would hold the process open until the deadline
    }
    return this.running.size === 0;
  }
}
