// Builds the Telegraf app from services: one Composer per feature, wired here; handlers stay
// thin and every reply goes through render.ts. Tests build the same app with real parts.
import { Telegraf } from 'telegraf';
import { Acknowledger, stampReceipt } from './ack.ts';
import { telegramAgent } from '../net/proxy.ts';
import type { BotServices, BotState } from './context.ts';
import { adminComposer } from './handlers/admin.ts';
import { askComposer, threadOfUpdate } from './handlers/ask.ts';
import { feedbackComposer } from './handlers/feedback.ts';
import { helpComposer } from './handlers/help.ts';
import { inlineComposer } from './handlers/inline.ts';
import { fallbackComposer } from './handlers/fallback.ts';
import { gate } from './handlers/gate.ts';
import { Outbox } from './outbox.ts';
import { sendText } from './send.ts';
import { TaskQueue } from './tasks.ts';

export interface BotApp {
  bot: Telegraf;
  state: BotState;
}

const FAILED = '抱歉，出了点问题，请稍后再试。';

export function createBot(services: BotServices): BotApp {
  const { config, logger } = services;
  // Through HTTPS_PROXY / HTTP_PROXY / ALL_PROXY unless NO_PROXY or loopback (src/net/proxy.ts).
  const agent = telegramAgent(config.telegram.apiRoot ?? 'https://api.telegram.org');
  const bot = new Telegraf(config.telegram.token!, {
    telegram: { ...(config.telegram.apiRoot ? { apiRoot: config.telegram.apiRoot } : {}), ...(agent ? { agent } : {}), webhookReply: false },
    handlerTimeout: 60_000,
  });
  bot.use(stampReceipt); // first: the acknowledgement's latency counts from here
  // Telegraf drops the agent for an http:// API root (its default one is https-only), also in the
  // client it makes for each update: put ours back in both.
  if (agent) {
    bot.telegram.options.agent = agent;
    bot.use((ctx, next) => ((ctx.telegram.options.agent = agent), next()));
  }
  // A user's share of the queue is what the rate limit lets through in a burst.
  const tasks = new TaskQueue({ ...config.queue, maxPerUser: Math.min(config.queue.maxQueued, Math.max(3, config.rateLimitPerMinute)) });
  const outbox = new Outbox(bot.telegram, logger, { track: (pending) => tasks.track(pending) });
  const state: BotState = {
    ...services,
    conversations: services.stateStore.conversations,
    limiter: services.stateStore.limiter('questions', config.rateLimitPerMinute),
    // Anything the bot replies to: looser than questions, so that questions meet their own limit.
    actions: services.stateStore.limiter('actions', config.rateLimitPerMinute * 3),
    notices: services.stateStore.notices(),
    tasks,
    outbox,
    acknowledger: new Acknowledger(outbox, logger),
    drafts: { drafts: true },
    stats: { startedAt: Date.now() },
    closing: false,
  };
  bot.use(gate(state), helpComposer(state), adminComposer(state), askComposer(state), feedbackComposer(state), inlineComposer(state), fallbackComposer(state));
  bot.catch((error, ctx) => {
    logger.error(`Update ${ctx.update.update_id} failed: ${(error as Error)?.message ?? String(error)}`);
    // A button keeps spinning until its query is answered: there the toast says it, not the chat.
    if (ctx.callbackQuery) void state.outbox.send(ctx.chat?.id ?? ctx.from!.id, 'button answer', () => ctx.answerCbQuery(FAILED), { kind: 'light' });
    else if (ctx.chat) void sendText(state.outbox, ctx.chat.id, FAILED, { threadId: threadOfUpdate(ctx) }, 'error notice');
  });
  return { bot, state };
}
