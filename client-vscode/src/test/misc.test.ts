import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoalescingRunner } from '../coalesce';
import { inlineSuggestionTool } from '../inlineSuggestions';
import { IMPORT_CHECK, runProcess } from '../process';
import { escapeHtml, reportForWebview, renderStatsHtml } from '../statsView';

describe('inlineSuggestionTool', () => {
  it('names copilot when a Copilot extension is active', () => {
    assert.equal(inlineSuggestionTool(['ms-python.python', 'GitHub.copilot']), 'copilot');
    assert.equal(inlineSuggestionTool(['GitHub.copilot-chat']), 'copilot');
  });
  it('says unknown otherwise', () => {
    assert.equal(inlineSuggestionTool(['ms-python.python']), 'unknown');
    assert.equal(inlineSuggestionTool([]), 'unknown');
  });
});

describe('CoalescingRunner', () => {
  it('merges requests made before the run starts into one run', async () => {
    const runs: string[][] = [];
    const runner = new CoalescingRunner(async (reasons) => void runs.push([...reasons]), 0);
    await Promise.all([runner.request('a'), runner.request('b'), runner.request('c')]);
    assert.deepEqual(runs, [['a', 'b', 'c']]);
  });

  it('runs exactly once more for requests made during a run', async () => {
    const runs: string[][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let started: () => void = () => undefined;
    const firstStarted = new Promise<void>((r) => (started = r));
    const runner = new CoalescingRunner(async (reasons) => {
      runs.push([...reasons]);
      if (runs.length === 1) {
        started();
        await gate;
      }
    }, 0);
    const first = runner.request('start');
    await firstStarted;
    const second = runner.request('x');
    const third = runner.request('y');
    assert.equal(second, third);
    release();
    await Promise.all([first, second, third]);
    assert.deepEqual(runs, [['start'], ['x', 'y']]);
  });

  it('keeps working after the action throws', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const runner = new CoalescingRunner(async () => {
      calls += 1;
      if (calls === 1) throw new Error('boom');
    }, 0, (e) => errors.push(e));
    await runner.request('one');
    await runner.request('two');
    assert.equal(calls, 2);
    assert.equal(errors.length, 1);
  });
});

describe('runProcess', () => {
  it('reports a missing command instead of throwing', async () => {
    const result = await runProcess('/nonexistent/python3', ['-c', IMPORT_CHECK], { timeoutMs: 5000 });
    assert.equal(result.code, undefined);
    assert.match(result.error ?? '', /not found/);
  });
  it('returns the exit code and output', async () => {
    const result = await runProcess(process.execPath, ['-e', 'process.stdout.write("out"); process.stderr.write("err"); process.exit(3)'], { timeoutMs: 10000 });
    assert.deepEqual([result.code, result.stdout, result.stderr], [3, 'out', 'err']);
  });
});

describe('renderStatsHtml', () => {
  it('escapes the output', () => {
    const html = renderStatsHtml('tool <copilot> & "x"', 'python -m ailoop stats', new Date('2026-01-02T03:04:05Z'));
    assert.ok(html.includes('tool &lt;copilot&gt; &amp; &quot;x&quot;'));
    assert.ok(!html.includes('<copilot>'));
    assert.ok(html.includes("default-src 'none'"));
  });
  it('escapes quotes for attributes', () => {
    assert.equal(escapeHtml(`'a'`), '&#39;a&#39;');
  });
});

describe('reportForWebview', () => {
  it("keeps the report's own Content-Security-Policy", () => {
    const page = `<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'"></head><body>x</body></html>`;
    assert.equal(reportForWebview(page), page);
  });
  it('gives a page without one a strict policy, first in its head', () => {
    const out = reportForWebview('<html><head><title>r</title></head><body>x</body></html>');
    assert.match(out, /^<html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none';[^"]*script-src 'none'">/);
  });
});
