// npm run eval -- --answers: answer quality on the question set, in extractive mode and, when an
// endpoint is configured, in LLM mode: key facts held, citation precision, refusals.
import { Answerer } from '../answer/answer.ts';
import type { Answer, Turn } from '../answer/types.ts';
import { cliLogger, createServices } from '../cli/shared.ts';
import { loadConfig } from '../config.ts';
import { goldArticleId, loadQuestions, percent, type EvalQuestion } from './questions.ts';

const squash = (s: string) => s.replace(/\s/g, '');
const NOT_REPORTED = /没有提到|没有给出|未提及|未报道|没有报道/;

interface Tally {
  answerable: number;
  allFacts: number;
  anyFact: number;
  firstCitationGold: number;
  anyCitationGold: number;
  falseRefusals: number;
  unanswerable: number;
  refused: number;
  partial: number;
  partialNoted: number;
  partialRefused: number;
  misses: string[];
}

export async function evaluateAnswers(): Promise<void> {
  const config = loadConfig();
  const services = await createServices(config, cliLogger(config));
  const snapshot = await services.index.loadOrBuild();
  const questions = loadQuestions();
  const modes: [string, Answerer][] = [
    ['extractive', new Answerer({ retriever: services.retriever, index: () => services.index.current(), embedder: services.embedder })],
  ];
  if (services.answerer.mode === 'llm') modes.push([`LLM (${config.llm!.model})`, services.answerer]);

  const lines: string[] = [];
  for (const [name, answerer] of modes) {
    const tally: Tally = { answerable: 0, allFacts: 0, anyFact: 0, firstCitationGold: 0, anyCitationGold: 0, falseRefusals: 0, unanswerable: 0, refused: 0, partial: 0, partialNoted: 0, partialRefused: 0, misses: [] };
    const started = performance.now();
    for (const q of questions) {
      const answer = await answerWithHistory(answerer, q);
      score(tally, q, answer, goldArticleId(q, snapshot.articles));
    }
    const seconds = (performance.now() - started) / 1000;
    lines.push(`### ${name}: ${questions.length} questions in ${seconds.toFixed(1)} s`);
    lines.push('| measure | value |', '|---|---|');
    lines.push(`| answers holding all expected key facts (answerable: ${tally.answerable}) | ${percent(tally.allFacts / tally.answerable)} |`);
    lines.push(`| answers holding at least one key fact | ${percent(tally.anyFact / tally.answerable)} |`);
    lines.push(`| first citation is the gold article | ${percent(tally.firstCitationGold / tally.answerable)} |`);
    lines.push(`| gold article among the citations | ${percent(tally.anyCitationGold / tally.answerable)} |`);
    lines.push(`| unanswerable questions refused (${tally.unanswerable}) | ${percent(tally.refused / tally.unanswerable)} |`);
    lines.push(`| false refusals on answerable questions | ${percent(tally.falseRefusals / tally.answerable)} |`);
    lines.push(`| partially answerable (${tally.partial}): answered with a "not reported" note / refused | ${percent(tally.partialNoted / tally.partial)} / ${percent(tally.partialRefused / tally.partial)} |`);
    lines.push('');
    if (process.argv.includes('--verbose')) lines.push(...tally.misses, '');
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function answerWithHistory(answerer: Answerer, q: EvalQuestion): Promise<Answer> {
  const history: Turn[] = [];
  for (const turn of q.history ?? []) {
    const previous = await answerer.answer(turn.question, history);
    history.push({ question: turn.question, answer: previous.text, articleIds: previous.citations.map((c) => c.articleId) });
  }
  return answerer.answer(q.question, history);
}

function score(t: Tally, q: EvalQuestion, answer: Answer, gold: string | undefined): void {
  if (!gold) {
    t.unanswerable++;
    if (answer.refused) t.refused++;
    else t.misses.push(`- not refused: ${q.id} ${q.question} → ${answer.text.slice(0, 60)}`);
    return;
  }
  if (q.type === 'partial') {
    t.partial++;
    if (answer.refused) t.partialRefused++;
    else if (NOT_REPORTED.test(answer.text)) t.partialNoted++;
    else t.misses.push(`- partial without note: ${q.id} ${q.question} → ${answer.text.slice(0, 60)}`);
    return;
  }
  t.answerable++;
  if (answer.refused) {
    t.falseRefusals++;
    t.misses.push(`- falsely refused: ${q.id} ${q.question}`);
    return;
  }
  const text = squash(answer.text);
  const held = q.facts.filter((f) => text.includes(squash(f)));
  if (held.length === q.facts.length) t.allFacts++;
  else t.misses.push(`- missing ${q.facts.filter((f) => !held.includes(f)).join(', ')}: ${q.id} ${q.question} → ${answer.text.slice(0, 80)}`);
  if (held.length > 0 || q.facts.length === 0) t.anyFact++;
  if (answer.citations[0]?.articleId === gold) t.firstCitationGold++;
  if (answer.citations.some((c) => c.articleId === gold)) t.anyCitationGold++;
}
