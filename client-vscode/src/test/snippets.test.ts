import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countSnippetMarkers, type DiagnosticLike, rejectPatternChoices, snippetAtPosition, snippetOfAction } from '../snippets';

const range = (l1: number, c1: number, l2: number, c2: number) => ({ start: { line: l1, character: c1 }, end: { line: l2, character: c2 } });
const marker = (snippet: string, r = range(2, 0, 5, 10)): DiagnosticLike => ({ range: r, source: 'ailoop', code: 'ai-snippet', data: { snippet } });

describe('snippetAtPosition', () => {
  it('finds the marker whose range contains the cursor', () => {
    const found = snippetAtPosition([marker('sha256:a', range(0, 0, 1, 0)), marker('sha256:b')], { line: 3, character: 4 });
    assert.equal(found?.snippet, 'sha256:b');
  });

  it('counts a cursor past the end of a first-line-only marker', () => {
    const found = snippetAtPosition([marker('sha256:a', range(2, 0, 2, 3))], { line: 2, character: 40 });
    assert.equal(found?.snippet, 'sha256:a');
  });

  it('finds a first-line marker from any line of its snippet (data.range)', () => {
    const hint: DiagnosticLike = { range: range(2, 0, 2, 14), source: 'ailoop', code: 'ai-snippet', data: { snippet: 'sha256:h', range: range(2, 0, 6, 19) } };
    const found = snippetAtPosition([hint], { line: 5, character: 3 });
    assert.equal(found?.snippet, 'sha256:h');
    assert.deepEqual(found?.range, range(2, 0, 6, 19));
    assert.equal(snippetAtPosition([hint], { line: 7, character: 0 }), undefined);
  });

  it('uses the marker range when data.range is not a range', () => {
    const odd: DiagnosticLike = { range: range(2, 0, 4, 0), source: 'ailoop', code: 'ai-snippet', data: { snippet: 'sha256:o', range: { start: 'x' } } };
    assert.equal(snippetAtPosition([odd], { line: 3, character: 1 })?.snippet, 'sha256:o');
    assert.equal(snippetAtPosition([odd], { line: 5, character: 1 }), undefined);
  });

  it('ignores the findings of a rejected snippet (no data.snippet)', () => {
    const kept: DiagnosticLike = { range: range(4, 0, 4, 9), source: 'ailoop', code: 'ruff:E722', data: { rejected: 'sha256:r', codes: ['ruff:E722'] } };
    assert.equal(snippetAtPosition([kept], { line: 4, character: 1 }), undefined);
  });

  it('prefers the innermost marker', () => {
    const found = snippetAtPosition([marker('sha256:outer', range(0, 0, 20, 0)), marker('sha256:inner', range(5, 0, 7, 0))], { line: 6, character: 0 });
    assert.equal(found?.snippet, 'sha256:inner');
  });

  it('reads the code from a {value, target} code', () => {
    const d: DiagnosticLike = { range: range(1, 0, 1, 5), source: 'ailoop', code: { value: 'ai-snippet' }, data: { snippet: 'sha256:c' } };
    assert.equal(snippetAtPosition([d], { line: 1, character: 2 })?.snippet, 'sha256:c');
  });

  it('falls back to a finding of ailoop that carries data.snippet', () => {
    const finding: DiagnosticLike = { range: range(4, 0, 4, 9), source: 'ailoop', code: 'ruff:F401', data: { snippet: 'sha256:f' } };
    assert.equal(snippetAtPosition([finding], { line: 4, character: 1 })?.snippet, 'sha256:f');
  });

  it('ignores other sources, markers without an id, and cursors outside', () => {
    const other: DiagnosticLike = { range: range(2, 0, 5, 0), source: 'Pylance', code: 'ai-snippet', data: { snippet: 'sha256:x' } };
    const noId: DiagnosticLike = { range: range(2, 0, 5, 0), source: 'ailoop', code: 'ai-snippet', data: {} };
    assert.equal(snippetAtPosition([other, noId], { line: 3, character: 0 }), undefined);
    assert.equal(snippetAtPosition([marker('sha256:b')], { line: 9, character: 0 }), undefined);
  });
});

describe('countSnippetMarkers', () => {
  it('counts ailoop markers only', () => {
    const finding: DiagnosticLike = { range: range(4, 0, 4, 9), source: 'ailoop', code: 'ruff:F401', data: { snippet: 'sha256:f' } };
    const foreign: DiagnosticLike = { range: range(4, 0, 4, 9), source: 'ruff', code: 'F401' };
    assert.equal(countSnippetMarkers([marker('sha256:a'), marker('sha256:a', range(9, 0, 12, 0)), finding, foreign]), 2);
    assert.equal(countSnippetMarkers([]), 0);
  });
});

describe('rejectPatternChoices', () => {
  const reject = (title: string, args: Record<string, unknown>) => ({ title, command: { command: 'ailoop.reject', arguments: [args] } });
  it('lists the patterns offered for the snippet, once each', () => {
    const actions = [
      reject('Reject AI snippet (copilot, 5 lines)', { uri: 'u', snippet: 'sha256:a' }),
      reject('Reject: bare except (ruff E722)', { uri: 'u', snippet: 'sha256:a', pattern: 'ruff:E722' }),
      reject('Reject: bare except (ruff E722)', { uri: 'u', snippet: 'sha256:a', pattern: 'ruff:E722' }),
      reject('Reject: print call (team pattern print)', { uri: 'u', snippet: 'sha256:b', pattern: 'pattern:print' }),
      { title: 'Accept AI snippet', command: { command: 'ailoop.accept', arguments: [{ uri: 'u', snippet: 'sha256:a', pattern: 'x' }] } },
      { title: 'Organize imports' },
    ];
    assert.deepEqual(rejectPatternChoices(actions, 'sha256:a'), [{ label: 'bare except (ruff E722)', pattern: 'ruff:E722' }]);
  });
  it('reads bare commands too', () => {
    const command = { title: 'Reject: x (pattern:x)', command: 'ailoop.reject', arguments: [{ snippet: 's', pattern: 'pattern:x' }] };
    assert.deepEqual(rejectPatternChoices([command], 's'), [{ label: 'x (pattern:x)', pattern: 'pattern:x' }]);
  });
});

describe('snippetOfAction', () => {
  it('reads the snippet of ailoop accept/reject actions only', () => {
    assert.equal(snippetOfAction({ title: 'Accept AI snippet', command: { command: 'ailoop.accept', arguments: [{ uri: 'u', snippet: 'sha256:a' }] } }), 'sha256:a');
    assert.equal(snippetOfAction({ title: 'Reject', command: 'ailoop.reject', arguments: [{ snippet: 'sha256:b' }] }), 'sha256:b');
    assert.equal(snippetOfAction({ title: 'Fix', command: { command: 'ruff.fix', arguments: [{ snippet: 'sha256:c' }] } }), undefined);
    assert.equal(snippetOfAction({ title: 'Reject', command: { command: 'ailoop.reject', arguments: ['sha256:d'] } }), undefined);
  });
});
