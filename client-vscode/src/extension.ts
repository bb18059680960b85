/**
 * The ailoop VS Code extension: starts the ailoop language server with the right Python,
 * keeps it in step with the settings, and adds the editor-side commands (accept/reject at
 * the cursor, reject with a note, stats, Tab-accept reporting) and a status bar item.
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import {
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';
import { CoalescingRunner } from './coalesce';
import { inlineSuggestionTool } from './inlineSuggestions';
import { IMPORT_CHECK, runProcess } from './process';
import {
  cliCommand,
  formatCommandLine,
  programInside,
  type ResolvedCommand,
  resolveServerCommand,
  restrictedModeNotice,
  substituteVariables,
} from './serverCommand';
import { declaredSettingKeys, explicitSettings, type SettingsObject } from './settings';
import {
  type CodeActionLike,
  countSnippetMarkers,
  rejectPatternChoices,
  type SnippetAtCursor,
  snippetAtPosition,
  snippetOfAction,
} from './snippets';
import { parseSyncStatus, type ServerState, statusView, type SyncStatus } from './status';
import { PythonInterpreters } from './python';
import { renderStatsHtml } from './statsView';

const SECTION = 'ailoop';
const SETTINGS_CHANGED = 'settings changed';

/** The path with symbolic links resolved, or undefined when it does not exist. */
function realpath(path: string): string | undefined {
  try {
    return fs.realpathSync(path);
  } catch {
    return undefined;
  }
}

