// Runs the bot: long polling by default, webhook mode with WEBHOOK_URL. Start-up tolerates Bot
// API servers that lack some methods; SIGINT/SIGTERM finish the answers in flight, then stop.
import { access, constants } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { Telegraf } from 'telegraf';
import { EXIT_OPERATOR, EXIT_TEMPORARY, explainFolderError } from '../errors.ts';
import { createBot, type BotApp } from './app.ts';
import { publishCommands } from './commands.ts';
import { sendText } from './send.ts';
import type { BotServices } from './context.ts';
import { telegramStartupError, webhookStartError } from './telegram-errors.ts';

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
  await publishCommands(bot.telegram, config.telegram.adminUserIds, logger);
  await warnIfUploadsCannotBeSaved(services);
  await warmModel(services);
  await reportInterruptedReindex(app);
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
      logger.info(`Stopping (${reason}): finishing ${state.tasks.answers} answers in flight and ${state.tasks.size - state.tasks.answers} other messages`);
      if (state.index.isReindexing) logger.warn('A reindex is running: it is abandoned, and reported to its admin at the next start');
      const drained = await state.tasks.drain(DRAIN_MS);
      if (!drained) {
        logger.warn(`Stopped with ${state.tasks.answers} answers unfinished (the drain's deadline passed); messages not sent:`);
        for (const line of state.outbox.waiting()) logger.warn(`  ${line}`);
      }
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
  const { logger } = services;
  let running: RunningBot | undefined;
  let drained: Promise<boolean> | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!running) {
      // Still connecting or warming the model: nothing is in flight yet.
      logger.info(`${signal} during start-up: exiting`);
      process.exit(process.exitCode ?? 0);
    }
    if (drained) {
      logger.warn(`${signal} again: answers in flight get ${SHORT_DRAIN_MS / 1000} s more`);
      running.state.tasks.shortenDrain(SHORT_DRAIN_MS);
      return;
    }
    drained = running.stop(signal);
    exitBy(EXIT_DEADLINE_MS, `Still running ${EXIT_DEADLINE_MS / 1000} s after ${signal}`, logger);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    running = await startBot(services);
  } catch (error) {
    // Reported by runMain; sends queued meanwhile (an admin notice) must not hold the exit.
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    exitBy(5_000, 'Still running 5 s after start-up failed', logger);
    throw error;
  }
  await running.stopped;
  if (drained) process.exitCode = (await drained) ? (process.exitCode ?? 0) : EXIT_TEMPORARY;
  // Stopped for any reason (a signal, or polling that failed): whatever still holds the process
  // open (a socket, a timer) must not keep a bot that answers nothing alive.
  exitBy(5_000, 'Still running 5 s after the bot stopped', logger);
}

/** Unref'd: it never keeps the process alive, only ends one that something else holds open. */
function exitBy(ms: number, why: string, logger: BotServices['logger']): void {
  setTimeout(() => {
    logger.error(`${why}: exiting now`);
    process.exit(process.exitCode ?? EXIT_TEMPORARY);
  }, ms).unref();
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

export const INTERRUPTED_REINDEX = '上次重建索引没有完成（机器人中途停止），原有索引继续使用。请重新发送 /reindex。';
export const REBUILT_AT_START = '上次重建索引没有完成（机器人中途停止）；重启时已按当前版面重新建立索引，无需再发送 /reindex。';

/** A reindex that a crash cut short: its admin's progress message would say 生成向量…… forever.
 * Edit it, and reply to it so that the admin notices; a reindex started elsewhere (npm run
 * reindex) is told to every admin. */
async function reportInterruptedReindex({ state }: BotApp): Promise<void> {
  const report = await state.index.recoverInterrupted().catch(() => undefined); // logged there
  if (!report?.interrupted) return;
  const { chatId, messageId, threadId } = (report.requestedBy ?? {}) as { chatId?: number; messageId?: number; threadId?: number };
  // Start-up rebuilds an index older than the pages (main.ts): then there is nothing to redo.
  const rebuilt = Date.parse((await state.index.status()).updatedAt) >= Date.now() - process.uptime() * 1000;
  const text = rebuilt ? REBUILT_AT_START : INTERRUPTED_REINDEX;
  if (typeof chatId === 'number') {
    if (typeof messageId === 'number') {
      void state.outbox.send(chatId, 'reindex status', (t) => t.editMessageText(chatId, messageId, undefined, `重建索引已中断。${text}`));
    }
    void sendText(state.outbox, chatId, text, { replyTo: messageId, threadId }, 'interrupted-reindex notice');
    return;
  }
  for (const admin of state.config.telegram.adminUserIds) void sendText(state.outbox, admin, text, {}, 'interrupted-reindex notice');
}

/** The first question should not wait for the model to load: load it before taking updates.
 * A model that cannot load is reported where it is used (answers fall back to keywords). */
async function warmModel({ embedder, logger }: BotServices): Promise<void> {
  if (!embedder?.warm) return;
  const started = Date.now();
  try {
    await embedder.warm();
    logger.info(`Embedding model ready in ${Date.now() - started} ms`);
  } catch (error) {
    logger.warn(`The embedding model could not be warmed (answers use keywords until it loads): ${(error as Error).message}`);
  }
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
