// Drives code-server in headless Chromium (playwright-core) through one ailoop scenario and
// writes what it saw to OUT/result.json; the pytest test makes the assertions on the ailoop
// side (events). Exits non-zero when a step of the scenario could not be done.
//
// usage: node drive.mjs --url URL --out DIR --playwright DIR --plan PLAN.json
//   PLAN.json: {"scenario": "reject" | "inline" | "missing-ailoop" | "multi-root" |
//                           "untrusted" | "ctrl-dot-enter" | "reject-and-remove",
//               "snippet": "...",                      (ctrl-dot-enter, reject-and-remove)
//               "later": "...",                        (reject-and-remove: pasted after the undo)
//               "file": "sample.py", "files": ["a.py", "b.py"], "snippet": "...", (multi-root)
//               "snippets": ["...", "..."], "reason": "...",            (reject)
//               "pattern": "<title of a known pattern to pick>",       (reject, optional)
//               "trigger": "...", "expectText": "...",                 (inline)
//               "expectNotification": "...",                           (missing-ailoop)
//               "fix": {"settingsFiles": [...], "settings": {...}}}    (missing-ailoop)
//               "markers": {"name": "/path", ...}, "settleMs": 3000,   (untrusted: files that
//               "expectMessage": "...", "expectAfterTrust": ["name"]}   appear when a program ran)
//   "bundled": {"file", "snippet", "expectProblem": "E722",
//               "change": {"settingsFiles": [...], "settings": {...}},  (written once the marker shows)
//               "stats": true}   (open the report from the status bar, accept, refresh)
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const opt = { url: null, out: null, playwright: null, plan: null, chromium: '/usr/bin/chromium' };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, '');
  if (!(key in opt)) throw new Error(`unknown option ${process.argv[i]}`);
  opt[key] = process.argv[i + 1];
}
for (const key of ['url', 'out', 'playwright', 'plan']) if (!opt[key]) throw new Error(`--${key} is required`);
const plan = JSON.parse(fs.readFileSync(opt.plan, 'utf8'));
fs.mkdirSync(opt.out, { recursive: true });

// an ESM import ignores NODE_PATH: load playwright-core from its install dir
const { chromium } = createRequire(path.join(opt.playwright, 'package.json'))('playwright-core');

const t0 = Date.now();
const steps = [];
const seen = {};
function step(name, detail) {
  const at = (Date.now() - t0) / 1000;
  steps.push({ name, at_s: at, detail });
  console.log(`[${at.toFixed(1)}s] ${name}${detail === undefined ? '' : ' ' + JSON.stringify(detail)}`);
}

const SQUIGGLES = ['error', 'warning', 'info', 'hint'].map((s) => `.monaco-editor .squiggly-${s}`).join(', ');

// The workbench may swallow the first shortcut while it restores: retry until the box shows.
async function openQuickInput(page, keys, value) {
  const input = page.locator('.quick-input-widget input.input');
  for (let attempt = 1; attempt <= 5; attempt++) {
    await page.keyboard.press(keys);
    if (await input.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false)) {
      await input.fill(value);
      return;
    }
  }
  throw new Error(`the quick input did not open with ${keys}`);
}

async function pickRow(page, text) {
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: text }).first();
  await row.waitFor({ state: 'visible', timeout: 20000 });
  await row.click();
}

// `file` is relative to the workspace; quick open lists a file by its name (its folder
// beside it), and the tab is named by the file's name.
async function openFile(page, file) {
  const name = path.basename(file);
  await openQuickInput(page, 'Control+P', file);
  await pickRow(page, name);
  await page.locator(`.tabs-container .tab.active[data-resource-name="${name}"]`).waitFor({ timeout: 20000 });
  const editor = page.locator('.editor-group-container.active .monaco-editor').first();
  await editor.locator('.view-lines').waitFor();
  return editor;
}

// The text the editor renders (small files: every line is in the DOM).
async function renderedText(editor) {
  return editor.locator('.view-lines').evaluate((el) =>
    [...el.querySelectorAll('.view-line')]
      .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
      .map((line) => line.textContent.replace(/\u00a0/g, ' '))
      .join('\n'));
}

