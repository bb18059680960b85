/**
 * Which AI tool produced an inline suggestion (ghost text) the user accepted with Tab.
 * Pure logic: the caller passes the ids of the active extensions.
 */

/** Extension ids (lower case) that provide inline suggestions, and the tool name ailoop records. */
export const INLINE_SUGGESTION_PROVIDERS: ReadonlyArray<readonly [string, string]> = [
  ['github.copilot', 'copilot'],
  ['github.copilot-chat', 'copilot'],
];

/** The tool for `ailoop/generated`: the first known provider that is active, else "unknown". */
export function inlineSuggestionTool(activeExtensionIds: Iterable<string>): string {
  const active = new Set([...activeExtensionIds].map((id) => id.toLowerCase()));
  for (const [id, tool] of INLINE_SUGGESTION_PROVIDERS) {
    if (active.has(id)) return tool;
  }
  return 'unknown';
}
