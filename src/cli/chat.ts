// npm run chat (and npm start without TELEGRAM_BOT_TOKEN): a terminal conversation. Follow-ups
// work; citations are printed below each answer.
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import type { Answerer } from '../answer/answer.ts';
import type { Turn } from '../answer/types.ts';
import type { Config } from '../config.ts';
import type { IndexBackend } from '../index/backend.ts';
import type { CommandSpec, OptionSpec } from './args.ts';
import { answerAsText } from './format.ts';

const HELP = '直接输入问题即可；追问会沿用上一轮的话题。命令：/new 开始新话题，/help 查看帮助，/quit 退出。';

export const CHAT_USAGE = 'Usage: npm run chat';

export const CHAT_COMMAND = {
  usage: CHAT_USAGE,
  about:
    'A conversation in the terminal: type a question, follow-ups keep the topic; /new starts a new topic,\n' +
    '/help explains, /quit ends. Piped input is read line by line. A reindex by another process is picked up.',
  options: {},
} satisfies CommandSpec<Record<string, OptionSpec>>;


export async function runChat(services: { answerer: Answerer; index: IndexBackend; config: Pick<Config, 'indexWatchMs'> }, input = process.stdin, output = process.stdout): Promise<void> {
  const counts = await services.index.status();
  output.write(
    `新闻问答 · 终端模式（${services.answerer.mode === 'llm' ? '大模型回答' : '摘录式回答，无需密钥'}）\n` +
      `已收录 ${counts.pages} 个版面、${counts.articles} 篇报道。${HELP}\n` +
      '例如：上海今年建成了多少间职工工间休息室？\n\n',
  );
  // The line iterator buffers input that arrives while an answer is being written (piped input
  // arrives all at once); rl.question would drop it.
  const isTerminal = Boolean((input as NodeJS.ReadStream).isTTY);
  const rl = createInterface({ input, output: isTerminal ? output : undefined, terminal: isTerminal });
  // On a terminal the prompt waits for typing; with piped input the question is echoed instead,
  // so the transcript reads question, answer, question, answer.
  const prompt = () => isTerminal && rl.prompt();
  rl.setPrompt('问> ');
  let history: Turn[] = [];
  // Like the bot, answer from the build another process's `npm run reindex` swaps in.
  const stopWatching = services.index.watch(services.config.indexWatchMs);
  prompt();
  try {
    for await (const raw of rl) {
      const line = raw.trim();
      if (!isTerminal && line) output.write(`问> ${line}\n`);
      if (line === '/quit' || line === '/exit') break;
      if (line === '/help') output.write(`${HELP}\n\n`);
      else if (line === '/new') {
        history = [];
        output.write('好的，开始新话题。\n\n');
      } else if (line) {
        const answer = await services.answerer.answer(line, history);
        output.write(`${answerAsText(answer)}\n\n`);
        history = [...history, { question: answer.rewrittenQuestion ?? line, answer: answer.text, articleIds: answer.citations.map((c) => c.articleId) }].slice(-5);
      }
      prompt();
    }
  } finally {
    stopWatching();
    rl.close();
  }
  output.write('再见。\n');
}

// Run directly: npm run chat
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { runMain } = await import('../errors.ts');
  const { parseCommand } = await import('./args.ts');
  const { loadedServices } = await import('./shared.ts');
  await runMain(async () => {
    if (!parseCommand(CHAT_COMMAND)) return;
    await runChat(await loadedServices(undefined, { progress: true }));
  });
}