// Paste `text` at the end of the file: one edit, as when code is pasted from an AI chat.
// (keyboard.insertText reaches Monaco one character at a time, like typing.)
async function pasteAtEnd(page, editor, text) {
  await editor.locator('.view-lines').click();
  await page.keyboard.press('Control+End');
  await page.evaluate((t) => navigator.clipboard.writeText(t), text);
  await page.keyboard.press('Control+V');
}

// Wait until ailoop's status bar item says the server runs (it counts snippets then).
async function waitForServer(page, timeoutMs = 60000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const items = await statusText(page);
    const ready = items.find((i) => /pending review/.test(i.label));
    if (ready) return ready;
    if (Date.now() > end) throw new Error(`the ailoop server did not come up: ${JSON.stringify(items)}`);
    await page.waitForTimeout(250);
  }
}

// Boxes of all squiggle decorations in the editor.
async function squiggleBoxes(page) {
  const boxes = [];
  for (const el of await page.locator(SQUIGGLES).all()) {
    const box = await el.boundingBox().catch(() => null);
    if (box && box.width > 0) boxes.push({ ...box, cls: await el.getAttribute('class', { timeout: 1000 }).catch(() => '') });
  }
  return boxes;
}

async function lineTop(editor, lineNumber) {
  // the line-numbers gutter has one .line-numbers element per rendered line
  const gutter = editor.locator('.margin-view-overlays .line-numbers', { hasText: new RegExp(`^${lineNumber}$`) }).first();
  await gutter.waitFor({ timeout: 10000 });
  return gutter.boundingBox({ timeout: 1000 });
}

// Wait for a squiggle on one of the editor lines [first, last] (1-based) and return its box.
async function waitForSquiggleOnLines(page, editor, first, last, timeoutMs = 20000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    // the editor re-renders while decorations and lenses arrive: a box may be gone meanwhile
    const top = await lineTop(editor, first).catch(() => null);
    const bottom = await lineTop(editor, last).catch(() => null);
    const hit = top && bottom && (await squiggleBoxes(page)).find((b) => b.y + b.height / 2 >= top.y && b.y + b.height / 2 <= bottom.y + bottom.height);
    if (hit) return hit;
    if (Date.now() > end) throw new Error(`no squiggle on lines ${first}-${last} within ${timeoutMs / 1000}s`);
    await page.waitForTimeout(250);
  }
}

async function codeLensText(editor) {
  const lens = editor.locator('.codelens-decoration', { hasText: 'Reject' }).first();
  await lens.waitFor({ state: 'visible', timeout: 20000 });
  return (await lens.innerText()).replace(/\s+/g, ' ').trim();
}

async function hoverText(page, measure, containing, screenshot) {
  // A hover shows only after the pointer rests on the squiggle; a busy machine (or a code
  // lens that moved the line) can miss it, so the squiggle is measured again and the
  // pointer comes back until the hover shows with `containing` (the snippet's marker comes
  // once its event is stored, a moment after the engines' findings).
  const hover = page.locator('.monaco-hover:visible', { hasText: containing }).first();
  const end = Date.now() + 20000;
  for (;;) {
    // a hint is drawn (and hovered) only on the two columns where its range starts, where
    // the cursor line's lightbulb stands: the cursor goes to the first line, away from it
    await page.keyboard.press('Control+Home');
    const box = await measure();
    await page.mouse.move(5, 5);
    await page.mouse.move(box.x + Math.min(box.width / 2, 20), box.y + box.height / 2);
    try {
      await hover.waitFor({ state: 'visible', timeout: 4000 });
      break;
    } catch (err) {
      if (Date.now() > end) {
        if (screenshot) await page.screenshot({ path: screenshot.replace(/\.png$/, '-missed.png') });
        throw new Error(`no hover with ${JSON.stringify(containing)} at ${JSON.stringify(box)}: ${err.message}`);
      }
    }
  }
  const text = (await hover.innerText()).replace(/\s+/g, ' ').trim();
  if (screenshot) await page.screenshot({ path: screenshot });
  await page.mouse.move(5, 5);
  await page.keyboard.press('Escape');
  return text;
}

