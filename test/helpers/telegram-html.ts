// Checks a message the way the Bot API does with parse_mode HTML, because the test emulator
// accepts anything. It follows tdlib's parse_html (td/telegram/MessageEntity.cpp) and is stricter
// where Telegram silently forgives what its documentation forbids: a bare & or >, an unknown
// entity, an ignored attribute, or nesting that Telegram would drop.

const TAGS = new Set([
  'b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'span', 'tg-spoiler',
  'a', 'code', 'pre', 'blockquote', 'tg-emoji',
]);
/** "All other entities can't contain each other" (bold, italic and the like may nest freely). */
const EXCLUSIVE = new Set(['a', 'code', 'pre', 'tg-emoji', 'blockquote']);
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };
// tdlib stops an entity after nine characters and knows only a lowercase x.
const ENTITY = /^&(?:#(\d{1,7})|#x([0-9a-fA-F]{1,6})|([a-zA-Z]+));/;
const LIMIT = 4096;

const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\0';

class ParseError extends Error {}

/** Problems Telegram would have with `html` in parse_mode HTML; empty when the message is fine. */
export function validateTelegramHtml(html: string): string[] {
  const problems: string[] = [];
  let text = '';
  try {
    text = parse(html, problems);
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    problems.push(`can't parse entities: ${error.message}`);
    return problems;
  }
  if (text.trim() === '') problems.push('message text is empty');
  if (text.length > LIMIT) problems.push(`message is too long: ${text.length} > ${LIMIT} UTF-16 units`);
  return problems;
}

/** The text Telegram shows for valid `html`: tags removed, entities decoded (not trimmed). */
export function telegramText(html: string): string {
  const problems: string[] = [];
  const text = parse(html, problems);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return text;
}

/** Decodes the entity at html[i] into `out`, returning the index after it, or -1 when there is none. */
function decodeEntity(html: string, i: number, problems: string[], out: { text: string }): number {
  const m = ENTITY.exec(html.slice(i, i + 12));
  if (!m) {
    problems.push(`bare "&" at offset ${i}: write &amp;`);
    return -1;
  }
  if (m[3] !== undefined) {
    if (!(m[3] in NAMED)) {
      problems.push(`unsupported entity "${m[0]}" at offset ${i}: only &lt; &gt; &amp; &quot; and numeric ones`);
      return -1;
    }
    out.text += NAMED[m[3]];
  } else {
    const code = m[1] !== undefined ? Number(m[1]) : parseInt(m[2], 16);
    if (code === 0 || code >= 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      problems.push(`invalid character reference "${m[0]}" at offset ${i}`);
      return -1;
    }
    out.text += String.fromCodePoint(code);
  }
  return i + m[0].length;
}

function parse(html: string, problems: string[]): string {
  const out = { text: '' };
  const stack: string[] = [];
  let i = 0;
  while (i < html.length) {
    const c = html[i];
    if (c === '&') {
      const next = decodeEntity(html, i, problems, out);
      if (next < 0) {
        out.text += c; // Telegram shows what it cannot decode as is
        i++;
      } else i = next;
      continue;
    }
    if (c === '>') {
      problems.push(`bare ">" at offset ${i}: write &gt;`);
      out.text += c;
      i++;
      continue;
    }
    if (c !== '<') {
      const code = c.charCodeAt(0);
      if (code >= 0xd800 && code <= 0xdbff && /[\uDC00-\uDFFF]/.test(html[i + 1] ?? '')) {
        out.text += c + html[i + 1];
        i += 2;
        continue;
      }
      if (code >= 0xd800 && code <= 0xdfff) problems.push(`unpaired surrogate at offset ${i}`);
      out.text += c;
      i++;
      continue;
    }
    i = html[i + 1] === '/' ? endTag(html, i, stack) : startTag(html, i, stack, problems);
  }
  if (stack.length > 0) throw new ParseError(`can't find end tag corresponding to start tag "${stack[stack.length - 1]}"`);
  return out.text;
}

function endTag(html: string, begin: number, stack: string[]): number {
  if (stack.length === 0) throw new ParseError(`unexpected end tag at offset ${begin}`);
  let i = begin + 2;
  while (i < html.length && !isSpace(html[i]) && html[i] !== '>') i++;
  const name = html.slice(begin + 2, i).toLowerCase();
  while (i < html.length && isSpace(html[i])) i++;
  if (html[i] !== '>') throw new ParseError(`unclosed end tag at offset ${begin}`);
  const open = stack[stack.length - 1];
  // An empty name (</>) closes whatever is open, as tdlib allows.
  if (name !== '' && name !== open) throw new ParseError(`unmatched end tag at offset ${begin}: expected </${open}>, found </${name}>`);
  stack.pop();
  return i + 1;
}

function startTag(html: string, begin: number, stack: string[], problems: string[]): number {
  let i = begin + 1;
  while (i < html.length && !isSpace(html[i]) && html[i] !== '>') i++;
  if (i >= html.length) throw new ParseError(`unclosed start tag at offset ${begin}: a bare "<" must be written &lt;`);
  const name = html.slice(begin + 1, i).toLowerCase();
  if (!TAGS.has(name)) throw new ParseError(`unsupported start tag "${name}" at offset ${begin}`);

  const attributes = new Map<string, string>();
  while (html[i] !== '>') {
    while (i < html.length && isSpace(html[i])) i++;
    if (html[i] === '>') break;
    const nameStart = i;
    while (i < html.length && !isSpace(html[i]) && html[i] !== '=' && html[i] !== '>') i++;
    const attribute = html.slice(nameStart, i);
    if (attribute === '') throw new ParseError(`empty attribute name in tag "${name}" at offset ${begin}`);
    while (i < html.length && isSpace(html[i])) i++;
    if (html[i] !== '=') {
      // The one attribute without a value: <blockquote expandable>.
      if (name === 'blockquote' && attribute === 'expandable' && i < html.length) {
        attributes.set(attribute, '');
        continue;
      }
      throw new ParseError(`expected "=" after attribute "${attribute}" of tag "${name}" at offset ${begin}`);
    }
    i++;
    while (i < html.length && isSpace(html[i])) i++;
    if (i >= html.length) throw new ParseError(`unclosed start tag "${name}" at offset ${begin}`);
    let value: string;
    if (html[i] !== '"' && html[i] !== "'") {
      const tokenStart = i;
      while (/[A-Za-z0-9.-]/.test(html[i] ?? '')) i++;
      value = html.slice(tokenStart, i).toLowerCase();
      if (!isSpace(html[i]) && html[i] !== '>') throw new ParseError(`unexpected end of name token at offset ${tokenStart}`);
    } else {
      const quote = html[i++];
      const out = { text: '' };
      while (i < html.length && html[i] !== quote) {
        // Inside a quoted value Telegram decodes what it can and keeps the rest (a URL's & is fine).
        const next = html[i] === '&' ? decodeEntity(html, i, [], out) : -1;
        if (next >= 0) i = next;
        else out.text += html[i++];
      }
      if (i >= html.length) throw new ParseError(`unclosed start tag "${name}" at offset ${begin}`);
      i++;
      value = out.text;
    }
    if (i >= html.length) throw new ParseError(`unclosed start tag "${name}" at offset ${begin}`);
    attributes.set(attribute, value);
  }

  for (const [attribute, value] of attributes) {
    const allowed =
      (name === 'a' && attribute === 'href') ||
      (name === 'code' && attribute === 'class' && value.startsWith('language-')) ||
      (name === 'span' && attribute === 'class') ||
      (name === 'tg-emoji' && attribute === 'emoji-id') ||
      (name === 'blockquote' && attribute === 'expandable');
    if (!allowed) problems.push(`attribute ${attribute}="${value}" is not allowed on <${name}> (offset ${begin})`);
  }
  if (name === 'span' && attributes.get('class') !== 'tg-spoiler') {
    throw new ParseError(`tag "span" must have class "tg-spoiler" at offset ${begin}`);
  }
  if (name === 'tg-emoji' && !/^[1-9]\d*$/.test(attributes.get('emoji-id') ?? '')) {
    problems.push(`<tg-emoji> needs a numeric emoji-id (offset ${begin})`);
  }

  // Nesting Telegram would quietly undo (so the message would not look as intended).
  const open = stack[stack.length - 1];
  if (open === 'code' || open === 'pre' || stack.includes('code') || stack.includes('pre')) {
    if (!(name === 'code' && open === 'pre')) problems.push(`<${name}> inside <${open}>: pre and code hold no other entities (offset ${begin})`);
  } else if (EXCLUSIVE.has(name) && stack.some((t) => EXCLUSIVE.has(t) && !(t === 'blockquote' && name !== 'blockquote'))) {
    problems.push(`<${name}> can't be nested inside <${stack.filter((t) => EXCLUSIVE.has(t)).join('>, <')}> (offset ${begin})`);
  }

  stack.push(name);
  return i + 1;
}
