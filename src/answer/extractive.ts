// Extractive answers (the default, no keys needed), shaped by the question:
// - a detail: the clause that states the asked detail, but only if it states it (the right kind
//   of value, under the asked constraints); otherwise the first line says what is not reported
//   and the closest fact follows as context, not as the answer;
// - a list: one line per relevant article, each naming its place or organisation;
// - a summary: the article's lead, its 阅读提示, subheads and key figures, in a few short lines.
import type { Article } from '../corpus/types.ts';
import { splitSentences } from '../index/chunk.ts';
import type { TextEmbedder } from '../index/embeddings.ts';
import { GENERIC_NOUNS, mentions, namedEntities, nounsOf, personNames, placeNames, suffixedPlaces } from '../index/keyword.ts';
import type { KeywordScorer } from '../index/port.ts';
import type { Logger } from '../log.ts';
import { isMostlyLatin } from '../retrieve/search.ts';
import { notReportedPhrase, splitAsks, understand, type QuestionFrame } from './question.ts';

import { EXTRACTIVE } from './tuning.ts';
import type { Citation, Coverage } from './types.ts';

export interface ScoredSentence {
  articleRank: number;
  index: number; // position in the article, to keep reading order
  text: string;
  score: number;
}

export interface ExtractiveResult {
  text: string;
  citations: Citation[];
  coverage: Coverage;
  notReported: string[];
}

const OPENING = /^(?:本报讯|本报[\u4e00-\u9fff]{0,8}\d{1,2}月\d{1,2}日电)（[^）]{0,60}）/;
const CREDIT = /\s*(?:本报(?:特约)?(?:记者|通讯员)\s*)?[\u4e00-\u9fff]{2,4}(?:\s+[\u4e00-\u9fff]{2,4})*\s*摄(?:\/\S+)?$/;

/** Whole sentences of an article, cleaned for quoting: no 本报讯 opening, no photo credit. */
export function articleSentences(article: Article): string[] {
  return splitSentences(article.text)
    .map((s) => article.text.slice(s.start, s.end).replace(OPENING, '').replace(CREDIT, '').replace(/；$/, '。').trim())
    .filter((s) => s.replace(/[^\p{L}\p{N}]/gu, '').length >= 6);
}

// ---------------------------------------------------------------------------------------------
// Values a clause can state, per slot

// Not an ordinal: 第一名 is a rank, not a count.
const NUM = '(?<!第)(?:\\d[\\d.,]*|[两二三四五六七八九十百千]+|一[十百千万])';
const MONEY = new RegExp(`${NUM}\\s*(?:余|多)?\\s*(?:万|亿|千)?(?:余|多)?元`);
const RATIO = /\d[\d.]*\s*%|百分之[\d一二三四五六七八九十]+|[一二三四五六七八九十]成/;
const DATE = /(?:(?:19|20)\d{2}年)?\d{1,2}月(?:\d{1,2}[日号]|上旬|中旬|下旬|底|初)?|(?:19|20)\d{2}年(?:起|以来|底|初)?|每年\d{1,2}月\d{1,2}日|\d{1,2}[日号](?:上午|下午|晚)?/;
const ORG = /[\u4e00-\u9fff]{2,}(?:总工会|工会|公司|集团|协会|学校|医院|局|厅|委员会|中心|银行|研究院|大学|学院|联合会|办事处|法院|检察院|企业|出版社)/;
const VENUE = /[\u4e00-\u9fff]{2,12}(?:体育中心|体育馆|体育场|广场|剧院|公园|大厦|会堂|礼堂|酒店|工地|园区|街区|会议中心|展览中心|服务中心|活动中心|文化宫|驿站|港湾)/;
const MEASURE_VALUE = /\d[\d.,]*\s*(?:余|多)?\s*(?:万)?(?:平方米|平米|亩|公顷|公里|千米|米|吨|层)/;
const SPEECH = /说|表示|告诉记者|介绍|坦言|认为|指出|感慨|谈到/;
/** Said to have happened later: 还将 (will also) is a plan, checked separately. */
const LATER = /随后|此后|后续|之后|后来|随即|再次|又/;
const PLAN = /计划|将|预计|拟|力争|目标|争取|打算|预期|要在|要求|规划|到20\d{2}年/;
const AWARD = /第一|冠军|一等奖|金奖|头魁|夺得|夺魁|获得|荣获|获评|当选|获奖|拿下|折桂/;

function countPattern(unit: string | undefined): RegExp {
  const units = !unit || unit === '个' ? '名|人|家|间|项|次|场|份|条|支|所|座|本|期|件|批|台|辆|个|位|户|处|天|届|队|套|张|人次|万人' : unit === '名' || unit === '人' ? '名|人|人次|万人|位' : unit;
  return new RegExp(`${NUM}\\s*(?:余|多)?\\s*(?:万|亿)?(?:余|多)?(?:${units})`);
}

