/**
 * The ailoop VS Code extension: starts the ailoop language server with the right Python,
 * keeps it in step with the settings, and adds the editor-side commands (accept/reject at
 * the cursor, reject with a note, stats, Tab-accept reporting) and a status bar item.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
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
import { configurationChange, declaredSettingKeys, explicitSettings, type SettingsObject } from './settings';
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
import { renderStatsHtml, reportForWebview } from './statsView';

const SECTION = 'ailoop';
const SETTINGS_CHANGED = 'settings changed';
/** Exit code of `bundled/tool/launch.py` when the interpreter cannot run the bundle. */
const BUNDLE_UNSUPPORTED = 4;

/** What the extension carries besides its code (written by scripts/package.py). */
export interface Bundle {
  /** `bundled/tool/launch.py`, when `bundled/libs` is there. */
  readonly launcher?: string;
  /** ailoop's wheel (`bundled/wheels/ailoop-*.whl`), to install into an interpreter. */
  readonly wheel?: string;
}

/** Find the bundled server and wheel under the extension's directory. */
function findBundle(extensionPath: string): Bundle {
  const bundled = nodePath.join(extensionPath, 'bundled');
  const launcher = nodePath.join(bundled, 'tool', 'launch.py');
  const hasLibs = fs.existsSync(nodePath.join(bundled, 'libs', 'ailoop-bundle.json')) && fs.existsSync(launcher);
  let wheel: string | undefined;
  try {
    const name = fs.readdirSync(nodePath.join(bundled, 'wheels')).find((n) => /^ailoop-.*\.whl$/.test(n));
    if (name !== undefined) wheel = nodePath.join(bundled, 'wheels', name);
  } catch {
    // no wheels directory: a development build
  }
  if (hasLibs) {
    // a .vsix keeps the executable bit of ruff and ty; a copied folder may not
    for (const tool of ['ruff', 'ty']) {
      const file = nodePath.join(bundled, 'libs', 'bin', tool);
      try {
        const mode = fs.statSync(file).mode;
        if ((mode & 0o111) === 0) fs.chmodSync(file, mode | 0o755);
      } catch {
        // not bundled for this platform
      }
    }
  }
  return { launcher: hasLibs ? launcher : undefined, wheel };
}

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
  private readonly configurationPushes: CoalescingRunner;
  private readonly python: PythonInterpreters;
  /** The report webview of "ailoop: Show Stats", while it is open. */
  private statsPanel: vscode.WebviewPanel | undefined;
  private disposed = false;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    /** The `ailoop.*` keys the extension declares. */
    private readonly settingKeys: readonly string[],
    /** An empty directory of the extension's own: the processes' working directory in an untrusted workspace. */
    private readonly ownDirectory: string,
    /** The server and wheel shipped inside the extension. */
    private readonly bundle: Bundle,
    /** Where the report is written before the webview shows it. */
    private readonly storageDirectory: string,
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
    this.configurationPushes = new CoalescingRunner(
      () => this.pushConfiguration(),
      100,
      (error) => log.error(`sending the changed settings failed: ${String(error)}`),
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
    register('ailoop.refreshStats', () => this.showStats({ refresh: true }));
    register('ailoop.commitInlineSuggestion', () => this.commitInlineSuggestion());

    this.disposables.push(
      this.statusItem,
      vscode.workspace.onDidChangeConfiguration((event) => {
        const change = configurationChange((section) => event.affectsConfiguration(section));
        if (change === 'restart' || (change === 'notify' && !this.ready)) void this.restarts.request(SETTINGS_CHANGED);
        else if (change === 'notify') void this.configurationPushes.request(SETTINGS_CHANGED);
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

  /** Stop the server (it gets `shutdown` and `exit`) and drop every registration; idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.statsPanel?.dispose();
    await this.stopClient();
  }

  /**
   * Tell the running server that its settings changed (`workspace/didChangeConfiguration`
   * with no settings): it asks for the `ailoop` section of each folder again
   * (`workspace/configuration`, answered by the middleware below) and applies it without a
   * restart. The settings that choose the server process restart it instead.
   */
  private async pushConfiguration(): Promise<void> {
    const client = this.client;
    if (client === undefined || !this.ready || !client.isRunning()) {
      await this.restarts.request(SETTINGS_CHANGED);
      return;
    }
    this.log.info('settings changed: sending workspace/didChangeConfiguration (no restart)');
    await client.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
  }

  private config(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION, vscode.workspace.workspaceFolders?.[0]?.uri);
  }

  /** The settings the server gets for one workspace folder (or the window, without a scope). */
  private serverSettingsFor(scope: vscode.Uri | undefined): SettingsObject {
    const config = vscode.workspace.getConfiguration(SECTION, scope);
    return explicitSettings(this.settingKeys, (key) => config.inspect(key));
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
    const useBundled = config.get<string>('importStrategy') !== 'fromEnvironment';
    return resolveServerCommand({
      serverCommand: subst(config.get<string[]>('serverCommand') ?? []),
      interpreter: subst(config.get<string[]>('interpreter') ?? []),
      pythonExtensionInterpreter: await this.python.activeInterpreter(folder?.uri),
      bundledLauncher: useBundled ? this.bundle.launcher : undefined,
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
    const fingerprint = JSON.stringify([command, trusted]);
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
    if (command.python !== undefined && !(await (command.bundled ? this.checkBundleRuns(command) : this.checkAiloopInstalled(command)))) {
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

  /** True when the interpreter can run the bundled server (`launch.py --check`); otherwise say why. */
  private async checkBundleRuns(command: ResolvedCommand): Promise<boolean> {
    const python = command.python ?? [command.command];
    const launcher = this.bundle.launcher as string;
    const result = await runProcess(python[0], [...python.slice(1), '-I', launcher, '--check'], {
      cwd: this.workingDirectory(),
      env: process.env,
      timeoutMs: 20000,
    });
    if (result.code === 0) {
      this.log.info(`the bundled ailoop runs with ${result.stdout.trim()}`);
      return true;
    }
    const shown = formatCommandLine(python[0], python.slice(1));
    const problem =
      result.error !== undefined
        ? `the Python interpreter \`${shown}\` could not be run (${result.error})`
        : result.code === BUNDLE_UNSUPPORTED
          ? result.stderr.trim()
          : `\`${shown}\` failed (exit ${String(result.code)}): ${result.stderr.trim().split('\n').pop() ?? ''}`;
    this.log.error(`${problem}; the server was not started (setting used: ${command.origin})`);
    void vscode.window
      .showErrorMessage(`ailoop: ${problem}. Choose a Python 3.11 or later in \`ailoop.interpreter\` (or the Python extension).`, 'Choose Interpreter', 'Open Settings')
      .then((choice) => this.followUp(choice, python));
    return false;
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
    const actions: string[] = [];
    if (this.bundle.launcher !== undefined) actions.push('Use Bundled ailoop');
    if (result.error === undefined && this.bundle.wheel !== undefined) actions.push('Install ailoop');
    actions.push('Choose Interpreter', 'Open Settings');
    void vscode.window
      .showErrorMessage(`${problem}. ${installAdvice(shown, this.bundle)}`, ...actions)
      .then((choice) => this.followUp(choice, python));
    return false;
  }

  private async followUp(choice: string | undefined, python?: readonly string[]): Promise<void> {
    if (choice === 'Show Log') this.log.show();
    else if (choice === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', '@ext:ailoop.ailoop');
    else if (choice === 'Choose Interpreter') {
      if (vscode.extensions.getExtension('ms-python.python') !== undefined) await vscode.commands.executeCommand('python.setInterpreter');
      else await vscode.commands.executeCommand('workbench.action.openSettings', 'ailoop.interpreter');
    } else if (choice === 'Use Bundled ailoop') {
      await vscode.workspace.getConfiguration(SECTION).update('importStrategy', 'useBundled', vscode.ConfigurationTarget.Global);
    } else if (choice === 'Install ailoop' && python !== undefined && this.bundle.wheel !== undefined) {
      // ailoop is not on the package index yet: install the wheel the extension carries
      // (its dependencies are published there)
      const terminal = vscode.window.createTerminal({ name: 'ailoop: install', cwd: this.workingDirectory() });
      terminal.show();
      terminal.sendText(formatCommandLine(python[0], [...python.slice(1), '-m', 'pip', 'install', this.bundle.wheel]));
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
    // running: the snippet count opens the report; otherwise the log says why it is not
    this.statusItem.command = server === 'running' ? 'ailoop.showStats' : 'ailoop.showLog';
    this.statusItem.tooltip = server === 'running' ? `${view.tooltip}\nClick to show the ailoop report` : view.tooltip;
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

  /**
   * "ailoop: Show Stats": run `ailoop report -o FILE` the way the server is run and show the
   * page in a webview (no scripts; the report's own Content-Security-Policy stays). The
   * editor title's refresh button (`ailoop.refreshStats`) builds it again.
   */
  private async showStats(options: { refresh?: boolean } = {}): Promise<void> {
    if (options.refresh && this.statsPanel === undefined) return this.showStats();
    const server = this.command ?? (await this.resolveCommand());
    await fs.promises.mkdir(this.storageDirectory, { recursive: true });
    const file = nodePath.join(this.storageDirectory, `report-${process.pid}-${Date.now()}.html`);
    const report = cliCommand(server, ['report', '-o', file]);
    if (report === undefined) {
      void vscode.window.showErrorMessage(
        'ailoop: cannot derive `ailoop report` from `ailoop.serverCommand` (it has no `serve` argument). Run `ailoop report -o report.html` in a terminal.',
      );
      return;
    }
    const line = formatCommandLine(report.command, report.args);
    this.log.info(`running ${line}`);
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'ailoop: building the report' },
      () => runProcess(report.command, report.args, { cwd: this.workingDirectory(), env: process.env, timeoutMs: 120000 }),
    );
    let html: string | undefined;
    if (result.code === 0) html = await fs.promises.readFile(file, 'utf8').catch(() => undefined);
    await fs.promises.rm(file, { force: true });
    if (html === undefined) {
      const detail = (result.error ?? result.stderr.trim()) || `exit code ${String(result.code)}`;
      this.log.error(`${line} failed: ${detail}`);
      const choice = await vscode.window.showErrorMessage(
        `ailoop: the report could not be built (\`${line}\`): ${detail.split('\n').pop()?.slice(-400) ?? ''}`,
        'Show Log',
        'Show Text Stats',
      );
      if (choice === 'Show Text Stats') await this.showTextStats(server);
      else await this.followUp(choice);
      return;
    }
    this.showInPanel('ailoop report', reportForWebview(html));
  }

  /** The webview of Show Stats: created once, revealed and refilled after. */
  private showInPanel(title: string, html: string): void {
    let panel = this.statsPanel;
    if (panel === undefined) {
      panel = vscode.window.createWebviewPanel('ailoop.stats', title, vscode.ViewColumn.Beside, {
        enableScripts: false,
        enableCommandUris: false,
        localResourceRoots: [],
      });
      this.statsPanel = panel;
      panel.onDidDispose(() => {
        if (this.statsPanel === panel) this.statsPanel = undefined;
      });
    } else {
      panel.reveal(undefined, true);
    }
    panel.title = title;
    panel.webview.html = html;
  }

  /** `ailoop stats` as text, for an ailoop without `report` (e.g. an older one in the environment). */
  private async showTextStats(server: ResolvedCommand): Promise<void> {
    const stats = cliCommand(server, ['stats']);
    if (stats === undefined) return;
    const line = formatCommandLine(stats.command, stats.args);
    const result = await runProcess(stats.command, stats.args, { cwd: this.workingDirectory(), env: process.env, timeoutMs: 60000 });
    if (result.code !== 0) {
      const detail = (result.error ?? result.stderr.trim()) || `exit code ${String(result.code)}`;
      this.log.error(`${line} failed: ${detail}`);
      void vscode.window.showErrorMessage(`ailoop stats failed: ${detail.slice(-500)}`, 'Show Log').then((c) => this.followUp(c));
      return;
    }
    this.showInPanel('ailoop stats', renderStatsHtml(result.stdout, line, new Date()));
  }
}

/** How to get ailoop into an interpreter today (it is not on the package index yet). */
function installAdvice(python: string, bundle: Bundle): string {
  const bundled = bundle.launcher !== undefined ? 'Use the ailoop bundled with the extension (`ailoop.importStrategy`: `useBundled`), or install' : 'Install';
  const from = bundle.wheel !== undefined ? `\`${python} -m pip install ${bundle.wheel}\`` : `from a checkout of the ailoop repository: \`${python} -m pip install <checkout>\``;
  return `${bundled} it there (${from}; ailoop is not on PyPI yet), or pick another interpreter.`;
}

/** Extension entry point. */
export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('ailoop', { log: true });
  context.subscriptions.push(log);
  const ownDirectory = vscode.Uri.joinPath(context.globalStorageUri, 'cwd').fsPath;
  const reports = vscode.Uri.joinPath(context.globalStorageUri, 'reports').fsPath;
  const bundle = findBundle(context.extensionPath);
  log.info(bundle.launcher !== undefined ? `bundled server: ${bundle.launcher}` : 'no bundled server in this build of the extension');
  const extension = new AiloopExtension(log, declaredSettingKeys(context.extension.packageJSON), ownDirectory, bundle, reports);
  current = extension;
  context.subscriptions.push({ dispose: () => void extension.dispose() });
  await extension.activate();
}

let current: AiloopExtension | undefined;

/** Stop the server before VS Code lets the extension host go: it gets `shutdown` and `exit`. */
export async function deactivate(): Promise<void> {
  const extension = current;
  current = undefined;
  await extension?.dispose();
}
