// Citation check for generated answers: markers that point to nothing are dropped, the rest are
// renumbered in order of first use, and every number and named place or organisation in a
// sentence must appear in the passages that sentence cites. A sentence whose claim no passage
// supports is removed, and reported in removedClaims.
import { splitSentences } from '../index/chunk.ts';
import { namedEntities } from '../index/keyword.ts';
import type { Citation } from './types.ts';

export interface CitablePassage {
  articleId: string;
  headline: string;
  file: string;
  text: string;
}

export interface CheckedAnswer {
  text: string;
  citations: Citation[];
  removedClaims: string[];
}

const MARKER = /\[(\d{1,3})\]/g;

/** [1,2] 【1】 ［1］ → [1][2] */
export function normalizeMarkers(text: string): string {
  return text
    .replace(/[【［]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[】］]/g, '[$1]')
    .replace(/\[(\d{1,3}(?:\s*[,，、]\s*\d{1,3})+)\]/g, (_, list: string) => list.split(/\s*[,，、]\s*/).map((n) => `[${n}]`).join(''));
}

/** Numbers a sentence states, as digits: "1,400间" → "1400", "3.5亿元" → "3.5". */
export function numbersIn(text: string): string[] {
  return [...text.replace(MARKER, '').replace(/(\d),(?=\d{3}\b)/g, '$1').matchAll(/\d+(?:\.\d+)?/g)].map((m) => m[0]);
}

function supported(sentence: string, sources: CitablePassage[]): string | undefined {
  const haystack = sources.map((p) => `${p.headline}\n${p.text}`).join('\n').replace(/(\d),(?=\d{3}\b)/g, '$1');
  const sourceNumbers = new Set(numbersIn(haystack));
  for (const number of numbersIn(sentence)) {
    // Whole numbers are compared ("2023年" gives 2023, "1,400间" gives 1400): 40 is not in 400.
    if (!sourceNumbers.has(number)) return `数字 ${number}`;
  }
  for (const entity of namedEntities(sentence.replace(MARKER, ''))) {
    if (!haystack.includes(entity)) return entity;
  }
  return undefined;
}

export function checkCitations(raw: string, passages: CitablePassage[]): CheckedAnswer {
  const text = normalizeMarkers(raw.trim());
  const removedClaims: string[] = [];
  const kept: string[] = [];
  for (const span of splitSentences(text)) {
    // splitSentences ends a sentence before the markers that follow its 。: keep them together.
    let sentence = text.slice(span.start, span.end);
    const trailing = /^(\s*\[\d{1,3}\])+/.exec(text.slice(span.end));
    if (trailing) sentence += trailing[0];
    sentence = sentence.replace(/^(\s*\[\d{1,3}\])+/, '');
    if (!sentence.trim()) continue;
    const cited = [...sentence.matchAll(MARKER)].map((m) => Number(m[1])).filter((n) => n >= 1 && n <= passages.length);
    const cleaned = sentence.replace(MARKER, (marker, n: string) => (Number(n) >= 1 && Number(n) <= passages.length ? marker : ''));
    const sources = cited.length ? cited.map((n) => passages[n - 1]) : passages;
    const problem = supported(cleaned, sources);
    if (problem) {
      removedClaims.push(`${cleaned.replace(MARKER, '').trim()}（无法核实：${problem}）`);
      continue;
    }
    kept.push(cleaned);
  }
  // Renumber by first use so the list reads [1], [2], … down the answer.
  const order: number[] = [];
  const joined = kept.join('').replace(/\n{3,}/g, '\n\n').trim();
  for (const m of joined.matchAll(MARKER)) if (!order.includes(Number(m[1]))) order.push(Number(m[1]));
  const renumbered = joined.replace(MARKER, (_, n: string) => `[${order.indexOf(Number(n)) + 1}]`).replace(/(\[\d+\])\1+/g, '$1');
  const citations = order.map((old, i) => ({
    n: i + 1,
    articleId: passages[old - 1].articleId,
    headline: passages[old - 1].headline,
    file: passages[old - 1].file,
    quote: passages[old - 1].text,
  }));
  return { text: renumbered, citations, removedClaims };
}
