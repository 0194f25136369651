// BM25 keyword index over Chinese text: jieba words, character bigrams, or both (measured in
// `npm run eval`; both is the default). Numbers and Latin words are whole tokens, and each
// Chinese word is also indexed by its toneless pinyin, so that an English question naming
// "Dengzhou" or "Qinzhou" finds 邓州 and 钦州.
import { createRequire } from 'node:module';
import { Jieba } from '@node-rs/jieba';
import { pinyin } from 'pinyin-pro';

export type KeywordMode = 'words' | 'bigrams' | 'both';

const require = createRequire(import.meta.url);
let jieba: Jieba | undefined;
export function segmenter(): Jieba {
  // The dictionary takes ~100 ms to load: once per process, on first use.
  jieba ??= Jieba.withDict(require('@node-rs/jieba/dict').dict);
  return jieba;
}

// Question words and particles: common in questions, absent from the news, so they would
// otherwise look like rare, decisive terms.
const QUESTION_NOISE = /多少|哪些|哪个|哪家|哪里|哪儿|什么|怎么样|怎么|怎样|如何|为什么|是否|有没有|是不是|请问|吗|呢|吧|啊|\?|？/g;
const STOP_WORDS = new Set('的 了 是 在 和 与 及 等 为 对 有 将 也 就 都 而 其 这 那 个 中 上 下 把 被 让 向 从 到 由 以 于 之 或 并 又 还 但 我 你 他 她 它 们 一 不 会 要 能 说 年 月 日'.split(' '));
const CJK_RUN = /[\u3400-\u9fff\uf900-\ufaff]+/g;
const ALNUM = /[A-Za-z]+|\d+(?:\.\d+)?%?/g;

// Words repeat across a corpus: converting each once keeps large builds fast.
const pinyinCache = new Map<string, string>();
function pinyinOf(word: string): string {
  let spelled = pinyinCache.get(word);
  if (spelled === undefined) {
    spelled = pinyin(word, { toneType: 'none', type: 'array' }).join('');
    if (pinyinCache.size > 500_000) pinyinCache.clear();
    pinyinCache.set(word, spelled);
  }
  return spelled;
}

export function tokenize(text: string, mode: KeywordMode, isQuery = false): string[] {
  const source = (isQuery ? text.replace(QUESTION_NOISE, ' ') : text).toLowerCase();
  const tokens: string[] = [];
  for (const m of source.matchAll(ALNUM)) tokens.push(m[0]);
  const words = segmenter()
    .cutForSearch(source, true)
    .filter((word) => /^[\u3400-\u9fff]{2,}$/.test(word) && !STOP_WORDS.has(word));
  if (mode !== 'bigrams') tokens.push(...words);
  // Documents only: a query in Chinese has no Latin words to meet these tokens.
  if (!isQuery) for (const word of words) if (word.length <= 4) tokens.push(pinyinOf(word));
  if (mode !== 'words') {
    for (const m of source.matchAll(CJK_RUN)) {
      const run = m[0];
      for (let i = 0; i + 1 < run.length; i++) {
        if (STOP_WORDS.has(run[i]) && STOP_WORDS.has(run[i + 1])) continue;
        tokens.push(`${run[i]}${run[i + 1]}`);
      }
    }
  }
  // In 'both' mode a two-character jieba word and the same bigram are one term, counted twice:
  // a deliberate boost for real words.
  return tokens;
}

// Generic geographic words jieba tags as places: they name no particular place.
const GENERIC_PLACES = new Set('东西 城市 地方 当地 本地 全国 中国 国家 全省 全市 全区 全县 农村 城区 城乡 大街 街道 高原 西北 东北 西南 东南 华北 华南 华东 华中 沿海 内地 海外 各地 基层 新春 惠及 大国 新建 公共场所 场所 联合会'.split(' '));
const ADMIN_SUFFIX = /(?:特别行政区|自治区|自治州|自治县|总工会|工会|集团|公司|省|市|县|区|州|镇|乡|村)$/;