// Open the lightbulb's menu on `box` and pick the row matching `title`. The menu lists
// the actions known when it opens: until an engine's finding has arrived, its "Reject: …"
// row is not there yet, so the menu is closed and opened again (for at most 30 s).
async function codeActionFromLightbulb(page, box, title) {
  const end = Date.now() + 30000;
  for (;;) {
    await page.mouse.click(box.x + Math.min(box.width / 2, 20), box.y + box.height / 2);
    const bulb = page.locator('.monaco-editor .lightBulbWidget').first();
    await bulb.waitFor({ state: 'visible', timeout: 20000 });
    await bulb.click();
    const menu = page.locator('.action-widget:visible').first();
    await menu.waitFor({ state: 'visible', timeout: 10000 });
    const items = (await menu.locator('.monaco-list-row').allInnerTexts()).map((s) => s.replace(/\s+/g, ' ').trim());
    const row = menu.locator('.monaco-list-row', { hasText: title }).first();
    if (await row.count() === 0 && Date.now() < end) {
      await page.keyboard.press('Escape');
      await page.waitForTimeout(1000);
      continue;
    }
    await row.click();
    await menu.waitFor({ state: 'hidden', timeout: 10000 }).catch(() => {});
    return items;
  }
}

// The ailoop status bar item(s): their DOM id carries the extension's item id.
async function statusText(page) {
  return page.locator('.statusbar-item').evaluateAll((els) => els
    .filter((el) => /ailoop/i.test(el.id))
    .map((el) => ({ id: el.id, text: el.innerText.trim(), label: el.getAttribute('aria-label') || '' })));
}

async function waitForStatus(page, pattern, timeoutMs = 20000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const items = await statusText(page);
    const hit = items.find((i) => pattern.test(i.label));
    if (hit) return hit;
    if (Date.now() > end) throw new Error(`status bar never matched ${pattern}: ${JSON.stringify(items)}`);
    await page.waitForTimeout(250);
  }
}

async function scenarioReject(page) {
  const editor = await openFile(page, plan.file);
  step('file opened', plan.file);
  const before = (await renderedText(editor)).split('\n').length;

  // 1. an AI-sized insertion, rejected from the lightbulb menu
  seen.statusBeforeInsert = await waitForServer(page);
  step('server running', seen.statusBeforeInsert);
  await pasteAtEnd(page, editor, plan.snippets[0]);
  const lines0 = plan.snippets[0].replace(/\n+$/, '').split('\n').length;
  seen.squiggle = (await waitForSquiggleOnLines(page, editor, before, before + lines0 - 1)).cls;
  step('squiggle on the inserted snippet', seen.squiggle);
  // the code lens above the snippet moves the lines down: measure the squiggle after it
  seen.codeLens = await codeLensText(editor);
  step('code lens', seen.codeLens);
  const onSnippet = () => waitForSquiggleOnLines(page, editor, before, before + lines0 - 1);
  seen.hover = await hoverText(page, onSnippet, 'ailoop(ai-snippet)', path.join(opt.out, 'reject-hover.png'));
  const box = await onSnippet();
  step('hover', seen.hover);
  seen.statusAfterInsert = await waitForStatus(page, /1 AI snippet pending review/);
  step('status bar', seen.statusAfterInsert);
  // plan.lightbulbPick: the row to pick (a regular expression), else the first Reject
  seen.lightbulbMenu = await codeActionFromLightbulb(page, box, new RegExp(plan.lightbulbPick ?? '^\\s*Reject'));
  step('picked Reject from the lightbulb menu', seen.lightbulbMenu);

  // 2. a second snippet, rejected with a note through the command palette
  if (plan.snippets.length > 1) {
    const start = (await renderedText(editor)).split('\n').length;
    await pasteAtEnd(page, editor, plan.snippets[1]);
    const lines1 = plan.snippets[1].replace(/\n+$/, '').split('\n').length;
    await waitForSquiggleOnLines(page, editor, start, start + lines1 - 1);
    await page.locator('.codelens-decoration', { hasText: 'Reject' }).nth(0).waitFor({ timeout: 20000 });
    const box1 = await waitForSquiggleOnLines(page, editor, start, start + lines1 - 1);
    step('squiggle on the second snippet', box1.cls);
    await page.mouse.click(box1.x + Math.min(box1.width / 2, 20), box1.y + box1.height / 2);
    await openQuickInput(page, 'Control+Shift+P', '>ailoop: Reject with a Note');
    await pickRow(page, 'Reject with a Note');
    // when the server knows patterns in this snippet, a pick of them comes before the note
    const widget = page.locator('.quick-input-widget');
    const noPattern = widget.locator('.quick-input-list .monaco-list-row', { hasText: 'No known pattern' });
    const notePrompt = widget.filter({ hasText: 'Why is this AI snippet rejected' });
    await noPattern.or(notePrompt).first().waitFor({ state: 'visible', timeout: 10000 });
    if (await noPattern.isVisible()) {
      seen.patternChoices = await widget.locator('.quick-input-list .monaco-list-row').allInnerTexts();
      const choice = plan.pattern ? widget.locator('.quick-input-list .monaco-list-row', { hasText: plan.pattern }) : noPattern;
      await choice.first().click();
      step('picked a pattern', plan.pattern || 'none');
      await notePrompt.waitFor({ state: 'visible', timeout: 10000 });
    }
    const input = widget.locator('input.input');
    await input.fill(plan.reason);
    await input.press('Enter');
    step('rejected the second snippet with a note', plan.reason);
  }
  // once reviewed, the snippets lose their markers and lenses
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10000 });
  seen.statusAfterReject = await waitForStatus(page, /\b0 AI snippets pending review/);
  step('status bar after the rejections', seen.statusAfterReject);
  await editor.locator('.codelens-decoration', { hasText: 'Reject' }).first().waitFor({ state: 'detached', timeout: 20000 });
  seen.editorText = await renderedText(editor);

  // 3. the stats of what was just recorded, in a webview
  if (plan.stats) {
    await openQuickInput(page, 'Control+Shift+P', '>ailoop: Show Stats');
    await pickRow(page, 'Show Stats');
    seen.report = await readReport(page);
    seen.stats = await reportFrame(page).locator('body').innerText();
    step('report webview', seen.report);
  }
}

