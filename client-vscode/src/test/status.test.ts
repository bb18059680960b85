import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSyncStatus, RESTRICTED_TEXT, statusView } from '../status';

describe('parseSyncStatus', () => {
  it('accepts the documented payload', () => {
    assert.deepEqual(parseSyncStatus({ state: 'offline', pending: 4, message: 'connection refused' }), { state: 'offline', pending: 4, message: 'connection refused' });
  });
  it('rejects unknown states and non-objects, and repairs a bad count', () => {
    assert.equal(parseSyncStatus({ state: 'exploded', pending: 1 }), undefined);
    assert.equal(parseSyncStatus('idle'), undefined);
    assert.equal(parseSyncStatus(null), undefined);
    assert.deepEqual(parseSyncStatus({ state: 'idle', pending: -3 }), { state: 'idle', pending: 0 });
  });
});

describe('statusView', () => {
  it('shows the pending snippets and the sync state', () => {
    const view = statusView(2, { state: 'offline', pending: 5 }, 'running');
    assert.equal(view.text, '$(sparkle) 2 $(cloud-offline) 5');
    assert.match(view.tooltip, /2 AI snippets pending review/);
    assert.match(view.tooltip, /offline, 5 events waiting/);
    assert.equal(view.warning, false);
  });
  it('uses the singular and flags sync errors', () => {
    const view = statusView(1, { state: 'error', pending: 0, message: 'auth failed' }, 'running');
    assert.match(view.tooltip, /1 AI snippet pending/);
    assert.match(view.tooltip, /sync error \(auth failed\)/);
    assert.equal(view.warning, true);
  });
  it('says when the server is not running', () => {
    const view = statusView(3, undefined, 'stopped');
    assert.match(view.text, /circle-slash/);
    assert.equal(view.warning, true);
  });
  it('shows restricted in an untrusted workspace, in every server state', () => {
    const running = statusView(1, { state: 'idle', pending: 0 }, 'running', true);
    assert.equal(running.text, `$(sparkle) 1 $(check) ${RESTRICTED_TEXT}`);
    assert.match(running.text, /restricted$/);
    assert.match(running.tooltip, /1 AI snippet pending review/);
    assert.match(running.tooltip, /Restricted Mode: the workspace is not trusted/);
    for (const server of ['starting', 'stopped'] as const) {
      const view = statusView(undefined, undefined, server, true);
      assert.match(view.text, /restricted/);
      assert.match(view.tooltip, /Restricted Mode/);
    }
    assert.doesNotMatch(statusView(1, undefined, 'running').text, /restricted/);
    assert.doesNotMatch(statusView(1, undefined, 'running', false).tooltip, /Restricted/);
  });
  it('does not count snippets while the server starts', () => {
    const view = statusView(0, undefined, 'starting');
    assert.doesNotMatch(view.tooltip, /pending review/);
    assert.match(view.tooltip, /starting/);
  });
});
