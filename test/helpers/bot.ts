// The real bot, as npm start runs it (createServices, the index built, startBot), for a test
// file; TEST_BOT_LOG=1 shows its log while debugging a failure.
import { startBot, type RunningBot } from '../../src/bot/run.ts';
import { createServices } from '../../src/cli/shared.ts';
import type { Config } from '../../src/config.ts';
import { createLogger, silentLogger, type Logger } from '../../src/log.ts';

/** `logger`: a test that asserts on the bot's log passes its own. */
export async function startTestBot(config: Config, logger: Logger = process.env.TEST_BOT_LOG ? createLogger('debug') : silentLogger): Promise<RunningBot> {
  const services = await createServices(config, logger);
  await services.index.loadOrBuild();
  return startBot({ ...services, logger });
}
