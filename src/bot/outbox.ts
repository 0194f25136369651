// Every call the bot makes to Telegram goes through here, never awaited by an update handler:
// one lane per chat keeps a chat's messages in order and holds back only that chat when Telegram
// is slow or answers 429; sliding windows keep within Telegram's limits (about 1 message a second
// per chat, 20 a minute per group, 30 a second in all). Nothing is dropped without a log line.
import type { Telegram } from 'telegraf';
import type { Logger } from '../log.ts';

interface Window {
  limit: number;
  windowMs: number;
}

export interface OutboxLimits {
  /** Per chat: at most `limit` messages in `windowMs` (a short burst, 1/s on average). */
  chat: Window;
  /** Per group or channel, on top of `chat`. */
  group: Window;
  /** All chats together. */
  global: Window;
  /** 429s before a message is given up; one asking to wait longer than maxRetryAfterS is given up
   * at once (the chat still waits it out). */
  max429: number;
  maxRetryAfterS: number;
  /** Network errors and 5xx: retries, with backoff from 1 s. */
  maxNetworkRetries: number;
  /** A call Telegram has not answered by then is given up, not retried: it may still arrive. */
  callTimeoutMs: number;
  /** Messages waiting in one chat's lane beyond which new ones are refused (and logged). */
  maxPerLane: number;
}

export const TELEGRAM_LIMITS: OutboxLimits = {
  chat: { limit: 3, windowMs: 3_000 },
  group: { limit: 20, windowMs: 60_000 },
  global: { limit: 30, windowMs: 1_000 },
  max429: 5,
  maxRetryAfterS: 120,
  maxNetworkRetries: 3,
  callTimeoutMs: 60_000,
  maxPerLane: 100,
};

export interface CallOptions {
  /** 'message' (the default) counts against the chat's limits and waits its turn in the chat's
   * lane; 'light' calls (typing, button answers, file links) are not messages and go at once. */
  kind?: 'message' | 'light';
  /** A cosmetic call (typing…): tried once, failures logged at debug level only. */
  optional?: boolean;
}

interface Job {
  label: string;
  call: (telegram: Telegram) => Promise<unknown>;
  resolve: (value: unknown) => void;
  optional: boolean;
  attempts429: number;
  attemptsNetwork: number;
}

