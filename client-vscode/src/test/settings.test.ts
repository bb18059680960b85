import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { declaredSettingKeys, nestSettings, serverSettings } from '../settings';

const packageJson: unknown = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));

describe('serverSettings', () => {
  it('passes the section through as plain JSON without client-only keys or methods', () => {
    const section = {
      interpreter: ['/venv/bin/python'],
      serverCommand: [],
      trace: { server: 'verbose' },
      inlineSuggestions: { report: true },
      detect: { minLines: 5, minChars: 100 },
      feedback: { scope: 'file', ruff: { enabled: false }, ty: { enabled: true } },
      store: { url: 'postgresql://db/ailoop', shareCode: false },
      get: () => undefined,
      has: () => false,
    };
    assert.deepEqual(serverSettings(section), {
      detect: { minLines: 5, minChars: 100 },
      feedback: { scope: 'file', ruff: { enabled: false }, ty: { enabled: true } },
      store: { url: 'postgresql://db/ailoop', shareCode: false },
    });
  });

  it('does not modify its input', () => {
    const section = { interpreter: ['x'], detect: { minLines: 3 } };
    serverSettings(section);
    assert.deepEqual(section, { interpreter: ['x'], detect: { minLines: 3 } });
  });

  it('turns a missing or odd section into an empty object', () => {
    assert.deepEqual(serverSettings(undefined), {});
    assert.deepEqual(serverSettings(null), {});
    assert.deepEqual(serverSettings([1, 2]), {});
  });
});

describe('package.json settings', () => {
  const keys = declaredSettingKeys(packageJson);

  it('declares what the server reads', () => {
    for (const key of ['detect.minLines', 'detect.minChars', 'feedback.scope', 'feedback.ruff.enabled', 'feedback.ty.enabled', 'store.url', 'store.shareCode']) {
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
    const flat = Object.fromEntries(keys.map((k) => [k, properties[`ailoop.${k}`].default]));
    assert.deepEqual(serverSettings(nestSettings(flat)), {
      detect: { minLines: 3, minChars: 100 },
      feedback: { scope: 'snippet', ruff: { enabled: true }, ty: { enabled: true } },
      store: { url: '', shareCode: false },
    });
  });
});