/** Places and organisations a Chinese question names (杭州市 → 杭州), for checking that an
 * article is about them. Person names are left out: jieba tags too many common words as names. */
export function namedEntities(question: string): string[] {
  const found = new Set<string>();
  for (const { word, tag } of segmenter().tag(question, true)) {
    // nz (other proper nouns) only when long enough to be a name, such as 大庆油田.
    if (tag !== 'ns' && tag !== 'nt' && !(tag === 'nz' && word.length >= 3)) continue;
    const stem = word.replace(ADMIN_SUFFIX, '');
    if (stem.length >= 2 && !GENERIC_PLACES.has(stem) && !GENERIC_PLACES.has(word)) found.add(stem);
  }
  return [...found];
}

/** Whether a text mentions a name the question used: as printed, or, for a 3–4 character name,
 * as the full form it abbreviates (全委会 → 委员会第六次全体会议, 中互会 → 中国职工保险互助会):
 * every character within a short stretch. Two-character names must be literal: 吴忠 is not 吴…忠. */
export function mentions(text: string, name: string): boolean {
  if (text.includes(name)) return true;
  const chars = [...name];
  if (chars.length < 3 || chars.length > 4 || !chars.every((c) => /\p{Script=Han}/u.test(c))) return false;
  const reach = chars.length * 4;
  for (let i = text.indexOf(chars[0]); i !== -1; i = text.indexOf(chars[0], i + 1)) {
    const stretch = text.slice(Math.max(0, i - reach), i + reach);
    if (chars.every((c) => stretch.includes(c))) return true;
  }
  return false;
}

// Common surnames: jieba tags many ordinary words as person names (nr); one that starts with a
// surname and is 2-3 characters long is far more likely a name.
const SURNAMES = new Set('王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝杭'.split(''));

const TITLE = '书记|主席|副主席|经理|总经理|副总|行政副总|总监|董事长|代表|选手|小哥|驾驶员|司机|负责人|部长|局长|厅长|院长|校长|主任|队长|组长|站长|所长|工程师|技师|师傅|工人|职工|员工|会员|委员|主管|专家|教授|老师|医生|护士|劳模|工匠|记者|通讯员|快递员|外卖员|环卫工|保洁员|检验员|维修工|焊工|电工|班长|厂长|矿长|老板|店主|村民|市民|居民|妻子|丈夫|母亲|父亲|女儿|儿子';
const PERSON_AFTER_TITLE = new RegExp(`(?:${TITLE})([\u4e00-\u9fff]{2,3}?)(?=说|表示|告诉|介绍|坦言|认为|指出|感慨|笑着|夺得|获得|荣获|当选|带领|负责|是|在|的|，|、|（|。|：|“|$)`, 'g');
const PERSON_BEFORE_VERB = /([\u4e00-\u9fff]{2,3}?)(?=说：|说，|告诉记者|表示，|介绍，|坦言|赞不绝口|感慨)/g;
const SURNAME_HONORIFIC = /([\u4e00-\u9fff])(师傅|大姐|大哥|阿姨|女士|先生)/g;

/** Person names in a text: 2-3 characters starting with a common surname, after a title
 * (主席许明云) or before a speech verb (潘定一告诉记者); X某 stand-ins count too. jieba's own
 * name tags miss most of these. */
export function personNames(text: string): string[] {
  const found = new Set<string>();
  const add = (name: string) => {
    if (SURNAMES.has(name[0]) && !/[的了是在和与说]/.test(name.slice(1))) found.add(name);
  };
  for (const m of text.matchAll(PERSON_AFTER_TITLE)) add(m[1]);
  for (const m of text.matchAll(PERSON_BEFORE_VERB)) add(m[1].length === 3 && !SURNAMES.has(m[1][0]) ? m[1].slice(1) : m[1]);
  for (const m of text.matchAll(/(?<=^|[，。、：；“（和与及对向被让给\s])([\u4e00-\u9fff])某/g)) if (SURNAMES.has(m[1])) found.add(`${m[1]}某`);
  for (const m of text.matchAll(SURNAME_HONORIFIC)) if (SURNAMES.has(m[1])) found.add(m[0]);
  return [...found];
}

