// Extractive answers (the default, no keys needed): the most relevant whole sentences of the
// retrieved articles, chosen by the embedding model and by keyword overlap with the question,
// composed into a short answer with a one-line lead and [n] citations.
import type { Article } from '../corpus/types.ts';
import { splitSentences } from '../index/chunk.ts';
import type { TextEmbedder } from '../index/embeddings.ts';
import { GENERIC_NOUNS, nounsOf, type KeywordIndex } from '../index/keyword.ts';
import type { Logger } from '../log.ts';
import type { Citation } from './types.ts';

export interface ScoredSentence {
  articleRank: number;
  index: number; // position in the article, to keep reading order
  text: string;
  score: number;
  hasNumber: boolean;
}

export interface ExtractiveResult {
  text: string;
  citations: Citation[];
  /** Set when the articles cover the topic but not the specific thing asked. */
  partial: boolean;
}

const ASKS_NUMBER = /多少|几[个名家位项次场年月天人条份间元]?|哪一?年|何时|什么时候|哪天|多大|多长|多高|多久|比例|百分之|how many|how much|what year|when|what date|percentage/i;
// What a "how many / how much" question counts, and how an answer must state it.
// 个 is left out: it counts anything, so "多少个" is answered by 1400间 as well.
const UNITS = '名|人|家|间|项|次|场|份|条|支|所|座|本|期|件|批|台|辆|万人';
function askedAmount(question: string): { stated: RegExp; label: string } | undefined {
  if (/多少(?:钱|资金|经费)|金额|价值|奖金|投入了?多少|how much/i.test(question)) {
    return { stated: /\d[\d.]*\s*(?:余|多)?\s*(?:万|亿)?元/, label: '金额' };
  }
  if (/how many (?:\w+ )?(?:people|workers|members|staff|employees|volunteers|participants|contestants|players)\b/i.test(question)) {
    return { stated: /\d[\d.]*\s*(?:余|多)?\s*(?:万)?(?:名|人)/, label: '人数' };
  }
  const unit = new RegExp(`(?:多少|几)(${UNITS})`).exec(question)?.[1];
  if (!unit) return undefined;
  const units = unit === '名' || unit === '人' ? '名|人|人次' : unit;
  return { stated: new RegExp(`\\d[\\d.]*\\s*(?:余|多)?\\s*(?:万|亿)?(?:${units})`), label: '' };
}
const HAS_NUMBER = /\d|[一二三四五六七八九十百千万亿两][余多]?(?:名|人|家|个|项|间|元|万|亿|次|场|份|条|年|月|日|支|所|座|本|期)/;
const OPENING = /^(?:本报讯|本报[\u4e00-\u9fff]{0,8}\d{1,2}月\d{1,2}日电)（[^）]{0,60}）/;
const CREDIT = /\s*(?:本报(?:特约)?(?:记者|通讯员)\s*)?[\u4e00-\u9fff]{2,4}(?:\s+[\u4e00-\u9fff]{2,4})*\s*摄(?:\/\S+)?$/;

/** Whole sentences of an article, cleaned for quoting: no 本报讯 opening, no photo credit. */
export function articleSentences(article: Article): string[] {
  return splitSentences(article.text)
    .map((s) => article.text.slice(s.start, s.end).replace(OPENING, '').replace(CREDIT, '').replace(/；$/, '。').trim())
    .filter((s) => s.replace(/[^\p{L}\p{N}]/gu, '').length >= 6);
}

export class ExtractiveAnswerer {
  // Sentence vectors per article: a popular article is asked about again and again.
  private readonly sentenceVectors = new Map<string, number[][]>();

  constructor(
    private readonly embedder: TextEmbedder | undefined,
    private readonly logger?: Logger,
  ) {}

