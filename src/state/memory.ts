// The state store for one process: the bot's in-memory structures behind the async port. Nothing
// is shared with another process (use the Postgres adapter), and only votes on answers survive a
// restart (in `feedbackFile`, when given).
import { randomBytes } from 'node:crypto';
import type { Answer, Turn } from '../answer/types.ts';
import { ConversationStore, type ConversationOptions } from '../bot/conversations.ts';
import { NoticeLimiter, RateLimiter } from '../bot/limits.ts';
import { FileFeedback } from './feedback-file.ts';
import type { ConversationMemory, FeedbackStore, PendingUpload, SharedNoticeLimiter, SharedRateLimiter, StateStore } from './port.ts';

export interface MemoryStateOptions {
  now?: () => number;
  conversation?: ConversationOptions;
  /** Where votes on answers persist, as JSON lines (src/app.ts: INDEX_DIR/feedback.jsonl). */
  feedbackFile?: string;
}

/** Uploads waiting for 覆盖 / 取消: a handful at most; the oldest go first. */
const MAX_UPLOADS = 50;
/** An upload nobody confirmed within a day is forgotten (as the Postgres adapter does). */
const UPLOAD_TTL_MS = 24 * 60 * 60_000;

class MemoryConversations implements ConversationMemory {
  constructor(private readonly store: ConversationStore) {}

  async history(key: string): Promise<Turn[]> {
    return [...this.store.history(key)];
  }

  async historyAt(chatId: number, messageId: number): Promise<Turn[] | undefined> {
    return this.store.historyAt(chatId, messageId);
  }

  async answerAt(chatId: number, messageId: number): Promise<Answer | undefined> {
    return this.store.answerAt(chatId, messageId);
  }

  async record(key: string, question: string, answer: Answer, chatId: number, messageIds: number[], base?: Turn[]): Promise<Turn[]> {
    return this.store.record(key, question, answer, chatId, messageIds, base);
  }

  async remember(chatId: number, messageIds: number[], answer: Answer, turns: Turn[]): Promise<void> {
    this.store.remember(chatId, messageIds, answer, turns);
  }

  async reset(key: string): Promise<void> {
    this.store.reset(key);
  }
}

export class MemoryStateStore implements StateStore {
  readonly backend = 'memory' as const;
  readonly conversations: ConversationMemory;
  readonly feedback: FeedbackStore;
  private readonly now: () => number;
  private readonly limiters = new Map<string, RateLimiter>();
  private readonly noticeLimiters = new Map<number, NoticeLimiter>();
  private readonly counters = new Map<string, number>();
  private readonly uploads = new Map<string, PendingUpload & { created: number }>();
  private readonly locks = new Set<string>();

  constructor(options: MemoryStateOptions = {}) {
    this.now = options.now ?? Date.now;
    this.conversations = new MemoryConversations(new ConversationStore(options.conversation, this.now));
    this.feedback = new FileFeedback(options.feedbackFile);
  }

  limiter(name: string, perMinute: number): SharedRateLimiter {
    // Keyed by the allowance too: a limiter asked for with another allowance starts afresh.
    const key = `${name}/${perMinute}`;
    let limiter = this.limiters.get(key);
    if (!limiter) this.limiters.set(key, (limiter = new RateLimiter(perMinute, this.now)));
    return { check: async (userId, chatId) => limiter.check(userId, chatId) };
  }

  notices(windowMs = 60_000): SharedNoticeLimiter {
    let notices = this.noticeLimiters.get(windowMs);
    if (!notices) this.noticeLimiters.set(windowMs, (notices = new NoticeLimiter(windowMs, this.now)));
    return { allow: async (userId, kind) => notices.allow(userId, kind) };
  }

  async increment(counter: string, by = 1): Promise<number> {
    const total = (this.counters.get(counter) ?? 0) + by;
    this.counters.set(counter, total);
    return total;
  }

  async counter(counter: string): Promise<number> {
    return this.counters.get(counter) ?? 0;
  }

  async putUpload(upload: PendingUpload): Promise<string> {
    const id = randomBytes(6).toString('hex');
    this.uploads.set(id, { name: upload.name, bytes: upload.bytes, userId: upload.userId, created: this.now() });
    while (this.uploads.size > MAX_UPLOADS) this.uploads.delete(this.uploads.keys().next().value!);
    return id;
  }

  async takeUpload(id: string, userId: number): Promise<PendingUpload | undefined> {
    const upload = this.uploads.get(id);
    if (!upload || upload.userId !== userId) return undefined;
    this.uploads.delete(id);
    if (this.now() - upload.created > UPLOAD_TTL_MS) return undefined;
    return { name: upload.name, bytes: upload.bytes, userId: upload.userId };
  }

  async tryLock(name: string): Promise<(() => Promise<void>) | undefined> {
    if (this.locks.has(name)) return undefined;
    this.locks.add(name);
    let held = true;
    return async () => {
      // Releasing twice must not free a lock someone else has taken since.
      if (held) this.locks.delete(name);
      held = false;
    };
  }

  async close(): Promise<void> {
    this.locks.clear();
  }
}
