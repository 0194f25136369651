// Answers for the terminal and for scripts.
import { answerText } from '../answer/present.ts';
import type { Answer } from '../answer/types.ts';

export function answerAsJson(answer: Answer) {
  return {
    answer: answer.text,
    refused: answer.refused,
    coverage: answer.coverage,
    notReported: answer.notReported,
    mode: answer.mode,
    citations: answer.citations,
    timings: answer.timings,
    ...(answer.notice ? { notice: answer.notice } : {}),
    ...(answer.rewrittenQuestion ? { rewrittenQuestion: answer.rewrittenQuestion } : {}),
    ...(answer.removedClaims ? { removedClaims: answer.removedClaims } : {}),
    ...(answer.suggestions ? { suggestions: answer.suggestions } : {}),
  };
}

export function answerAsText(answer: Answer): string {
  const text = answerText(answer);
  const lines = [text];
  if (answer.notice) lines.push(answer.notice);
  if (answer.citations.length) {
    lines.push('', '来源');
    for (const c of answer.citations) {
      lines.push(`[${c.n}] ${c.headline} · ${c.file}`);
      // The passage, unless the answer already quotes it: no reading the same text twice.
      const quote = c.quote.length > 120 ? `${c.quote.slice(0, 120)}……` : c.quote;
      if (quote && !text.includes(c.quote.slice(0, 15))) lines.push(`    “${quote}”`);
    }
  }
  return lines.join('\n');
}
