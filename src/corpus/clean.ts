// OCR clean-up of single lines. Line joining and paragraphs belong to segment.ts, because they
// need the column width of the surrounding block.

const CJK = '\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff';
// CJK punctuation, full-width forms and the curly quotes Chinese text uses.
const CJK_PUNCT = '\\u3000-\\u303f\\uff01-\\uff0f\\uff1a-\\uff20\\uff3b-\\uff40\\uff5b-\\uff65\\u2018\\u2019\\u201c\\u201d\\u2014\\u2026\\u00b7';
const CJK_CHAR = new RegExp(`[${CJK}]`);
const WIDE = `[${CJK}${CJK_PUNCT}]`;

export function isCjk(ch: string): boolean {
  return CJK_CHAR.test(ch);
}

/** Full-width letters, digits and space become ASCII; ASCII punctuation inside Chinese text
 * becomes the full-width form the rest of the page uses, so one text has one spelling. */
export function normalizeWidth(text: string): string {
  let out = text.replace(/[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uff05\uff0b]/g, (c) =>
    String.fromCharCode(c.charCodeAt(0) - 0xfee0),
  );
  out = out.replace(/\u3000/g, ' ').replace(/\u00a0/g, ' ');
  const toWide: Record<string, string> = { ',': '，', ';': '；', ':': '：', '?': '？', '!': '！', '(': '（', ')': '）' };
  // Only where a CJK character touches the mark: "3.5, 4" and "http://" stay as they are.
  out = out.replace(new RegExp(`(?<=[${CJK}])[,;:?!()]|[,;:?!()](?=[${CJK}])`, 'g'), (c) => toWide[c] ?? c);
  // Parentheses are a pair: "(图左)" must not become "（图左)".
  out = out.replace(/（([^()（）]*)\)/g, '（$1）').replace(/\(([^()（）]*)）/g, '（$1）');
  return out;
}

/** Removes the spaces OCR puts between CJK characters ("记 者 王 伟" → "记者王伟"), around CJK
 * punctuation and between CJK and digits ("2023 年" → "2023年"). A single space between two
 * multi-character words is kept: it separates names ("董巨国 曹川") and headline phrases. */
export function removeCjkSpaces(line: string): string {
  let out = line;
  // Spaced-out runs: three or more single characters separated by single spaces.
  out = out.replace(new RegExp(`${WIDE}(?: ${WIDE}){2,}`, 'g'), (run) => run.replace(/ /g, ''));
  // Spaced-out runs of digits and CJK ("达 成 8 项 薪 酬").
  out = out.replace(new RegExp(`(?:${WIDE}|\\d)(?: (?:${WIDE}|\\d)){3,}`, 'g'), (run) => run.replace(/ /g, ''));
  // Around CJK punctuation.
  out = out.replace(new RegExp(` +(?=[${CJK_PUNCT}])|(?<=[${CJK_PUNCT}]) +`, 'g'), '');
  // Between CJK and digits or Latin letters, either way round.
  out = out.replace(new RegExp(`(?<=[${CJK}]) +(?=[0-9A-Za-z])|(?<=[0-9A-Za-z%]) +(?=[${CJK}])`, 'g'), '');
  return out.replace(/ {2,}/g, ' ').trim();
}

/** Strips markdown markup that carries no text: heading marks and bold. */
export function stripMarkdown(line: string): { text: string; headingLevel: number } {
  const heading = /^(#{1,6})\s+/.exec(line);
  const text = (heading ? line.slice(heading[0].length) : line).replace(/\*\*|__/g, '');
  return { text, headingLevel: heading ? heading[1].length : 0 };
}

/** One OCR line, cleaned: markdown stripped, widths normalised, stray spaces removed. */
export function cleanLine(raw: string): { text: string; headingLevel: number } {
  const { text, headingLevel } = stripMarkdown(raw.trim());
  return { text: removeCjkSpaces(normalizeWidth(text)), headingLevel };
}

/** Joins two wrapped lines: no separator in Chinese text, one space between Latin words. */
export function joinWrapped(left: string, right: string): string {
  if (!left) return right;
  if (!right) return left;
  const a = left[left.length - 1];
  const b = right[0];
  return /[A-Za-z0-9]/.test(a) && /[A-Za-z]/.test(b) ? `${left} ${right}` : left + right;
}

/** Character length ignoring spaces: OCR line widths compare better this way. */
export function visibleLength(text: string): number {
  return text.replace(/\s/g, '').length;
}

/** Set of character bigrams (CJK and alphanumerics), for cheap overlap measures. */
export function bigrams(text: string): Set<string> {
  const chars = [...text.replace(/[^\p{L}\p{N}]/gu, '')];
  const set = new Set<string>();
  for (let i = 0; i + 1 < chars.length; i++) set.add(chars[i] + chars[i + 1]);
  return set;
}

/** Share of `text`'s bigrams found in `inSet` (0..1). */
export function bigramCoverage(text: string, inSet: Set<string>): number {
  const own = bigrams(text);
  if (own.size === 0) return 0;
  let hit = 0;
  for (const g of own) if (inSet.has(g)) hit++;
  return hit / own.size;
}
