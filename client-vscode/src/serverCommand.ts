/**
 * How the ailoop language server is started: which command, from which setting.
 *
 * Pure logic (no `vscode` import) so that it can be unit-tested with Node's test runner.
 */

/** Where the server command came from, in order of precedence. */
export type CommandOrigin = 'ailoop.serverCommand' | 'ailoop.interpreter' | 'python-extension' | 'default';

/** A resolved command line. `python` is set when ailoop runs as `<python> -m ailoop`. */
export interface ResolvedCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly origin: CommandOrigin;
  readonly python?: readonly string[];
}

/** The inputs of the resolution: the two settings and the Python extension's interpreter. */
export interface CommandSources {
  readonly serverCommand: readonly string[];
  readonly interpreter: readonly string[];
  readonly pythonExtensionInterpreter?: readonly string[];
  readonly defaultPython?: string;
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
 * Choose the server command: `ailoop.serverCommand` as is, else `<python> -m ailoop serve` with
 * the python from `ailoop.interpreter`, the Python extension, or `python3` (in that order).
 */
export function resolveServerCommand(sources: CommandSources): ResolvedCommand {
  const explicit = nonEmpty(sources.serverCommand);
  if (explicit.length > 0) {
    return { command: explicit[0], args: explicit.slice(1), origin: 'ailoop.serverCommand' };
  }
  const candidates: Array<[readonly string[] | undefined, CommandOrigin]> = [
    [sources.interpreter, 'ailoop.interpreter'],
    [sources.pythonExtensionInterpreter, 'python-extension'],
  ];
  for (const [argv, origin] of candidates) {
    const python = nonEmpty(argv ?? []);
    if (python.length > 0) {
      return { command: python[0], args: [...python.slice(1), '-m', 'ailoop', 'serve'], origin, python };
    }
  }
  const python = [sources.defaultPython ?? 'python3'];
  return { command: python[0], args: ['-m', 'ailoop', 'serve'], origin: 'default', python };
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
  return { command: out[0], args: out.slice(1), origin: server.origin, python: server.python };
}

/** Render a command line for messages (arguments with spaces quoted). */
export function formatCommandLine(command: string, args: readonly string[]): string {
  return [command, ...args].map((a) => (/[\s"']/.test(a) || a === '' ? JSON.stringify(a) : a)).join(' ');
}