// Paste plan.snippet at the end, wait for its code lens, and put the cursor on its
// second-to-last line (inside the snippet, below the marked first line).
async function pasteAndEnterSnippet(page, editor) {
  seen.statusBeforeInsert = await waitForServer(page);
  step('server running', seen.statusBeforeInsert);
  seen.textBefore = await renderedText(editor);
  await pasteAtEnd(page, editor, plan.snippet);
  seen.codeLens = await codeLensText(editor);
  step('code lens', seen.codeLens);
  // the paste leaves the cursor under the snippet: two lines up is inside it
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowUp');
}

// Ctrl+. opens the quick-fix menu at the cursor; returns the menu and its entries. On a
// busy machine the menu may not come (the code actions were still being asked for, or
// "no code actions" showed): the shortcut is pressed again.
async function quickFixMenu(page) {
  const menu = page.locator('.action-widget:visible').first();
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('Control+Period');
    if (await menu.waitFor({ state: 'visible', timeout: 5000 }).then(() => true, () => false)) break;
    if (attempt === 4) throw new Error('Ctrl+. opened no quick-fix menu');
    await page.keyboard.press('Escape');
  }
  await menu.locator('.monaco-list-row').first().waitFor({ state: 'visible', timeout: 10000 });
  const items = (await menu.locator('.monaco-list-row').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
  return { menu, items };
}

