// npm run chat (and npm start without TELEGRAM_BOT_TOKEN): a terminal conversation. Follow-ups
// work; citations are printed below each answer.
import { createInterface } from 'node:readline';
import type { Answerer } from '../answer/answer.ts';
import type { Turn } from '../answer/types.ts';
import type { IndexService } from '../index/service.ts';
import { answerAsText } from './format.ts';

const HELP = '直接输入问题即可；追问会沿用上一轮的话题。命令：/new 开始新话题，/help 查看帮助，/quit 退出。';

export async function runChat(services: { answerer: Answerer; index: IndexService }, input = process.stdin, output = process.stdout): Promise<void> {
  const snapshot = services.index.current();
  const { counts } = snapshot.manifest;
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
    rl.close();
  }
  output.write('再见。\n');
}

// Run directly: npm run chat
if (import.meta.url === `file://${process.argv[1]}`) {
  const { runMain } = await import('../errors.ts');
  const { loadConfig } = await import('../config.ts');
  const { cliLogger, createServices, progressReporter } = await import('./shared.ts');
  await runMain(async () => {
    const config = loadConfig();
    const services = await createServices(config, cliLogger(config));
    const progress = await progressReporter();
    try {
      await services.index.loadOrBuild(progress.update);
    } finally {
      progress.stop();
    }
    await runChat(services);
  });
}