/** The values of the asked kind a clause states, excluding numbers the question itself gives. */
function valuesIn(clause: string, frame: QuestionFrame, question: string): string[] {
  const all = (re: RegExp) => [...clause.matchAll(new RegExp(re.source, 'g'))].map((m) => m[0]);
  let found: string[];
  switch (frame.slot) {
    case 'amount':
      found = all(MONEY);
      break;
    case 'count':
      found = all(countPattern(frame.unit));
      break;
    case 'ratio':
      found = all(RATIO);
      break;
    case 'date':
      // "哪一天出台": 2027年 is not a day.
      found = all(DATE).filter((d) => !frame.day || /\d[日号]/.test(d));
      break;
    case 'person':
    case 'speaker':
      // 王某 is the paper withholding the name: not a name to answer with.
      return personNames(clause).filter((n) => !n.includes('某'));
    case 'measure':
      found = all(MEASURE_VALUE);
      break;
    case 'organisation': {
      // The kind asked (出版社, 学校…) must be the kind named; a person asked about must be named
      // right after it (南宁邕城公共交通有限公司汽车维修检验员张海坚).
      const kind = /(出版社|学校|医院|公司|银行|协会|集团|企业|法院|大学|学院)/.exec(question)?.[1];
      const person = personNames(question)[0];
      // 陕西某公司 and 该公司 withhold or point back to the name: not one to answer with.
      return all(ORG).filter((org) => !/某|该|此|这|其/.test(org) && (!kind || org.endsWith(kind)) && (!person || clause.indexOf(person) > clause.indexOf(org)));
    }
    case 'place':
      return [...placeNames(clause), ...all(VENUE)].filter((p) => !question.includes(p));
    case 'title':
      // 《书名》 or a quoted name the question does not already give.
      return [...clause.matchAll(/《([^》]{2,40})》|“([^”]{2,20})”/g)].map((m) => m[1] ?? m[2]).filter((t) => !question.includes(t));
    default:
      return [clause];
  }
  // A number the question already states ("642名硕士博士里，博士有多少") is not its answer.
  const given = new Set((question.match(/\d[\d.]*/g) ?? []).filter((n) => n.length >= 2));
  return found.filter((v) => !given.has(v.match(/\d[\d.]*/)?.[0] ?? ''));
}

/** Whether a clause's value is under the asked constraints: the year, plan or outcome, per unit. */
function meetsConstraints(clause: string, sentence: string, frame: QuestionFrame, question: string, before = ''): boolean {
  if (frame.year) {
    // A relative year (今年, 明年) cannot be checked against an asked year: it does not count.
    if (/今年|明年|去年|前年/.test(clause)) return false;
    // The clause's own year decides; without one, the sentence's.
    const own: string[] = clause.match(/(?:19|20)\d{2}(?=年)/g) ?? [];
    const years: string[] = own.length ? own : (sentence.match(/(?:19|20)\d{2}(?=年)/g) ?? []);
    if (years.length && !years.includes(frame.year)) return false;
  }
  // "2024年将扩大覆盖范围，建设改善1000间以上": the plan word may sit in the clause before.
  if (frame.stage === 'outcome' && PLAN.test(`${before}${clause}`)) return false;
  // "加起来总共多少钱" is not answered by 每家不超过50万元.
  if (frame.scope === 'total' && /每(?:个|名|位|家|所|人|户|间|次|年|月)|人均|平均/.test(clause)) return false;
  if (frame.scope === 'per-unit') {
    const per = /每(?:个|名|位|家|所)?([\u4e00-\u9fff]{1,2})|一(份|个人|人)|(人均|平均|单价)/.exec(question);
    const unit = per?.[1]?.[0] ?? per?.[2]?.[0];
    const stated = per?.[3] ? /人均|平均|单价|每/.test(clause) : unit ? new RegExp(`每(?:个|名|位)?${unit}|${unit}均|/${unit}`).test(clause) : /每|人均|平均/.test(clause);
    if (!stated) return false;
  }
  // A year asked for must be said: in the clause, or at least in its sentence.
  if (frame.year && !/(?:19|20)\d{2}年/.test(sentence)) return false;
  // Later, and said to have happened: 还将 (will also) is a plan.
  if (frame.later && (!LATER.test(`${before}${clause}`) || /还将/.test(`${before}${clause}`))) return false;
  if (frame.period && !new RegExp(`每个?${frame.period}|${frame.period}均|全${frame.period}|一${frame.period}|${frame.period}度`).test(`${before}${clause}`)) return false;
  if ((frame.slot === 'person' || frame.slot === 'organisation') && AWARD.test(question) && !AWARD.test(clause)) return false;
  if (frame.slot === 'speaker' && !SPEECH.test(sentence) && !/[“”]/.test(sentence)) return false;
  return true;
}

const CLAUSE = /[^，；：,;:]+[，；：,;:]?/g;

/** Splits a sentence into clauses, keeping their punctuation. */
function clausesOf(sentence: string): string[] {
  return sentence.match(CLAUSE) ?? [sentence];
}

/** A window of clauses around clause `at`, no longer than `max` characters, that covers the
 * question best: a short answer that still says who did what. */
function clauseWindow(sentence: string, at: number, max: number, question: string, keyword: KeywordScorer): string {
  const clauses = clausesOf(sentence);
  if (sentence.length <= max) return finish(sentence);
  let best = clauses[at];
  let bestScore = -1;
  for (let start = Math.max(0, at - 2); start <= at; start++) {
    for (let end = at; end < Math.min(clauses.length, at + 3); end++) {
      const text = clauses.slice(start, end + 1).join('');
      if (text.length > max && end > start) continue;
      const score = keyword.coverage(question, text) - 0.002 * text.length;
      if (score > bestScore) [best, bestScore] = [text, score];
    }
  }
  return finish(best);
}

