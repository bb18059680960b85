/**
 * Running a short-lived child process (the interpreter check, `ailoop stats`) with a timeout.
 * Node APIs only, no `vscode` import.
 */
import { spawn } from 'node:child_process';

/** The outcome of a finished (or failed to start) process. */
export interface ProcessResult {
  /** Exit code; undefined when the process could not start or was killed. */
  readonly code: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when the process could not be started (e.g. ENOENT) or timed out. */
  readonly error?: string;
}

/** Run `command args` to completion, killing it after `timeoutMs`. Never throws. */
export function runProcess(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let settled = false;
    const finish = (result: Omit<ProcessResult, 'stdout' | 'stderr'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
    };
    const child = spawn(command, [...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ code: undefined, error: `timed out after ${Math.round(options.timeoutMs / 1000)} s` });
    }, options.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error: NodeJS.ErrnoException) =>
      finish({ code: undefined, error: error.code === 'ENOENT' ? `${command}: not found` : String(error.message) }),
    );
    child.on('close', (code) => finish({ code: code ?? undefined }));
  });
}

/** Python code that exits 0 when ailoop can be imported and 3 when it cannot. */
export const IMPORT_CHECK = 'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec("ailoop") else 3)';
