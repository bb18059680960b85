import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cliCommand, formatCommandLine, resolveServerCommand, substituteVariables } from '../serverCommand';

describe('resolveServerCommand', () => {
  it('uses ailoop.serverCommand verbatim before anything else', () => {
    const cmd = resolveServerCommand({
      serverCommand: ['/opt/ailoop/bin/ailoop', 'serve'],
      interpreter: ['/venv/bin/python'],
      pythonExtensionInterpreter: ['/other/python'],
    });
    assert.deepEqual(cmd, { command: '/opt/ailoop/bin/ailoop', args: ['serve'], origin: 'ailoop.serverCommand' });
  });

  it('runs `-m ailoop serve` with ailoop.interpreter before the Python extension', () => {
    const cmd = resolveServerCommand({ serverCommand: [], interpreter: ['/venv/bin/python', '-X', 'utf8'], pythonExtensionInterpreter: ['/other/python'] });
    assert.equal(cmd.command, '/venv/bin/python');
    assert.deepEqual(cmd.args, ['-X', 'utf8', '-m', 'ailoop', 'serve']);
    assert.equal(cmd.origin, 'ailoop.interpreter');
    assert.deepEqual(cmd.python, ['/venv/bin/python', '-X', 'utf8']);
  });

  it('uses the Python extension interpreter when no setting is given', () => {
    const cmd = resolveServerCommand({ serverCommand: [], interpreter: [], pythonExtensionInterpreter: ['/ext/python'] });
    assert.deepEqual([cmd.command, ...cmd.args, cmd.origin], ['/ext/python', '-m', 'ailoop', 'serve', 'python-extension']);
  });

  it('falls back to python3, ignoring blank entries in the settings', () => {
    const cmd = resolveServerCommand({ serverCommand: ['  '], interpreter: [''] });
    assert.deepEqual([cmd.command, ...cmd.args, cmd.origin], ['python3', '-m', 'ailoop', 'serve', 'default']);
  });
});

describe('cliCommand', () => {
  it('replaces the serve argument with the subcommand', () => {
    const server = resolveServerCommand({ serverCommand: [], interpreter: ['/venv/bin/python'] });
    const stats = cliCommand(server, ['stats']);
    assert.deepEqual(stats && [stats.command, ...stats.args], ['/venv/bin/python', '-m', 'ailoop', 'stats']);
  });

  it('keeps arguments before serve and drops the ones after it', () => {
    const server = resolveServerCommand({ serverCommand: ['uvx', 'ailoop', 'serve', '--log-level', 'debug'], interpreter: [] });
    const stats = cliCommand(server, ['stats', '--days', '7']);
    assert.deepEqual(stats && [stats.command, ...stats.args], ['uvx', 'ailoop', 'stats', '--days', '7']);
  });

  it('gives up on a custom launcher without a serve argument', () => {
    const server = resolveServerCommand({ serverCommand: ['/usr/local/bin/start-ailoop'], interpreter: [] });
    assert.equal(cliCommand(server, ['stats']), undefined);
  });
});

describe('substituteVariables', () => {
  const context = { workspaceFolder: '/ws', userHome: '/home/me' };
  it('expands workspace folder, home, env and a leading tilde', () => {
    assert.equal(substituteVariables('${workspaceFolder}/.venv/bin/python', context), '/ws/.venv/bin/python');
    assert.equal(substituteVariables('~/venv/bin/python', context), '/home/me/venv/bin/python');
    assert.equal(substituteVariables('${env:VENV}/bin/python', context, { VENV: '/v' }), '/v/bin/python');
    assert.equal(substituteVariables('${userHome}/x', context), '/home/me/x');
  });
  it('leaves unknown variables and a tilde inside a path alone', () => {
    assert.equal(substituteVariables('${workspaceFolder}/a', {}), '${workspaceFolder}/a');
    assert.equal(substituteVariables('/a/~b', context), '/a/~b');
  });
});

describe('formatCommandLine', () => {
  it('quotes arguments with spaces', () => {
    assert.equal(formatCommandLine('/my python/bin/python', ['-m', 'ailoop']), '"/my python/bin/python" -m ailoop');
  });
});
