// Chinese-aware chunking: split at sentence ends (。！？；) and paragraph breaks, never inside a
// number or a quotation, then pack whole sentences into chunks sized for bge-small-zh.
import { createHash } from 'node:crypto';
import type { Article } from '../corpus/types.ts';

export interface ChunkingOptions {
  size: number; // target characters per chunk
  overlap: number; // characters of trailing sentences repeated at the start of the next chunk
}

/** Bumped when the chunking rules change, so that old vectors are not reused. */
export const CHUNKER_VERSION = 2;

export interface Chunk {
  id: string;
  articleId: string;
  file: string;
  headline: string;
  kicker?: string;
  kind: Article['kind'];
  ordinal: number;
  /** The passage as printed (what citations quote). */
  text: string;
  /** What gets embedded and keyword-indexed: headline and kicker, then the passage. */
  indexText: string;
  /** Offsets [start, end) into Article.text; -1 for the 阅读提示 summary chunk. */
  start: number;
  end: number;
}

const OPENERS: Record<string, string> = { '“': '”', '‘': '’', '《': '》', '（': '）', '「': '」', '『': '』', '(': ')' };
const CLOSERS = new Set(Object.values(OPENERS));
const SENTENCE_END = new Set(['。', '！', '？', '；', '!', '?']);

export interface Span {
  start: number;
  end: number;
}

/** Sentence spans of `text`. A sentence ends at 。！？； or a newline, but not inside quotes or
 * brackets (a quoted speech stays whole), and closing quotes stay with their sentence. */
export function splitSentences(text: string): Span[] {
  const spans: Span[] = [];
  const stack: string[] = [];
  let start = 0;
  const push = (end: number) => {
    if (text.slice(start, end).trim()) spans.push({ start, end });
    start = end;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\n') {
      push(i);
      start = i + 1;
      stack.length = 0; // a paragraph break always ends a sentence, whatever OCR lost
      continue;
    }
    // The stack holds the closers still expected; a stray closer is ignored.
    if (OPENERS[ch]) stack.push(OPENERS[ch]);
    else if (CLOSERS.has(ch) && stack.includes(ch)) {
      stack.length = stack.lastIndexOf(ch);
      // “……。” ends a sentence too, once every quote is closed.
      if (stack.length === 0 && SENTENCE_END.has(text[i - 1])) {
        push(i + 1);
        continue;
      }
    }
    if (SENTENCE_END.has(ch) && stack.length === 0) {
      let end = i + 1;
      while (end < text.length && (CLOSERS.has(text[end]) || SENTENCE_END.has(text[end]))) end++;
      i = end - 1;
      push(end);
    }
  }
  push(text.length);
  // An unbalanced quote would swallow the rest of the article: fall back to plain sentence ends.
  const longest = Math.max(0, ...spans.map((s) => s.end - s.start));
  if (longest > 1200) return splitPlain(text);
  return spans;
}

function splitPlain(text: string): Span[] {
  const spans: Span[] = [];
  const re = /[^。！？；\n]+[。！？；]*[”’」』）]*/g;
  for (let m = re.exec(text); m; m = re.exec(text)) if (m[0].trim()) spans.push({ start: m.index, end: m.index + m[0].length });
  return spans;
}

/** Cuts a sentence longer than `size` at commas, else at `size`, never between two digits. */
function splitLong(text: string, span: Span, size: number): Span[] {
  const parts: Span[] = [];
  let start = span.start;
  while (span.end - start > size) {
    let cut = -1;
    for (let i = start + size; i > start + size / 2; i--) {
      if ('，、：'.includes(text[i - 1])) {
        cut = i;
        break;
      }
    }
    if (cut < 0) {
      cut = start + size;
      while (cut < span.end && /\d/.test(text[cut - 1]) && /[\d.]/.test(text[cut])) cut++;
    }
    parts.push({ start, end: cut });
    start = cut;
  }
  parts.push({ start, end: span.end });
  return parts;
}

export function chunkArticle(article: Article, options: ChunkingOptions): Chunk[] {
  const title = [article.kicker, article.headline].filter(Boolean).join(' ');
  const text = article.text;
  const spans = splitSentences(text).flatMap((s) => (s.end - s.start > options.size ? splitLong(text, s, options.size) : [s]));
  const groups: Span[][] = [];
  // Short articles such as photo captions are one chunk: splitting them only loses context.
  if (text.length <= options.size * 1.3) groups.push(spans);
  else {
    let current: Span[] = [];
    const length = (g: Span[]) => (g.length ? g.at(-1)!.end - g[0].start : 0);
    for (const span of spans) {
      if (current.length && length([...current, span]) > options.size) {
        groups.push(current);
        const carried: Span[] = [];
        for (let j = current.length - 1; j >= 0 && length([current[j], ...carried]) <= options.overlap; j--) carried.unshift(current[j]);
        current = carried.length < current.length ? carried : [];
      }
      current.push(span);
    }
    if (current.length) groups.push(current);
  }
  const chunks = groups
    .filter((g) => g.length > 0)
    .map((group, ordinal) => {
      const start = group[0].start;
      const end = group.at(-1)!.end;
      const passage = text.slice(start, end).trim();
      return makeChunk(article, title, ordinal, passage, start, end);
    });
  // The 阅读提示 box summarises the whole article: index it as a passage of its own.
  if (article.summary) chunks.push(makeChunk(article, title, chunks.length, article.summary, -1, -1));
  return chunks;
}

function makeChunk(article: Article, title: string, ordinal: number, text: string, start: number, end: number): Chunk {
  // The id covers what is embedded (kicker and headline too), so a changed kicker is re-embedded.
  const digest = createHash('sha256').update(`${title}\n${text}`).digest('hex').slice(0, 8);
  const chunk: Chunk = {
    id: `${article.id}#${ordinal}-${digest}`,
    articleId: article.id,
    file: article.file,
    headline: article.headline,
    kind: article.kind,
    ordinal,
    text,
    indexText: `${title}\n${text}`,
    start,
    end,
  };
  if (article.kicker) chunk.kicker = article.kicker;
  return chunk;
}

export function chunkArticles(articles: Article[], options: ChunkingOptions): Chunk[] {
  return articles.flatMap((a) => chunkArticle(a, options));
}