/** Place names only (jieba's ns tag), as printed: 浏阳, 阜宁县. */
export function placeNames(text: string): string[] {
  return [...new Set(segmenter().tag(text, true).filter(({ word, tag }) => tag === 'ns' && word.length >= 2 && !GENERIC_PLACES.has(word)).map(({ word }) => word))];
}

const ADMIN_UNIT = /(?:自治区|自治州|自治县|省|市|县|区|州|镇|旗)(?!委|直|级|场|民|长|政府|人大)/g;
/** Nouns that end like a place and are not one: 园区, 灾区, 乡镇, 全市. */
const NOT_A_PLACE = /(?:地区|园区|社区|城区|景区|灾区|山区|辖区|片区|开发区|新区|专区|市区|郊区|街区|小区|校区|厂区|矿区|乡镇|城镇|村镇|集镇|全市|全县|全区|全省|本市|我市|该市|各市|各县|各区|省市|市县|县区|城市|都市|超市|门市)$/;
const NAME_TAGS = new Set(['ns', 'nr', 'nrt', 'nz', 'nt', 'n', 's', 'x', 'j', 'ng']);

/** Places printed with their administrative unit (龙岗区, 积石山县, 青岛市), in order. The stem
 * before the unit must be one word of a naming kind: "2027年实现市" and "商贸园区" are not places. */
export function suffixedPlaces(text: string): { name: string; at: number }[] {
  const found: { name: string; at: number }[] = [];
  for (const m of text.matchAll(ADMIN_UNIT)) {
    const end = m.index ?? 0;
    for (const length of [4, 3, 2]) {
      const stem = text.slice(Math.max(0, end - length), end);
      if (stem.length < length || !/^[\u4e00-\u9fff]+$/.test(stem)) continue;
      const tokens = segmenter().tag(stem, true);
      if (tokens.length !== 1 || !NAME_TAGS.has(tokens[0].tag)) continue;
      if (!NOT_A_PLACE.test(`${stem}${m[0]}`) && !GENERIC_PLACES.has(stem)) found.push({ name: `${stem}${m[0]}`, at: end - length });
      break;
    }
  }
  return found;
}

/** Nouns that carry a question's demand but rarely its topic: not evidence either way. */
export const GENERIC_NOUNS = new Set('工会 职工 工人 企业 公司 今年 目前 一共 总共 分别 主要 具体 相关 情况 开展 举办 哪位 地方 小哥 问题 方面 时候 东西 人员 单位 部门 活动 工作 事情 时间 名字 城市 大街'.split(' '));

/** Nouns of a question (jieba tags n*, vn): the things it asks about. */
export function nounsOf(question: string): string[] {
  return segmenter()
    .tag(question, true)
    .filter(({ word, tag }) => (tag.startsWith('n') || tag === 'vn') && /^[\u3400-\u9fff]{2,}$/.test(word))
    .map(({ word }) => word);
}

export interface KeywordHit {
  doc: number;
  score: number;
}

interface SerializedKeywordIndex {
  format: 1;
  mode: KeywordMode;
  k1: number;
  b: number;
  lengths: number[];
  /** term → base64 of a Uint32Array [doc, tf, doc, tf, …] */
  postings: Record<string, string>;
}

const MODES: KeywordMode[] = ['words', 'bigrams', 'both'];
/** keyword.bin: "NQKW", version, then counts; little-endian Uint32 throughout. */
const BINARY_MAGIC = 0x574b514e;
const BINARY_VERSION = 1;
const HEADER_WORDS = 8;

/** A document the index gains: its number in the new index and its text. */
export interface AddedDoc {
  doc: number;
  text: string;
}

export class KeywordIndex {
  readonly mode: KeywordMode;
  private readonly k1 = 1.2;
  private readonly b = 0.75;
  private lengths: Uint32Array;
  private averageLength: number;
  /** term → its number; its postings are postings[offsets[n] .. offsets[n + 1]], [doc, tf, …]
   * sorted by doc. One flat array rather than a typed array per term: far less memory. */
  private terms: Map<string, number>;
  private offsets: Uint32Array;
  private postings: Uint32Array;

