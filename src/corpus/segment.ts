// Splits one OCR'd newspaper page into articles.
//
// A page is a sequence of bodies and headline lines. Bodies are found from their openings
// (本报讯, 本报X月X日电, a byline, or a photo caption found backwards from its 摄 credit);
// headlines are the short unpunctuated lines around them. Plain pages print most headlines
// after the body, markdown pages before it. Where a run of headline lines sits between two
// bodies and both could own it, the split that best matches each body's wording wins: a
// headline summarises its own article, so it shares its words.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { bigramCoverage, bigrams, cleanLine, joinWrapped, visibleLength } from './clean.ts';
import type { Article, ArticleKind, Page, Paragraph } from './types.ts';

interface Line {
  text: string; // cleaned
  level: number; // markdown heading level, 0 for none
  start: number; // offsets of the raw line in Page.text
  end: number;
}

/** An article before its headline, paragraphs and id are settled. */
interface Draft {
  kind: ArticleKind;
  bodyLines: Line[];
  headLines: Line[];
  tipLines: Line[];
  bylineLines: Line[];
  /** Bigrams of the body, for matching headline lines and 阅读提示 boxes to it. */
  vocabulary: Set<string>;
}

const NEWS_START = /^本报讯|^本报[\u4e00-\u9fff]{0,8}\d{1,2}月\d{1,2}日电/;
const REPORTER = '(?:本报(?:特约|见习)?(?:记者|通讯员)|记者|通讯员|见习记者)';
const NAMES = '[\\u4e00-\\u9fff]{2,4}(?:[ 、][\\u4e00-\\u9fff]{2,4})*';
const BYLINE = new RegExp(`^${REPORTER}\\s*${NAMES}(?:\\s+${REPORTER}\\s*${NAMES})*$`);
const CREDIT = /(?:^|[\s。！？”]|记者|通讯员)[\u4e00-\u9fff]{2,4}\s*摄(?:\/[\u4e00-\u9fff]{1,8})?$/;
const DATE_START = /^\d{1,2}月\d{1,2}日/;
// Sentence-final punctuation, optionally followed by closing quotes or brackets. 「；」 and
// 「：」 are left out on purpose: lists and quotes run on after them.
const TERMINAL = /(?:[。！？!?]|…)[”’」』）)]*$/;
// A kicker that attributes the title to a speaker ends with the speech verb.
const SPEECH_KICKER = /(?:提出|表示|强调|指出|要求|认为)$/;
const MAX_HEADLINE_LINE = 40;

const isTerminal = (line: Line) => TERMINAL.test(line.text);
const isTipHeader = (line: Line) => line.text.replace(/\s/g, '') === '阅读提示';
const isByline = (line: Line) => visibleLength(line.text) <= 40 && BYLINE.test(line.text);
const isCredit = (line: Line) => CREDIT.test(line.text);
const isCreditOnly = (line: Line) => isCredit(line) && /^[^，。]*摄(?:\/\S+)?$/.test(line.text) && visibleLength(line.text) <= 30;
/** Column banners carry a graphic that OCR reads as a lone Latin G next to Chinese text. */
const isBanner = (line: Line) => /^G\s*[\d\u4e00-\u9fff“]|[\u4e00-\u9fff”]\s*G$/.test(line.text);

export function segmentPage(page: Page): Article[] {
  const lines = toLines(page.text);
  const isMarkdown = lines.some((line) => line.level > 0);
  const drafts = isMarkdown ? draftMarkdown(lines) : draftPlain(lines);
  // A title with no body (a markdown page of headings only) is not an article.
  return drafts.filter((draft) => draft.bodyLines.length > 0).map((draft) => toArticle(draft, page.file));
}

function toLines(text: string): Line[] {
  const lines: Line[] = [];
  let offset = 0;
  for (const raw of text.split('\n')) {
    const { text: cleaned, headingLevel } = cleanLine(raw);
    if (cleaned) lines.push({ text: cleaned, level: headingLevel, start: offset, end: offset + raw.length });
    offset += raw.length + 1;
  }
  return lines;
}

function newDraft(kind: ArticleKind, bodyLines: Line[], bylineLines: Line[] = []): Draft {
  return {
    kind,
    bodyLines,
    bylineLines,
    headLines: [],
    tipLines: [],
    vocabulary: bigrams(bodyLines.map((l) => l.text).join('')),
  };
}

// ---------------------------------------------------------------------------------------------
// Plain pages

interface Anchor {
  at: number; // first line of the article (byline or opening)
  bodyFrom: number;
  kind: ArticleKind;
  captionEnd?: number; // photo captions end at their credit
}

