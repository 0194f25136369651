// Question understanding, deterministic and without an LLM: what shape of answer is asked for
// (one detail, a list across articles, a summary of one article, a comparison), which slot a
// detail fills (an amount, a count, a person, a date…) and its constraints (the thing counted,
// the unit, the year, plan or outcome, per unit or in total, who said vs what was said).
import { namedEntities, nounsOf } from '../index/keyword.ts';

export type QuestionKind = 'detail' | 'list' | 'summary' | 'comparison';
export type Slot = 'amount' | 'count' | 'measure' | 'ratio' | 'person' | 'speaker' | 'organisation' | 'place' | 'date' | 'title' | 'yesno' | 'other';

export interface QuestionFrame {
  kind: QuestionKind;
  slot: Slot;
  /** The unit a count is asked in (间 in 多少间). */
  unit?: string;
  /** The thing counted or paid for, as the question words it (环卫工人 in 多少名环卫工人). */
  counted?: string;
  /** The noun a count is asked of, named before it (配送员 in 外卖配送员有多少人): the value
   * must sit next to it, not just in the same clause. */
  countedBefore?: string;
  /** A day is asked (哪一天, 几号), not just a year or month. */
  day?: boolean;
  /** A year the question pins the answer to (2024年). */
  year?: string;
  /** Asked for the plan or the outcome (实际建成 vs 计划建设). */
  stage?: 'plan' | 'outcome';
  /** Asked per unit (每份, 人均) or in total (一共, 累计). */
  scope?: 'per-unit' | 'total';
  /** A remark the question quotes, for "who said". */
  quote?: string;
  /** A money question per period (一年下来, 每个月): 年, 月 or 天. */
  period?: string;
  /** Asked about what happened later (后来, 后续, 又): the value must be said to be later. */
  later?: boolean;
}

const UNITS = '名|人|家|间|项|次|场|份|条|支|所|座|本|期|件|批|台|辆|个|位|户|处|元|块|天|年|届|队|套|张|碗|杯|吨|公里|米|亩|栋|趟|万人|人次|万元|亿元';
const LIST_OBJECT = /(都有|有)(哪些|什么)(动态|新闻|报道|活动|举措|做法|工作|实事|好事|事情|行动)/;
const LIST = /哪些|哪几|都有谁|有谁|各地|分别是|都有什么|有什么.{0,4}(做法|举措|措施|活动|实事|好事|行动|经验)|列举|举几个/;
const LIST_SUBJECT = /哪些(地方|城市|地区|省份|省|市|县|区|工会|报道|单位|企业|公司|行业|人|劳模|工匠|文章|新闻)|各地|哪几个(地方|城市|省|市|工会)/;
const SUMMARY = /讲了(什么|啥|些什么)|讲的(是)?(什么|啥)|说了(什么|啥)|主要内容|主要讲|怎么回事|什么情况|啥情况|介绍一下|概括|总结|简要说说|简单说说|大概说|有哪些要点|要点是什么|报道了(什么|啥)/;
const MEASURES = /做了(些|哪些)?什么|(有|采取了?|出台了?)(什么|哪些)(做法|举措|措施|经验|办法|政策)|怎么做的|如何做的|是怎么做|具体做了/;
const COMPARISON = /相比|比较|对比|哪个(更|多|少|大|高)|区别|不同之处|有何不同|比.{1,12}(多|少|高|低|大)了?(多少)?/;
const SPEAKER = /(哪位|谁|哪个人).{0,12}说|说.{0,40}的.{0,10}(是谁|叫什么|是哪位)|谁说|是谁说|谁表示|谁提出|谁介绍|谁讲|谁的话|话是谁|出自谁|说.{0,30}的(人|是谁)|谁告诉|谁在.{0,10}(发言|致辞|表示)|代表.{0,10}发言.{0,6}谁|发言.{0,10}(的是|是)谁/;
const PERSON = /是谁|谁(拿|获|得|夺|当选|担任|负责|主持|带领|领衔)|哪位|什么人|叫什么(名字)?|姓名|名字|何人|谁是/;
const ORGANISATION = /哪(支|个)(队伍|团队|代表队|战队)|哪个(单位|部门|公司|企业|机构|组织|工会|协会|学校|医院|集团)|哪家|什么(单位|公司|企业|机构|组织|部门)|由谁(主办|承办|组织|牵头|发起)|主办方|承办方|哪(个|些)?部门/;
const PLACE = /哪里|在哪|什么地方|哪个(地方|城市|省|市|县|区|镇|街道)|何地|哪儿/;
const DATE = /什么时候|何时|哪天|哪一天|几月几[日号]|几月份?|哪年|哪一年|什么时间|日期|几号|多久|多长时间/;
const AMOUNT = /多少钱|资金|经费|金额|奖金|筹资|筹集|募集|投入|花了?多少|成本|补贴|补助|津贴|工资|月薪|年薪|收入|价格|费用|多少万|多少元|几万|赔付|赔偿|奖励了?多少/;
const COUNT = new RegExp(`(?:多少|几)(${UNITS})?`);
const RATIO = /比例|百分之|占比|多大比例|几成|百分比|率是?多少|增长了?多少/;
const PEOPLE = /职工|工人|员工|人员|选手|志愿者|会员|劳动者|骑手|快递员|司机|学生|代表|人$/;
const MEASURE = /占地|面积|多大(面积)?|多长|多高|多重|多远|多宽|多少平方米|多少亩|多少公里/;
const TITLE_NAME = /叫什么(?!名字)|名称是|题目是|书名/;
const YESNO = /吗[？?]?$|是否|有没有|是不是|能不能|可不可以|会不会/;

