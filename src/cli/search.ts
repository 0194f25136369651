// npm run search -- [--json] [-k N] "问题"
// Without a question argument it reads one question per line from stdin and prints one JSON
// line per question (the model loads once): the mode scripts and evaluations use.
import { createInterface } from 'node:readline';
import { OperatorError, runMain } from '../errors.ts';
import type { SearchResult } from '../retrieve/search.ts';
import { loadConfig } from '../config.ts';
import { parseCommand, type CommandSpec, type OptionSpec } from './args.ts';
import { loadedServices, type Services } from './shared.ts';

export const SEARCH_USAGE = `Usage: npm run search -- [--json] [-k N] "问题"
       npm run search -- [--json] [-k N] -- "-问题"    (a question that starts with "-")
       npm run search < questions.txt    (one question per line, one JSON line out per question)`;

export const SEARCH_COMMAND = {
  usage: SEARCH_USAGE,
  about: 'Retrieval only: the articles that best match the question, with their passages and scores.',
  positionals: true,
  options: {
    json: { type: 'boolean', description: 'print the results as JSON' },
    k: { type: 'integer', value: 'N', min: 1, max: 50, example: '5', description: 'how many articles (1 to 50, default 5)' },
  },
} satisfies CommandSpec<Record<string, OptionSpec>>;

function asJson(result: SearchResult) {
  return {
    question: result.question,
    mode: result.mode,
    ...(result.notice ? { notice: result.notice } : {}),
    results: result.results.map(({ rank, score, articleId, headline, file, text, similarity, keywordMatch }) => ({
      rank, score, articleId, headline, file, text, similarity, keywordMatch,
    })),
    timings: result.timings,
  };
}

await runMain(async () => {
  const args = parseCommand(SEARCH_COMMAND);
  if (!args) return;
  const k = args.values.k ?? 5;
  const json = args.values.json ?? false;
  const question = args.positionals.length ? args.positionals.join(' ') : undefined;
  if (question !== undefined && !question.trim()) throw new OperatorError(`No question given.\n${SEARCH_USAGE}`);
  if (question === undefined && process.stdin.isTTY) throw new OperatorError(`No question given.\n${SEARCH_USAGE}`);
  const config = loadConfig();
  if (question === undefined) {
    // The model and the index load with the first question, not for an empty input.
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
    let services: Services | undefined;
    for await (const line of lines) {
      if (!line.trim()) continue;
      services ??= await loadedServices(config);
      process.stdout.write(`${JSON.stringify(asJson(await services.retriever.search(line, { k })))}\n`);
    }
    if (!services) throw new OperatorError(`No question on standard input.\n${SEARCH_USAGE}`);
    return;
  }
  const { retriever } = await loadedServices(config);
  const result = await retriever.search(question, { k });
  if (json) {
    process.stdout.write(`${JSON.stringify(asJson(result), null, 2)}\n`);
    return;
  }
  if (result.notice) process.stdout.write(`${result.notice}\n`);
  if (result.results.length === 0) process.stdout.write('没有找到相关文章。\n');
  for (const r of result.results) {
    process.stdout.write(`${r.rank}. [${r.score.toFixed(2)}] ${r.headline} · ${r.file}\n   ${r.text.slice(0, 90).replace(/\n/g, ' ')}…\n`);
  }
});