function draftPlain(lines: Line[]): Draft[] {
  const anchors = findAnchors(lines);
  if (anchors.length === 0) return [];
  const drafts: Draft[] = [];
  const trailing: Line[][] = [];
  const tips: { lines: Line[]; before: number }[] = [];

  anchors.forEach((anchor, k) => {
    const end = k + 1 < anchors.length ? anchors[k + 1].at : lines.length;
    const bylineLines = lines.slice(anchor.at, anchor.bodyFrom);
    if (anchor.captionEnd !== undefined) {
      drafts.push(newDraft('photo', lines.slice(anchor.bodyFrom, anchor.captionEnd + 1), bylineLines));
      trailing.push(lines.slice(anchor.captionEnd + 1, end).filter((l) => !isBanner(l)));
      return;
    }
    let searchEnd = end;
    const tipAt = lines.slice(anchor.bodyFrom, end).findIndex(isTipHeader);
    if (tipAt >= 0) {
      searchEnd = anchor.bodyFrom + tipAt;
      tips.push({ lines: lines.slice(searchEnd + 1, end), before: k });
    }
    let bodyEnd = searchEnd;
    while (bodyEnd - 1 > anchor.bodyFrom && isHeadlineLine(lines[bodyEnd - 1], lines[bodyEnd - 2])) bodyEnd--;
    drafts.push(newDraft(anchor.kind, lines.slice(anchor.bodyFrom, bodyEnd), bylineLines));
    trailing.push(lines.slice(bodyEnd, searchEnd).filter((l) => !isBanner(l)));
  });

  const leftovers: Line[][] = [];
  const pageTop = lines.slice(0, anchors[0].at).filter((l) => !isBanner(l) && !isTipHeader(l));
  if (trailing[0].length === 0 && pageTop.length > 0) drafts[0].headLines = pageTop;
  else if (pageTop.length > 0) leftovers.push(pageTop); // a column banner above the first article

  for (let k = 0; k < drafts.length; k++) {
    const region = trailing[k];
    const next = drafts[k + 1];
    const nextNeedsLeading = next !== undefined && trailing[k + 1].length === 0;
    if (!nextNeedsLeading) {
      drafts[k].headLines.push(...region);
      continue;
    }
    const split = bestSplit(region, drafts[k], next);
    drafts[k].headLines.push(...region.slice(0, split));
    next.headLines.push(...region.slice(split));
  }
  adoptOrphanHeadlines(drafts, leftovers);

  // A 阅读提示 box drifts to either side of its article: give it to the neighbour it describes.
  for (const tip of tips) {
    const text = tip.lines.map((l) => l.text).join('');
    const candidates = [drafts[tip.before], drafts[tip.before + 1]].filter(Boolean);
    const owner = candidates.reduce((best, d) =>
      bigramCoverage(text, d.vocabulary) > bigramCoverage(text, best.vocabulary) ? d : best,
    );
    owner.tipLines = tip.lines;
  }
  return drafts;
}

function findAnchors(lines: Line[]): Anchor[] {
  const anchors: Anchor[] = [];
  const captionLines = new Set<number>();
  lines.forEach((line, i) => {
    if (!isCredit(line)) return;
    const start = captionStart(lines, i);
    anchors.push({ at: start, bodyFrom: start, kind: 'photo', captionEnd: i });
    for (let j = start; j <= i; j++) captionLines.add(j);
  });
  lines.forEach((line, i) => {
    if (captionLines.has(i)) return;
    if (NEWS_START.test(line.text)) {
      anchors.push({ at: i, bodyFrom: i, kind: 'news' });
    } else if (isByline(line)) {
      const previous = anchors.find((a) => a.kind === 'feature' && a.bodyFrom === i);
      if (previous) previous.bodyFrom = i + 1; // a byline printed over two lines
      else anchors.push({ at: i, bodyFrom: i + 1, kind: 'feature' });
    }
  });
  return anchors.sort((a, b) => a.at - b.at);
}

/** Walks back from a photo credit to the first line of its caption. */
function captionStart(lines: Line[], creditAt: number): number {
  let start = creditAt;
  let width = isCreditOnly(lines[creditAt]) ? 0 : visibleLength(lines[creditAt].text);
  for (let j = creditAt - 1; j >= 0 && creditAt - j <= 15; j--) {
    const line = lines[j];
    if (NEWS_START.test(line.text) || isByline(line) || isCredit(line) || isTipHeader(line) || line.level > 0) break;
    if (DATE_START.test(line.text)) return j;
    // A short unpunctuated line above the caption is the previous article's headline.
    if (!isTerminal(line) && visibleLength(line.text) < 0.7 * width) break;
    width = Math.max(width, visibleLength(line.text));
    start = j;
  }
  return start;
}

/** Whether a line at the end of a segment is a headline line rather than body text. */
function isHeadlineLine(line: Line, previous: Line | undefined): boolean {
  if (visibleLength(line.text) > MAX_HEADLINE_LINE || isCredit(line) || isByline(line)) return false;
  if (!isTerminal(line)) return true;
  // "“技高者多得”在企业落地后……" ends like a sentence, but follows a kicker ending in "——".
  return previous !== undefined && previous.text.endsWith('——');
}