/** The run of clauses, at most `max` characters, that holds the most figures (the first such). */
function figureWindow(sentence: string, max: number, figures: (text: string) => number): string {
  const clauses = clausesOf(sentence);
  let best = clauses[0] ?? sentence;
  let most = -1;
  for (let start = 0; start < clauses.length; start++) {
    for (let end = start; end < clauses.length; end++) {
      const text = clauses.slice(start, end + 1).join('');
      if (text.length > max && end > start) break;
      const count = figures(text);
      if (count > most) [best, most] = [text, count];
    }
  }
  return best;
}

/** Ends a clause window as a sentence: no dangling comma, closed quotes, a full stop. */
function finish(text: string): string {
  let out = text.trim().replace(/[，；：,;:、]+$/, '');
  const opens = (out.match(/“/g) ?? []).length - (out.match(/”/g) ?? []).length;
  if (opens > 0) out += '”';
  if (opens < 0) out = `“${out}`; // a window that starts inside a quotation
  return /[。！？”]$/.test(out) ? out : `${out}。`;
}

// ---------------------------------------------------------------------------------------------

export class ExtractiveAnswerer {
  // Sentence vectors per article: a popular article is asked about again and again.
  private readonly sentenceVectors = new Map<string, number[][]>();

  constructor(
    private readonly embedder: TextEmbedder | undefined,
    private readonly logger?: Logger,
  ) {}

  /** `shown` is the question as asked (for a follow-up, `question` is the rewritten search);
   * `named` are places a follow-up switched to. */
  async compose(question: string, frame: QuestionFrame, articles: Article[], keyword: KeywordScorer, options: { shown?: string; named?: string[] } = {}): Promise<ExtractiveResult> {
    if (articles.length === 0) return empty();
    if (frame.kind === 'list' && articles.length > 1) return this.list(question, articles, keyword);
    if (frame.kind === 'summary') return this.summary(articles[0], keyword, question);
    return this.detail(question, frame, articles, keyword, options.shown ?? question, options.named ?? []);
  }

  /** Sentences of the given articles scored against the question, best first. */
  async score(question: string, articles: Article[], keyword: KeywordScorer, frame?: QuestionFrame): Promise<ScoredSentence[]> {
    // A question about a number prefers sentences that state one.
    const asksNumber = frame !== undefined && (['amount', 'count', 'ratio', 'date'].includes(frame.slot) || /how (many|much)|when|what year/i.test(question));
    const queryVector = await this.embedQuery(question);
    const scored: ScoredSentence[] = [];
    for (const [articleRank, article] of articles.entries()) {
      const sentences = articleSentences(article);
      if (sentences.length === 0) continue;
      const vectors = queryVector ? await this.vectorsFor(article, sentences) : undefined;
      // The headline often states the key figure ("2000名环卫工人乐享…"): a candidate too, at -1,
      // scored with the lede's similarity (headlines are not embedded on their own).
      const headline = article.headline.replace(/\s+/g, '，');
      const headlineSimilarity = queryVector && vectors?.[0] ? dot(queryVector, vectors[0]) : 0;
      scored.push({ articleRank, index: -1, text: headline, score: headlineSimilarity + keyword.coverage(question, headline) - EXTRACTIVE.articleRankPenalty * articleRank - EXTRACTIVE.headlinePenalty });
      sentences.forEach((text, index) => {
        const similarity = vectors ? dot(queryVector!, vectors[index]) : 0;
        // A sentence pointing back ("同样的场景在该市…") reads badly as the first line.
        const pointsBack = /^(同样|该|此|这|其|他|她|它|上述|对此)/.test(text) ? EXTRACTIVE.pointsBackPenalty : 0;
        const numberBonus = asksNumber && /\d/.test(text) ? EXTRACTIVE.numberBonus : 0;
        const score = similarity + keyword.coverage(question, text) + numberBonus - EXTRACTIVE.articleRankPenalty * articleRank - pointsBack;
        scored.push({ articleRank, index, text, score });
      });
    }
    return scored.sort((a, b) => b.score - a.score);
  }

