// Votes on answers for the one-process state store: held in memory and, given a file, kept there
// as JSON lines (one vote a line, the export's format), so that a restart keeps them. Each change
// rewrites the whole file to a temporary one and renames it over: a crash leaves the old file or
// the new one, never half of one. Votes are few (one a press), so rewriting stays cheap.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OperatorError } from '../errors.ts';
import type { FeedbackStore, FeedbackVote, Vote } from './port.ts';

const keyOf = (vote: FeedbackVote) => `${vote.answerId}/${vote.userHash}`;

function parseVote(line: string): FeedbackVote | undefined {
  try {
    const vote = JSON.parse(line) as FeedbackVote;
    const valid = (vote.vote === 'up' || vote.vote === 'down') && typeof vote.answerId === 'string' && typeof vote.userHash === 'string' && typeof vote.time === 'number';
    return valid ? vote : undefined;
  } catch {
    return undefined;
  }
}

export class FileFeedback implements FeedbackStore {
  /** One vote per answer and user; Map order is the order of the latest press. */
  private readonly votes = new Map<string, FeedbackVote>();
  private loaded?: Promise<void>;
  /** Writes one after another, each of the whole set as it is then. */
  private writing: Promise<void> = Promise.resolve();

  /** `file`: where votes persist (undefined: in memory only, as in unit tests). */
  constructor(private readonly file?: string) {}

  async vote(vote: FeedbackVote): Promise<Vote | undefined> {
    await this.load();
    const key = keyOf(vote);
    const previous = this.votes.get(key)?.vote;
    this.votes.delete(key);
    this.votes.set(key, { ...vote });
    await this.save();
    return previous;
  }

  async counts(): Promise<Record<Vote, number>> {
    await this.load();
    const counts = { up: 0, down: 0 };
    for (const vote of this.votes.values()) counts[vote.vote]++;
    return counts;
  }

  async recent(vote: Vote, limit: number): Promise<FeedbackVote[]> {
    return (await this.all()).filter((v) => v.vote === vote).reverse().slice(0, limit);
  }

  async all(): Promise<FeedbackVote[]> {
    await this.load();
    // Stable sort: equal times keep the order of their presses.
    return [...this.votes.values()].map((v) => ({ ...v })).sort((a, b) => a.time - b.time);
  }

  private load(): Promise<void> {
    return (this.loaded ??= this.read());
  }

  private async read(): Promise<void> {
    if (!this.file) return;
    const text = await readFile(this.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return ''; // no vote yet
      throw error;
    });
    for (const [i, line] of text.split('\n').entries()) {
      if (!line.trim()) continue;
      const vote = parseVote(line);
      // Refused rather than skipped: the next vote would rewrite the file without that line.
      if (!vote) throw new OperatorError(`${this.file} line ${i + 1} is not a vote: fix or remove that line (the votes are kept as they are until then).`);
      this.votes.set(keyOf(vote), vote);
    }
  }

  private save(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    const write = async () => {
      const lines = [...this.votes.values()].map((v) => `${JSON.stringify(v)}\n`).join('');
      const temporary = `${file}.${process.pid}.tmp`;
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(temporary, lines, 'utf8');
      await rename(temporary, file);
    };
    // A failed write must not stop later ones; the caller still hears of its own failure.
    const next = this.writing.then(write, write);
    this.writing = next.catch(() => {});
    return next;
  }
}

/** The file's name in INDEX_DIR, where the local backend keeps votes. */
export const FEEDBACK_FILE = 'feedback.jsonl';
