// Follow-up questions (那他们签了多少份？ 那吴忠呢？ 这个项目…) depend on the previous turn. Only
// questions that look like follow-ups are rewritten; a question that names its own topic is
// searched as it is, even right after another answer.
import { GENERIC_NOUNS, namedEntities, nounsOf, tokenize } from '../index/keyword.ts';
import type { Turn } from './types.ts';

// Pronouns and openers that point back at something said before.
const BACK_REFERENCE = /^(那|那么|那个|这个|这些|那些|这项|该|此|其|它|他|她|他们|她们|它们|另外|还有|再问|其中|对了)|(它|他们|她们|它们|这个|这项|这些|那些|该项目|该公司|该市|该县|当地|那里|这里|上述|前面|刚才|其中)/;
const ENGLISH_BACK_REFERENCE = /\b(it|its|they|them|their|that|those|this|these|there)\b/i;
// Words of the question itself, not its topic.
const ASKING = /多少|哪些|哪个|什么|怎么|如何|为什么|是否|报道|文章|新闻|情况|内容|问题|事情/;

/** "那吴忠呢？", "西藏的呢": the place or thing a short follow-up switches to. */
export function switchTargets(question: string): string[] {
  const m = /^(?:那么?|还有|那在)?[，,]?([\u4e00-\u9fff]{2,8}?)(?:的)?呢[？?]?$/.exec(question.trim()) ?? /^(?:那么?)[，,]?([\u4e00-\u9fff]{2,6}?)(?:呢)?[，,]/.exec(question.trim());
  return m ? [m[1]] : [];
}

/** Content nouns a question names that are its own topic (环卫工人 in 哪些报道提到了环卫工人). */
function ownTopic(question: string): string[] {
  return nounsOf(question).filter((n) => !GENERIC_NOUNS.has(n) && !ASKING.test(n));
}

export function looksLikeFollowUp(question: string, history: Turn[]): boolean {
  if (history.length === 0) return false;
  const q = question.trim();
  if (switchTargets(q).length) return true;
  const backReference = BACK_REFERENCE.test(q) || ENGLISH_BACK_REFERENCE.test(q);
  // A question that names its own place, organisation or topic stands alone unless it points back.
  const previous = history[history.length - 1].question;
  const names = [...namedEntities(q), ...ownTopic(q)].filter((n) => !previous.includes(n));
  // "那达州的快递员职业技能大赛是哪家单位承办的？" names its own place and topic: it stands alone.
  if (names.length >= 2) return false;
  if (names.length === 1 && q.length > 12) return backReference && /^(这|该|其|它|他|她)/.test(q);
  if (backReference) return true;
  // A short question naming nothing ("多少人参加？") leans on the previous turn.
  return q.length <= 12 && names.length === 0;
}

/** Extractive rewriting: the previous question's places, organisations and key words are put in
 * front of the follow-up, so that retrieval looks in the same place. A follow-up that names its
 * own place or topic (`named`) keeps the previous question's ask, not its place. */
export function carryOverTerms(question: string, previous: Turn, named: string[] = namedEntities(question)): string {
  const previousEntities = namedEntities(previous.question);
  const entities = named.length ? [] : previousEntities;
  const words = tokenize(previous.question, 'words', true).filter(
    (w) => /^[\u3400-\u9fff]{2,}$/.test(w) && !previousEntities.some((e) => w.includes(e) || e.includes(w)),
  );
  const terms = [...new Set([...named, ...entities, ...words])].filter((t) => !question.includes(t) || named.includes(t)).slice(0, 8);
  const stripped = question.replace(/^(那么|那|对了|另外|还有)[，,]?/, '').replace(/^[\u4e00-\u9fff]{2,8}?的?呢[？?]?$/, '');
  // The ask of the previous question ("涉及多少家企业") goes with the new place.
  const ask = stripped ? '' : (/(多少|几|哪些|什么|谁|哪|如何|怎么)[^，。？?]*[？?]?$/.exec(previous.question)?.[0] ?? '');
  return `${terms.join(' ')} ${stripped || ask}`.trim();
}
