// A fresh database per test on the throwaway cluster test/run.ts starts (TEST_DATABASE_URL).
import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import pg from 'pg';

let admin: pg.Pool | undefined;
// Registered when the test file imports this, so it runs after the file's last test, not its first.
after(() => admin?.end());

/** Creates a database with a random name; `settings` become its defaults (ALTER DATABASE … SET). */
export async function freshDatabaseUrl(settings: Record<string, string> = {}): Promise<string> {
  admin ??= new pg.Pool({ connectionString: process.env.TEST_DATABASE_URL, max: 1 });
  const name = `t_${randomBytes(6).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  for (const [key, value] of Object.entries(settings)) await admin.query(`ALTER DATABASE ${name} SET ${key} = ${value}`);
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}
