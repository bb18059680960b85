import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { configurationChange, declaredSettingKeys, explicitSettings, type SettingLevels } from '../settings';

const packageJson: unknown = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));

describe('explicitSettings', () => {
  const keys = ['interpreter', 'detect.minLines', 'detect.minChars', 'feedback.scope', 'store.url', 'trace.server'];
  const levels: Record<string, SettingLevels> = {
    interpreter: { globalValue: ['/venv/bin/python'] },
    'detect.minLines': { globalValue: 4, workspaceValue: 5, workspaceFolderValue: 6 },
    'detect.minChars': {},
    'feedback.scope': { workspaceValue: 'file' },
    'store.url': { globalValue: 'postgresql://db/ailoop' },
    'trace.server': { globalValue: 'verbose' },
  };

  it('keeps the values set, the folder over the workspace over the user, nested', () => {
    assert.deepEqual(
      explicitSettings(keys, (key) => levels[key]),
      { detect: { minLines: 6 }, feedback: { scope: 'file' }, store: { url: 'postgresql://db/ailoop' } },
    );
  });

  it('leaves defaults and client-only keys to others', () => {
    assert.deepEqual(explicitSettings(keys, () => undefined), {});
    assert.deepEqual(explicitSettings(['interpreter', 'trace.server'], (key) => levels[key]), {});
  });
});

describe('package.json settings', () => {
  const keys = declaredSettingKeys(packageJson);

  it('declares what the server reads', () => {
    for (const key of ['detect.minLines', 'detect.minChars', 'detect.marker', 'feedback.scope', 'feedback.ruff.enabled', 'feedback.ty.enabled', 'store.url', 'store.shareCode']) {
      assert.ok(keys.includes(key), `missing ailoop.${key}`);
    }
  });

  it('gives every setting a scope, a type, a default and a description', () => {
    const properties = (packageJson as { contributes: { configuration: { properties: Record<string, Record<string, unknown>> } } }).contributes.configuration.properties;
    for (const [key, spec] of Object.entries(properties)) {
      assert.ok(typeof spec.scope === 'string', `${key}: scope`);
      assert.ok(typeof spec.type === 'string', `${key}: type`);
      assert.ok('default' in spec, `${key}: default`);
      assert.ok(typeof (spec.description ?? spec.markdownDescription) === 'string', `${key}: description`);
    }
    assert.equal(properties['ailoop.store.url'].scope, 'machine');
  });

  it('maps the declared defaults to the nested object the server parses', () => {
    const properties = (packageJson as { contributes: { configuration: { properties: Record<string, { default: unknown }> } } }).contributes.configuration.properties;
    const everySetAtItsDefault = (key: string): SettingLevels => ({ globalValue: properties[`ailoop.${key}`].default });
    assert.deepEqual(explicitSettings(keys, everySetAtItsDefault), {
      detect: { minLines: 3, minChars: 100, tinyChars: 24, marker: 'line' },
      feedback: { scope: 'snippet', ruff: { enabled: true }, ty: { enabled: true } },
      store: { url: '', shareCode: false },
    });
  });
});

describe('configurationChange', () => {
  const changedOnly = (...keys: string[]) => (section: string) =>
    section === 'ailoop' || keys.some((k) => k === section || k.startsWith(`${section}.`));
  it('restarts for the settings that choose the server process', () => {
    assert.equal(configurationChange(changedOnly('ailoop.interpreter')), 'restart');
    assert.equal(configurationChange(changedOnly('ailoop.serverCommand')), 'restart');
    assert.equal(configurationChange(changedOnly('ailoop.importStrategy')), 'restart');
  });
  it('tells the running server about the settings it reads', () => {
    assert.equal(configurationChange(changedOnly('ailoop.detect.minLines')), 'notify');
    assert.equal(configurationChange(changedOnly('ailoop.feedback.ruff.enabled')), 'notify');
    assert.equal(configurationChange(changedOnly('ailoop.store.url')), 'notify');
  });
  it('leaves the server alone for client-only settings and other sections', () => {
    assert.equal(configurationChange(changedOnly('ailoop.trace.server')), 'none');
    assert.equal(configurationChange(changedOnly('ailoop.inlineSuggestions.report')), 'none');
    assert.equal(configurationChange(() => false), 'none');
  });
});