/** How many of `region`'s lines go to the article before it; the rest go to the one after. */
function bestSplit(region: Line[], before: Draft, after: Draft): number {
  let best = region.length;
  let bestScore = -Infinity;
  for (let split = 0; split <= region.length; split++) {
    if (split > 0 && split < region.length && region[split - 1].text.endsWith('——')) continue;
    let score = 0;
    region.forEach((line, j) => {
      score += bigramCoverage(line.text, j < split ? before.vocabulary : after.vocabulary);
    });
    if (score > bestScore) {
      bestScore = score;
      best = split;
    }
  }
  return best;
}

/** An article left without a headline (a photo whose title was printed elsewhere on the page)
 * takes the run of headline lines that matches its words much better than their current owner's. */
function adoptOrphanHeadlines(drafts: Draft[], leftovers: Line[][]): void {
  for (const orphan of drafts.filter((d) => d.headLines.length === 0)) {
    let best: { owner?: Draft; group: Line[]; gain: number } | undefined;
    const consider = (group: Line[], owner?: Draft) => {
      const text = group.map((l) => l.text).join('');
      const fit = bigramCoverage(text, orphan.vocabulary);
      const gain = fit - (owner ? bigramCoverage(text, owner.vocabulary) : 0);
      if (fit >= 0.3 && gain > 0 && (!best || gain > best.gain)) best = { owner, group, gain };
    };
    for (const group of leftovers) consider(group);
    for (const owner of drafts) {
      if (owner === orphan) continue;
      for (let from = 1; from < owner.headLines.length; from++) consider(owner.headLines.slice(from), owner);
    }
    if (!best) continue;
    const chosen = best;
    if (chosen.owner) chosen.owner.headLines = chosen.owner.headLines.slice(0, chosen.owner.headLines.length - chosen.group.length);
    else leftovers.splice(leftovers.indexOf(chosen.group), 1);
    orphan.headLines = chosen.group;
  }
}

// ---------------------------------------------------------------------------------------------
// Markdown pages: headlines always come before the body, but heading levels are not reliable
// boundaries, so a heading is a title only when an article opening follows it.

function draftMarkdown(lines: Line[]): Draft[] {
  const isHeading = (i: number) => lines[i].level > 0 && !isBanner(lines[i]) && !isTipHeader(lines[i]);
  const nextContent = (i: number): number => {
    let j = i + 1;
    if (j < lines.length && isTipHeader(lines[j])) j += 2; // skip the box under a title
    return j;
  };
  const opensArticle = (j: number) =>
    j < lines.length &&
    (NEWS_START.test(lines[j].text) || isByline(lines[j]) || DATE_START.test(lines[j].text) || isCredit(lines[j]));
  const isTitle = (i: number) => isHeading(i) && (lines[i].level === 1 || opensArticle(nextContent(i)));

  const starts: { at: number; title: number }[] = [];
  lines.forEach((_, i) => {
    if (!isTitle(i)) return;
    const previous = i - 1;
    const kickerAbove =
      previous >= 0 &&
      !isBanner(lines[previous]) &&
      !isTitle(previous) &&
      !isTerminal(lines[previous]) &&
      !NEWS_START.test(lines[previous].text) &&
      visibleLength(lines[previous].text) <= MAX_HEADLINE_LINE;
    starts.push({ at: kickerAbove ? previous : i, title: i });
  });

  return starts.map(({ at, title }, k) => {
    const end = k + 1 < starts.length ? starts[k + 1].at : lines.length;
    const body: Line[] = [];
    const bylineLines: Line[] = [];
    const tipLines: Line[] = [];
    for (let i = title + 1; i < end; i++) {
      const line = lines[i];
      if (isBanner(line)) continue;
      if (isTipHeader(line)) {
        if (i + 1 < end) tipLines.push(lines[++i]);
      } else if (isByline(line) && body.length === 0) bylineLines.push(line);
      else body.push(line);
    }
    const kind: ArticleKind = body.some(isCredit) ? 'photo' : body.some((l) => NEWS_START.test(l.text)) ? 'news' : 'feature';
    const draft = newDraft(kind, body, bylineLines);
    draft.headLines = lines.slice(at, title + 1);
    draft.tipLines = tipLines;
    return draft;
  });
}

// ---------------------------------------------------------------------------------------------
// From a draft to an Article

