// The embedded adapter of the storage port (src/index/port.ts): one loaded build (hnswlib graph +
// BM25 index, src/index/store.ts) seen through chunk ids. Its keyword document numbers are
// positions in snapshot.chunks, and its hnswlib labels are mapped to them (labelOf: a derived
// build leaves holes where removed chunks were); both stay inside this file.
import type { Article } from '../corpus/types.ts';
import type { Chunk } from './chunk.ts';
import type { KeywordIndex } from './keyword.ts';
import type { IndexView, ScoredId } from './port.ts';
import { labelOf, type IndexSnapshot } from './store.ts';

/** Chunk id → position, built once per snapshot (snapshots are immutable). */
const positions = new WeakMap<IndexSnapshot, Map<string, number>>();

function positionsOf(snapshot: IndexSnapshot): Map<string, number> {
  let map = positions.get(snapshot);
  if (!map) positions.set(snapshot, (map = new Map(snapshot.chunks.map((c, i) => [c.id, i]))));
  return map;
}

/** Also answers LocalIndexView.chunkCoverage: the postings hold each chunk's terms, no tokenising. */
export interface LocalIndexView extends IndexView {
  chunkCoverage(query: string, ids: string[]): Map<string, number>;
}

/** A view of one snapshot. `keyword` swaps in another tokenisation of the same chunks (eval). */
export function localView(snapshot: IndexSnapshot, options: { keyword?: KeywordIndex } = {}): LocalIndexView {
  const keyword = options.keyword ?? snapshot.keyword;
  const at = positionsOf(snapshot);
  const byIds = <T>(ids: string[], get: (position: number) => T | undefined) => {
    const found = new Map<string, T>();
    for (const id of ids) {
      const position = at.get(id);
      const value = position === undefined ? undefined : get(position);
      if (value !== undefined) found.set(id, value);
    }
    return found;
  };
  return {
    version: snapshot.manifest.buildId,
    chunkCount: snapshot.chunks.length,
    hasVectors: snapshot.vectors !== undefined,
    async denseSearch(vector: number[], k: number): Promise<ScoredId[]> {
      if (!snapshot.vectors) return [];
      const hits = await snapshot.vectors.similaritySearchVectorWithScore(vector, Math.min(k, snapshot.chunks.length));
      return hits.map(([document, distance]) => ({ id: document.metadata.chunkId as string, score: 1 - distance }));
    },
    async keywordSearch(query: string, k: number): Promise<ScoredId[]> {
      return keyword.search(query, k).map((hit) => ({ id: snapshot.chunks[hit.doc].id, score: hit.score }));
    },
    async vectors(ids: string[]) {
      const index = snapshot.vectors?.index;
      return byIds(ids, (position) => index?.getPoint(labelOf(snapshot, position)));
    },
    async chunks(ids: string[]) {
      return byIds<Chunk>(ids, (position) => snapshot.chunks[position]);
    },
    async articles(ids: string[]) {
      const found = new Map<string, Article>();
      for (const id of ids) {
        const article = snapshot.articlesById.get(id);
        if (article) found.set(id, article);
      }
      return found;
    },
    async scorer() {
      return keyword;
    },
    chunkCoverage(query: string, ids: string[]) {
      const docs = ids.map((id) => at.get(id)).filter((p): p is number => p !== undefined);
      const byDoc = keyword.coverageOfDocs(query, docs);
      return new Map(docs.map((doc) => [snapshot.chunks[doc].id, byDoc.get(doc) ?? 0]));
    },
    async release() {},
  };
}