// Ctrl+. then Enter, by reflex, inside an AI snippet: whatever runs must not be Accept.
async function scenarioCtrlDotEnter(page) {
  const editor = await openFile(page, plan.file);
  step('file opened', plan.file);
  await pasteAndEnterSnippet(page, editor);
  const { menu, items } = await quickFixMenu(page);
  seen.menu = items;
  step('quick-fix menu', items);
  seen.focused = (await menu.locator('.monaco-list-row.focused').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
  step('focused entry', seen.focused);
  await page.keyboard.press('Enter');
  await menu.waitFor({ state: 'hidden', timeout: 10000 });
  step('pressed Enter');
  // the decision is in once the snippet's lens goes (the status bar then counts 0)
  seen.statusAfter = await waitForStatus(page, /\b0 AI snippets pending review/);
  step('status bar after Enter', seen.statusAfter);
  seen.editorText = await renderedText(editor);
}

// "Reject and remove" from the quick-fix menu deletes the snippet; Ctrl+Z brings it back.
async function scenarioRejectAndRemove(page) {
  const editor = await openFile(page, plan.file);
  step('file opened', plan.file);
  await pasteAndEnterSnippet(page, editor);
  const firstLine = plan.snippet.split('\n')[0];
  const { menu, items } = await quickFixMenu(page);
  seen.menu = items;
  step('quick-fix menu', items);
  await menu.locator('.monaco-list-row', { hasText: 'Reject and remove' }).first().click();
  await menu.waitFor({ state: 'hidden', timeout: 10000 });
  const gone = Date.now() + 20000;
  while ((await renderedText(editor)).includes(firstLine)) {
    if (Date.now() > gone) throw new Error('"Reject and remove" did not remove the snippet');
    await page.waitForTimeout(200);
  }
  seen.textAfterRemove = await renderedText(editor);
  step('snippet removed', seen.textAfterRemove);
  seen.statusAfterRemove = await waitForStatus(page, /\b0 AI snippets pending review/);
  const lens = editor.locator('.codelens-decoration', { hasText: 'Reject' });
  await lens.first().waitFor({ state: 'detached', timeout: 20000 });
  await editor.locator('.view-lines').click();
  await page.keyboard.press('Control+Z');
  const back = Date.now() + 20000;
  while (!(await renderedText(editor)).includes(firstLine)) {
    if (Date.now() > back) throw new Error('Ctrl+Z did not bring the snippet back');
    await page.waitForTimeout(200);
  }
  seen.textAfterUndo = await renderedText(editor);
  step('undone', seen.textAfterUndo);
  // a later paste is marked once the server has taken the undo too: then one is pending
  await pasteAtEnd(page, editor, plan.later);
  await lens.first().waitFor({ state: 'visible', timeout: 20000 });
  seen.statusAfterLater = await waitForStatus(page, /\b[1-9]\d* AI snippets? pending review/);
  seen.lensesAfterLater = await lens.count();
  step('a later paste', { status: seen.statusAfterLater, lenses: seen.lensesAfterLater });
}

// Accept an inline suggestion (ghost text) with Tab: ailoop's keybinding reports it first.
async function scenarioInline(page) {
  const editor = await openFile(page, plan.file);
  step('file opened', plan.file);
  seen.statusBeforeInsert = await waitForServer(page);
  step('server running', seen.statusBeforeInsert);
  await editor.locator('.view-lines').click();
  await page.keyboard.press('Control+End');
  const line = (await renderedText(editor)).split('\n').length;
  await page.keyboard.type(plan.trigger, { delay: 10 });
  const ghost = editor.locator('.ghost-text-decoration, .ghost-text').first();
  await ghost.waitFor({ state: 'visible', timeout: 20000 });
  seen.ghostText = (await editor.locator('.ghost-text-decoration, .ghost-text').allInnerTexts()).join('\n');
  step('inline suggestion shown', seen.ghostText);
  await page.keyboard.press('Tab');
  const end = Date.now() + 20000;
  while (!(await renderedText(editor)).includes(plan.expectText)) {
    if (Date.now() > end) throw new Error(`Tab did not insert ${JSON.stringify(plan.expectText)}`);
    await page.waitForTimeout(200);
  }
  step('Tab accepted the suggestion');
  const onSuggestion = () => waitForSquiggleOnLines(page, editor, line, line + 1);
  step('squiggle on the accepted suggestion', (await onSuggestion()).cls);
  seen.hover = await hoverText(page, onSuggestion, 'ailoop(ai-snippet)', path.join(opt.out, 'inline-hover.png'));
  step('hover', seen.hover);
  seen.editorText = await renderedText(editor);
}

async function scenarioMissingAiloop(page) {
  await openFile(page, plan.file);
  step('file opened', plan.file);
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: plan.expectNotification }).first();
  await toast.waitFor({ state: 'visible', timeout: 60000 });
  seen.notification = (await toast.innerText()).replace(/\s+/g, ' ').trim();
  step('notification', seen.notification);
  seen.statusWithoutAiloop = await statusText(page);
  if (plan.fix) {
    // the user points ailoop.interpreter at a Python that has ailoop: the server starts
    await page.locator('.notifications-toasts .notification-toast .codicon-notifications-clear, .notifications-toasts .notification-toast .codicon-close').first().click().catch(() => {});
    for (const file of plan.fix.settingsFiles) fs.writeFileSync(file, JSON.stringify(plan.fix.settings, null, 2));
    step('settings changed', plan.fix.settings['ailoop.interpreter']);
    seen.statusAfterFix = await waitForServer(page);
    step('server running after the settings change', seen.statusAfterFix);
  }
}

