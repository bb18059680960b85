/**
 * The `ailoop` settings section as the server receives it.
 *
 * The server asks for the section `ailoop` per workspace folder (`workspace/configuration`)
 * and gets a nested object (`{detect: {minLines: 5}, ...}`) of the values set for that
 * folder. Settings that only the client uses (how to start the server, tracing, the Tab
 * keybinding) are left out. Pure logic.
 */

/** Top-level keys of the `ailoop` section that configure the client, not the server. */
export const CLIENT_ONLY_KEYS: readonly string[] = ['interpreter', 'serverCommand', 'importStrategy', 'trace', 'inlineSuggestions'];

/** Settings that choose the server process: a change starts a new one. */
export const RESTART_KEYS: readonly string[] = ['interpreter', 'serverCommand', 'importStrategy'];

/** A JSON-like settings object. */
export type SettingsObject = { [key: string]: unknown };

function isPlainObject(value: unknown): value is SettingsObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Build the nested section from flat dotted keys (`"detect.minLines" -> 3`), e.g. from the
 * keys declared in package.json, so that the object does not depend on how VS Code nests.
 */
export function nestSettings(flat: Readonly<Record<string, unknown>>): SettingsObject {
  const root: SettingsObject = {};
  for (const [dotted, value] of Object.entries(flat)) {
    if (value === undefined) continue;
    const parts = dotted.split('.');
    let node = root;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      if (!isPlainObject(next)) node[part] = {};
      node = node[part] as SettingsObject;
    }
    node[parts[parts.length - 1]] = value;
  }
  return root;
}

/** The keys (without the `ailoop.` prefix) declared in package.json's configuration. */
export function declaredSettingKeys(packageJson: unknown): string[] {
  const contributes = isPlainObject(packageJson) ? packageJson.contributes : undefined;
  const configuration = isPlainObject(contributes) ? contributes.configuration : undefined;
  const blocks = Array.isArray(configuration) ? configuration : [configuration];
  const keys: string[] = [];
  for (const block of blocks) {
    const properties = isPlainObject(block) ? block.properties : undefined;
    if (!isPlainObject(properties)) continue;
    for (const key of Object.keys(properties)) {
      if (key.startsWith('ailoop.')) keys.push(key.slice('ailoop.'.length));
    }
  }
  return keys;
}

/** What `WorkspaceConfiguration.inspect()` tells of one setting, level by level. */
export interface SettingLevels {
  readonly globalValue?: unknown;
  readonly workspaceValue?: unknown;
  readonly workspaceFolderValue?: unknown;
}

/**
 * The server's view of the settings for one scope: only the values someone set (folder
 * over workspace over user), nested, without the client-only keys. Defaults are left out,
 * so that they do not override the repository's own `.ailoop.toml`; the server has the
 * same defaults.
 */
export function explicitSettings(keys: readonly string[], inspect: (key: string) => SettingLevels | undefined): SettingsObject {
  const flat: Record<string, unknown> = {};
  for (const key of keys) {
    if (CLIENT_ONLY_KEYS.includes(key.split('.')[0])) continue;
    const levels = inspect(key);
    const value = levels?.workspaceFolderValue ?? levels?.workspaceValue ?? levels?.globalValue;
    if (value !== undefined) flat[key] = value;
  }
  return nestSettings(flat);
}

/**
 * What a change of settings asks of the running server (`changed` is
 * `ConfigurationChangeEvent.affectsConfiguration`): `restart` for the settings that choose the
 * server process, `notify` (`workspace/didChangeConfiguration`, the server reads its section
 * again) for the others it uses, `none` for client-only ones (the language client follows
 * `ailoop.trace.server` itself) and changes outside `ailoop`.
 */
export function configurationChange(changed: (section: string) => boolean): 'restart' | 'notify' | 'none' {
  if (!changed('ailoop')) return 'none';
  if (RESTART_KEYS.some((key) => changed(`ailoop.${key}`))) return 'restart';
  const clientOnly = CLIENT_ONLY_KEYS.some((key) => changed(`ailoop.${key}`));
  if (clientOnly && !serverKeyChanged(changed)) return 'none';
  return 'notify';
}

/** Top-level keys of the section the server reads (for {@link configurationChange}). */
export const SERVER_KEYS: readonly string[] = ['detect', 'feedback', 'store', 'patterns', 'sync', 'context', 'engines'];

function serverKeyChanged(changed: (section: string) => boolean): boolean {
  return SERVER_KEYS.some((key) => changed(`ailoop.${key}`));
}
