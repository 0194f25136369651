// Runs the bot: long polling by default, webhook mode with WEBHOOK_URL. Start-up tolerates Bot
// API servers that lack some methods; SIGINT/SIGTERM finish the answers in flight, then stop.
import { access, constants } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { Telegraf } from 'telegraf';
import { EXIT_OPERATOR, EXIT_TEMPORARY, explainFolderError } from '../errors.ts';
import { createBot, type BotApp } from './app.ts';
import type { BotServices } from './context.ts';
import { telegramStartupError, webhookStartError } from './telegram-errors.ts';

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
  /** Settles once the bot has stopped, for any reason. */
  stopped: Promise<void>;
}

export async function startBot(services: BotServices): Promise<RunningBot> {
  const app = createBot(services);
  const { bot, state } = app;
  const { logger, config } = services;
  slowDownEmptyPolls(bot);
  // Unreachable (no route, DNS, proxy) or a rejected token: one line with the remedy.
  bot.botInfo = await bot.telegram.getMe().catch((error: unknown) => {
    throw telegramStartupError(error, config.telegram.apiRoot);
  });
  try {
    await bot.telegram.setMyCommands(COMMANDS);
  } catch (error) {
    logger.warn(`setMyCommands is not available on this Bot API server (carrying on): ${(error as Error).message}`);
  }
  await warnIfUploadsCannotBeSaved(services);
  let launched: Promise<void> = Promise.resolve();
  if (config.telegram.webhookUrl) {
    const url = new URL(config.telegram.webhookUrl);
    // For a webhook, launch resolves once setWebhook has succeeded, and rejects if it fails.
    launched = bot.launch({ webhook: { domain: url.origin, hookPath: url.pathname || '/', port: config.telegram.port, secretToken: config.telegram.webhookSecret } });
    // launch() has created the webhook server synchronously; a port in use is reported as an event.
    const server = (bot as unknown as { webhookServer?: Server }).webhookServer;
    const listening = new Promise<void>((resolve, reject) => {
      if (!server || server.listening) return resolve();
      server.once('listening', resolve).once('error', reject);
    });
    try {
      await Promise.all([launched, listening]);
    } catch (error) {
      server?.close();
      throw webhookStartError(error, config.telegram.port, config.telegram.webhookUrl, config.telegram.apiRoot);
    }
    logger.info(`Bot @${bot.botInfo.username} receiving updates by webhook at ${url.origin}${url.pathname} (listening on port ${config.telegram.port})`);
  } else {
    // For polling, launch resolves only when polling stops; its callback says it has started.
    await new Promise<void>((resolve, reject) => {
      launched = bot.launch({ dropPendingUpdates: false }, () => resolve());
      launched.catch(reject);
    });
    logger.info(`Bot @${bot.botInfo.username} polling for updates`);
  }
  // A running bot also picks up builds made by `npm run reindex` in another process.
  const stopWatching = services.index.watch(config.indexWatchMs);
  let stopping: Promise<void> | undefined;
  let stoppedResolve: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stoppedResolve = resolve));
  const stop = (reason = 'stop') => {
    stopping ??= (async () => {
      state.closing = true;
      stopWatching();
      logger.info(`Stopping (${reason}): finishing ${state.tasks.size} answers in flight`);
      if (!(await state.tasks.drain(30_000))) logger.warn('Some answers did not finish within 30 s');
      bot.stop(reason);
      await launched.catch(() => {});
      stoppedResolve();
    })();
    return stopping;
  };
  // Polling that dies later (409: another instance uses this token; 401: the token was revoked)
  // must not leave a process that looks alive and answers nothing.
  launched.catch((error: Error & { response?: { error_code?: number } }) => {
    if (stopping) return;
    logger.error(`Telegram updates stopped: ${error.message}`);
    // A revoked token or a second instance needs the operator; anything else may pass.
    const code = error.response?.error_code;
    process.exitCode = code === 401 || code === 409 ? EXIT_OPERATOR : EXIT_TEMPORARY;
    void stop('updates failed');
  });
  return { ...app, stop, stopped };
}

/** npm start with a token: run until SIGINT or SIGTERM. */
export async function runBot(services: BotServices): Promise<void> {
  const running = await startBot(services);
  process.once('SIGINT', () => void running.stop('SIGINT'));
  process.once('SIGTERM', () => void running.stop('SIGTERM'));
  await running.stopped;
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

/** Admins' uploads are written into CORPUS_DIR: say at start, not at the first upload, that they
 * cannot be. */
async function warnIfUploadsCannotBeSaved({ config, logger }: BotServices): Promise<void> {
  if (config.telegram.adminUserIds.length === 0) return;
  try {
    await access(config.corpusDir, constants.W_OK);
  } catch (error) {
    const explained = explainFolderError(error, { CORPUS_DIR: { dir: config.corpusDir, need: 'write' } });
    logger.warn(`Pages that admins upload cannot be saved: ${(explained as Error).message}`);
  }
}
