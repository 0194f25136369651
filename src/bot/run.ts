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

/** Shutdown: answers in flight get this long; a second signal cuts it to SHORT_DRAIN_MS; the
 * process exits by EXIT_DEADLINE_MS whatever is still pending. */
export const DRAIN_MS = 30_000;
export const SHORT_DRAIN_MS = 3_000;
export const EXIT_DEADLINE_MS = DRAIN_MS + 5_000;

export interface RunningBot extends BotApp {
  /** Stops polling or the webhook, then waits for answers in flight; true if all were delivered. */
  stop(reason?: string): Promise<boolean>;
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
  let stopping: Promise<boolean> | undefined;
  let stoppedResolve: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stoppedResolve = resolve));
  const stop = (reason = 'stop') => {
    stopping ??= (async () => {
      state.closing = true;
      stopWatching();
      // No new updates first (a restarted instance would otherwise meet this one's polling), then
      // the answers in flight, which send through bot.telegram and do not need the update loop.
      try {
        bot.stop(reason);
      } catch {
        // not running: polling already failed
      }
      logger.info(`Stopping (${reason}): finishing ${state.tasks.size} answers in flight`);
      const drained = await state.tasks.drain(DRAIN_MS);
      if (!drained) logger.warn(`Stopped with ${state.tasks.size} answers undelivered (the drain's deadline passed)`);
      await launched.catch(() => {});
      stoppedResolve();
      return drained;
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

/** npm start with a token: run until SIGINT or SIGTERM. Every signal is handled: the first
 * drains, a second shortens the drain, and a hard deadline always exits. The exit code is 0 when
 * every answer in flight was delivered, 75 (temporary) when some were cut off. */
export async function runBot(services: BotServices): Promise<void> {
  const running = await startBot(services);
  let drained: Promise<boolean> | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (drained) {
      services.logger.warn(`${signal} again: answers in flight get ${SHORT_DRAIN_MS / 1000} s more`);
      running.state.tasks.shortenDrain(SHORT_DRAIN_MS);
      return;
    }
    drained = running.stop(signal);
    // Unref'd: it never keeps the process alive, only ends one that something else holds open.
    setTimeout(() => {
      services.logger.error(`Still running ${EXIT_DEADLINE_MS / 1000} s after ${signal}: exiting now`);
      process.exit(EXIT_TEMPORARY);
    }, EXIT_DEADLINE_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await running.stopped;
  if (drained && !(await drained)) process.exitCode = EXIT_TEMPORARY;
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
