// Follow-up questions (那他们签了多少份？ 这个项目…) depend on the previous turn. Only questions
// that look like follow-ups are rewritten; a standalone question is searched as it is.
import { namedEntities, tokenize } from '../index/keyword.ts';
import type { Turn } from './types.ts';

// Pronouns and openers that point back at something said before.
const BACK_REFERENCE = /^(那|那么|那个|这个|这些|那些|这项|该|此|其|它|他|她|他们|她们|它们|另外|还有|再问|其中|对了)|(它|他们|她们|它们|这个|这项|这些|那些|该项目|该公司|该市|该县|当地|那里|这里|上述|前面|刚才|其中)/;
const ENGLISH_BACK_REFERENCE = /\b(it|its|they|them|their|that|those|this|these|there)\b/i;

export function looksLikeFollowUp(question: string, history: Turn[]): boolean {
  if (history.length === 0) return false;
  const q = question.trim();
  if (BACK_REFERENCE.test(q) || ENGLISH_BACK_REFERENCE.test(q)) return true;
  // A short question naming nothing ("多少人参加？") leans on the previous turn.
  return q.length <= 12 && namedEntities(q).length === 0;
}

/** Extractive rewriting: the previous question's places, organisations and key words are put in
 * front of the follow-up, so that retrieval looks in the same place. */
export function carryOverTerms(question: string, previous: Turn): string {
  // A follow-up naming its own place or organisation replaces the previous one's.
  const entities = namedEntities(question).length ? [] : namedEntities(previous.question);
  const previousEntities = namedEntities(previous.question);
  const words = tokenize(previous.question, 'words', true).filter(
    (w) => /^[\u3400-\u9fff]{2,}$/.test(w) && !previousEntities.some((e) => w.includes(e) || e.includes(w)),
  );
  const terms = [...new Set([...entities, ...words])].filter((t) => !question.includes(t)).slice(0, 6);
  const stripped = question.replace(/^(那么|那|对了|另外|还有)[，,]?/, '');
  return terms.length ? `${terms.join(' ')} ${stripped}` : stripped;
}
