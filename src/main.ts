// npm start: the Telegram bot when TELEGRAM_BOT_TOKEN is set, a terminal chat otherwise.
import { runChat } from './cli/chat.ts';
import { createServices, progressReporter } from './cli/shared.ts';
import { loadConfig } from './config.ts';
import { runMain } from './errors.ts';
import { createLogger } from './log.ts';

await runMain(async () => {
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
