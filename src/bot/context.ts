// What every handler gets: the services, shared state and the bot's own counters.
import type { Answerer } from '../answer/answer.ts';
import type { Config } from '../config.ts';
import type { IndexService } from '../index/service.ts';
import type { Logger } from '../log.ts';
import type { ConversationStore } from './conversations.ts';
import type { RateLimiter } from './limits.ts';
import type { TaskQueue } from './tasks.ts';

export interface BotServices {
  config: Config;
  answerer: Answerer;
  index: IndexService;
  logger: Logger;
}

export interface BotState extends BotServices {
  conversations: ConversationStore;
  limiter: RateLimiter;
  tasks: TaskQueue;
  stats: { startedAt: number; questionsAnswered: number };
  /** Set during shutdown: no new questions are taken. */
  closing: boolean;
}