/** How many of `times` (ascending) fall in the window; how long until one more fits. */
function windowWait(times: number[], { limit, windowMs }: Window, now: number): number {
  const recent = times.filter((t) => t > now - windowMs);
  return recent.length < limit ? 0 : recent[recent.length - limit] + windowMs - now;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

class CallTimeout extends Error {}

type Failure = { code?: number | string; response?: { error_code?: number; description?: string; parameters?: { retry_after?: number } }; message?: string };

/** What to do about a failed call: wait and retry, or give up (and how loudly). A 429 always
 * says how long the chat must wait, whatever becomes of this call. */
type Verdict = { retry: boolean; pauseMs: number; level: 'quiet' | 'info' | 'warn'; why: string };

function judge(error: unknown, job: Job, limits: OutboxLimits): Verdict {
  const failure = (error ?? {}) as Failure;
  const status = failure.response?.error_code ?? (typeof failure.code === 'number' ? failure.code : undefined);
  const description = failure.response?.description ?? failure.message ?? String(error);
  if (status === 429) {
    // The whole wait, always: retrying early only lengthens Telegram's ban.
    const seconds = failure.response?.parameters?.retry_after ?? 1;
    const pauseMs = seconds * 1000;
    if (job.optional) return { retry: false, pauseMs, level: 'quiet', why: description };
    if (seconds > limits.maxRetryAfterS) return { retry: false, pauseMs, level: 'warn', why: `429 with retry_after ${seconds} s, longer than ${limits.maxRetryAfterS} s` };
    const retry = ++job.attempts429 <= limits.max429;
    return { retry, pauseMs, level: 'warn', why: retry ? 'Telegram asked to slow down (429)' : `still 429 after ${limits.max429} waits` };
  }
  const giveUp = (level: Verdict['level'], why: string): Verdict => ({ retry: false, pauseMs: 0, level: job.optional ? 'quiet' : level, why });
  if (error instanceof CallTimeout) return giveUp('warn', `${description}; not retried, as it may still arrive`);
  if (status === 403) return giveUp('info', `the user blocked the bot or it left the chat (${description})`);
  if (status === 400 && /message is not modified/i.test(description)) return giveUp('quiet', 'unchanged');
  if (status !== undefined && status < 500) return giveUp('warn', `${status} ${description}`);
  if (job.optional) return giveUp('quiet', description);
  if (++job.attemptsNetwork > limits.maxNetworkRetries) return giveUp('warn', `${description} (after ${limits.maxNetworkRetries} retries)`);
  return { retry: true, pauseMs: 1000 * 2 ** (job.attemptsNetwork - 1), level: 'warn', why: description };
}

export class Outbox {
  /** Waiting messages per chat; a lane exists while it has work. */
  private readonly lanes = new Map<number, Job[]>();
  /** Send times per chat, kept while they still count against a window (they outlive lanes). */
  private readonly sent = new Map<number, number[]>();
  private readonly globalSent: number[] = [];
  /** Until when a chat must wait, from Telegram's retry_after. */
  private readonly pausedUntil = new Map<number, number>();
  /** Calls given up, by reason class: for /stats and the load test. */
  readonly failures = { blocked: 0, gaveUp: 0 };

  constructor(
    private readonly telegram: Telegram,
    private readonly logger: Logger,
    private readonly options: { limits?: OutboxLimits; track?: (pending: Promise<unknown>) => void } = {},
  ) {}

  private get limits(): OutboxLimits {
    return this.options.limits ?? TELEGRAM_LIMITS;
  }

  /** Queues a call; resolves with its result, or undefined once it has been given up (logged). */
  send<T>(chatId: number, label: string, call: (telegram: Telegram) => Promise<T>, options: CallOptions = {}): Promise<T | undefined> {
    const pending = new Promise<T | undefined>((resolve) => {
      const job: Job = { label, call, resolve: resolve as (v: unknown) => void, optional: options.optional ?? false, attempts429: 0, attemptsNetwork: 0 };
      if (options.kind === 'light') return void this.runLight(chatId, job);
      const lane = this.lanes.get(chatId);
      if (lane && lane.length >= this.limits.maxPerLane) {
        this.report(chatId, job, { retry: false, pauseMs: 0, level: 'warn', why: `${lane.length} messages already wait for this chat` });
        return resolve(undefined);
      }
      if (lane) return void lane.push(job);
      this.lanes.set(chatId, [job]);
      void this.pump(chatId);
    });
    this.options.track?.(pending);
    return pending;
  }

  /** Whether a chat is waiting out a 429 (cosmetic calls to it are pointless meanwhile). */
  paused(chatId: number): boolean {
    return (this.pausedUntil.get(chatId) ?? 0) > Date.now();
  }

  /** Whether a cosmetic message (a streamed preview) may go now without costing a real one
   * its turn: nothing waits in the chat's lane, no limit holds it back, and a group keeps
   * `reserve` of its per-minute messages free. */
  hasRoom(chatId: number, reserve: number): boolean {
    if (this.lanes.has(chatId) || this.waitFor(chatId) > 0) return false;
    if (chatId >= 0) return true;
    const { group } = this.limits;
    const now = Date.now();
    const recent = (this.sent.get(chatId) ?? []).filter((t) => t > now - group.windowMs).length;
    return group.limit - recent > reserve;
  }

  /** How long until a 429's pause ends for this chat (0 if none). */
  pausedFor(chatId: number): number {
    return Math.max(0, (this.pausedUntil.get(chatId) ?? 0) - Date.now());
  }

  /** What is still waiting, per chat: for the log when a shutdown cannot wait any longer. */
  waiting(): string[] {
    return [...this.lanes].map(([chatId, jobs]) => `chat ${chatId}: ${jobs.map((j) => j.label).join(', ')}`);
  }

  /** Sends a chat's jobs one at a time, in order; only this chat waits for its own limits. */
  private async pump(chatId: number): Promise<void> {
    const jobs = this.lanes.get(chatId)!;
    try {
      while (jobs.length > 0) {
        const wait = this.waitFor(chatId);
        if (wait > 0) {
          await sleep(wait);
          continue;
        }
        this.count(chatId);
        if (!(await this.attempt(chatId, jobs[0]))) jobs.shift();
      }
    } catch (error) {
      // A bug here must not leave the chat's lane stuck with promises that never settle.
      this.logger.error(`Outbox for chat ${chatId} failed: ${(error as Error)?.message ?? error}; ${jobs.length} messages not sent`);
      for (const job of jobs.splice(0)) job.resolve(undefined);
    } finally {
      this.lanes.delete(chatId);
    }
  }

  private count(chatId: number): void {
    const now = Date.now();
    const times = (this.sent.get(chatId) ?? []).filter((t) => t > now - this.limits.group.windowMs);
    this.sent.set(chatId, [...times, now]);
    this.globalSent.push(now);
    while (this.globalSent.length > 0 && this.globalSent[0] <= now - this.limits.global.windowMs) this.globalSent.shift();
    if (this.sent.size > 10_000) this.forgetIdleChats(now);
  }

  /** Bounded memory: a chat whose last send has left every window has nothing to remember. */
  private forgetIdleChats(now: number): void {
    for (const [chatId, times] of this.sent) if (times[times.length - 1] <= now - this.limits.group.windowMs) this.sent.delete(chatId);
    for (const [chatId, until] of this.pausedUntil) if (until <= now) this.pausedUntil.delete(chatId);
  }

  private waitFor(chatId: number): number {
    const now = Date.now();
    const { chat, group, global } = this.limits;
    const times = this.sent.get(chatId) ?? [];
    return Math.max(
      (this.pausedUntil.get(chatId) ?? 0) - now,
      windowWait(times, chat, now),
      chatId < 0 ? windowWait(times, group, now) : 0,
      windowWait(this.globalSent, global, now),
    );
  }

  /** Light calls are not messages: they skip the chat's lane (a button's spinner must not wait
   * behind a long answer) and the message windows; only a 429 makes them wait. Telegram's
   * per-chat limit counts messages; a reaction or "typing…" counted there would halve a group's
   * answers (20 a minute). A cosmetic one is dropped while its chat waits out a 429. */
  private async runLight(chatId: number, job: Job): Promise<void> {
    if (job.optional && this.paused(chatId)) {
      this.report(chatId, job, { retry: false, pauseMs: 0, level: 'quiet', why: 'the chat is waiting out a 429' });
      return job.resolve(undefined);
    }
    while (await this.attempt(chatId, job)) await sleep((this.pausedUntil.get(chatId) ?? 0) - Date.now());
  }

  /** One try. Returns true to try again later (after the chat's pause); otherwise the job has
   * been resolved, with its result or, given up, with undefined. */
  private async attempt(chatId: number, job: Job): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CallTimeout(`no answer from Telegram in ${this.limits.callTimeoutMs / 1000} s`)), this.limits.callTimeoutMs);
    });
    try {
      job.resolve(await Promise.race([job.call(this.telegram), timeout]));
      return false;
    } catch (error) {
      const verdict = judge(error, job, this.limits);
      if (verdict.pauseMs > 0) this.pausedUntil.set(chatId, Math.max(this.pausedUntil.get(chatId) ?? 0, Date.now() + verdict.pauseMs));
      if (verdict.retry) {
        this.logger.warn(`${job.label} to chat ${chatId}: ${verdict.why}; retrying in ${verdict.pauseMs / 1000} s`);
        return true;
      }
      this.report(chatId, job, verdict);
      job.resolve(undefined);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  private report(chatId: number, job: Job, verdict: Verdict): void {
    const line = `${job.label} to chat ${chatId} not delivered: ${verdict.why}`;
    if (verdict.level === 'quiet') return this.logger.debug(line);
    if (verdict.level === 'info') {
      this.failures.blocked++;
      return this.logger.info(line);
    }
    this.failures.gaveUp++;
    this.logger.warn(line);
  }
}