  private constructor(mode: KeywordMode, lengths: Uint32Array, terms: Map<string, number>, offsets: Uint32Array, postings: Uint32Array) {
    this.mode = mode;
    this.lengths = lengths;
    this.terms = terms;
    this.offsets = offsets;
    this.postings = postings;
    this.averageLength = lengths.length ? lengths.reduce((a, n) => a + n, 0) / lengths.length : 0;
  }

  get size(): number {
    return this.lengths.length;
  }

  /** The postings of a term, [doc, tf, …] sorted by doc; undefined for an unknown term. */
  private list(term: string): Uint32Array | undefined {
    const n = this.terms.get(term);
    return n === undefined ? undefined : this.postings.subarray(this.offsets[n], this.offsets[n + 1]);
  }

  static build(texts: string[], mode: KeywordMode): KeywordIndex {
    const lengths = new Uint32Array(texts.length);
    const lists = new Map<string, number[]>();
    texts.forEach((text, doc) => addDoc(lists, lengths, doc, text, mode));
    return KeywordIndex.fromLists(mode, lengths, lists);
  }

  private static fromLists(mode: KeywordMode, lengths: Uint32Array, lists: Map<string, number[]>): KeywordIndex {
    let total = 0;
    for (const list of lists.values()) total += list.length;
    const postings = new Uint32Array(total);
    const offsets = new Uint32Array(lists.size + 1);
    const terms = new Map<string, number>();
    let at = 0;
    for (const [term, list] of lists) {
      offsets[terms.size] = at;
      terms.set(term, terms.size);
      postings.set(list, at);
      at += list.length;
    }
    offsets[terms.size] = at;
    return new KeywordIndex(mode, lengths, terms, offsets, postings);
  }

  /** This index with some documents removed and others added, without re-tokenising the rest:
   * `renumber[old doc]` is the document's number in the new index, or -1 if it is removed (the
   * kept documents must keep their order); `added` are tokenised now. Scores equal those of
   * KeywordIndex.build over the new documents in their new order. */
  withChanges(renumber: Int32Array, size: number, added: AddedDoc[]): KeywordIndex {
    if (renumber.length !== this.lengths.length) throw new Error(`renumber has ${renumber.length} entries for ${this.lengths.length} documents`);
    const lengths = new Uint32Array(size);
    let previous = -1;
    for (let doc = 0; doc < renumber.length; doc++) {
      const to = renumber[doc];
      if (to < 0) continue;
      if (to <= previous || to >= size) throw new Error('kept documents must keep their order');
      lengths[to] = this.lengths[doc];
      previous = to;
    }
    const extra = new Map<string, number[]>();
    for (const { doc, text } of [...added].sort((a, b) => a.doc - b.doc)) addDoc(extra, lengths, doc, text, this.mode);
    let extraTotal = 0;
    for (const list of extra.values()) extraTotal += list.length;
    const source = this.postings;
    const postings = new Uint32Array(source.length + extraTotal);
    const offsets: number[] = [];
    const terms = new Map<string, number>();
    let at = 0;
    const emit = (term: string, start: number) => {
      if (at === start) return; // every document holding the term was removed
      offsets.push(start);
      terms.set(term, terms.size);
    };
    for (const [term, n] of this.terms) {
      const start = at;
      const more = extra.get(term);
      let m = 0;
      for (let i = this.offsets[n], end = this.offsets[n + 1]; i < end; i += 2) {
        const doc = renumber[source[i]];
        if (doc < 0) continue;
        if (more) {
          while (m < more.length && more[m] < doc) {
            postings[at++] = more[m++];
            postings[at++] = more[m++];
          }
        }
        postings[at++] = doc;
        postings[at++] = source[i + 1];
      }
      if (more) {
        while (m < more.length) postings[at++] = more[m++];
        extra.delete(term);
      }
      emit(term, start);
    }
    for (const [term, list] of extra) {
      const start = at;
      postings.set(list, at);
      at += list.length;
      emit(term, start);
    }
    offsets.push(at);
    return new KeywordIndex(this.mode, lengths, terms, Uint32Array.from(offsets), postings.subarray(0, at));
  }

