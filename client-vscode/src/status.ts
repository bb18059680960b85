/**
 * The text of ailoop's status bar item: AI snippets pending review in the active file and the
 * sync state the server reports with the `ailoop/status` notification. Pure logic.
 */

/** Sync states of the `ailoop/status` notification. */
export const SYNC_STATES = ['idle', 'syncing', 'offline', 'error', 'disabled'] as const;
/** One of {@link SYNC_STATES}. */
export type SyncState = (typeof SYNC_STATES)[number];

/** The payload of `ailoop/status`. */
export interface SyncStatus {
  readonly state: SyncState;
  readonly pending: number;
  readonly message?: string;
}

/** What the status bar item shows. */
export interface StatusView {
  readonly text: string;
  readonly tooltip: string;
  readonly warning: boolean;
}

/** Parse an `ailoop/status` payload; undefined when it does not have the documented shape. */
export function parseSyncStatus(params: unknown): SyncStatus | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const { state, pending, message } = params as Record<string, unknown>;
  if (typeof state !== 'string' || !(SYNC_STATES as readonly string[]).includes(state)) return undefined;
  const count = typeof pending === 'number' && Number.isFinite(pending) && pending >= 0 ? Math.floor(pending) : 0;
  return { state: state as SyncState, pending: count, ...(typeof message === 'string' ? { message } : {}) };
}

const SYNC_ICONS: Record<SyncState, string> = {
  idle: '$(check)',
  syncing: '$(sync~spin)',
  offline: '$(cloud-offline)',
  error: '$(error)',
  disabled: '',
};

const SYNC_WORDS: Record<SyncState, string> = {
  idle: 'synced',
  syncing: 'syncing',
  offline: 'shared store offline',
  error: 'sync error',
  disabled: 'sync off (local store only)',
};

/** Whether the language server can be used: `running` once it has started and has the open files. */
export type ServerState = 'starting' | 'running' | 'stopped';

/** The status bar's mark of an untrusted workspace (Restricted Mode). */
export const RESTRICTED_TEXT = '$(workspace-untrusted) restricted';
/** The tooltip line that explains it. */
export const RESTRICTED_TOOLTIP =
  'Restricted Mode: the workspace is not trusted, so ailoop runs no program it chooses (its interpreter, ' +
  'command engines, ruff/ty commands, .venv tools). Trust the workspace to use them.';

/**
 * Compose the status bar text and tooltip. `snippets` is undefined when no file is active;
 * `restricted` is true in an untrusted workspace.
 */
export function statusView(snippets: number | undefined, sync: SyncStatus | undefined, server: ServerState, restricted = false): StatusView {
  const view = serverView(snippets, sync, server);
  if (!restricted) return view;
  return { ...view, text: `${view.text} ${RESTRICTED_TEXT}`, tooltip: `${view.tooltip}\n${RESTRICTED_TOOLTIP}` };
}

function serverView(snippets: number | undefined, sync: SyncStatus | undefined, server: ServerState): StatusView {
  if (server === 'stopped') {
    return { text: '$(circle-slash) ailoop', tooltip: 'ailoop: the server is not running (click for the log)', warning: true };
  }
  if (server === 'starting') {
    return { text: '$(loading~spin) ailoop', tooltip: 'ailoop: starting the server', warning: false };
  }
  const parts: string[] = [];
  const tooltip: string[] = [];
  if (snippets !== undefined) {
    parts.push(`$(sparkle) ${snippets}`);
    tooltip.push(`${snippets} AI snippet${snippets === 1 ? '' : 's'} pending review in this file`);
  } else {
    parts.push('$(sparkle) ailoop');
  }
  if (sync !== undefined) {
    const icon = SYNC_ICONS[sync.state];
    if (icon) parts.push(sync.pending > 0 ? `${icon} ${sync.pending}` : icon);
    let line = `Sync: ${SYNC_WORDS[sync.state]}`;
    if (sync.pending > 0) line += `, ${sync.pending} event${sync.pending === 1 ? '' : 's'} waiting`;
    if (sync.message) line += ` (${sync.message})`;
    tooltip.push(line);
  }
  return { text: parts.join(' '), tooltip: tooltip.join('\n') || 'ailoop', warning: sync?.state === 'error' };
}