  private async detail(question: string, frame: QuestionFrame, articles: Article[], keyword: KeywordScorer, shown: string, named: string[]): Promise<ExtractiveResult> {
    const latin = isMostlyLatin(question);
    const ranked = await this.score(question, articles, keyword, latin ? understand(question) : frame);
    if (ranked.length === 0) return empty();
    const asks = latin ? [question] : splitAsks(question);
    const cite = citationsFor(articles);
    const context: DetailContext = { named, shown, ranked, articles, keyword, latin, cite, sentencesOf: new Map(articles.map((a, rank) => [rank, articleSentences(a)])) };
    if (asks.length === 1) return this.oneAsk(question, frame, context);
    // Two asks ("有多少名选手报名？多少人进入决赛？"): each answered, or said to be missing, on its own line.
    const lines: string[] = [];
    const notReported: string[] = [];
    const firstFrame = understand(asks[0]);
    const queries = askQueries(question);
    for (const [i, bare] of asks.entries()) {
      const ask = queries[i];
      // "后来又…，又拿了多少钱": the second ask is as late, in the same year, as the first.
      const own = understand(bare);
      const askFrame = { ...own, kind: 'detail' as const, later: own.later || (i > 0 && firstFrame.later), year: own.year ?? (i > 0 ? firstFrame.year : undefined) };
      const found = this.findValue(ask, askFrame, context, i > 0);
      const subject = !found && (askFrame.slot === 'place' || askFrame.slot === 'organisation') ? articleSubject(articles[ranked[0].articleRank], askFrame.slot, ask) : undefined;
      if (found) lines.push(`${said(clauseWindow(found.sentence.text, found.at, EXTRACTIVE.maxDetailChars, ask, keyword))}[${cite.n(found.sentence)}]`);
      else if (subject) lines.push(`据报道，是${subject}。[${cite.n(ranked[0])}]`);
      else if ((askFrame.slot === 'other' || askFrame.slot === 'yesno') && !(askFrame.later && !LATER.test(ranked[0].text))) lines.push(`${said(bestLine(ranked[0], ask, keyword, EXTRACTIVE.maxDetailChars))}[${cite.n(ranked[0])}]`);
      // Not claimed missing when a line already written states a value of that kind, under the
      // ask's own constraints ("平均每人多少钱" is not answered by a total).
      else if (lines.some((l) => valuesIn(l.replace(/\[\d+\]/g, ''), askFrame, bare).length > 0 && meetsConstraints(l, l, askFrame, bare))) continue;
      else notReported.push(notReportedPhrase(bare, askFrame));
    }
    if (lines.length === 0) return this.oneAsk(question, frame, context);
    // What is missing comes first, so that nobody reads the rest as its answer.
    const first = notReported.length ? [`报道没有给出${notReported.map((n) => `“${n}”`).join('、')}。`] : [];
    return { text: [...first, ...lines].join('\n'), citations: cite.list(), coverage: notReported.length ? 'partial' : 'full', notReported };
  }

  /** The sentence and clause that state the asked value, if any does. */
  private findValue(question: string, frame: QuestionFrame, { ranked, keyword, latin, sentencesOf }: DetailContext, laterAsk = false): { sentence: ScoredSentence; at: number; value: string } | undefined {
    if (latin || frame.slot === 'other' || frame.slot === 'yesno') return undefined;
    const top = ranked[0];
    // A name next to an award word, or a later ask, may sit in a sentence the whole question
    // ranks low: look further down then.
    const wide = (frame.slot === 'person' && AWARD.test(question)) || frame.slot === 'speaker' || laterAsk;
    let best: { sentence: ScoredSentence; at: number; value: string; total: number } | undefined;
    for (const s of ranked) {
      if (wide ? s.articleRank !== top.articleRank || s.score < EXTRACTIVE.wideSearchShare * top.score : s.score < EXTRACTIVE.leadMinShare * top.score) continue;
      const found = locateValue(s, frame, question, keyword, sentencesOf.get(s.articleRank)!, s.score >= EXTRACTIVE.nearTopShare * top.score, false);
      if (found && (!best || s.score + found.cover > best.total)) best = { sentence: s, at: found.at, value: found.value, total: s.score + found.cover };
    }
    if (best) return best;
    // The only value of the asked kind in the first article answers, however it is worded
    // ("一年下来要花多少钱" and "每年的制作成本400余万元").
    const candidates = ranked
      .filter((s) => s.articleRank === top.articleRank)
      .flatMap((s) => clausesOf(s.text).map((clause, at) => ({ s, at, clause, values: meetsConstraints(clause, s.text, frame, question, clausesOf(s.text).slice(0, at).join('')) ? valuesIn(clause, frame, question) : [] })))
      .filter((c) => c.values.length > 0);
    const distinct = new Set(candidates.flatMap((c) => c.values));
    if (distinct.size === 1 && ['amount', 'count', 'ratio'].includes(frame.slot) && (frame.slot !== 'count' || frame.unit)) return { sentence: candidates[0].s, at: candidates[0].at, value: candidates[0].values[0] };
    return undefined;
  }