  search(query: string, k: number): KeywordHit[] {
    const terms = [...new Set(tokenize(query, this.mode, true))];
    const n = this.lengths.length;
    if (n === 0 || terms.length === 0) return [];
    // A dense score array: at 100k chunks a common term has tens of thousands of postings,
    // and typed-array updates are several times faster than a Map.
    const scores = new Float64Array(n);
    const touched: number[] = [];
    for (const term of terms) {
      const list = this.list(term);
      if (!list) continue;
      const df = list.length / 2;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      for (let i = 0; i < list.length; i += 2) {
        const doc = list[i];
        const tf = list[i + 1];
        const norm = tf + this.k1 * (1 - this.b + (this.b * this.lengths[doc]) / this.averageLength);
        if (scores[doc] === 0) touched.push(doc);
        scores[doc] += (idf * tf * (this.k1 + 1)) / norm;
      }
    }
    return topK(touched, scores, k);
  }

  /** Sum of the IDF of the question's terms that occur in `text`, over the ideal score (0..1):
   * how much of the question one passage covers, whatever the article's headline says. */
  coverage(query: string, text: string): number {
    const terms = [...new Set(tokenize(query, this.mode, true))];
    const present = new Set(tokenize(text, this.mode));
    const n = Math.max(1, this.lengths.length);
    let hit = 0;
    let total = 0;
    for (const term of terms) {
      const df = (this.list(term)?.length ?? 0) / 2;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      total += idf;
      if (present.has(term)) hit += idf;
    }
    return total > 0 ? hit / total : 0;
  }

  /** coverage() for documents already in the index, read from the postings: no tokenising. */
  coverageOfDocs(query: string, docs: number[]): Map<number, number> {
    const n = Math.max(1, this.lengths.length);
    const terms = [...new Set(tokenize(query, this.mode, true))].map((term) => {
      const list = this.list(term);
      const df = (list?.length ?? 0) / 2;
      return { list, idf: Math.log(1 + (n - df + 0.5) / (df + 0.5)) };
    });
    const total = terms.reduce((sum, t) => sum + t.idf, 0);
    const result = new Map<number, number>();
    for (const doc of docs) {
      let hit = 0;
      for (const { list, idf } of terms) if (list && hasDoc(list, doc)) hit += idf;
      result.set(doc, total > 0 ? hit / total : 0);
    }
    return result;
  }

  /** The best possible score for a query: every term matched once in an average document.
   * Dividing by it gives a 0..~1 relevance that is comparable across questions. With
   * `knownOnly`, words the corpus never uses (English function words) do not count. */
  idealScore(query: string, knownOnly = false): number {
    const terms = [...new Set(tokenize(query, this.mode, true))].filter((t) => !knownOnly || this.terms.has(t));
    const n = Math.max(1, this.lengths.length);
    return terms.reduce((sum, term) => {
      const df = (this.list(term)?.length ?? 0) / 2;
      return sum + Math.log(1 + (n - df + 0.5) / (df + 0.5));
    }, 0);
  }

