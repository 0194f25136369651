// Hybrid retrieval: the question is embedded once; the dense top-k (HNSW) and the BM25 top-k are
// fused (by default a convex combination of their scores, which `npm run eval` measured better
// than reciprocal rank fusion); each article keeps its best passage.
import * as OpenCC from 'opencc-js';
import { EmbeddingUnavailableError, type TextEmbedder } from '../index/embeddings.ts';
import { mentions, namedEntities, type KeywordIndex } from '../index/keyword.ts';
import type { IndexSnapshot } from '../index/store.ts';
import type { Logger } from '../log.ts';

export type RetrievalMode = 'hybrid' | 'dense' | 'keyword';

export interface Passage {
  rank: number;
  /** Relevance in 0..1 comparable across questions: the "nothing relevant" signal. */
  score: number;
  articleId: string;
  chunkId: string;
  headline: string;
  file: string;
  text: string;
  /** Cosine similarity of question and passage (absent without the embedding model). */
  similarity?: number;
  /** BM25 score divided by the question's ideal score (0..~1). */
  keywordMatch: number;
  /** Places or organisations the question names that this article never mentions. */
  missingEntities: string[];
}

export interface SearchResult {
  question: string;
  /** The question as searched (Traditional Chinese converted to Simplified). */
  normalizedQuestion: string;
  mode: RetrievalMode;
  /** Set when retrieval ran degraded, in Chinese, for the user. */
  notice?: string;
  results: Passage[];
  timings: { embedMs: number; searchMs: number };
}

export interface SearchOptions {
  k?: number;
  /** The index version to search: an answer passes the one it uses throughout. */
  snapshot?: IndexSnapshot;
  mode?: RetrievalMode;
  /** Evaluation hooks: reuse a query vector, or try another keyword index on the same chunks. */
  queryVector?: number[];
  keywordIndex?: KeywordIndex;
  fusion?: Fusion;
}

/** How dense and keyword results are combined: reciprocal rank, or a convex combination of
 * their scores (measured in `npm run eval`). */
export type Fusion = 'rrf' | 'convex';

/** Traditional to Simplified Chinese: retrieval and answers read Simplified. */
export const toSimplified = OpenCC.Converter({ from: 't', to: 'cn' });
const RRF_K = 60;
const CONVEX_ALPHA = 0.5;
const CONVEX_ALPHA_LATIN = 0.3;
export const KEYWORD_ONLY_NOTICE = '（语义检索暂不可用：嵌入模型未能加载，本次仅按关键词检索。）';
export const NO_VECTORS_NOTICE = '（当前索引没有语义向量，本次仅按关键词检索；管理员重建索引后即可恢复。）';

export class Retriever {
  private warnedNoModel = false;

  constructor(
    private readonly index: () => IndexSnapshot,
    private readonly embedder: TextEmbedder | undefined,
    private readonly logger?: Logger,
    private readonly fusion: Fusion = 'convex',
  ) {}