  private oneAsk(question: string, frame: QuestionFrame, context: DetailContext): ExtractiveResult {
    const { ranked, articles, keyword, latin, cite, named, shown } = context;
    const top = ranked[0];
    // A place or organisation the question names that the article never mentions: whatever value
    // it states is about somewhere else ("那上海呢？" answered with 吴忠's figure).
    const missingEntity = [...namedEntities(question), ...named].find((e) => !mentions(articleText(articles[top.articleRank]), e));
    const found = missingEntity ? undefined : this.findValue(question, frame, context);
    if (frame.slot === 'speaker' && found) return this.speaker(found.sentence, found.value, articles);
    const lineOf = (s: ScoredSentence, at: number, max: number) => clauseWindow(s.text, at, max, question, keyword);
    // An English question shares no words with the text to pick clauses by: whole sentences.
    const pick = (s: ScoredSentence, max: number) => (latin ? finish(s.text) : bestLine(s, question, keyword, max));
    // Supporting sentences nearly as relevant as the lead: one line more, not a wall.
    const supporting = (lead: ScoredSentence, count: number) =>
      ranked
        .filter((r) => r !== lead && r.index >= 0 && r.score >= EXTRACTIVE.secondLineShare * top.score && !lead.text.includes(r.text.slice(0, 10)))
        .slice(0, count)
        .sort((a, b) => a.articleRank - b.articleRank || a.index - b.index)
        .map((r) => `${pick(r, EXTRACTIVE.maxContextChars)}[${cite.n(r)}]`);
    if (found) {
      const lead = `${said(lineOf(found.sentence, found.at, EXTRACTIVE.maxDetailChars))}[${cite.n(found.sentence)}]`;
      const more = supporting(found.sentence, 1);
      return { text: [lead, ...(more.length ? [`报道还提到：${more.join('')}`] : [])].join('\n'), citations: cite.list(), coverage: 'full', notReported: [] };
    }
    // "Which county / which company": the article's own subject, when its sentences do not repeat it.
    const subject = (frame.slot === 'place' || frame.slot === 'organisation') && !latin ? articleSubject(articles[top.articleRank], frame.slot, question) : undefined;
    if (subject) {
      return { text: `据报道，是${subject}：${bestLine(top, question, keyword, EXTRACTIVE.maxContextChars)}[${cite.n(top)}]`, citations: cite.list(), coverage: 'full', notReported: [] };
    }
    // English questions reach the Chinese text through a weak bridge: their slot is not checked.
    const checkable = frame.slot !== 'other' && frame.slot !== 'yesno' && !latin;
    const lead = top.index >= 0 ? top : (ranked.find((r) => r.index >= 0) ?? top);
    // "后来…" asks what happened next: a sentence that does not say so does not answer it.
    if (!checkable && !missingEntity && !(frame.later && !LATER.test(lead.text))) {
      // Nothing to verify the answer against: the best sentence and up to two nearly as good.
      const more = supporting(lead, 2);
      const text = [`${said(pick(lead, EXTRACTIVE.maxDetailChars))}[${cite.n(lead)}]`, ...(more.length ? [`报道还提到：${more.join('')}`] : [])];
      return { text: text.join('\n'), citations: cite.list(), coverage: 'full', notReported: [] };
    }
    // Not stated: say so first, then the closest fact as context, never as the answer.
    const missing = missingEntity ? `${missingEntity}的相关情况` : notReportedPhrase(shown, frame);
    const text = `报道没有给出${missingEntity ? `关于“${missingEntity}”的内容` : `“${missing}”`}。相关报道只提到：${bestLine(top, question, keyword, EXTRACTIVE.maxContextChars)}[${cite.n(top)}]`;
    return { text, citations: cite.list(), coverage: 'none', notReported: [missing] };
  }

  /** Who said it: the quote's sentence, and the speaker named in it or right after it. */
  private speaker(sentence: ScoredSentence, name: string, articles: Article[]): ExtractiveResult {
    const cite = citationsFor(articles);
    const sentences = articleSentences(articles[sentence.articleRank]);
    const attribution = [sentences[sentence.index], sentences[sentence.index + 1] ?? ''].join('');
    const who = new RegExp(`([^，。：“”、]{0,30}${escapeRegExp(name)})`).exec(attribution)?.[1]?.replace(/^(据|记者|其中|对此|)/, '') ?? name;
    const quote = /“([^”]{4,120})”/.exec(sentence.text)?.[1];
    const said = quote ? `：“${quote.length > 60 ? `${quote.slice(0, 60)}……` : quote}”` : '。';
    return { text: `说这话的是${who}${said}[${cite.n(sentence)}]`, citations: cite.list(), coverage: 'full', notReported: [] };
  }

  /** One line per article: its place or organisation, and what it did. */
  private async list(question: string, articles: Article[], keyword: KeywordScorer): Promise<ExtractiveResult> {
    const ranked = await this.score(question, articles, keyword);
    const cite = citationsFor(articles);
    const lines: string[] = [];
    for (const [rank, article] of articles.entries()) {
      const best = ranked.find((s) => s.articleRank === rank);
      if (!best) continue;
      const line = clauseWindow(best.text, bestClause(best.text, question, keyword), EXTRACTIVE.maxListLineChars, question, keyword);
      const who = listLabel(article, question);
      const label = who && !line.includes(who) ? `${who}：` : '';
      lines.push(`・${label}${line}[${cite.n(best)}]`);
    }
    const text = [`共有 ${lines.length} 篇报道提到：`, ...lines].join('\n');
    return { text, citations: cite.list(), coverage: 'full', notReported: [] };
  }

