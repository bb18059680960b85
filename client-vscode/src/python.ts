/**
 * The interpreter selected in Microsoft's Python extension, when that extension is installed
 * (through its published API, `@vscode/python-extension`), and its change event.
 */
import { PythonExtension } from '@vscode/python-extension';
import * as vscode from 'vscode';

const PYTHON_EXTENSION_ID = 'ms-python.python';

/** Reads the active interpreter from the Python extension; does nothing when it is absent. */
export class PythonInterpreters {
  private api: PythonExtension | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  private async load(): Promise<PythonExtension | undefined> {
    if (this.api !== undefined) return this.api;
    if (vscode.extensions.getExtension(PYTHON_EXTENSION_ID) === undefined) return undefined;
    try {
      this.api = await PythonExtension.api();
    } catch (error) {
      this.log.warn(`the Python extension's API is not available: ${String(error)}`);
    }
    return this.api;
  }

  /** Call `onChange` when the user picks another interpreter in the Python extension. */
  async watch(onChange: () => void, disposables: vscode.Disposable[]): Promise<void> {
    const api = await this.load();
    if (api !== undefined) disposables.push(api.environments.onDidChangeActiveEnvironmentPath(onChange));
  }

  /** The active interpreter for `resource` as an argv prefix, or undefined. */
  async activeInterpreter(resource: vscode.Uri | undefined): Promise<string[] | undefined> {
    const api = await this.load();
    if (api === undefined) return undefined;
    try {
      const environment = await api.environments.resolveEnvironment(api.environments.getActiveEnvironmentPath(resource));
      const executable = environment?.executable.uri?.fsPath;
      if (executable !== undefined) return [executable];
      this.log.warn('the Python extension has no interpreter selected for this workspace');
    } catch (error) {
      this.log.warn(`cannot resolve the Python extension's interpreter: ${String(error)}`);
    }
    return undefined;
  }
}