// Which of the plan's marker files exist (each is written by a program only if it ran).
function markersPresent() {
  return Object.fromEntries(Object.entries(plan.markers).map(([name, file]) => [name, fs.existsSync(file)]));
}

// The notifications so far, from the notification center (toasts hide after a while).
async function notificationTexts(page) {
  await openQuickInput(page, 'Control+Shift+P', '>Notifications: Show Notifications');
  await pickRow(page, 'Show Notifications');
  const center = page.locator('.notifications-center');
  await center.waitFor({ state: 'visible', timeout: 10000 });
  const texts = (await center.locator('.monaco-list-row').allInnerTexts()).map((s) => s.replace(/\s+/g, ' ').trim());
  await page.keyboard.press('Escape');
  return texts;
}

// An untrusted folder (Restricted Mode): ailoop runs and marks an AI insertion, but nothing
// the workspace names runs; then the folder is trusted in the Manage Workspace Trust editor
// and the server restarts with the workspace's settings in force.
async function scenarioUntrusted(page) {
  const editor = await openFile(page, plan.file);
  step('file opened', plan.file);
  seen.statusUntrusted = await waitForServer(page);
  step('server running (untrusted)', seen.statusUntrusted);
  const before = (await renderedText(editor)).split('\n').length;
  await pasteAtEnd(page, editor, plan.snippet);
  const lines = plan.snippet.replace(/\n+$/, '').split('\n').length;
  await codeLensText(editor);
  const onSnippet = () => waitForSquiggleOnLines(page, editor, before, before + lines - 1);
  seen.hover = await hoverText(page, onSnippet, 'ailoop(ai-snippet)', path.join(opt.out, 'untrusted-hover.png'));
  step('marker on the pasted snippet', seen.hover);
  seen.statusWithSnippet = await waitForStatus(page, /1 AI snippet pending review/);
  // a program the workspace named would have run by now: the check of the insertion is done
  await page.waitForTimeout(plan.settleMs ?? 3000);
  seen.markersUntrusted = markersPresent();
  step('marker files while untrusted', seen.markersUntrusted);
  seen.notifications = await notificationTexts(page);
  step('notifications', seen.notifications);
  await page.screenshot({ path: path.join(opt.out, 'untrusted.png') });

  await openQuickInput(page, 'Control+Shift+P', '>Manage Workspace Trust');
  await pickRow(page, 'Manage Workspace Trust');
  const trustEditor = page.locator('.workspace-trust-editor');
  await trustEditor.waitFor({ state: 'visible', timeout: 20000 });
  seen.trustEditorHeader = (await trustEditor.locator('.workspace-trust-title').first().innerText()).trim();
  step('trust editor', seen.trustEditorHeader);
  await trustEditor.getByRole('button', { name: 'Trust', exact: true }).first().click();
  await trustEditor.locator('.workspace-trust-title', { hasText: /You trust this/ }).waitFor({ timeout: 20000 });
  step('trusted the folder');
  await openFile(page, plan.file); // back from the trust editor: the status counts this file's snippets
  const end = Date.now() + 60000;
  for (;;) {
    const items = await statusText(page);
    const running = items.find((i) => /pending review/.test(i.label) && !/restricted/i.test(i.text + i.label));
    const present = markersPresent();
    if (running && (plan.expectAfterTrust ?? []).every((name) => present[name])) {
      seen.statusTrusted = running;
      break;
    }
    if (Date.now() > end) throw new Error(`after trusting: status ${JSON.stringify(items)}, markers ${JSON.stringify(present)}`);
    await page.waitForTimeout(250);
  }
  seen.markersTrusted = markersPresent();
  step('after trusting', { status: seen.statusTrusted, markers: seen.markersTrusted });
}