  /** The article's main points: its 阅读提示 or lede, then the sentences that carry its figures and
   * named measures, each cut to the clauses that hold them, in reading order; ~300 characters. */
  private summary(article: Article, keyword: KeywordScorer, question: string): ExtractiveResult {
    const sentences = articleSentences(article);
    if (sentences.length === 0) return empty();
    const about = `${article.headline} ${article.kicker ?? ''} ${article.summary ?? ''}`;
    // The lede: of the opening sentences, the one that says most of what the headline says
    // (features open on a scene, news on the fact).
    const scene = (t: string) => personNames(t).length > 0 && !/工会|市总|县总|区总/.test(t);
    const lede = sentences.slice(0, 6).map((t, i) => ({ t, score: keyword.coverage(article.headline, t) - 0.03 * i - (scene(t) ? 0.3 : 0) })).sort((a, b) => b.score - a.score)[0]?.t ?? '';
    const first = article.summary ? article.summary.replace(/^阅读提示[：:]?/, '') : lede;
    const lead = finish(clauseWindow(first, bestClause(first, about, keyword), EXTRACTIVE.maxSummaryLineChars, about, keyword)).replace(/^(此前|近日|日前|据了解|据悉|今天)，/, '');
    const subheads = article.paragraphs.filter((p) => p.subhead).map((p) => p.text.replace(/[。！？]$/, ''));
    // Figures, not dates: 1400间, 42间, 4大行业, 95%, but not 2023年 or 3月18日.
    const figures = (text: string) => (text.match(/\d[\d.]*\s*(?:余|多)?\s*(?:万|亿)?(?![\d年月日号])[\u4e00-\u9fff%]/g) ?? []).length;
    // Named things: a quoted short name (“工会+法院”, “沈阳工匠日”), a document, a public body
    // (区检察院); not a company, which is mostly where an anecdote's worker works.
    const names = (text: string) => (text.match(/“[^”]{2,12}”|《[^》]{2,30}》|[\u4e00-\u9fff]{1,8}(?:局|院|集团|协会|委员会)(?![\u4e00-\u9fff]{0,1}长)/g) ?? []).length;
    const keyItems = (text: string) => figures(text) + names(text);
    // A sentence matters for what it adds: figures, named measures, the headline's subject; a
    // scene or an ordinary person's words less so.
    const ranked = sentences
      .map((text, i) => ({
        text,
        i,
        score: keyword.coverage(`${about} ${question}`, text) + EXTRACTIVE.summaryFigureBonus * Math.min(3, figures(text)) + EXTRACTIVE.summaryNameBonus * Math.min(3, names(text)) - 0.01 * i - ((/^[“]|说[：，]|告诉记者/.test(text) || scene(text)) && figures(text) === 0 ? 0.3 : 0),
      }))
      .filter((c) => c.text !== first)
      .sort((a, b) => b.score - a.score);
    let budget = EXTRACTIVE.maxSummaryChars - lead.length - (subheads.length ? subheads.join('；').length + 8 : 0);
    const picked: { text: string; i: number }[] = [];
    const saidSoFar = () => [lead, ...picked.map((p) => p.text)].join('');
    for (const sentence of ranked) {
      if (picked.length >= EXTRACTIVE.maxSummaryPoints) break;
      const point = finish(figureWindow(sentence.text, EXTRACTIVE.maxSummaryClauseChars, keyItems)).replace(/^(据了解|据悉|据统计|同时|此外|其中|近日|日前|今天)，/, '');
      // Not a bare speech tag ("…驾驶员徐俊说。") or a fragment.
      if (point.length + 1 > budget || point.length < 12 || /(说|表示|介绍|指出|认为)。$/.test(point)) continue;
      // Nothing new: every figure in it is already said, and it names nothing quoted.
      const numbers = point.match(/\d[\d.]*/g) ?? [];
      if ((numbers.length && numbers.every((n) => saidSoFar().includes(n)) && !/“/.test(point)) || saidSoFar().includes(point.slice(0, 12))) continue;
      picked.push({ text: point, i: sentence.i });
      budget -= point.length + 1;
    }
    picked.sort((a, b) => a.i - b.i);
    const cite = citationsFor([article]);
    cite.n({ articleRank: 0, text: lead }); // the quote under 来源 is the lede, not the answer again
    const lines = [`《${article.headline}》要点：`, `・${lead}[1]`, ...(subheads.length ? [`・分为${subheads.length}部分：${subheads.join('；')}。[1]`] : []), ...picked.map((p) => `・${p.text}[1]`)];
    return { text: lines.join('\n'), citations: cite.list(), coverage: 'full', notReported: [] };
  }

