// npm run search -- [--json] [-k N] "问题"
// Without a question argument it reads one question per line from stdin and prints one JSON
// line per question (the model loads once): the mode scripts and evaluations use.
import { createInterface } from 'node:readline';
import { OperatorError, runMain } from '../errors.ts';
import type { SearchResult } from '../retrieve/search.ts';
import { createServices } from './shared.ts';

export const SEARCH_USAGE = `Usage: npm run search -- [--json] [-k N] "问题"
       npm run search < questions.txt    (one question per line, one JSON line out per question)`;

export function parseSearchArgs(argv: string[]): { json: boolean; k: number; question?: string; help?: boolean } {
  if (argv.includes('--help') || argv.includes('-h')) return { json: false, k: 5, help: true };
  let json = false;
  let k = 5;
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') json = true;
    else if (arg === '-k' || arg === '--k') {
      k = Number(argv[++i]);
      if (!Number.isInteger(k) || k < 1 || k > 50) throw new OperatorError('-k takes a whole number from 1 to 50, e.g. -k 5');
    } else if (arg.startsWith('--')) throw new OperatorError(`Unknown option ${arg}.\n${SEARCH_USAGE}`);
    else words.push(arg);
  }
  if (words.length > 0 && !words.join('').trim()) throw new OperatorError(`No question given.\n${SEARCH_USAGE}`);
  return { json, k, question: words.length ? words.join(' ') : undefined };
}

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
  const args = parseSearchArgs(process.argv.slice(2));
  if (args.help) return void process.stdout.write(`${SEARCH_USAGE}\n`);
  if (args.question === undefined && process.stdin.isTTY) throw new OperatorError(`No question given.\n${SEARCH_USAGE}`);
  const { index, retriever } = await createServices();
  await index.loadOrBuild();
  if (args.question === undefined) {
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
    let searched = 0;
    for await (const line of lines) {
      if (!line.trim()) continue;
      searched++;
      process.stdout.write(`${JSON.stringify(asJson(await retriever.search(line, { k: args.k })))}\n`);
    }
    if (searched === 0) throw new OperatorError(`No question on standard input.\n${SEARCH_USAGE}`);
    return;
  }
  const result = await retriever.search(args.question, { k: args.k });
  if (args.json) {
    process.stdout.write(`${JSON.stringify(asJson(result), null, 2)}\n`);
    return;
  }
  if (result.notice) process.stdout.write(`${result.notice}\n`);
  if (result.results.length === 0) process.stdout.write('没有找到相关文章。\n');
  for (const r of result.results) {
    process.stdout.write(`${r.rank}. [${r.score.toFixed(2)}] ${r.headline} · ${r.file}\n   ${r.text.slice(0, 90).replace(/\n/g, ' ')}…\n`);
  }
});
