/**
 * How the ailoop language server is started: which command, from which setting, and what an
 * untrusted workspace may not choose.
 *
 * Pure logic (no `vscode` import) so that it can be unit-tested with Node's test runner.
 */
import * as nodePath from 'node:path';

/** Where the server command came from, in order of precedence. */
export type CommandOrigin = 'ailoop.serverCommand' | 'ailoop.interpreter' | 'python-extension' | 'default';

/** A candidate passed over because its program lies inside an untrusted workspace. */
export interface SkippedCommand {
  readonly origin: CommandOrigin;
  readonly program: string;
}

/**
 * A resolved command line. `python` is set when ailoop runs with a Python interpreter the
 * extension found: `<python> -m ailoop` (the interpreter's own ailoop), or with `bundled` set,
 * `<python> -I <extension>/bundled/tool/launch.py` (the ailoop and libraries inside the extension).
 */
export interface ResolvedCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly origin: CommandOrigin;
  readonly python?: readonly string[];
  /** True when the server is the one bundled in the extension (`bundled/libs`). */
  readonly bundled?: boolean;
  /** Set (non-empty) when candidates were passed over in an untrusted workspace. */
  readonly skipped?: readonly SkippedCommand[];
}

/** The inputs of the resolution: the two settings and the Python extension's interpreter. */
export interface CommandSources {
  readonly serverCommand: readonly string[];
  readonly interpreter: readonly string[];
  readonly pythonExtensionInterpreter?: readonly string[];
  readonly defaultPython?: string;
  /**
   * The bundled server's launcher (`bundled/tool/launch.py`), when the extension has one and
   * `ailoop.importStrategy` is `useBundled`; without it, `<python> -m ailoop` runs.
   */
  readonly bundledLauncher?: string;
  /**
   * Only in an untrusted workspace: true for a program the workspace chose (one inside a
   * workspace folder, see {@link programInside}). Such a candidate is not run; the next one is.
   */
  readonly untrustedProgram?: (program: string) => boolean;
}

/** Values substituted for `${workspaceFolder}`, `${userHome}` and a leading `~`. */
export interface SubstitutionContext {
  readonly workspaceFolder?: string;
  readonly userHome?: string;
}

/** Replace `${workspaceFolder}`, `${userHome}`, `${env:NAME}` and a leading `~/` in one argument. */
export function substituteVariables(
  value: string,
  context: SubstitutionContext,
  env: Readonly<Record<string, string | undefined>> = {},
): string {
  let out = value;
  if (context.userHome !== undefined && (out === '~' || out.startsWith('~/'))) {
    out = context.userHome + out.slice(1);
  }
  return out.replace(/\$\{(workspaceFolder|userHome|env:([A-Za-z_][A-Za-z0-9_]*))\}/g, (whole, name: string, envName?: string) => {
    if (envName !== undefined) return env[envName] ?? '';
    const replacement = name === 'workspaceFolder' ? context.workspaceFolder : context.userHome;
    return replacement ?? whole;
  });
}

function nonEmpty(argv: readonly string[]): readonly string[] {
  return argv.map((a) => a.trim()).filter((a) => a.length > 0);
}

/**
 * Choose the server command: `ailoop.serverCommand` as is, else the bundled server
 * (`<python> -I launch.py serve`) or `<python> -m ailoop serve` with the python from
 * `ailoop.interpreter`, the Python extension, or `python3` (in that order).
 */
export function resolveServerCommand(sources: CommandSources): ResolvedCommand {
  const skipped: SkippedCommand[] = [];
  const allowed = (argv: readonly string[], origin: CommandOrigin): boolean => {
    if (argv.length === 0) return false;
    if (sources.untrustedProgram?.(argv[0]) !== true) return true;
    skipped.push({ origin, program: argv[0] });
    return false;
  };
  const withSkipped = (resolved: ResolvedCommand): ResolvedCommand => (skipped.length > 0 ? { ...resolved, skipped } : resolved);
  const explicit = nonEmpty(sources.serverCommand);
  if (allowed(explicit, 'ailoop.serverCommand')) {
    return withSkipped({ command: explicit[0], args: explicit.slice(1), origin: 'ailoop.serverCommand' });
  }
  const candidates: Array<[readonly string[] | undefined, CommandOrigin]> = [
    [sources.interpreter, 'ailoop.interpreter'],
    [sources.pythonExtensionInterpreter, 'python-extension'],
  ];
  const run = (python: readonly string[], origin: CommandOrigin): ResolvedCommand => {
    if (sources.bundledLauncher !== undefined) {
      const args = [...python.slice(1), '-I', sources.bundledLauncher, 'serve'];
      return withSkipped({ command: python[0], args, origin, python, bundled: true });
    }
    return withSkipped({ command: python[0], args: [...python.slice(1), '-m', 'ailoop', 'serve'], origin, python });
  };
  for (const [argv, origin] of candidates) {
    const python = nonEmpty(argv ?? []);
    if (allowed(python, origin)) return run(python, origin);
  }
  return run([sources.defaultPython ?? 'python3'], 'default');
}

