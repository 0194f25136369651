// Telegram HTML for an answer and its sources. Telegram rejects a whole message when a single tag
// or entity is wrong and caps a message at 4096 characters, so every piece of text that comes from
// the answer, the LLM or the articles is escaped here, and long texts are split into parts that are
// each valid HTML on their own.
import { answerText } from '../answer/present.ts';
import type { Answer, Citation } from '../answer/types.ts';

/** Telegram's cap on one message's text, in UTF-16 code units. */
export const TELEGRAM_MESSAGE_LIMIT = 4096;

// A lone surrogate (e.g. an emoji cut in half by a careless slice upstream) is not valid UTF-8,
// and Telegram refuses the message; U+FFFD keeps the rest readable.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

// Bidirectional controls (U+202E reverses the rest of a line): never wanted in Chinese news or
// questions, and a way to make an echoed question, or the bot's own line, read backwards.
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

export function stripBidi(text: string): string {
  return text.replace(BIDI_CONTROLS, '');
}

/** Escapes text for Telegram's HTML parse mode (text content only: this module writes no attributes). */
export function escapeHtml(text: string): string {
  return stripBidi(text)
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** Multi-line text as Telegram shows it best: one kind of line break, no blank edges. */
const block = (text: string) => escapeHtml(text.replace(/\r\n?/g, '\n').trim());
/** Headlines and file names sit on one line of a list. */
const line = (text: string) => escapeHtml(text.replace(/\s+/g, ' ').trim());
const title = (headline: string) => `《${line(headline) || '无标题'}》`;

/** The messages for one answer: text, notice, 来源 list (an expandable blockquote) and, when
 * refusing, 相关报道; `lead` is a line above it all (e.g. that an edited question is answered
 * again). */
export function renderAnswer(answer: Answer, lead?: string): string[] {
  const blocks = [block(answerText(answer)) || '（没有生成回答。）'];
  if (lead) blocks.unshift(`<i>${block(lead)}</i>`);
  if (answer.notice?.trim()) blocks.push(`<i>${block(answer.notice)}</i>`);
  if (answer.citations.length > 0) {
    // Collapsed (Bot API 7.4), so that an answer with many sources stays a few lines on screen.
    const list = answer.citations.map((c) => `[${c.n}] ${title(c.headline)} · ${line(c.file)}`).join('\n');
    blocks.push(`<b>来源</b>\n<blockquote expandable>${list}</blockquote>`);
  }
  if (answer.refused && answer.suggestions?.length) {
    blocks.push(['<b>相关报道</b>', ...answer.suggestions.map((s) => `• ${title(s.headline)} · ${line(s.file)}`)].join('\n'));
  }
  return splitMessage(blocks.join('\n\n'));
}

const source = (c: Citation) =>
  `<b>[${c.n}] ${title(c.headline)}</b>\n${line(c.file)}\n<blockquote>${block(c.quote) || '（无摘录）'}</blockquote>`;

/** The messages behind the 查看原文 button: each citation with its quoted passage. */
export function renderSources(answer: Answer): string[] {
  if (answer.citations.length === 0) return splitMessage('这条回答没有引用原文。');
  return splitMessage(answer.citations.map(source).join('\n\n'));
}

// ---- splitting ----

/** The smallest pieces a message may be cut between: a tag, an entity, a citation marker, or one
 * user-perceived character (so surrogate pairs and emoji sequences stay whole). */
interface Atom {
  kind: 'open' | 'close' | 'text';
  start: number;
  end: number;
  /** Tag name, for open and close tags. */
  name?: string;
}

const TOKEN = /<(\/?)([a-zA-Z][\w-]*)[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|\[\d{1,4}\]/g;
const graphemes = new Intl.Segmenter('zh', { granularity: 'grapheme' });

function tokenize(html: string): Atom[] {
  const atoms: Atom[] = [];
  const pushText = (from: number, to: number) => {
    for (const g of graphemes.segment(html.slice(from, to))) {
      atoms.push({ kind: 'text', start: from + g.index, end: from + g.index + g.segment.length });
    }
  };
  let last = 0;
  for (const m of html.matchAll(TOKEN)) {
    const start = m.index ?? 0;
    pushText(last, start);
    const end = start + m[0].length;
    if (m[2]) atoms.push({ kind: m[1] ? 'close' : 'open', start, end, name: m[2].toLowerCase() });
    else atoms.push({ kind: 'text', start, end }); // an entity or a [n] marker: one piece of text
    last = end;
  }
  pushText(last, html.length);
  return atoms;
}

const SENTENCE_END = /^[。！？!?]$/;
const CLOSING_QUOTE = /^[”’」』）)]$/;

/**
 * Splits Telegram HTML into messages of at most `limit` UTF-16 units each, counting the raw HTML
 * (longer than what Telegram counts, so always safe). Cuts prefer a blank line, then a line break,
 * then a sentence end (。！？), then any point; never inside a tag, an entity, a [n] marker or a
 * character. Tags open at a cut are closed at the end of the part and re-opened in the next one.
 * Whitespace at a cut is dropped (Telegram trims it anyway). Returns [] when nothing is visible.
 */
export function splitMessage(html: string, limit = TELEGRAM_MESSAGE_LIMIT): string[] {
  const atoms = tokenize(html);
  const n = atoms.length;
  const pos = (b: number) => (b < n ? atoms[b].start : html.length);
  const raw = (b: number) => html.slice(atoms[b].start, atoms[b].end);

  // stacks[b]: the tags open at boundary b (just before atom b). Arrays are shared until a tag changes them.
  const stacks: Atom[][] = [[]];
  for (const atom of atoms) {
    let stack = stacks[stacks.length - 1];
    if (atom.kind === 'open') stack = [...stack, atom];
    else if (atom.kind === 'close') {
      const at = stack.map((a) => a.name).lastIndexOf(atom.name);
      if (at >= 0) stack = stack.slice(0, at);
    }
    stacks.push(stack);
  }
  const reopen = (b: number) => stacks[b].map((a) => html.slice(a.start, a.end)).join('');
  const closers = (b: number) => stacks[b].map((a) => `</${a.name}>`).reverse().join('');

  const isText = (b: number) => b >= 0 && b < n && atoms[b].kind === 'text';
  const isSpace = (b: number) => isText(b) && /^\s+$/.test(raw(b));
  const isVisible = (b: number) => isText(b) && !isSpace(b);
  const lineEnd = (e: number) => isText(e - 1) && raw(e - 1) === '\n';
  const paragraphEnd = (e: number) => lineEnd(e) && lineEnd(e - 1);
  const sentenceEnd = (e: number) => {
    let p = e - 1;
    while (isText(p) && CLOSING_QUOTE.test(raw(p))) p--;
    // "…建成。[1]" keeps its marker: the marker belongs to the sentence before it.
    return isText(p) && SENTENCE_END.test(raw(p)) && !(isText(e) && raw(e).startsWith('['));
  };

  const parts: string[] = [];
  let s = 0;
  for (;;) {
    while (isSpace(s)) s++;
    let first = s; // the first visible piece of this part
    while (first < n && !isVisible(first)) first++;
    if (first >= n) break; // only tags or whitespace left: the previous part already closed them

    const head = reopen(s);
    const cost = (e: number) => head.length + pos(e) - pos(s) + closers(e).length;
    // The farthest boundary that fits. The raw slice only grows with e, so stop once it alone is too long.
    let max = -1;
    for (let e = s + 1; e <= n && head.length + pos(e) - pos(s) <= limit; e++) {
      if (cost(e) <= limit) max = e;
    }
    if (max <= first) throw new RangeError(`splitMessage: limit ${limit} is too small for the tags open at offset ${pos(s)}`);

    let e = max;
    if (max < n) {
      // Prefer a natural break, but not one so early that the part would be mostly empty.
      const half = pos(s) + (pos(max) - pos(s)) / 2;
      found: for (const natural of [paragraphEnd, lineEnd, sentenceEnd]) {
        for (let b = max; b > first && pos(b) >= half; b--) {
          if (natural(b)) {
            e = b;
            break found;
          }
        }
      }
      while (e - 1 > first && atoms[e - 1].kind === 'open') e--; // a tag opened at the cut starts the next part
      while (e < n && atoms[e].kind === 'close' && cost(e + 1) <= limit) e++; // and one closed there ends this one
    }
    let end = e;
    while (end - 1 > first && isSpace(end - 1)) end--;
    parts.push(head + html.slice(pos(s), pos(end)) + closers(e));
    s = e;
  }
  return parts;
}