  async compose(question: string, articles: Article[], keyword: KeywordIndex): Promise<ExtractiveResult> {
    const asksNumber = ASKS_NUMBER.test(question);
    const queryVector = await this.embedQuery(question);
    const scored: ScoredSentence[] = [];
    for (const [articleRank, article] of articles.entries()) {
      const sentences = articleSentences(article);
      const vectors = queryVector ? await this.vectorsFor(article, sentences) : undefined;
      sentences.forEach((text, index) => {
        const similarity = vectors ? dot(queryVector!, vectors[index]) : 0;
        const overlap = keyword.coverage(question, text);
        const hasNumber = HAS_NUMBER.test(text);
        // A sentence pointing back ("同样的场景在该市…") reads badly as the first line.
        const pointsBack = /^(同样|该|此|这|其|他|她|它|上述|对此)/.test(text) ? 0.1 : 0;
        const score = similarity + overlap + (asksNumber && hasNumber ? 0.15 : 0) - 0.12 * articleRank - pointsBack;
        scored.push({ articleRank, index, text, score, hasNumber });
      });
    }
    if (scored.length === 0) return { text: '', citations: [], partial: false };
    const amount = askedAmount(question);
    const ranked = [...scored].sort((a, b) => b.score - a.score);
    // For a question about a number, the sentence that holds the number comes first: the kind of
    // number asked (an amount of money, a head count) when the article states one.
    let lead = ranked[0];
    const holdsAnswer = (s: ScoredSentence) => (amount ? amount.stated.test(s.text) : s.hasNumber);
    if (asksNumber && !holdsAnswer(lead)) lead = ranked.find((s) => holdsAnswer(s) && s.score >= 0.7 * ranked[0].score) ?? lead;
    const chosen = [lead];
    for (const s of ranked) {
      if (chosen.length >= 3) break;
      if (chosen.includes(s) || s.score < 0.8 * lead.score) continue;
      if (s.articleRank !== lead.articleRank && chosen.some((c) => c.articleRank === s.articleRank)) continue;
      if (chosen.reduce((n, c) => n + c.text.length, 0) + s.text.length > 260) continue;
      chosen.push(s);
    }

    // Citation numbers in order of first use; supporting sentences in reading order.
    const articleOrder: number[] = [];
    const cite = (s: ScoredSentence) => {
      if (!articleOrder.includes(s.articleRank)) articleOrder.push(s.articleRank);
      return articleOrder.indexOf(s.articleRank) + 1;
    };
    const leadLine = `${/^(据|记者|本报)/.test(lead.text) ? '' : '据报道，'}${lead.text}[${cite(lead)}]`;
    const rest = chosen
      .slice(1)
      .sort((a, b) => a.articleRank - b.articleRank || a.index - b.index)
      .map((s) => `${s.text}[${cite(s)}]`);
    const lines = [leadLine];
    if (rest.length) lines.push(`报道还提到：${rest.join('')}`);

    const missing = this.missingTerms(question, articles[lead.articleRank], chosen);
    const amountMissing = amount !== undefined && !chosen.some((s) => amount.stated.test(s.text));
    const partial = (asksNumber && !chosen.some((s) => s.hasNumber)) || amountMissing || missing.length > 0;
    if (partial) {
      if (missing.length) lines.push(`不过，报道中没有提到${missing.map((t) => `“${t}”`).join('、')}的具体信息。`);
      else lines.push(amountMissing && amount!.label ? `不过，报道中没有给出${amount!.label}的具体数字。` : '不过，报道中没有给出具体数字。');
    }

    const citations: Citation[] = articleOrder.map((rank, i) => ({
      n: i + 1,
      articleId: articles[rank].id,
      headline: articles[rank].headline,
      file: articles[rank].file,
      quote: chosen
        .filter((s) => s.articleRank === rank)
        .sort((a, b) => a.index - b.index)
        .map((s) => s.text)
        .join('……'),
    }));
    return { text: lines.join('\n'), citations, partial };
  }

  /** Content words of the question that the lead article never mentions, when the chosen
   * sentences cover little of the question: the sign of a fact the article does not report. */
  private missingTerms(question: string, article: Article, chosen: ScoredSentence[]): string[] {
    const body = `${article.headline}${article.kicker ?? ''}${article.text}`;
    const words = nounsOf(question).filter((w) => !GENERIC_NOUNS.has(w));
    const unique = [...new Set(words)].filter((w) => !words.some((other) => other !== w && other.includes(w)));
    const missing = unique.filter((w) => !body.includes(w));
    const chosenText = chosen.map((s) => s.text).join('');
    const covered = unique.filter((w) => chosenText.includes(w)).length / Math.max(1, unique.length);
    return covered < 0.6 ? missing.slice(0, 2) : [];
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

  private async vectorsFor(article: Article, sentences: string[]): Promise<number[][]> {
    let vectors = this.sentenceVectors.get(article.id);
    if (!vectors || vectors.length !== sentences.length) {
      vectors = await this.embedder!.embedDocuments(sentences);
      if (this.sentenceVectors.size > 500) this.sentenceVectors.delete(this.sentenceVectors.keys().next().value!);
      this.sentenceVectors.set(article.id, vectors);
    }
    return vectors;
  }
}

function dot(a: number[], b: number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}
