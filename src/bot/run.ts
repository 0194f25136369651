// Runs the bot: long polling by default, webhook mode with WEBHOOK_URL. Start-up tolerates Bot
// API servers that lack some methods; SIGINT/SIGTERM finish the answers in flight, then stop.
import type { Telegraf } from 'telegraf';
import { createBot, type BotApp } from './app.ts';
import type { BotServices } from './context.ts';

export const COMMANDS = [
  { command: 'ask', description: '提问（群组中使用）' },
  { command: 'help', description: '使用说明' },
  { command: 'new', description: '开始新话题' },
  { command: 'stats', description: '运行状态（管理员）' },
  { command: 'reindex', description: '重建索引（管理员）' },
];

export interface RunningBot extends BotApp {
  /** Stops taking questions, waits for answers in flight, then stops polling or the webhook. */
  stop(reason?: string): Promise<void>;
}

export async function startBot(services: BotServices): Promise<RunningBot> {
  const app = createBot(services);
  const { bot, state } = app;
  const { logger, config } = services;
  slowDownEmptyPolls(bot);
  bot.botInfo = await bot.telegram.getMe();
  try {
    await bot.telegram.setMyCommands(COMMANDS);
  } catch (error) {
    logger.warn(`setMyCommands is not available on this Bot API server (carrying on): ${(error as Error).message}`);
  }
  let launched: Promise<void>;
  if (config.telegram.webhookUrl) {
    const url = new URL(config.telegram.webhookUrl);
    await new Promise<void>((resolve, reject) => {
      launched = bot.launch(
        { webhook: { domain: url.origin, hookPath: url.pathname || '/', port: config.telegram.port, secretToken: config.telegram.webhookSecret } },
        () => resolve(),
      );
      launched.catch(reject);
    });
    logger.info(`Bot @${bot.botInfo.username} receiving updates by webhook at ${url.origin}${url.pathname} (listening on port ${config.telegram.port})`);
  } else {
    await new Promise<void>((resolve, reject) => {
      launched = bot.launch({ dropPendingUpdates: false }, () => resolve());
      launched.catch(reject);
    });
    logger.info(`Bot @${bot.botInfo.username} polling for updates`);
  }
  let stopping: Promise<void> | undefined;
  return {
    ...app,
    stop(reason = 'stop') {
      stopping ??= (async () => {
        state.closing = true;
        logger.info(`Stopping (${reason}): finishing ${state.tasks.size} answers in flight`);
        if (!(await state.tasks.drain(30_000))) logger.warn('Some answers did not finish within 30 s');
        bot.stop(reason);
        await launched.catch(() => {});
      })();
      return stopping;
    },
  };
}

/** npm start with a token: run until SIGINT or SIGTERM. */
export async function runBot(services: BotServices): Promise<void> {
  const running = await startBot(services);
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => void running.stop(signal).then(resolve);
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
}

/** Telegram holds getUpdates open until an update arrives; a server that answers at once with
 * nothing (an emulator, a misconfigured proxy) would otherwise be polled in a tight loop. */
function slowDownEmptyPolls(bot: Telegraf): void {
  const callApi = bot.telegram.callApi.bind(bot.telegram);
  bot.telegram.callApi = (async (method: string, payload: unknown, options: unknown) => {
    const started = Date.now();
    const result = await (callApi as (m: string, p: unknown, o: unknown) => Promise<unknown>)(method, payload, options);
    if (method === 'getUpdates' && Array.isArray(result) && result.length === 0 && Date.now() - started < 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return result;
  }) as typeof bot.telegram.callApi;
}
