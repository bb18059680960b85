import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cliCommand, formatCommandLine, programInside, resolveServerCommand, restrictedModeNotice, substituteVariables } from '../serverCommand';

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

describe('resolveServerCommand in an untrusted workspace', () => {
  const folders = ['/work/shop'];
  const untrustedProgram = (program: string): boolean => programInside(program, folders, '/tmp/own');

  it("passes over the Python extension's interpreter inside the workspace for python3", () => {
    const cmd = resolveServerCommand({ serverCommand: [], interpreter: [], pythonExtensionInterpreter: ['/work/shop/.venv/bin/python'], untrustedProgram });
    assert.deepEqual([cmd.command, ...cmd.args, cmd.origin], ['python3', '-m', 'ailoop', 'serve', 'default']);
    assert.deepEqual(cmd.skipped, [{ origin: 'python-extension', program: '/work/shop/.venv/bin/python' }]);
  });

  it('keeps an interpreter outside the workspace, wherever it was chosen', () => {
    const cmd = resolveServerCommand({ serverCommand: [], interpreter: [], pythonExtensionInterpreter: ['/home/me/.venvs/tools/bin/python'], untrustedProgram });
    assert.equal(cmd.origin, 'python-extension');
    assert.equal(cmd.skipped, undefined);
  });

  it('passes over a user setting that points into the workspace, and takes the next candidate', () => {
    const cmd = resolveServerCommand({
      serverCommand: ['/work/shop/tools/serve.sh'],
      interpreter: ['/work/shop/.venv/bin/python'],
      pythonExtensionInterpreter: ['/usr/bin/python3.12'],
      untrustedProgram,
    });
    assert.deepEqual([cmd.command, cmd.origin], ['/usr/bin/python3.12', 'python-extension']);
    assert.deepEqual(
      cmd.skipped?.map((s) => s.origin),
      ['ailoop.serverCommand', 'ailoop.interpreter'],
    );
  });

  it('changes nothing in a trusted workspace', () => {
    const cmd = resolveServerCommand({ serverCommand: [], interpreter: [], pythonExtensionInterpreter: ['/work/shop/.venv/bin/python'] });
    assert.deepEqual([cmd.command, cmd.origin, cmd.skipped], ['/work/shop/.venv/bin/python', 'python-extension', undefined]);
  });

  it('says once what Restricted Mode means, what was passed over and what runs', () => {
    const cmd = resolveServerCommand({ serverCommand: [], interpreter: [], pythonExtensionInterpreter: ['/work/shop/.venv/bin/python'], untrustedProgram });
    const notice = restrictedModeNotice(cmd);
    assert.match(notice, /^Restricted Mode: this workspace is not trusted/);
    assert.match(notice, /not run: the Python extension's interpreter \(\/work\/shop\/\.venv\/bin\/python\)/);
    assert.match(notice, /the server runs with python3 on PATH: python3 -m ailoop serve$/);
  });
});

describe('programInside', () => {
  it('finds absolute and relative paths inside a folder, not beside it', () => {
    assert.equal(programInside('/ws/.venv/bin/python', ['/ws'], '/elsewhere'), true);
    assert.equal(programInside('/ws', ['/ws'], '/elsewhere'), true);
    assert.equal(programInside('/ws-other/bin/python', ['/ws'], '/elsewhere'), false);
    assert.equal(programInside('/ws/../usr/bin/python3', ['/ws'], '/elsewhere'), false);
    assert.equal(programInside('bin/python', ['/ws'], '/ws'), true);
    assert.equal(programInside('./python', ['/ws'], '/elsewhere'), false);
  });

  it('leaves bare names to PATH', () => {
    assert.equal(programInside('python3', ['/ws'], '/ws'), false);
  });

  it('follows symbolic links of the program and of the folders', () => {
    const links: Record<string, string> = { '/usr/local/bin/py': '/ws/.venv/bin/python', '/link-to-ws': '/ws' };
    const realpath = (p: string): string | undefined => links[p] ?? p;
    assert.equal(programInside('/usr/local/bin/py', ['/ws'], '/elsewhere', realpath), true);
    assert.equal(programInside('/ws/bin/python', ['/link-to-ws'], '/elsewhere', realpath), true);
    assert.equal(programInside('/usr/bin/python3', ['/link-to-ws'], '/elsewhere', realpath), false);
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

describe('the bundled server', () => {
  it('runs the launcher with the interpreter found, isolated (-I)', () => {
    const r = resolveServerCommand({ serverCommand: [], interpreter: ['/venv/bin/python'], bundledLauncher: '/ext/bundled/tool/launch.py' });
    assert.equal(r.command, '/venv/bin/python');
    assert.deepEqual(r.args, ['-I', '/ext/bundled/tool/launch.py', 'serve']);
    assert.equal(r.bundled, true);
    assert.equal(r.origin, 'ailoop.interpreter');
  });

  it('falls back to python3 and keeps ailoop.serverCommand first', () => {
    const bundledLauncher = '/ext/bundled/tool/launch.py';
    assert.deepEqual(resolveServerCommand({ serverCommand: [], interpreter: [], bundledLauncher }).args, ['-I', bundledLauncher, 'serve']);
    const own = resolveServerCommand({ serverCommand: ['/opt/ailoop', 'serve'], interpreter: [], bundledLauncher });
    assert.equal(own.bundled, undefined);
    assert.equal(own.command, '/opt/ailoop');
  });

  it('gives the report command the same way', () => {
    const server = resolveServerCommand({ serverCommand: [], interpreter: ['py'], bundledLauncher: '/l.py' });
    const report = cliCommand(server, ['report', '-o', '/tmp/r.html']);
    assert.deepEqual([report?.command, ...(report?.args ?? [])], ['py', '-I', '/l.py', 'report', '-o', '/tmp/r.html']);
    assert.equal(report?.bundled, true);
  });
});