// The rows of the Problems panel (opened with Ctrl+Shift+M), as text.
async function problemRows(page) {
  const panel = page.locator('.markers-panel');
  if (!(await panel.isVisible().catch(() => false))) {
    await page.keyboard.press('Control+Shift+M');
    await panel.waitFor({ state: 'visible', timeout: 10000 });
  }
  return (await panel.locator('.monaco-list-row').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
}

async function waitForProblem(page, pattern, timeoutMs = 60000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const rows = await problemRows(page);
    if (rows.some((r) => pattern.test(r))) return rows;
    if (Date.now() > end) throw new Error(`no problem matching ${pattern}: ${JSON.stringify(rows)}`);
    await page.waitForTimeout(250);
  }
}

// The report page inside the webview (two nested iframes): its charts and numbers.
function reportFrame(page) {
  return page.frameLocator('iframe.webview').frameLocator('#active-frame');
}

async function readReport(page, timeoutMs = 120000) {
  const frame = reportFrame(page);
  await frame.locator('h1').first().waitFor({ state: 'visible', timeout: timeoutMs });
  const title = (await frame.locator('h1').first().innerText()).trim();
  const charts = await frame.locator('figure[data-chart]').evaluateAll((figs) => figs.map((f) => ({
    name: f.getAttribute('data-chart'),
    svgElements: f.querySelectorAll('svg *').length,
    width: (f.querySelector('svg') || { getBoundingClientRect: () => ({ width: 0 }) }).getBoundingClientRect().width,
  })));
  const events = await frame.locator('[data-stat="events"]').first().innerText().catch(() => null);
  const csp = await frame.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content', { timeout: 5000 }).catch(() => null);
  const scripts = await frame.locator('script').count();
  return { title, charts, events: events === null ? null : Number(events.replace(/[^0-9]/g, '')), csp, scripts };
}

// The bundled server: a marker on the paste; a settings change (ruff switched on) reaches
// the running server, whose bundled ruff then reports on the snippet; Show Stats from the
// status bar shows the report, and its refresh button builds it again after an accept.
async function scenarioBundled(page) {
  const editor = await openFile(page, plan.file);
  step('file opened', plan.file);
  seen.statusBeforeInsert = await waitForServer(page, 90000);
  step('server running', seen.statusBeforeInsert);
  const before = (await renderedText(editor)).split('\n').length;
  await pasteAtEnd(page, editor, plan.snippet);
  const lines = plan.snippet.replace(/\n+$/, '').split('\n').length;
  seen.codeLens = await codeLensText(editor);
  const onSnippet = () => waitForSquiggleOnLines(page, editor, before, before + lines - 1);
  seen.hover = await hoverText(page, onSnippet, 'ailoop(ai-snippet)', path.join(opt.out, 'bundled-hover.png'));
  step('marker on the pasted snippet', seen.hover);
  seen.statusAfterInsert = await waitForStatus(page, /1 AI snippet pending review/);
  seen.problemsBefore = await problemRows(page);
  step('problems before the settings change', seen.problemsBefore);
  for (const file of plan.change.settingsFiles) fs.writeFileSync(file, JSON.stringify(plan.change.settings, null, 2));
  step('settings changed', plan.change.settings);
  seen.problemsAfter = await waitForProblem(page, new RegExp(plan.expectProblem));
  step('problems after the settings change', seen.problemsAfter);
  await page.screenshot({ path: path.join(opt.out, 'bundled-problems.png') });
  if (!plan.stats) return;
  // the status bar's snippet count opens the report
  await page.keyboard.press('Escape');
  const [status] = await statusText(page);
  seen.statusClicked = status;
  await page.locator(`[id="${status.id}"]`).click();
  seen.report = await readReport(page);
  step('report from the status bar', seen.report);
  await page.screenshot({ path: path.join(opt.out, 'bundled-report.png') });
  // accept the snippet (one more event), then refresh the report from its title bar
  // the report opened beside: back to the file's tab in the first group
  await page.locator(`.tabs-container .tab[data-resource-name="${plan.file}"]`).first().click();
  const fileEditor = page.locator('.editor-group-container.active .monaco-editor').first();
  await fileEditor.locator('.view-lines').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowUp');
  await openQuickInput(page, 'Control+Shift+P', '>ailoop: Accept AI Snippet at Cursor');
  await pickRow(page, 'Accept AI Snippet at Cursor');
  await waitForStatus(page, /\b0 AI snippets pending review/);
  step('accepted the snippet');
  const tab = page.locator('.tabs-container .tab', { hasText: 'ailoop report' }).first();
  await tab.click();
  const refresh = page.locator('.editor-actions .action-label[aria-label*="Refresh Stats"], .editor-actions a[aria-label*="Refresh Stats"]').first();
  await refresh.waitFor({ state: 'visible', timeout: 20000 });
  await refresh.click();
  step('clicked Refresh Stats');
  const end = Date.now() + 120000;
  for (;;) {
    const now = await readReport(page).catch(() => null);
    if (now && now.events !== null && now.events > seen.report.events) {
      seen.reportAfterRefresh = now;
      break;
    }
    if (Date.now() > end) throw new Error(`the refreshed report did not count the accept: ${JSON.stringify(now)}`);
    await page.waitForTimeout(500);
  }
  step('report after refresh', seen.reportAfterRefresh);
  await page.screenshot({ path: path.join(opt.out, 'bundled-report-refreshed.png') });
}

