// Answers for the terminal and for scripts.
import type { Answer } from '../answer/types.ts';

export function answerAsJson(answer: Answer) {
  return {
    answer: answer.text,
    refused: answer.refused,
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
  const lines = [answer.text];
  if (answer.notice) lines.push(answer.notice);
  if (answer.citations.length) {
    lines.push('', '来源');
    for (const c of answer.citations) {
      const quote = c.quote.length > 120 ? `${c.quote.slice(0, 120)}……` : c.quote;
      lines.push(`[${c.n}] ${c.headline} · ${c.file}`, `    “${quote}”`);
    }
  }
  return lines.join('\n');
}