function toArticle(draft: Draft, file: string): Article {
  const { headline, kicker } = splitHeadline(draft.headLines, draft.bodyLines);
  const paragraphs = toParagraphs(draft.bodyLines);
  const text = paragraphs.map((p) => p.text).join('\n');
  const article: Article = {
    id: articleId(file, headline, text),
    file,
    headline,
    kind: draft.kind,
    paragraphs,
    text,
    start: draft.bodyLines[0]?.start ?? 0,
    end: draft.bodyLines.at(-1)?.end ?? 0,
  };
  if (kicker) article.kicker = kicker;
  const byline = bylineOf(draft, text);
  if (byline) article.byline = byline;
  const dateline = /^本报[\u4e00-\u9fff]{0,8}\d{1,2}月\d{1,2}日电/.exec(text)?.[0];
  if (dateline) article.dateline = dateline;
  if (draft.tipLines.length > 0) article.summary = draft.tipLines.reduce((acc, l) => joinWrapped(acc, l.text), '');
  return article;
}

/** Joins wrapped headline lines and separates the kicker (引题) from the title. */
function splitHeadline(headLines: Line[], bodyLines: Line[]): { headline: string; kicker?: string } {
  const logical: string[] = [];
  let wrapping = false;
  for (const line of headLines) {
    if (wrapping) logical[logical.length - 1] += line.text;
    else logical.push(line.text);
    wrapping = /[，、]$/.test(line.text);
  }
  const kickers: string[] = [];
  const titles: string[] = [];
  logical.forEach((text, i) => {
    const isLast = i === logical.length - 1;
    const markdownKicker = headLines.length > 1 && headLines.at(-1)!.level > 0 && !isLast && i === 0;
    if (!isLast && (text.endsWith('——') || SPEECH_KICKER.test(text) || markdownKicker)) kickers.push(text);
    else titles.push(text);
  });
  if (titles.length === 0) {
    // No headline was printed (or OCR lost it): name the article by its opening words.
    const opening = bodyLines.map((l) => l.text).join('').replace(/^本报讯（[^）]*）/, '');
    titles.push(`${opening.slice(0, 20)}…`);
  }
  return { headline: titles.join(' '), kicker: kickers.length ? kickers.join(' ') : undefined };
}

function bylineOf(draft: Draft, text: string): string | undefined {
  if (draft.bylineLines.length > 0) return draft.bylineLines.map((l) => l.text).join(' ');
  const reporters = /^(?:本报讯|本报[\u4e00-\u9fff]{0,8}\d{1,2}月\d{1,2}日电)（([^）]{2,60})）/.exec(text)?.[1];
  if (reporters) return reporters.replace(/\s+/g, ' ');
  if (draft.kind === 'photo') {
    const credit = /(?:^|[。！？”\s])([^。！？”]*摄(?:\/\S+)?)$/.exec(text)?.[1]?.trim();
    if (credit) return credit;
  }
  return undefined;
}

/** Rebuilds paragraphs from OCR lines. A line ending a sentence ends a paragraph when it is
 * shorter than the column (the last line of a paragraph rarely fills it); a short unpunctuated
 * line between paragraphs is a subhead. */
function toParagraphs(lines: Line[]): Paragraph[] {
  if (lines.length === 0) return [];
  const widths = lines.map((l) => visibleLength(l.text)).sort((a, b) => a - b);
  const column = widths[Math.floor(widths.length * 0.75)] ?? widths.at(-1)!;
  const paragraphs: Paragraph[] = [];
  let current: { text: string; start: number; end: number } | undefined;
  const close = (subhead = false) => {
    if (!current) return;
    paragraphs.push(subhead ? { ...current, subhead: true } : { ...current });
    current = undefined;
  };
  lines.forEach((line, i) => {
    const previous = lines[i - 1];
    const next = lines[i + 1];
    const length = visibleLength(line.text);
    // A subhead never opens the article, holds no sentence break, and follows a finished sentence.
    const isSubhead =
      previous !== undefined &&
      next !== undefined &&
      !isCredit(line) &&
      (line.level > 0 ||
        (!isTerminal(line) && !/[。！？]/.test(line.text) && length <= Math.min(20, 0.75 * column) && isTerminal(previous)));
    if (isSubhead) {
      close();
      current = { text: line.text, start: line.start, end: line.end };
      close(true);
      return;
    }
    if (isCreditOnly(line)) close();
    current = current
      ? { text: joinWrapped(current.text, line.text), start: current.start, end: line.end }
      : { text: line.text, start: line.start, end: line.end };
    const endsParagraph =
      isTerminal(line) && (length < 0.9 * column || column > 60 || !next || isCreditOnly(next) || next.level > 0);
    if (endsParagraph || !next) close();
  });
  close();
  return paragraphs;
}

/** Stable across edits to other pages: it depends on this article's file and words only. */
export function articleId(file: string, headline: string, text: string): string {
  const stem = path.basename(file).replace(/\.[^.]+$/, '');
  const digest = createHash('sha256').update(`${file}\n${headline}\n${text}`).digest('hex').slice(0, 10);
  return `${stem}:${digest}`;
}
