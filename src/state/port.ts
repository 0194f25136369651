// The state-store port: what the bot remembers between updates. In memory for one process
// (src/state/memory.ts); in PostgreSQL for replicas (src/state/postgres.ts), so that a follow-up
// landing on another replica continues the conversation, rate limits count across replicas,
// and only one reindex runs at a time. Every method is async: the Postgres adapter is a query.
import type { Answer, AnswerMode, Turn } from '../answer/types.ts';

/** Conversation memory per chat and thread (ConversationStore.key), bounded in turns and age. */
export interface ConversationMemory {
  history(key: string): Promise<Turn[]>;
  /** The conversation up to and including an earlier answer, when the user replies to it. */
  historyAt(chatId: number, messageId: number): Promise<Turn[] | undefined>;
  /** The answer a Telegram message carries (the 查看原文 button, replies to an old answer). */
  answerAt(chatId: number, messageId: number): Promise<Answer | undefined>;
  /** Adds a turn (after `base`, when the user replied to an older answer) and returns the turns. */
  record(key: string, question: string, answer: Answer, chatId: number, messageIds: number[], base?: Turn[]): Promise<Turn[]>;
  /** The messages an answer was sent in, once delivered. */
  remember(chatId: number, messageIds: number[], answer: Answer, turns: Turn[]): Promise<void>;
  reset(key: string): Promise<void>;
}

/** Token buckets per user and per chat (RateLimiter's semantics: a chat gets three times a
 * user's allowance; a refused user takes nothing from the chat). */
export interface SharedRateLimiter {
  /** Milliseconds to wait before this user may act in this chat again (0: go ahead). */
  check(userId: number, chatId: number): Promise<number>;
}

/** At most one notice of a kind per user per window. */
export interface SharedNoticeLimiter {
  allow(userId: number, kind: string): Promise<boolean>;
}

/** A page an admin sent that would overwrite one of the same name, waiting for 覆盖 / 取消. */
export interface PendingUpload {
  name: string;
  bytes: Buffer;
  userId: number;
}

export type Vote = 'up' | 'down';

/** One user's 👍 or 👎 on one answer, as kept for the evaluation set. No names: the user and
 * chat are hashes (src/bot/handlers/feedback.ts hashId), the answer is its chat hash and message id. */
export interface FeedbackVote {
  /** ms since the epoch of the latest press. */
  time: number;
  vote: Vote;
  /** `<chat hash>:<message id>`: the answer's message; with userHash, one vote per user. */
  answerId: string;
  userHash: string;
  chatHash: string;
  chatType: 'private' | 'group' | 'supergroup' | 'channel';
  question: string;
  answer: string;
  citations: { articleId: string; headline: string }[];
  mode: AnswerMode;
  refused: boolean;
  timings?: Answer['timings'];
}

/** Votes on answers (the 👍 👎 buttons): one per user per answer, a later press replaces it. */
export interface FeedbackStore {
  /** Stores the vote (replacing this user's earlier vote on the answer); returns that earlier vote. */
  vote(vote: FeedbackVote): Promise<Vote | undefined>;
  counts(): Promise<Record<Vote, number>>;
  /** The latest votes of one kind, newest first. */
  recent(vote: Vote, limit: number): Promise<FeedbackVote[]>;
  /** Every vote, oldest first (the export). */
  all(): Promise<FeedbackVote[]>;
}

export interface StateStore {
  readonly backend: 'memory' | 'postgres';
  readonly conversations: ConversationMemory;
  readonly feedback: FeedbackStore;
  /** A named limiter (e.g. 'questions', 'actions'); the same name shares buckets across replicas. */
  limiter(name: string, perMinute: number): SharedRateLimiter;
  notices(windowMs?: number): SharedNoticeLimiter;
  /** Adds to a named counter (e.g. questions answered) and returns the new total. */
  increment(counter: string, by?: number): Promise<number>;
  counter(counter: string): Promise<number>;
  /** Keeps an upload until taken; returns its id (short hex, fits in callback_data). */
  putUpload(upload: PendingUpload): Promise<string>;
  /** Takes (and removes) the upload if it exists and belongs to this user; a second take gets nothing. */
  takeUpload(id: string, userId: number): Promise<PendingUpload | undefined>;
  /** Tries to take a named lock held across processes (the reindex lock). Returns the function
   * that releases it, or undefined when another holder has it. A holder that dies releases it. */
  tryLock(name: string): Promise<(() => Promise<void>) | undefined>;
  close(): Promise<void>;
}
