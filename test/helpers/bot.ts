// The real bot, as npm start runs it (createServices, the index built, startBot), for a test
// file; TEST_BOT_LOG=1 shows its log while debugging a failure.
import { startBot, type RunningBot } from '../../src/bot/run.ts';
import { createServices } from '../../src/cli/shared.ts';
import type { Config } from '../../src/config.ts';
import { createLogger, silentLogger, type Logger } from '../../src/log.ts';
import { after } from 'node:test';
import { testConfig } from './config.ts';
import { seedCorpus } from './corpus.ts';
import { startFakeOpenAI, type Reply } from './fake-openai.ts';
import { botEnv, startTelegram } from './telegram.ts';

/** `logger`: a test that asserts on the bot's log passes its own. */
export async function startTestBot(config: Config, logger: Logger = defaultLogger()): Promise<RunningBot> {
  const services = await createServices(config, logger);
  await services.index.loadOrBuild();
  return startBot({ ...services, logger });
}

/** The bot with the seed corpus (plus `pages`), a fake OpenAI-compatible LLM answering with
 * `reply`, and the Bot API emulator; `env` adds settings. Stopped after the test file. */
export async function startLlmBot(o: { reply: Reply; env?: Record<string, string>; pages?: Record<string, string>; logger?: Logger }) {
  const corpus = seedCorpus(o.pages);
  const llm = await startFakeOpenAI(o.reply);
  const telegram = await startTelegram();
  const config = testConfig({
    ...corpus.env,
    ...botEnv(telegram.apiRoot),
    LLM_BASE_URL: llm.baseUrl,
    LLM_API_KEY: 'test',
    LLM_MODEL: 'fake-model',
    LLM_MAX_RETRIES: '0',
    ...o.env,
  });
  const running = await startTestBot(config, o.logger ?? defaultLogger());
  after(async () => {
    await running.stop('test end');
    await telegram.stop();
    await llm.close();
  });
  return { corpus, llm, telegram, config, running };
}

function defaultLogger(): Logger {
  return process.env.TEST_BOT_LOG ? createLogger('debug') : silentLogger;
}
