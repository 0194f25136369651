// npm run ask -- [--json] "问题"  (a question that starts with "-" goes after another --)
// Without a question argument it reads stdin: each line is a question, or a JSON object
// {"question": "...", "history": [{"question": "...", "answer": "..."}]}; one JSON line out per line in.
import { createInterface } from 'node:readline';
import type { Turn } from '../answer/types.ts';
import { loadConfig } from '../config.ts';
import { OperatorError, runMain } from '../errors.ts';
import { answerAsJson, answerAsText } from './format.ts';
import { parseCommand, type CommandSpec, type OptionSpec } from './args.ts';
import { loadedServices, type Services } from './shared.ts';

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
       npm run ask -- [--json] -- "-问题"    (a question that starts with "-")
       npm run ask < questions.txt    (one question, or {"question": …, "history": […]}, per line)`;

export const ASK_COMMAND = {
  usage: ASK_USAGE,
  about: 'One answer with its citations. Without a question, one JSON line out per line of standard input.',
  positionals: true,
  options: {
    json: { type: 'boolean', description: 'print the answer as JSON' },
  },
} satisfies CommandSpec<Record<string, OptionSpec>>;

await runMain(async () => {
  const args = parseCommand(ASK_COMMAND);
  if (!args) return;
  const json = args.values.json ?? false;
  const question = args.positionals.join(' ').trim();
  if ((args.positionals.length > 0 && !question) || (!question && process.stdin.isTTY)) throw new OperatorError(`No question given.\n${ASK_USAGE}`);
  const config = loadConfig();
  if (!question) {
    // The model and the index load with the first question, not for an empty input.
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
    let services: Services | undefined;
    for await (const line of lines) {
      if (!line.trim()) continue;
      services ??= await loadedServices(config);
      try {
        const { question: q, history } = parseLine(line);
        process.stdout.write(`${JSON.stringify(answerAsJson(await services.answerer.answer(q, history)))}\n`);
      } catch (error) {
        if (!(error instanceof OperatorError)) throw error;
        process.stdout.write(`${JSON.stringify({ error: error.message })}\n`); // one bad line does not stop the rest
      }
    }
    if (!services) throw new OperatorError(`No question on standard input.\n${ASK_USAGE}`);
    return;
  }
  const { answerer } = await loadedServices(config);
  const answer = await answerer.answer(question);
  process.stdout.write(json ? `${JSON.stringify(answerAsJson(answer), null, 2)}\n` : `${answerAsText(answer)}\n`);
});