  async search(question: string, options: SearchOptions = {}): Promise<SearchResult> {
    const k = options.k ?? 5;
    // One snapshot for the whole search (and, passed in, for the whole answer), even if a reload happens.
    const snapshot = options.snapshot ?? this.index();
    const normalizedQuestion = toSimplified(question.trim());
    let mode: RetrievalMode = options.mode ?? 'hybrid';
    let notice: string | undefined;
    const depth = Math.max(40, k * 8);

    let queryVector = options.queryVector;
    const embedStart = performance.now();
    if (mode !== 'keyword' && !queryVector) {
      if (!snapshot.vectors || !this.embedder) {
        mode = 'keyword';
        notice = this.embedder ? NO_VECTORS_NOTICE : KEYWORD_ONLY_NOTICE;
      } else {
        try {
          queryVector = await this.embedder.embedQuery(normalizedQuestion);
        } catch (error) {
          if (!(error instanceof EmbeddingUnavailableError)) throw error;
          if (!this.warnedNoModel) this.logger?.warn(`${error.message} Answering from keyword retrieval alone.`);
          this.warnedNoModel = true;
          mode = 'keyword';
          notice = KEYWORD_ONLY_NOTICE;
        }
      }
    }
    const embedMs = performance.now() - embedStart;
    const searchStart = performance.now();

    // bge-small-zh bridges English to Chinese only weakly; for an English question the keyword
    // side (which reaches Chinese names through pinyin) carries more weight.
    const latin = isMostlyLatin(normalizedQuestion);
    const denseWeight = latin ? 0.5 : 1;
    const fused = new Map<number, number>();
    const similarity = new Map<number, number>();
    if (mode !== 'keyword' && queryVector && snapshot.vectors) {
      const n = Math.min(depth, snapshot.chunks.length);
      const hits = await snapshot.vectors.similaritySearchVectorWithScore(queryVector, n);
      hits.forEach(([document, distance], rank) => {
        const label = document.metadata.label as number;
        similarity.set(label, 1 - distance);
        fused.set(label, (fused.get(label) ?? 0) + denseWeight / (RRF_K + rank + 1));
      });
    }
    const keyword = options.keywordIndex ?? snapshot.keyword;
    const keywordHits = mode === 'dense' ? [] : keyword.search(normalizedQuestion, depth);
    const ideal = keyword.idealScore(normalizedQuestion, latin) || 1;
    const keywordMatch = new Map<number, number>();
    keywordHits.forEach((hit, rank) => {
      keywordMatch.set(hit.doc, Math.min(1, hit.score / ideal));
      fused.set(hit.doc, (fused.get(hit.doc) ?? 0) + 1 / (RRF_K + rank + 1));
    });
    if ((options.fusion ?? this.fusion) === 'convex' && mode === 'hybrid' && queryVector && snapshot.vectors) {
      // Scores instead of ranks: cosine and BM25 over its ideal, for every candidate of either side.
      const alpha = latin ? CONVEX_ALPHA_LATIN : CONVEX_ALPHA;
      for (const label of fused.keys()) {
        const sim = similarity.get(label) ?? cosine(queryVector, snapshot.vectors.index.getPoint(label));
        similarity.set(label, sim);
        fused.set(label, alpha * sim + (1 - alpha) * (keywordMatch.get(label) ?? 0));
      }
    }

    // Articles in order of their best fused chunk; then, within each article, the passage whose
    // own words (not the headline every chunk carries) best match the question.
    const chunksOfArticle = new Map<string, number[]>();
    for (const [label] of [...fused].sort((a, b) => b[1] - a[1])) {
      const articleId = snapshot.chunks[label].articleId;
      chunksOfArticle.set(articleId, [...(chunksOfArticle.get(articleId) ?? []), label]);
    }
    const bestPerArticle = new Map<string, number>();
    const topArticles = [...chunksOfArticle].slice(0, k);
    // Coverage read from the postings (chunk labels are the keyword index's documents): the
    // headline in each chunk's indexed text adds the same to all of an article's chunks, so the
    // passage's own words decide between them.
    const ownCoverage = keyword === snapshot.keyword && keyword.size === snapshot.chunks.length
      ? keyword.coverageOfDocs(normalizedQuestion, topArticles.flatMap(([, labels]) => labels))
      : undefined;
    for (const [articleId, labels] of topArticles) {
      const passageScore = (label: number) => {
        const sim = similarity.get(label) ?? (mode !== 'keyword' && queryVector && snapshot.vectors ? cosine(queryVector, snapshot.vectors.index.getPoint(label)) : 0);
        return sim + (labels.length === 1 ? 0 : ownCoverage?.get(label) ?? keyword.coverage(normalizedQuestion, snapshot.chunks[label].text));
      };
      bestPerArticle.set(articleId, labels.reduce((best, label) => (passageScore(label) > passageScore(best) ? label : best)));
    }
    const entities = namedEntities(normalizedQuestion);
    const results: Passage[] = [...bestPerArticle.values()].slice(0, k).map((label, i) => {
      const chunk = snapshot.chunks[label];
      const article = snapshot.articlesById.get(chunk.articleId);
      const articleText = article ? `${article.kicker ?? ''}${article.headline}${article.text}${article.summary ?? ''}` : chunk.text;
      const missingEntities = entities.filter((entity) => !mentions(articleText, entity));
      const sim = mode === 'keyword' ? undefined : similarity.get(label) ?? (queryVector && snapshot.vectors ? cosine(queryVector, snapshot.vectors.index.getPoint(label)) : undefined);
      const match = keywordMatch.get(label) ?? 0;
      const passage: Passage = {
        rank: i + 1,
        score: relevance(sim, match, missingEntities.length > 0),
        articleId: chunk.articleId,
        chunkId: chunk.id,
        headline: chunk.headline,
        file: chunk.file,
        text: chunk.text,
        keywordMatch: round(match),
        missingEntities,
      };
      if (sim !== undefined) passage.similarity = round(sim);
      return passage;
    });
    return {
      question,
      normalizedQuestion,
      mode,
      notice,
      results,
      timings: { embedMs: round(embedMs), searchMs: round(performance.now() - searchStart) },
    };
  }
}

/** One relevance number from the two signals; calibrated on the unanswerable questions of the
 * evaluation set (see README). Without the model, the keyword match alone. An article that never
 * mentions a place or organisation the question names cannot answer it: its score drops. */
export function relevance(similarity: number | undefined, keywordMatch: number, missesEntity = false): number {
  const base = similarity === undefined ? keywordMatch : 0.7 * similarity + 0.3 * keywordMatch;
  return round(missesEntity ? base * 0.4 : base);
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
  return dot; // both vectors are normalised
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** Mostly Latin letters: an English (or pinyin) question. */
export function isMostlyLatin(text: string): boolean {
  const latin = text.match(/[A-Za-z]/g)?.length ?? 0;
  const han = text.match(/\p{Script=Han}/gu)?.length ?? 0;
  return latin > han * 2;
}
