/**
 * The `ailoop` settings section as the server receives it.
 *
 * VS Code hands the section over as a nested object (`{detect: {minLines: 3}, ...}`); the
 * server gets the same object in `initializationOptions` and as the answer to
 * `workspace/configuration` for the section `ailoop`. Settings that only the client uses
 * (how to start the server, tracing, the Tab keybinding) are left out. Pure logic.
 */

/** Top-level keys of the `ailoop` section that configure the client, not the server. */
export const CLIENT_ONLY_KEYS: readonly string[] = ['interpreter', 'serverCommand', 'trace', 'inlineSuggestions'];

/** A JSON-like settings object. */
export type SettingsObject = { [key: string]: unknown };

function isPlainObject(value: unknown): value is SettingsObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep-copy JSON values, dropping functions and undefined (a WorkspaceConfiguration has methods). */
function toJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toJson);
  if (isPlainObject(value)) {
    const out: SettingsObject = {};
    for (const [key, inner] of Object.entries(value)) {
      if (typeof inner === 'function' || inner === undefined) continue;
      out[key] = toJson(inner);
    }
    return out;
  }
  return value;
}

/** The server's view of the `ailoop` section: a JSON copy without the client-only keys. */
export function serverSettings(section: unknown): SettingsObject {
  const copy = toJson(section);
  if (!isPlainObject(copy)) return {};
  for (const key of CLIENT_ONLY_KEYS) delete copy[key];
  return copy;
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

/** Does a change of these settings need a new server process? (Everything in `ailoop` does.) */
export function affectsServer(changed: (section: string) => boolean): boolean {
  return changed('ailoop');
}
