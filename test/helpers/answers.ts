// A rendered answer's parts for render and inline tests: one cited LLM answer, and citations.
import type { Answer, Citation } from '../../src/answer/types.ts';

export const answer = (extra: Partial<Answer> = {}): Answer => ({
  text: '上海市总工会在2023年已建成1400间职工工间休息室[1]。',
  citations: [citation(1)],
  refused: false,
  coverage: 'full',
  notReported: [],
  mode: 'llm',
  timings: { totalMs: 1, retrieveMs: 1, generateMs: 0 },
  ...extra,
});

export function citation(n: number, extra: Partial<Citation> = {}): Citation {
  return { n, articleId: `p:${n}`, headline: `第${n}篇报道的标题`, file: `00${n}_page.txt`, quote: `第${n}段原文摘录。`, ...extra };
}