// One snippet pasted into a file of each workspace folder, in plan order; then saved.
async function scenarioMultiRoot(page) {
  seen.pasted = [];
  for (const file of plan.files) {
    const editor = await openFile(page, file);
    if (seen.pasted.length === 0) seen.statusBeforeInsert = await waitForServer(page);
    await pasteAtEnd(page, editor, plan.snippet);
    await page.keyboard.press('Control+S');
    seen.pasted.push(file);
    step('pasted and saved', file);
  }
}

const browser = await chromium.launch({
  executablePath: opt.chromium,
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  env: { ...process.env, XDG_CONFIG_HOME: path.join(opt.out, 'chromium', 'config'), XDG_CACHE_HOME: path.join(opt.out, 'chromium', 'cache') },
});
let error = null;
let page;
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, permissions: ['clipboard-read', 'clipboard-write'] });
  page = await context.newPage();
  await page.goto(opt.url, { waitUntil: 'domcontentloaded' });
  await page.locator('.monaco-workbench .part.editor').waitFor({ timeout: 60000 });
  step('workbench loaded');
  if (plan.scenario === 'reject') await scenarioReject(page);
  else if (plan.scenario === 'multi-root') await scenarioMultiRoot(page);
  else if (plan.scenario === 'missing-ailoop') await scenarioMissingAiloop(page);
  else if (plan.scenario === 'inline') await scenarioInline(page);
  else if (plan.scenario === 'untrusted') await scenarioUntrusted(page);
  else if (plan.scenario === 'ctrl-dot-enter') await scenarioCtrlDotEnter(page);
  else if (plan.scenario === 'reject-and-remove') await scenarioRejectAndRemove(page);
  else if (plan.scenario === 'bundled') await scenarioBundled(page);
  else throw new Error(`unknown scenario ${plan.scenario}`);
  await page.screenshot({ path: path.join(opt.out, `${plan.scenario}.png`) });
  step('screenshot', path.join(opt.out, `${plan.scenario}.png`));
} catch (e) {
  error = String(e && e.stack ? e.stack : e);
  console.error(error);
  if (page) await page.screenshot({ path: path.join(opt.out, `${plan.scenario}-failure.png`) }).catch(() => {});
} finally {
  await browser.close();
}
fs.writeFileSync(path.join(opt.out, 'result.json'), JSON.stringify({ ok: error === null, error, total_s: (Date.now() - t0) / 1000, steps, seen }, null, 2));
process.exit(error === null ? 0 : 1);