  /** The binary form (keyword.bin), as parts to write one after another: a header, the document
   * lengths, the term offsets and the postings as Uint32 arrays, then the terms, one a line. */
  toBinary(): Buffer[] {
    const termList = [...this.terms.keys()];
    if (termList.some((t) => t.includes('\n'))) throw new Error('a keyword term holds a line break');
    const names = Buffer.from(termList.join('\n'), 'utf8');
    const header = new Uint32Array([BINARY_MAGIC, BINARY_VERSION, MODES.indexOf(this.mode), this.lengths.length, termList.length, this.postings.length, names.length, 0]);
    const bytes = (a: Uint32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    return [bytes(header), bytes(this.lengths), bytes(this.offsets), bytes(this.postings), names];
  }

  /** Reads keyword.bin. The arrays are views of `data`, which must not be reused. */
  static fromBinary(data: Buffer): KeywordIndex {
    const aligned = data.byteOffset % 4 === 0 ? data : Buffer.from(data);
    const words = (at: number, count: number) => {
      if (at + count * 4 > aligned.length) throw new Error('keyword index is cut short');
      return new Uint32Array(aligned.buffer, aligned.byteOffset + at, count);
    };
    if (aligned.length < HEADER_WORDS * 4) throw new Error('keyword index is cut short');
    const [magic, version, mode, docs, termCount, postingCount, nameBytes] = words(0, HEADER_WORDS);
    if (magic !== BINARY_MAGIC || version !== BINARY_VERSION || !MODES[mode]) throw new Error('keyword index has an unknown format');
    let at = HEADER_WORDS * 4;
    const lengths = words(at, docs);
    at += docs * 4;
    const offsets = words(at, termCount + 1);
    at += (termCount + 1) * 4;
    const postings = words(at, postingCount);
    at += postingCount * 4;
    if (at + nameBytes !== aligned.length) throw new Error('keyword index has the wrong size');
    const names = nameBytes ? aligned.toString('utf8', at, at + nameBytes).split('\n') : [];
    if (names.length !== termCount || offsets[termCount] !== postingCount) throw new Error('keyword index disagrees with itself');
    const terms = new Map<string, number>();
    names.forEach((term, n) => terms.set(term, n));
    return new KeywordIndex(MODES[mode], lengths, terms, offsets, postings);
  }

  toJSON(): SerializedKeywordIndex {
    const postings: Record<string, string> = {};
    for (const term of this.terms.keys()) {
      const list = this.list(term)!;
      postings[term] = Buffer.from(list.buffer, list.byteOffset, list.byteLength).toString('base64');
    }
    return { format: 1, mode: this.mode, k1: this.k1, b: this.b, lengths: [...this.lengths], postings };
  }

  static fromJSON(data: SerializedKeywordIndex): KeywordIndex {
    if (data?.format !== 1 || !Array.isArray(data.lengths) || typeof data.postings !== 'object') {
      throw new Error('keyword index has an unknown format');
    }
    const lists = new Map<string, number[]>();
    for (const [term, encoded] of Object.entries(data.postings)) {
      const bytes = Buffer.from(encoded, 'base64');
      lists.set(term, [...new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))]);
    }
    return KeywordIndex.fromLists(data.mode, Uint32Array.from(data.lengths), lists);
  }
}

/** Tokenises one document into `lists` (term → [doc, tf, …]) and records its length. */
function addDoc(lists: Map<string, number[]>, lengths: Uint32Array, doc: number, text: string, mode: KeywordMode): void {
  const counts = new Map<string, number>();
  const tokens = tokenize(text, mode);
  lengths[doc] = tokens.length;
  for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  for (const [term, tf] of counts) {
    let list = lists.get(term);
    if (!list) lists.set(term, (list = []));
    list.push(doc, tf);
  }
}

/** The k best documents by score, without sorting every touched document. */
function topK(docs: number[], scores: Float64Array, k: number): KeywordHit[] {
  if (docs.length <= k * 4) return docs.map((doc) => ({ doc, score: scores[doc] })).sort((a, b) => b.score - a.score).slice(0, k);
  const best: KeywordHit[] = [];
  let floor = -Infinity;
  for (const doc of docs) {
    const score = scores[doc];
    if (best.length >= k && score <= floor) continue;
    best.push({ doc, score });
    if (best.length > k * 2) {
      best.sort((a, b) => b.score - a.score);
      best.length = k;
      floor = best[k - 1].score;
    }
  }
  return best.sort((a, b) => b.score - a.score).slice(0, k);
}

/** Binary search over a postings list [doc, tf, doc, tf, …] sorted by doc. */
function hasDoc(list: Uint32Array, doc: number): boolean {
  let low = 0;
  let high = list.length / 2 - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const value = list[mid * 2];
    if (value === doc) return true;
    if (value < doc) low = mid + 1;
    else high = mid - 1;
  }
  return false;
}
