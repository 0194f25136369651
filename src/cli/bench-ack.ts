// `npm run bench`'s acknowledgement figures: the real bot (createServices, startBot) polling the
// Bot API emulator that the end-to-end tests use, 20 questions from 20 users in two bursts of
// ten (the answer queue busy, as in real use), extractive answers. It reports how long after an
// update arrives the bot makes its first Bot API call (👀 and typing, src/bot/ack.ts), and when
// the emulator confirmed it. The emulator is a devDependency: without it, the section says so.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBot } from '../bot/run.ts';
import type { Config } from '../config.ts';
import { silentLogger } from '../log.ts';
import { createServices } from './shared.ts';

const USERS = 20;
const BURST = 10;

export interface AckFigures {
  questions: number;
  issued: [number, number];
  confirmed: [number, number];
}

/** What the benchmark uses of test/helpers/telegram.ts (a test helper: not compiled into dist/). */
interface Emulator {
  apiRoot: string;
  client(options: { userId: number }): { makeMessage(text: string): unknown; sendMessage(message: unknown): Promise<unknown> };
  botMessages(chatId: number, count?: number, timeoutMs?: number): Promise<unknown[]>;
  stop(): Promise<void>;
}
interface Harness {
  BOT_TOKEN: string;
  startTelegram(): Promise<Emulator>;
}
// A variable, so that tsc leaves the test helper out of the build's program.
const HARNESS = '../../test/helpers/telegram.ts';

/** undefined when the emulator cannot be loaded (installed without devDependencies, or from dist/). */
export async function benchAcknowledgement(config: Config, questions: string[]): Promise<AckFigures | undefined> {
  const harness = (await import(HARNESS).catch(() => undefined)) as Harness | undefined;
  if (!harness) return undefined;
  const telegram = await harness.startTelegram();
  const indexDir = mkdtempSync(path.join(os.tmpdir(), 'newsbot-bench-ack-'));
  const botConfig: Config = { ...config, indexDir, databaseUrl: undefined, llm: undefined, telegram: { ...config.telegram, token: harness.BOT_TOKEN, apiRoot: telegram.apiRoot, webhookUrl: undefined } };
  const services = await createServices(botConfig, silentLogger);
  try {
    await services.index.loadOrBuild();
    const running = await startBot({ ...services, logger: silentLogger });
    try {
      for (let first = 0; first < USERS; first += BURST) {
        const burst = Array.from({ length: BURST }, (_, i) => first + i);
        await Promise.all(burst.map((i) => askOne(telegram, 7000 + i, questions[i % questions.length])));
      }
      const { latency } = running.state.acknowledger;
      const pair = (series: 'issued' | 'answered'): [number, number] => [latency.percentile(series, 50) ?? NaN, latency.percentile(series, 95) ?? NaN];
      return { questions: latency.issued.length, issued: pair('issued'), confirmed: pair('answered') };
    } finally {
      await running.stop('benchmark end');
    }
  } finally {
    await services.close();
    await telegram.stop();
    rmSync(indexDir, { recursive: true, force: true });
  }
}

async function askOne(telegram: Emulator, userId: number, question: string): Promise<void> {
  const user = telegram.client({ userId });
  await user.sendMessage(user.makeMessage(question));
  await telegram.botMessages(userId, 1, 60_000);
}
