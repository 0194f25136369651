// npm run ask -- [--json] "问题"
// Without a question argument it reads stdin: each line is a question, or a JSON object
// {"question": "...", "history": [{"question": "...", "answer": "..."}]}; one JSON line out per line in.
import { createInterface } from 'node:readline';
import type { Turn } from '../answer/types.ts';
import { loadConfig } from '../config.ts';
import { OperatorError, runMain } from '../errors.ts';
import { answerAsJson, answerAsText } from './format.ts';
import { cliLogger, createServices } from './shared.ts';

function parseLine(line: string): { question: string; history: Turn[] } {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return { question: trimmed, history: [] };
  let parsed: { question?: unknown; history?: unknown };
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    throw new OperatorError(`Not valid JSON: ${trimmed.slice(0, 80)}`);
  }
  if (typeof parsed.question !== 'string' || !parsed.question.trim()) throw new OperatorError('Each JSON line needs a "question" string.');
  const history = Array.isArray(parsed.history) ? parsed.history.filter((t): t is Turn => typeof t?.question === 'string') : [];
  return { question: parsed.question, history };
}

export const ASK_USAGE = `Usage: npm run ask -- [--json] "问题"
       npm run ask < questions.txt    (one question, or {"question": …, "history": […]}, per line)`;

await runMain(async () => {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) return void process.stdout.write(`${ASK_USAGE}\n`);
  const unknown = args.find((a) => a.startsWith('--') && a !== '--json');
  if (unknown) throw new OperatorError(`Unknown option ${unknown}.\n${ASK_USAGE}`);
  const json = args.includes('--json');
  const question = args.filter((a) => a !== '--json').join(' ').trim();
  const explicitEmpty = args.some((a) => a !== '--json' && a.trim() === '') && !question;
  if (explicitEmpty || (!question && process.stdin.isTTY)) throw new OperatorError(`No question given.\n${ASK_USAGE}`);
  const config = loadConfig();
  const { index, answerer } = await createServices(config, cliLogger(config));
  await index.loadOrBuild();
  if (!question) {
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
    let answered = 0;
    for await (const line of lines) {
      if (!line.trim()) continue;
      answered++;
      try {
        const { question: q, history } = parseLine(line);
        process.stdout.write(`${JSON.stringify(answerAsJson(await answerer.answer(q, history)))}\n`);
      } catch (error) {
        if (!(error instanceof OperatorError)) throw error;
        process.stdout.write(`${JSON.stringify({ error: error.message })}\n`); // one bad line does not stop the rest
      }
    }
    if (answered === 0) throw new OperatorError(`No question on standard input.\n${ASK_USAGE}`);
    return;
  }
  const answer = await answerer.answer(question);
  process.stdout.write(json ? `${JSON.stringify(answerAsJson(answer), null, 2)}\n` : `${answerAsText(answer)}\n`);
});