  private async embedQuery(question: string): Promise<number[] | undefined> {
    if (!this.embedder) return undefined;
    try {
      return await this.embedder.embedQuery(question);
    } catch (error) {
      this.logger?.debug(`Extractive answer without sentence embeddings: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** Sentence vectors, or undefined when the embedder fails (the answer then scores by keywords). */
  private async vectorsFor(article: Article, sentences: string[]): Promise<number[][] | undefined> {
    let vectors = this.sentenceVectors.get(article.id);
    if (!vectors || vectors.length !== sentences.length) {
      try {
        vectors = await this.embedder!.embedDocuments(sentences);
      } catch (error) {
        this.logger?.warn(`Extractive answer without sentence embeddings: ${(error as Error).message.split('\n')[0]}`);
        return undefined;
      }
      if (this.sentenceVectors.size > 500) this.sentenceVectors.delete(this.sentenceVectors.keys().next().value!);
      this.sentenceVectors.set(article.id, vectors);
    }
    return vectors;
  }
}

/** The queries a detail answer scores text with, one per ask: "多少人进入决赛？" after
 * "有多少名选手报名？" is about the first ask's contest and borrows its topic. A view's keyword
 * scorer is given these (a Postgres scorer knows only the terms it was asked for). */
export function askQueries(question: string): string[] {
  const asks = isMostlyLatin(question) ? [question] : splitAsks(question);
  const topicOfFirst = [...namedEntities(asks[0]), ...nounsOf(asks[0]).filter((n) => !GENERIC_NOUNS.has(n))].join(' ');
  return asks.map((bare, i) => (i === 0 ? bare : `${topicOfFirst} ${bare}`));
}

/** The clause of `sentence` (with the sentence after it, for a speaker) that states the asked
 * value under the constraints, in a window about what was asked. */
function locateValue(s: ScoredSentence, frame: QuestionFrame, question: string, keyword: KeywordScorer, sentences: string[], nearTop: boolean, latin: boolean): { at: number; value: string; cover: number } | undefined {
  if (frame.slot === 'other' || frame.slot === 'yesno') return undefined;
  const clauses = clausesOf(s.text);
  if (frame.slot === 'speaker') {
    const attribution = `${s.text}${sentences[s.index + 1] ?? ''}`;
    const name = personNames(attribution)[0];
    return name && meetsConstraints(s.text, attribution, frame, question) ? { at: 0, value: name, cover: 0 } : undefined;
  }
  let best: { at: number; value: string; cover: number } | undefined;
  const places = namedEntities(question);
  const topic = nounsOf(question).filter((n) => !GENERIC_NOUNS.has(n) && !places.some((p) => n.includes(p)) && !/时间|日期|时候|总量|数量|多少/.test(n));
  clauses.forEach((clause, at) => {
    const values = valuesIn(clause, frame, question);
    if (values.length === 0 || !meetsConstraints(clause, s.text, frame, question, clauses.slice(0, at).join(''))) return;
    // Dates are everywhere in news, and a bare count ("有多少") could count anything: the clauses
    // around must name what the question is about.
    const window = clauses.slice(Math.max(0, at - 1), at + 2).join('');
    if ((frame.slot === 'count' && !frame.unit) && topic.length && !topic.some((t) => window.includes(t))) return;
    // A date answers "when did X happen" only in the clause that names X. (Its neighbours too
    // would find 2017年10月 for 邓州's breakfast, but also the delivery date for a quake's date:
    // a false "not reported" is the lesser harm.)
    if (frame.slot === 'date' && topic.length && !topic.some((t) => clause.includes(t))) return;
    // "多少名市级大工匠": the count must be of that (or share a word with it), not of 产业工人.
    if (frame.counted && (frame.slot === 'count' || frame.slot === 'amount') && !sharesBigram(frame.counted, window) && !(topic.length && topic.some((t) => window.includes(t)))) return;
    // "外卖配送员有多少人": 4万余名劳动者 counts someone else; the noun must be next to the value.
    if (frame.countedBefore && !values.some((v) => nextToValue(clause, v, frame.countedBefore!))) return;
    // The value must sit in a clause about what was asked (the thing counted, the event); a
    // sentence the model ranks near the top may word it differently (扫大街的 for 环卫工人).
    const cover =
      keyword.coverage(question, window) +
      (frame.counted && window.includes(frame.counted) ? EXTRACTIVE.countedBonus : 0) +
      (frame.stage === 'plan' && PLAN.test(`${clauses[at - 1] ?? ''}${clause}`) ? EXTRACTIVE.countedBonus : 0);
    // "广西有多少家企业参与试点": 广西's 22家 before 柳州's 3家. It ranks values; it does not make
    // a clause about something else count as the answer.
    const rank = cover + (places.length && places.some((p) => window.includes(p)) ? EXTRACTIVE.placeBonus : 0);
    // An English question shares no words with the text: the model's ranking alone decides.
    const onTopic = topic.length === 0 || topic.some((t) => window.includes(t)) || (frame.counted !== undefined && window.includes(frame.counted));
    const enough = cover >= EXTRACTIVE.valueWindowMinCoverage || (nearTop && onTopic && (latin || cover >= EXTRACTIVE.valueWindowMinCoverageNearTop));
    if (enough && (!best || rank > best.cover)) best = { at, value: values[0], cover: rank };
  });
  return best;
}

/** Whether `noun` (or a two-character piece of it) is printed right before `value` or after it. */
function nextToValue(clause: string, value: string, noun: string): boolean {
  const at = clause.indexOf(value);
  // After the value, only up to the next 、: "350名建筑工人、外卖配送员" are not 350 配送员.
  const after = clause.slice(at + value.length, at + value.length + 12).split(/[、，。；]/)[0];
  const near = `${clause.slice(Math.max(0, at - 8), at)}${after}`;
  return sharesBigram(noun, near);
}

/** The place or organisation an article is about, from its headline, kicker or first sentence:
 * at the level asked (哪个县 → …县), and not one the question already names. */
function articleSubject(article: Article, slot: 'place' | 'organisation', question: string): string | undefined {
  const lead = `${article.kicker ?? ''}，${article.headline.replace(/\s+/g, '，')}，${articleSentences(article)[0] ?? ''}`;
  if (slot === 'organisation') {
    // "哪家物流公司": the article's union is not a 公司.
    const kind = /(出版社|学校|医院|公司|银行|协会|集团|企业|法院|大学|学院)/.exec(question)?.[1];
    const org = ORG.exec(lead)?.[0];
    return org && (!kind || org.endsWith(kind)) ? org : undefined;
  }
  const level = /哪(?:个|座)?(省|市|县|区|镇|乡|村|城市)/.exec(question)?.[1]?.replace('城市', '市');
  if (level) {
    const named = [...lead.matchAll(new RegExp(`[\\u4e00-\\u9fff]{2,4}?${level}(?![\\u4e00-\\u9fff]{0,1}委)`, 'g'))].map((m) => m[0].replace(/^(本报|记者|全国|在|的|由|是|该)/, ''));
    const own = named.find((n) => n.length >= 3 && !question.includes(n.slice(0, -1)) && placeNames(n).length > 0);
    if (own) return own;
  }
  const byPattern = suffixedPlaces(lead).map(({ name }) => name).filter((n) => n.length >= 3 && !question.includes(n.slice(0, -1)));
  if (byPattern.length) return byPattern.reverse().sort((a, b) => rankLocal(b) - rankLocal(a))[0];
  // A place the article also names with its 市/县/区 (浏阳 → 浏阳市), the most local last.
  const body = `${lead}${article.text}`;
  const places = placeNames(lead).filter((e) => !/本报/.test(e) && !question.includes(e));
  const printed = places.map((e) => new RegExp(`${escapeRegExp(e)}(?:市|县|区|镇)`).exec(body)?.[0]).filter((e): e is string => e !== undefined);
  return printed.at(-1) ?? places[0];
}

const COMPANY = /[\u4e00-\u9fff]{2,6}?(?:集团|公司)/g;

/** Who a list line is about: the first place or organisation in the headline, kicker or lead,
 * the most local one when several are named (阜宁县 rather than 江苏). */
export function listLabel(article: Article, question = ''): string | undefined {
  // "哪些省的工会…": the province, not the city.
  if (/哪些省|哪几个省|各省/.test(question)) {
    const province = PROVINCES.exec(`${article.kicker ?? ''}${article.headline}${articleSentences(article).slice(0, 2).join('')}`)?.[0];
    if (province) return province;
  }
  for (const text of [article.headline, article.kicker ?? '', articleSentences(article)[0] ?? '']) {
    // Places with their suffix (西林县, 陕煤集团) and jieba's place names (江苏, 昆山), in order.
    const orgs = [...text.matchAll(COMPANY)].map((m) => ({ name: m[0].replace(/^(本报|记者|近日|日前|在|由|是|据)/, ''), at: m.index ?? 0 }));
    const bySuffix = [...orgs, ...suffixedPlaces(text)];
    const named = placeNames(text).map((name) => ({ name, at: text.indexOf(name) }));
    const found = [...bySuffix, ...named].filter(({ name }) => !/本报/.test(name));
    // Addresses run from the province down: the last of the most local kind.
    if (found.length) return found.sort((a, b) => rankLocal(b.name) - rankLocal(a.name) || b.at - a.at)[0].name;
  }
  return undefined;
}


const PROVINCES = /北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|四川|贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门/;

const rankLocal = (name: string) => (/(县|区|镇|集团|公司)$/.test(name) ? 3 : PROVINCES.test(name) && name.length <= 4 ? 1 : 2);

interface DetailContext {
  /** Places a follow-up switched to ("那上海呢？"), which the article must mention. */
  named: string[];
  /** The question as the user asked it, for what is not reported (not a rewritten search). */
  shown: string;
  ranked: ScoredSentence[];
  articles: Article[];
  keyword: KeywordScorer;
  latin: boolean;
  cite: ReturnType<typeof citationsFor>;
  sentencesOf: Map<number, string[]>;
}

const said = (line: string) => `${/^(据|记者|本报)/.test(line) ? '' : '据报道，'}${line}`;

/** The window around the clause of `s` that covers the question best. */
function bestLine(s: ScoredSentence, question: string, keyword: KeywordScorer, max: number): string {
  return clauseWindow(s.text, bestClause(s.text, question, keyword), max, question, keyword);
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether two texts share two consecutive characters (大工匠 and 工匠). */
function sharesBigram(a: string, b: string): boolean {
  for (let i = 0; i + 1 < a.length; i++) if (b.includes(a.slice(i, i + 2))) return true;
  return false;
}

/** The clause that covers the question best. */
function bestClause(sentence: string, question: string, keyword: KeywordScorer): number {
  const clauses = clausesOf(sentence);
  let best = 0;
  clauses.forEach((c, i) => {
    if (keyword.coverage(question, c) > keyword.coverage(question, clauses[best])) best = i;
  });
  return best;
}

/** Citation numbers in order of first use over the given articles. */
function citationsFor(articles: Article[]) {
  const order: number[] = [];
  const quotes = new Map<number, string[]>();
  return {
    n(s: Pick<ScoredSentence, 'articleRank'> & { text?: string }): number {
      if (!order.includes(s.articleRank)) order.push(s.articleRank);
      if (s.text) quotes.set(s.articleRank, [...(quotes.get(s.articleRank) ?? []), s.text]);
      return order.indexOf(s.articleRank) + 1;
    },
    list(): Citation[] {
      return order.map((rank, i) => ({
        n: i + 1,
        articleId: articles[rank].id,
        headline: articles[rank].headline,
        file: articles[rank].file,
        quote: (quotes.get(rank) ?? [articles[rank].summary ?? articleSentences(articles[rank])[0] ?? '']).join('……'),
      }));
    },
  };
}

/** Everything an article prints: kicker, headline, text, 阅读提示. */
export const articleText = (a: Article | undefined) => (a ? `${a.kicker ?? ''}${a.headline}${a.text}${a.summary ?? ''}` : '');
const empty = (): ExtractiveResult => ({ text: '', citations: [], coverage: 'none', notReported: [] });

function dot(a: number[], b: number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}
