import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

const root = path.join(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  capabilities: { untrustedWorkspaces: { supported: boolean | 'limited'; description?: string; restrictedConfigurations?: string[] } };
  contributes: {
    commands: Array<{ command: string }>;
    keybindings: Array<{ command: string; key: string; when: string }>;
    configuration: { properties: Record<string, unknown> };
  };
};
const extensionSource = fs.readFileSync(path.join(root, 'src', 'extension.ts'), 'utf8');

describe('package.json contributions', () => {
  it('declares exactly the commands the extension registers', () => {
    const registered = [...extensionSource.matchAll(/register\('([^']+)'/g)].map((m) => m[1]).sort();
    const declared = manifest.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual(declared, registered);
  });

  it('never claims the server-side command ids (the language client registers those)', () => {
    const declared = manifest.contributes.commands.map((c) => c.command);
    assert.ok(!declared.includes('ailoop.accept'));
    assert.ok(!declared.includes('ailoop.reject'));
  });

  it('binds Tab only while an inline suggestion is visible', () => {
    const tab = manifest.contributes.keybindings.find((k) => k.key === 'tab');
    assert.equal(tab?.command, 'ailoop.commitInlineSuggestion');
    assert.match(tab?.when ?? '', /\binlineSuggestionVisible\b/);
    assert.match(tab?.when ?? '', /config\.ailoop\.inlineSuggestions\.report/);
  });
});

describe('workspace trust', () => {
  const untrusted = manifest.capabilities.untrustedWorkspaces;
  const declared = Object.keys(manifest.contributes.configuration.properties);

  it('runs in Restricted Mode with limited support, and says what is limited', () => {
    assert.equal(untrusted.supported, 'limited');
    assert.match(untrusted.description ?? '', /no program the workspace chooses/);
  });

  it('restricts every setting that starts a program or names where data goes', () => {
    // starting the server (a program) or the shared store (where events go, what they carry)
    const sensitive = declared.filter((key) => /^ailoop\.(interpreter|serverCommand|store\.)/.test(key));
    assert.deepEqual(sensitive.sort(), ['ailoop.interpreter', 'ailoop.serverCommand', 'ailoop.store.shareCode', 'ailoop.store.url']);
    assert.deepEqual([...(untrusted.restrictedConfigurations ?? [])].sort(), sensitive.sort());
  });

  it("tells the server the editor's trust and restarts it when the workspace is trusted", () => {
    assert.match(extensionSource, /initializationOptions: \{ workspaceTrust: trusted \}/);
    assert.match(extensionSource, /onDidGrantWorkspaceTrust\(/);
  });
});