/** Reads a question into its frame. */
export function understand(question: string): QuestionFrame {
  const q = question.trim();
  const slot = slotOf(q);
  // "工作总结推进会是什么时候召开的" names a 总结; it asks for a date, not a summary.
  const kind = kindOf(q) === 'summary' && slot !== 'other' ? 'detail' : kindOf(q);
  const frame: QuestionFrame = { kind, slot };
  const unit = new RegExp(`(?:多少|几)(${UNITS})`).exec(q)?.[1];
  if (unit && frame.slot === 'count') frame.unit = unit;
  const counted = countedThing(q);
  if (counted) frame.counted = counted;
  const before = frame.slot === 'count' && !counted ? countedBefore(q) : undefined;
  // "比赛有多少人报名" counts people, not 比赛: a people count needs a noun for people.
  if (before && !(/^(人|名|位)$/.test(frame.unit ?? '') && !/(员|工|者|手|师|人|生|代表)$/.test(before))) frame.countedBefore = before;
  if (frame.slot === 'date' && /哪一?天|几号|几月几[日号]|具体日期|哪一日/.test(q)) frame.day = true;
  // "多少职工" counts people: 名, 人, 人次 all answer it.
  if (frame.slot === 'count' && !frame.unit && counted && PEOPLE.test(counted)) frame.unit = '人';
  const year = /((?:19|20)\d{2})年/.exec(q)?.[1];
  if (year) frame.year = year;
  if (/实际|最终|最后|到底|结果|已经|已|建成了|完成了|达到了|落实了|目前|现在|现有|如今/.test(q)) frame.stage = 'outcome';
  else if (/计划|预计|打算|将要|准备|目标|力争|要再/.test(q)) frame.stage = 'plan';
  // 每年 / 每月 make a money question per period ("每个月能补贴多少钱"); a date's 每年 does not.
  if (/每(个|名|人|位|家|间|份|次|户|所|座|场)|人均|平均|单价|一份|一个人|各[投拿获得分]/.test(q) || (frame.slot === 'amount' && /每(个)?(天|月|年)/.test(q))) frame.scope = 'per-unit';
  else if (/一共|总共|总计|共计|累计|合计|加起来|全部/.test(q)) frame.scope = 'total';
  const period = frame.slot === 'amount' ? /(?:每|一)个?(年|月|天)/.exec(q)?.[1] : undefined;
  if (period) frame.period = period;
  if (/后来|后续|此后|之后又|接下来/.test(q)) frame.later = true;
  const quote = /[“"「]([^”"」]{4,})[”"」]/.exec(q)?.[1];
  if (quote) frame.quote = quote;
  return frame;
}

function kindOf(q: string): QuestionKind {
  if (SUMMARY.test(q) && !COUNT.test(q.replace(/多少(?=钱)/, ''))) return 'summary';
  if (COMPARISON.test(q)) return 'comparison';
  // 哪些 inside one named place or organisation's story is a detail of that story ("邓州的
  // 资金来自哪些渠道"); across places it is a list.
  if (LIST_SUBJECT.test(q) || LIST_OBJECT.test(q) || (LIST.test(q) && namedEntities(q).length === 0)) return 'list';
  // "盐田区工会处理劳动纠纷有什么做法": one named place's measures, which its article tells.
  if (MEASURES.test(q) && namedEntities(q).length > 0) return 'summary';
  return 'detail';
}

const ENGLISH_SLOTS: [RegExp, Slot][] = [
  [/\bwho said\b/i, 'speaker'],
  [/\bwhat (percentage|proportion|share)\b/i, 'ratio'],
  [/\bhow much\b/i, 'amount'],
  [/\bhow many\b/i, 'count'],
  [/\b(when|what date|which day|what year|which year)\b/i, 'date'],
  [/\bwhich (company|organi[sz]ation|union|enterprise|department)\b/i, 'organisation'],
  [/\b(where|which (city|county|province|place|district|town))\b/i, 'place'],
  [/\bwho\b/i, 'person'],
];

