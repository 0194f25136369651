// What every handler gets: the services, shared state and the bot's own counters.
import type { Answerer } from '../answer/answer.ts';
import type { Config } from '../config.ts';
import type { TextEmbedder } from '../index/embeddings.ts';
import type { IndexService } from '../index/service.ts';
import type { Logger } from '../log.ts';
import type { ConversationStore } from './conversations.ts';
import type { NoticeLimiter, RateLimiter } from './limits.ts';
import type { Outbox } from './outbox.ts';
import type { TaskQueue } from './tasks.ts';

export interface BotServices {
  config: Config;
  answerer: Answerer;
  index: IndexService;
  logger: Logger;
  /** Warmed at start, when it can be (the local model loads in about a second). */
  embedder?: TextEmbedder & { warm?(): Promise<void> };
}

export interface BotState extends BotServices {
  conversations: ConversationStore;
  /** Questions per user and chat. */
  limiter: RateLimiter;
  /** Every action the bot replies to, per user (handlers/gate.ts). */
  actions: RateLimiter;
  notices: NoticeLimiter;
  tasks: TaskQueue;
  /** Every call to Telegram goes through it. */
  outbox: Outbox;
  stats: { startedAt: number; questionsAnswered: number };
  /** Set during shutdown: no new questions are taken. */
  closing: boolean;
}