/**
 * Whether `program` (a command's first argument) lies inside one of `folders`: an absolute
 * path, or a relative one with a slash (resolved against `cwd`), that is in a folder as
 * written or once symbolic links are resolved (`realpath`, undefined when it does not exist).
 * A bare name (`python3`) is looked up on PATH, which the workspace does not choose.
 */
export function programInside(
  program: string,
  folders: readonly string[],
  cwd: string,
  realpath: (path: string) => string | undefined = () => undefined,
): boolean {
  if (!program.includes('/') && !program.includes(nodePath.sep)) return false;
  const candidate = nodePath.resolve(cwd, program);
  const paths = [candidate, realpath(candidate)].filter((p): p is string => p !== undefined);
  const roots = folders.flatMap((folder) => [nodePath.resolve(folder), realpath(folder)]).filter((p): p is string => p !== undefined);
  return paths.some((p) =>
    roots.some((root) => {
      const relative = nodePath.relative(root, p);
      return relative === '' || (!relative.startsWith('..') && !nodePath.isAbsolute(relative));
    }),
  );
}

const ORIGIN_WORDS: Record<CommandOrigin, string> = {
  'ailoop.serverCommand': 'ailoop.serverCommand',
  'ailoop.interpreter': 'ailoop.interpreter',
  'python-extension': "the Python extension's interpreter",
  default: 'python3 on PATH',
};

/** What the output channel says once in an untrusted workspace (Restricted Mode). */
export function restrictedModeNotice(resolved: ResolvedCommand): string {
  const lines = [
    'Restricted Mode: this workspace is not trusted. ailoop runs no program the workspace chooses: ' +
      'VS Code ignores the workspace values of ailoop.interpreter, ailoop.serverCommand and ailoop.store.*, ' +
      'no interpreter inside a workspace folder starts the server, and the server ignores the command engines, ' +
      'ruff/ty commands and .venv tools its ailoop settings name (markers, accept/reject and ailoop\'s own ruff ' +
      'and ty keep working). Trust the workspace to use them; the server then restarts.',
  ];
  for (const skip of resolved.skipped ?? []) {
    lines.push(`not run: ${ORIGIN_WORDS[skip.origin]} (${skip.program}), inside the untrusted workspace`);
  }
  const what = resolved.bundled ? `the bundled ailoop with ${ORIGIN_WORDS[resolved.origin]}` : ORIGIN_WORDS[resolved.origin];
  lines.push(`the server runs with ${what}: ${formatCommandLine(resolved.command, resolved.args)}`);
  return lines.join('\n');
}

/**
 * The command line of another ailoop subcommand (e.g. `stats`) run the same way as the server:
 * the last `serve` argument is replaced by `subcommand`. Returns undefined when the server
 * command has no `serve` argument (a custom launcher we cannot reuse).
 */
export function cliCommand(server: ResolvedCommand, subcommand: readonly string[]): ResolvedCommand | undefined {
  const argv = [server.command, ...server.args];
  const serveAt = argv.lastIndexOf('serve');
  if (serveAt < 1) return undefined;
  const out = [...argv.slice(0, serveAt), ...subcommand];
  return { command: out[0], args: out.slice(1), origin: server.origin, python: server.python, bundled: server.bundled };
}

/** Render a command line for messages (arguments with spaces quoted). */
export function formatCommandLine(command: string, args: readonly string[]): string {
  return [command, ...args].map((a) => (/[\s"']/.test(a) || a === '' ? JSON.stringify(a) : a)).join(' ');
}