function slotOf(q: string): Slot {
  if (/[A-Za-z]{3,}/.test(q) && !/[\u4e00-\u9fff]{4,}/.test(q)) return ENGLISH_SLOTS.find(([re]) => re.test(q))?.[1] ?? 'other';
  if (SPEAKER.test(q)) return 'speaker';
  if (RATIO.test(q)) return 'ratio';
  if (DATE.test(q)) return 'date';
  const countUnit = new RegExp(`(?:多少|几)(${UNITS})`).exec(q)?.[1];
  if ((countUnit && !/元|万元|亿元|块/.test(countUnit)) || /(多少|几)(职工|工人|员工|人|名|位|家|企业|选手|会员)/.test(q)) return 'count';
  if (AMOUNT.test(q) && /多少|几|多大|什么水平|标准是/.test(q)) return 'amount';
  if (COUNT.test(q) && /多少|几[^乎]/.test(q)) return 'count';
  if (MEASURE.test(q)) return 'measure';
  // "那家公司叫什么名字" asks for a company, not a person.
  if (/(公司|企业|单位|工厂|机构|出版社|学校|医院)(的)?(叫什么|名字|名称|是哪)/.test(q)) return 'organisation';
  if (TITLE_NAME.test(q)) return 'title';
  if (ORGANISATION.test(q)) return 'organisation';
  if (PERSON.test(q)) return 'person';
  if (PLACE.test(q)) return 'place';
  if (YESNO.test(q)) return 'yesno';
  return 'other';
}

/** The noun right after 多少名/几家…: what is counted (选手 in 多少名选手报名, 企业 in 几家企业). */
function countedThing(q: string): string | undefined {
  const m = new RegExp(`(?:多少|几)(?:${UNITS})?`).exec(q);
  if (!m) return undefined;
  const after = q.slice(m.index + m[0].length).split(/[？?，,。；;]/)[0];
  return nounsOf(after).find((n) => !/^(钱|时间|时候)$/.test(n));
}

/** The noun a count is asked of when it comes first: 配送员 in "外卖配送员有多少人", 人才 in
 * "高技能人才总量有多少". Only a noun: "建成了多少间" counts what 多少间 says. */
function countedBefore(q: string): string | undefined {
  const m = /(?:多少|几)/.exec(q);
  if (!m) return undefined;
  const segment = q.slice(0, m.index).split(/[，,。；;：:？?]/).at(-1) ?? '';
  const tail = segment
    .replace(/(?:的|总量|总数|数量|人数|规模|一共|总共|共|累计|合计|加起来|到底|大概|大约|约|有|是|为|达到|达|了|能|要)+$/, '')
    .split(/的|里|中|那|这/)
    .at(-1) ?? '';
  const last = nounsOf(tail).at(-1);
  if (last && tail.endsWith(last)) return last;
  // jieba reads 外卖配送员 as two verbs and a suffix: a word for people still ends like one.
  return /[\u4e00-\u9fff]{2}(员|工人|者|手|师)$/.test(tail) ? tail.slice(-3) : undefined;
}

const ASK = /多少|几[^乎]|哪|谁|什么|何时|是否|吗[？?]?$/;

/** A question with two asks ("有多少名选手报名？多少人进入决赛？") as its separate asks; the
 * later ones borrow the first one's topic words for retrieval-free matching. */
export function splitAsks(question: string): string[] {
  const parts = question
    .split(/(?<=[？?])|[，,；;](?=[^，,；;？?]*(?:多少|几[^乎]|哪|谁))/)
    .map((p) => p.trim())
    .filter((p) => p.replace(/[？?，,；;\s]/g, '').length >= 2);
  const asks = [...new Set(parts.filter((p) => ASK.test(p)))].slice(0, 3);
  return asks.length >= 2 ? asks : [question];
}

/** The part of a question that names what was asked, for "报道没有给出…" (question words and
 * trailing particles removed). */
export function askedPhrase(question: string): string {
  return question
    .trim()
    .replace(/^(请问|想问一下|想问|我想知道|问一下)[，,]?/, '')
    .replace(/[？?。！!]+$/, '')
    .replace(/(吗|呢|啊|呀)$/, '')
    .replace(/^(那|那么)[，,]?/, '')
    .replace(/[“”"「」]/g, '')
    .slice(0, 40);
}

const SLOT_LABEL: Record<Slot, string> = {
  amount: '具体金额',
  count: '具体数字',
  ratio: '具体比例',
  person: '具体人名',
  speaker: '说话人',
  organisation: '具体单位',
  place: '具体地点',
  date: '具体时间',
  measure: '具体数字',
  title: '具体名称',
  yesno: '明确答案',
  other: '相关内容',
};

/** What the answer says is missing, e.g. 上海2024年最后实际建成了多少间职工工间休息室（具体数字）. */
export function notReportedPhrase(question: string, frame: QuestionFrame): string {
  return `${askedPhrase(question)}（${SLOT_LABEL[frame.slot]}）`;
}
