// The project's .npmrc must let a failing install say why (it once printed nothing, rc=1).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/tmp.ts';

test('a failing npm install under the project .npmrc prints its error', { timeout: 60_000 }, () => {
  const dir = tempDir();
  copyFileSync('.npmrc', path.join(dir, '.npmrc'));
  // engine-strict (set in .npmrc) refuses this package offline, with no registry involved.
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'x', version: '1.0.0', engines: { node: '>=99' } }));
  const result = spawnSync('npm', ['install', '--offline'], { cwd: dir, encoding: 'utf8', timeout: 50_000 });
  assert.equal(result.status, 1);
  assert.match(result.stderr, /npm error .*EBADENGINE|Unsupported engine/);
});
