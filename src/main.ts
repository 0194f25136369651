// npm start: the Telegram bot when TELEGRAM_BOT_TOKEN is set, a terminal chat otherwise.
import { parseCommand } from './cli/args.ts';
import { runChat } from './cli/chat.ts';
import { createServices, progressReporter } from './cli/shared.ts';
import { loadConfig } from './config.ts';
import { runMain } from './errors.ts';
import { createLogger } from './log.ts';

const START_COMMAND = {
  usage: 'Usage: npm start',
  about:
    'With TELEGRAM_BOT_TOKEN set (in .env or the environment), runs the Telegram bot: long polling, or a\n' +
    'webhook with WEBHOOK_URL. Without it, opens a terminal chat over CORPUS_DIR (as npm run chat).\n' +
    'Either way the index is built first if it is missing or stale. Settings: .env.example.',
  options: {},
};

await runMain(async () => {
  if (!parseCommand(START_COMMAND)) return;
  const config = loadConfig();
  const interactive = !config.telegram.token;
  // In the terminal chat, operator logs would interleave with the conversation: warnings only.
  const logger = createLogger(interactive && !process.env.LOG_LEVEL ? 'warn' : config.logLevel);
  const services = await createServices(config, logger);
  const progress = await progressReporter();
  try {
    await services.index.loadOrBuild(progress.update);
  } finally {
    progress.stop();
  }
  if (interactive) {
    process.stdout.write('未设置 TELEGRAM_BOT_TOKEN，在终端中对话（设置后 npm start 会运行 Telegram 机器人）。\n');
    await runChat(services);
    return;
  }
  const { runBot } = await import('./bot/run.ts');
  await runBot({ ...services, logger });
});
