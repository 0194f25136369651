// What every handler gets: the services, shared state and the bot's own counters.
import type { Answerer } from '../answer/answer.ts';
import type { Config } from '../config.ts';
import type { TextEmbedder } from '../index/embeddings.ts';
import type { IndexBackend } from '../index/backend.ts';
import type { Logger } from '../log.ts';
import type { ConversationMemory, SharedNoticeLimiter, SharedRateLimiter, StateStore } from '../state/port.ts';
import type { Acknowledger } from './ack.ts';
import type { Outbox } from './outbox.ts';
import type { DraftSupport } from './stream.ts';
import type { TaskQueue } from './tasks.ts';

export interface BotServices {
  config: Config;
  answerer: Answerer;
  index: IndexBackend;
  /** What replicas share (src/state/port.ts): in memory, or in PostgreSQL with DATABASE_URL. */
  stateStore: StateStore;
  logger: Logger;
  /** Warmed at start, when it can be (the local model loads in about a second). */
  embedder?: TextEmbedder & { warm?(): Promise<void> };
}

export interface BotState extends BotServices {
  conversations: ConversationMemory;
  /** Questions per user and chat. */
  limiter: SharedRateLimiter;
  /** Every action the bot replies to, per user (handlers/gate.ts). */
  actions: SharedRateLimiter;
  notices: SharedNoticeLimiter;
  tasks: TaskQueue;
  /** Every call to Telegram goes through it. */
  outbox: Outbox;
  /** 👀 and typing on a question as soon as it is taken, and their latency (ack.ts). */
  acknowledger: Acknowledger;
  /** Whether sendMessageDraft works on this Bot API server (stream.ts learns it). */
  drafts: DraftSupport;
  /** This process's start (uptime in /stats); the counts are the state store's. */
  stats: { startedAt: number };
  /** Set during shutdown: no new questions are taken. */
  closing: boolean;
}