/** Owns the language client and everything that depends on it. */
class AiloopExtension implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private command: ResolvedCommand | undefined;
  private sync: SyncStatus | undefined;
  /** True once `client.start()` resolved: the server has been initialized and has the open files. */
  private ready = false;
  /** The command and settings the running server was started with (to skip no-op restarts). */
  private startedWith: string | undefined;
  /** The output channel has said what Restricted Mode means for ailoop (once a window). */
  private toldRestricted = false;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly statusItem: vscode.StatusBarItem;
  private readonly restarts: CoalescingRunner;
  private readonly python: PythonInterpreters;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    /** The `ailoop.*` keys the extension declares. */
    private readonly settingKeys: readonly string[],
    /** An empty directory of the extension's own: the processes' working directory in an untrusted workspace. */
    private readonly ownDirectory: string,
  ) {
    this.statusItem = vscode.window.createStatusBarItem('ailoop.status', vscode.StatusBarAlignment.Right, 100);
    this.statusItem.name = 'ailoop';
    this.statusItem.command = 'ailoop.showLog';
    this.python = new PythonInterpreters(log);
    this.restarts = new CoalescingRunner(
      (reasons) => this.restart(reasons),
      150,
      (error) => log.error(`restart failed: ${String(error)}`),
    );
  }

  /** Register commands and listeners, then start the server. */
  async activate(): Promise<void> {
    const register = (id: string, fn: (...args: unknown[]) => unknown): void => {
      this.disposables.push(vscode.commands.registerCommand(id, fn));
    };
    register('ailoop.restartServer', () => this.restarts.request('command'));
    register('ailoop.showLog', () => this.log.show());
    register('ailoop.acceptSnippet', () => this.decideAtCursor('accept'));
    register('ailoop.rejectSnippet', () => this.decideAtCursor('reject'));
    register('ailoop.rejectSnippetWithNote', () => this.decideAtCursor('reject', { askReason: true }));
    register('ailoop.showStats', () => this.showStats());
    register('ailoop.commitInlineSuggestion', () => this.commitInlineSuggestion());

    this.disposables.push(
      this.statusItem,
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration(SECTION)) void this.restarts.request(SETTINGS_CHANGED);
      }),
      vscode.languages.onDidChangeDiagnostics((event) => {
        const active = vscode.window.activeTextEditor?.document.uri.toString();
        if (active !== undefined && event.uris.some((uri) => uri.toString() === active)) this.updateStatus();
      }),
      vscode.window.onDidChangeActiveTextEditor(() => this.updateStatus()),
      // the server was started with workspaceTrust: false; now the workspace's settings apply
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.restarts.request('workspace trusted')),
    );
    await this.python.watch(() => void this.restarts.request('Python interpreter changed'), this.disposables);
    this.updateStatus();
    this.statusItem.show();
    await this.restarts.request('start');
  }

  /** Stop the server and drop every registration. */
  async dispose(): Promise<void> {
    await this.stopClient();
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  private config(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION, vscode.workspace.workspaceFolders?.[0]?.uri);
  }

  /** The settings the server gets for one workspace folder (or the window, without a scope). */
  private serverSettingsFor(scope: vscode.Uri | undefined): SettingsObject {
    const config = vscode.workspace.getConfiguration(SECTION, scope);
    return explicitSettings(this.settingKeys, (key) => config.inspect(key));
  }

  /** Every folder's server settings, to tell whether a change concerns the server. */
  private allServerSettings(): SettingsObject[] {
    const folders = vscode.workspace.workspaceFolders ?? [];
    return [this.serverSettingsFor(undefined), ...folders.map((folder) => this.serverSettingsFor(folder.uri))];
  }

  private async resolveCommand(): Promise<ResolvedCommand> {
    const config = this.config();
    const folder = vscode.workspace.workspaceFolders?.[0];
    const substitution = { workspaceFolder: folder?.uri.fsPath, userHome: process.env.HOME ?? process.env.USERPROFILE };
    const subst = (argv: readonly string[]): string[] => argv.map((a) => substituteVariables(a, substitution, process.env));
    // Untrusted: VS Code already ignores the workspace's values of the two settings
    // (restrictedConfigurations); an interpreter inside a workspace folder (the Python
    // extension's `.venv/bin/python`, a user setting with ${workspaceFolder}) is not run either.
    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    const cwd = this.workingDirectory() ?? this.ownDirectory;
    const untrustedProgram = vscode.workspace.isTrusted ? undefined : (program: string) => programInside(program, folders, cwd, realpath);
    return resolveServerCommand({
      serverCommand: subst(config.get<string[]>('serverCommand') ?? []),
      interpreter: subst(config.get<string[]>('interpreter') ?? []),
      pythonExtensionInterpreter: await this.python.activeInterpreter(folder?.uri),
      untrustedProgram,
    });
  }

  /**
   * The working directory of the server and the other ailoop processes: the first workspace
   * folder, or in an untrusted workspace the extension's own empty directory (`python -m` and
   * `-c` import from the working directory first: a workspace's `ailoop.py` must not run).
   */
  private workingDirectory(): string | undefined {
    if (!vscode.workspace.isTrusted) return this.ownDirectory;
    return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  }

  /** Stop the running server (if any), resolve the command again and start a new one. */
  private async restart(reasons: readonly string[]): Promise<void> {
    this.log.info(`(re)starting the server: ${reasons.join(', ')}`);
    const command = await this.resolveCommand();
    const trusted = vscode.workspace.isTrusted;
    const fingerprint = JSON.stringify([command, this.allServerSettings(), trusted]);
    if (reasons.every((r) => r === SETTINGS_CHANGED) && this.ready && this.client?.isRunning() && fingerprint === this.startedWith) {
      this.log.info('the settings the server uses did not change; not restarting');
      return;
    }
    await this.stopClient();
    this.command = command;
    this.startedWith = fingerprint;
    this.log.info(`server command (${command.origin}): ${formatCommandLine(command.command, command.args)}`);
    if (!trusted) {
      if (!this.toldRestricted) this.log.warn(restrictedModeNotice(command));
      this.toldRestricted = true;
      await fs.promises.mkdir(this.ownDirectory, { recursive: true });
    }
    if (command.python !== undefined && !(await this.checkAiloopInstalled(command))) {
      this.updateStatus();
      return;
    }
    const serverOptions: ServerOptions = {
      command: command.command,
      args: [...command.args],
      transport: TransportKind.stdio, // the client appends --stdio
      options: { cwd: this.workingDirectory(), env: process.env },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
      outputChannel: this.log,
      traceOutputChannel: this.log,
      // Every workspace folder is handed over (and kept up to date) by the client; the
      // server asks for each folder's settings with workspace/configuration, so nothing
      // folder-specific goes into initializationOptions. VS Code's workspace trust decides
      // whether the repository's files may name programs to run (the server does not ask).
      initializationOptions: { workspaceTrust: trusted },
      middleware: {
        workspace: {
          // the `ailoop` section as set for that folder, without defaults or client-only keys
          configuration: async (params, token, next) => {
            const result = await next(params, token);
            if (!Array.isArray(result)) return result;
            return result.map((value: unknown, i) => {
              const item = params.items[i];
              if (item?.section !== SECTION) return value;
              return this.serverSettingsFor(item.scopeUri !== undefined ? vscode.Uri.parse(item.scopeUri) : undefined);
            });
          },
        },
      },
    };
    const client = new LanguageClient('ailoop', 'ailoop', serverOptions, clientOptions);
    this.client = client;
    client.onDidChangeState(() => this.updateStatus());
    // both handlers go away with the client (client.dispose())
    client.onNotification('ailoop/status', (params: unknown) => {
      const status = parseSyncStatus(params);
      if (status === undefined) {
        this.log.warn(`ignoring malformed ailoop/status: ${JSON.stringify(params)}`);
        return;
      }
      this.sync = status;
      this.updateStatus();
    });
    try {
      await client.start();
      this.ready = this.client === client;
      this.log.info(`server started (${command.origin})`);
    } catch (error) {
      this.log.error(`the server did not start: ${String(error)}`);
      void vscode.window
        .showErrorMessage(
          `ailoop: the server did not start with \`${formatCommandLine(command.command, command.args)}\`.`,
          'Show Log',
          'Open Settings',
        )
        .then((choice) => this.followUp(choice));
    }
    this.updateStatus();
  }

  private async stopClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.ready = false;
    this.sync = undefined;
    if (client === undefined) return;
    try {
      if (client.isRunning()) await client.stop(5000);
    } catch (error) {
      this.log.warn(`stopping the server: ${String(error)}`);
    }
    await client.dispose().catch(() => undefined);
  }

  /** True when `python -c "import ailoop"` works; otherwise tell the user how to fix it. */
  private async checkAiloopInstalled(command: ResolvedCommand): Promise<boolean> {
    const python = command.python ?? [command.command];
    const result = await runProcess(python[0], [...python.slice(1), '-c', IMPORT_CHECK], {
      cwd: this.workingDirectory(),
      env: process.env,
      timeoutMs: 20000,
    });
    if (result.code === 0) return true;
    const shown = formatCommandLine(python[0], python.slice(1));
    const problem =
      result.error !== undefined
        ? `the Python interpreter \`${shown}\` could not be run (${result.error})`
        : result.code === 3
          ? `ailoop is not installed in \`${shown}\``
          : `\`${shown}\` failed (exit ${String(result.code)}): ${result.stderr.trim().split('\n').pop() ?? ''}`;
    this.log.error(`${problem}; the server was not started (setting used: ${command.origin})`);
    const actions = result.error === undefined ? ['Install ailoop', 'Choose Interpreter', 'Open Settings'] : ['Choose Interpreter', 'Open Settings'];
    void vscode.window
      .showErrorMessage(`${problem}. Install it there (\`${shown} -m pip install ailoop\`) or pick another interpreter.`, ...actions)
      .then((choice) => this.followUp(choice, python));
    return false;
  }

  private async followUp(choice: string | undefined, python?: readonly string[]): Promise<void> {
    if (choice === 'Show Log') this.log.show();
    else if (choice === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', '@ext:ailoop.ailoop');
    else if (choice === 'Choose Interpreter') {
      if (vscode.extensions.getExtension('ms-python.python') !== undefined) await vscode.commands.executeCommand('python.setInterpreter');
      else await vscode.commands.executeCommand('workbench.action.openSettings', 'ailoop.interpreter');
    } else if (choice === 'Install ailoop' && python !== undefined) {
      const terminal = vscode.window.createTerminal({ name: 'ailoop: install', cwd: this.workingDirectory() });
      terminal.show();
      terminal.sendText(formatCommandLine(python[0], [...python.slice(1), '-m', 'pip', 'install', 'ailoop']));
      const restart = await vscode.window.showInformationMessage('ailoop: restart the server when the install has finished.', 'Restart');
      if (restart === 'Restart') await this.restarts.request('installed ailoop');
    }
  }

  private updateStatus(): void {
    const editor = vscode.window.activeTextEditor;
    const count = editor === undefined ? undefined : countSnippetMarkers(vscode.languages.getDiagnostics(editor.document.uri));
    const state = this.client?.state;
    const server: ServerState =
      state === State.Running && this.ready ? 'running' : state === State.Starting || state === State.Running ? 'starting' : 'stopped';
    const view = statusView(count, this.sync, server, !vscode.workspace.isTrusted);
    this.statusItem.text = view.text;
    this.statusItem.tooltip = view.tooltip;
    this.statusItem.backgroundColor = view.warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }

  /** The snippet at the cursor: from ailoop's diagnostics, else from the server's code actions. */
  private async snippetAtCursor(editor: vscode.TextEditor): Promise<SnippetAtCursor | undefined> {
    const uri = editor.document.uri;
    const position = editor.selection.active;
    const diagnostics = this.client?.diagnostics?.get(uri) ?? vscode.languages.getDiagnostics(uri);
    const found = snippetAtPosition(diagnostics, position);
    if (found !== undefined) return found;
    for (const action of await this.codeActionsAt(editor)) {
      const snippet = snippetOfAction(action);
      if (snippet !== undefined) return { snippet, range: new vscode.Range(position, position) };
    }
    return undefined;
  }

  /** The code actions (from every provider) at the cursor. */
  private async codeActionsAt(editor: vscode.TextEditor): Promise<CodeActionLike[]> {
    const position = editor.selection.active;
    const actions = await vscode.commands.executeCommand<Array<vscode.CodeAction | vscode.Command>>(
      'vscode.executeCodeActionProvider',
      editor.document.uri,
      new vscode.Range(position, position),
    );
    return actions ?? [];
  }

  /** Ask which known pattern the snippet repeats, when the server knows any: a key, '' for none, undefined if cancelled. */
  private async pickPattern(editor: vscode.TextEditor, snippet: string): Promise<string | undefined> {
    const choices = rejectPatternChoices(await this.codeActionsAt(editor), snippet);
    if (choices.length === 0) return '';
    const none = { label: 'No known pattern', description: 'only a note', pattern: '' };
    const picked = await vscode.window.showQuickPick([none, ...choices.map((c) => ({ label: c.label, pattern: c.pattern }))], {
      title: 'ailoop: Reject with a Note',
      placeHolder: 'Which known rejection pattern does this snippet repeat?',
      ignoreFocusOut: true,
    });
    return picked?.pattern;
  }

  /** Accept or reject the snippet at the cursor through the server's `ailoop.accept` / `ailoop.reject`. */
  private async decideAtCursor(decision: 'accept' | 'reject', options: { askReason?: boolean } = {}): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const client = this.client;
    if (editor === undefined || client === undefined || !client.isRunning()) {
      void vscode.window.showWarningMessage('ailoop: open a file with an AI snippet first (and check that the server runs).');
      return;
    }
    const found = await this.snippetAtCursor(editor);
    if (found === undefined) {
      void vscode.window.showInformationMessage('ailoop: there is no AI snippet at the cursor.');
      return;
    }
    const argument: Record<string, string> = { uri: editor.document.uri.toString(), snippet: found.snippet };
    if (options.askReason) {
      const pattern = await this.pickPattern(editor, found.snippet);
      if (pattern === undefined) return; // cancelled
      if (pattern !== '') argument.pattern = pattern;
      const reason = await vscode.window.showInputBox({
        title: 'ailoop: Reject with a Note',
        prompt: 'Why is this AI snippet rejected? The note is recorded with the rejection.',
        placeHolder: 'e.g. swallows exceptions; use the project logger',
        ignoreFocusOut: true,
      });
      if (reason === undefined) return; // cancelled
      if (reason.trim() !== '') argument.reason = reason.trim();
    }
    try {
      const answer: unknown = await client.sendRequest(ExecuteCommandRequest.type, { command: `ailoop.${decision}`, arguments: [argument] });
      this.log.info(`${decision}ed ${found.snippet} in ${argument.uri}`);
      // The store could not take it at once: it is safe on disk, and written to the store later.
      if (typeof answer === 'object' && answer !== null && (answer as { durable?: unknown }).durable === false) {
        this.log.warn(`${decision} of ${found.snippet}: saved to the journal, not yet in the store`);
        void vscode.window.showWarningMessage('ailoop: outcome saved to journal, not yet in the store');
      }
    } catch (error) {
      this.log.error(`ailoop.${decision} failed: ${String(error)}`);
      void vscode.window.showErrorMessage(`ailoop: could not ${decision} the snippet (${String(error)}).`);
    }
  }

  /** Tell the server an inline suggestion is being accepted, then accept it as Tab would. */
  private async commitInlineSuggestion(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const client = this.client;
    if (editor !== undefined && client?.isRunning()) {
      const active = vscode.extensions.all.filter((e) => e.isActive).map((e) => e.id);
      const params = { uri: editor.document.uri.toString(), tool: inlineSuggestionTool(active) };
      try {
        await client.sendNotification('ailoop/generated', params);
      } catch (error) {
        this.log.warn(`ailoop/generated not sent: ${String(error)}`);
      }
    }
    await vscode.commands.executeCommand('editor.action.inlineSuggest.commit');
  }

  /** Run `ailoop stats` the way the server is run and show its output in a webview. */
  private async showStats(): Promise<void> {
    const server = this.command ?? (await this.resolveCommand());
    const stats = cliCommand(server, ['stats']);
    if (stats === undefined) {
      void vscode.window.showErrorMessage(
        'ailoop: cannot derive `ailoop stats` from `ailoop.serverCommand` (it has no `serve` argument). Run `ailoop stats` in a terminal.',
      );
      return;
    }
    const line = formatCommandLine(stats.command, stats.args);
    this.log.info(`running ${line}`);
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'ailoop: computing stats' },
      () => runProcess(stats.command, stats.args, { cwd: this.workingDirectory(), env: process.env, timeoutMs: 60000 }),
    );
    if (result.code !== 0) {
      const detail = (result.error ?? result.stderr.trim()) || `exit code ${String(result.code)}`;
      this.log.error(`${line} failed: ${detail}`);
      void vscode.window.showErrorMessage(`ailoop stats failed: ${detail.slice(-500)}`, 'Show Log').then((c) => this.followUp(c));
      return;
    }
    const panel = vscode.window.createWebviewPanel('ailoop.stats', 'ailoop stats', vscode.ViewColumn.Beside, {
      enableScripts: false,
      localResourceRoots: [],
    });
    panel.webview.html = renderStatsHtml(result.stdout, line, new Date());
  }
}

/** Extension entry point. */
export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('ailoop', { log: true });
  context.subscriptions.push(log);
  const ownDirectory = vscode.Uri.joinPath(context.globalStorageUri, 'cwd').fsPath;
  const extension = new AiloopExtension(log, declaredSettingKeys(context.extension.packageJSON), ownDirectory);
  context.subscriptions.push({ dispose: () => void extension.dispose() });
  await extension.activate();
}

/** Nothing to do: the subscriptions stop the server. */
export function deactivate(): void {}
