/**
 * `pgwarden completion bash`: the generated script, sourced by a real bash, completes commands,
 * subcommands and options as a user's Tab would.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';

const MAIN = resolve(import.meta.dirname, '../../../src/main.js');

describe('pgwarden completion', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-completion-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'pgwarden.bash');
  writeFileSync(script, execFileSync(process.execPath, [MAIN, 'completion', 'bash']));
  /** What Tab offers after `words` (the last one being typed). */
  const complete = (...words: string[]) =>
    execFileSync(
      'bash',
      ['-c', `source "$0"; COMP_WORDS=(pgwarden ${words.map((w) => `"${w}"`).join(' ')}); COMP_CWORD=${words.length}; _pgwarden; echo "\${COMPREPLY[*]}"`, script],
      { encoding: 'utf8' },
    ).trim();

  it('completes commands, subcommands and options', () => {
    assert.equal(complete('clu'), 'cluster');
    assert.deepEqual(complete('cluster', 'st').split(' ').sort(), ['start', 'stop']);
    assert.equal(complete('cluster', 'show', '--js'), '--json');
    assert.equal(complete('switchover', '--dr'), '--drain-timeout');
    assert.equal(complete('completion', 'x', ''), '', 'nothing after an argument it cannot know');
  });

  it('offers files after -c; zsh gets the same through bashcompinit; another shell is refused', () => {
    writeFileSync(join(dir, 'node1.yaml'), '');
    assert.equal(complete('cluster', 'show', '-c', join(dir, 'node')), join(dir, 'node1.yaml'));
    assert.match(execFileSync(process.execPath, [MAIN, 'completion', 'zsh'], { encoding: 'utf8' }), /^#compdef pgwarden\n/);
    assert.throws(
      () => execFileSync(process.execPath, [MAIN, 'completion', 'fish'], { stdio: 'pipe' }),
      (err: { status: number }) => err.status === 2,
    );
  });
});
