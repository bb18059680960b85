/**
 * Finding the AI snippet under the cursor from the diagnostics ailoop publishes.
 *
 * The marker of a tracked snippet is a diagnostic with `source = "ailoop"`,
 * `code = "ai-snippet"`, `data.snippet` = the snippet id and `data.range` = the whole
 * snippet (the marker itself may cover its first line only). Pure logic: the types
 * below are the structural subset of `vscode.Diagnostic` the lookup needs.
 */

/** The marker's diagnostic code. */
export const SNIPPET_CODE = 'ai-snippet';
/** The diagnostic source of everything ailoop publishes. */
export const AILOOP_SOURCE = 'ailoop';

/** A zero-based line/character position. */
export interface PositionLike {
  readonly line: number;
  readonly character: number;
}

/** A range between two positions (end exclusive for characters, as in LSP). */
export interface RangeLike {
  readonly start: PositionLike;
  readonly end: PositionLike;
}

/** The parts of a diagnostic the lookup reads (vscode.Diagnostic plus the client's `data`). */
export interface DiagnosticLike {
  readonly range: RangeLike;
  readonly source?: string;
  readonly code?: string | number | { readonly value: string | number };
  readonly data?: unknown;
}

/** A snippet found at a position: its id and its range. */
export interface SnippetAtCursor {
  readonly snippet: string;
  readonly range: RangeLike;
}

/** The diagnostic's code as a string (`vscode.Diagnostic.code` may be `{value, target}`). */
export function diagnosticCode(diagnostic: DiagnosticLike): string | undefined {
  const { code } = diagnostic;
  if (code === undefined) return undefined;
  if (typeof code === 'object') return String(code.value);
  return String(code);
}

/** True for ailoop's marker of a tracked AI snippet. */
export function isSnippetMarker(diagnostic: DiagnosticLike): boolean {
  return diagnostic.source === AILOOP_SOURCE && diagnosticCode(diagnostic) === SNIPPET_CODE;
}

/** The snippet id carried by any ailoop diagnostic (`data.snippet`), if it is a string. */
export function snippetIdOf(diagnostic: DiagnosticLike): string | undefined {
  const data = diagnostic.data;
  if (typeof data !== 'object' || data === null) return undefined;
  const snippet = (data as { snippet?: unknown }).snippet;
  return typeof snippet === 'string' && snippet.length > 0 ? snippet : undefined;
}

function compare(a: PositionLike, b: PositionLike): number {
  return a.line !== b.line ? a.line - b.line : a.character - b.character;
}

function isPosition(value: unknown): value is PositionLike {
  if (typeof value !== 'object' || value === null) return false;
  const { line, character } = value as { line?: unknown; character?: unknown };
  return Number.isInteger(line) && Number.isInteger(character);
}

/** The snippet's whole range: the marker's `data.range` when it has a valid one, else its own. */
export function snippetRangeOf(diagnostic: DiagnosticLike): RangeLike {
  const data = diagnostic.data;
  const whole = typeof data === 'object' && data !== null ? (data as { range?: unknown }).range : undefined;
  if (typeof whole === 'object' && whole !== null) {
    const { start, end } = whole as { start?: unknown; end?: unknown };
    if (isPosition(start) && isPosition(end)) return { start, end };
  }
  return diagnostic.range;
}

/** True when `position` is inside `range`, both ends included (a cursor at the end counts). */
export function rangeContains(range: RangeLike, position: PositionLike): boolean {
  return compare(range.start, position) <= 0 && compare(position, range.end) <= 0;
}

/**
 * The snippet at `position`: the ailoop marker whose snippet (`data.range`, else the
 * marker's own range) holds it; a snippet counts for every character of its lines. When
 * several match, the innermost (latest-starting) wins. Falls back to any ailoop diagnostic
 * with `data.snippet`.
 */
export function snippetAtPosition(
  diagnostics: readonly DiagnosticLike[],
  position: PositionLike,
): SnippetAtCursor | undefined {
  const covers = (range: RangeLike): boolean =>
    rangeContains(range, position) || (range.start.line <= position.line && position.line <= range.end.line);
  const pick = (candidates: DiagnosticLike[]): SnippetAtCursor | undefined => {
    const best = candidates
      .filter((d) => snippetIdOf(d) !== undefined)
      .map((d) => ({ d, range: snippetRangeOf(d) }))
      .filter(({ range }) => covers(range))
      .sort((a, b) => compare(b.range.start, a.range.start))[0];
    return best && { snippet: snippetIdOf(best.d) as string, range: best.range };
  };
  const ailoop = diagnostics.filter((d) => d.source === AILOOP_SOURCE);
  return pick(ailoop.filter(isSnippetMarker)) ?? pick(ailoop);
}

/** The number of AI snippet markers among the diagnostics of one file. */
export function countSnippetMarkers(diagnostics: readonly DiagnosticLike[]): number {
  return diagnostics.filter(isSnippetMarker).length;
}

/** The parts of a code action (or a bare command) that the pattern lookup reads. */
export interface CodeActionLike {
  readonly title: string;
  readonly command?: string | { readonly command: string; readonly arguments?: readonly unknown[] };
  readonly arguments?: readonly unknown[];
}

/** The command a code action (or a bare command) runs, and its first argument. */
export function commandOf(action: CodeActionLike): { name: string | undefined; argument: unknown } {
  const command = typeof action.command === 'object' ? action.command : undefined;
  const name = command?.command ?? (typeof action.command === 'string' ? action.command : undefined);
  return { name, argument: (command?.arguments ?? action.arguments)?.[0] };
}

/** The snippet id an ailoop accept/reject action is about, if it is one. */
export function snippetOfAction(action: CodeActionLike): string | undefined {
  const { name, argument } = commandOf(action);
  if ((name !== 'ailoop.accept' && name !== 'ailoop.reject') || typeof argument !== 'object' || argument === null) return undefined;
  const snippet = (argument as { snippet?: unknown }).snippet;
  return typeof snippet === 'string' ? snippet : undefined;
}

/** A known rejection pattern the user can name when rejecting a snippet. */
export interface PatternChoice {
  readonly label: string;
  readonly pattern: string;
}

/**
 * The known rejection patterns the server offers for `snippet`: its code actions that run
 * `ailoop.reject` with a `pattern` argument (titled "Reject: <title> (<source> <rule>)").
 */
export function rejectPatternChoices(actions: readonly CodeActionLike[], snippet: string): PatternChoice[] {
  const choices: PatternChoice[] = [];
  const seen = new Set<string>();
  for (const action of actions) {
    const { name, argument } = commandOf(action);
    if (name !== 'ailoop.reject' || typeof argument !== 'object' || argument === null) continue;
    const { pattern, snippet: target } = argument as { pattern?: unknown; snippet?: unknown };
    if (typeof pattern !== 'string' || target !== snippet || seen.has(pattern)) continue;
    seen.add(pattern);
    choices.push({ label: action.title.replace(/^Reject:\s*/, ''), pattern });
  }
  return choices;
}
