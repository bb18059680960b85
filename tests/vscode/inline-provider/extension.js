// Stands in for an AI completion tool in the end-to-end test: after a line that is exactly
// `def double(x):` it offers one inline suggestion (ghost text), the function's body.
const vscode = require('vscode');

const TRIGGER = 'def double(x):';
const SUGGESTION = '\n    return 2 * x';

function activate(context) {
  context.subscriptions.push(
    vscode.languages.registerInlineCompletionItemProvider({ language: 'python' }, {
      provideInlineCompletionItems(document, position) {
        const line = document.lineAt(position.line).text;
        if (line !== TRIGGER || position.character !== line.length) return [];
        return [new vscode.InlineCompletionItem(SUGGESTION, new vscode.Range(position, position))];
      },
    }),
  );
}

module.exports = { activate, deactivate() {} };
