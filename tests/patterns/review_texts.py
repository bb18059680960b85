"""Review texts written for the tests, in the shapes reviews of agent-written changes take.

Human review bodies on four recurring themes (tests failing / CI red, formatting and
lint, missing error handling, naming), one-off remarks, and the noise real data is full
of: bot templates, slash commands, @mentions, approvals, quoted code and diff hunks.
``OLDER`` and ``NEWER`` are two periods of the same project, for a held-out check.
Each entry is ``(text, author, theme)``; ``theme`` is ``None`` for a one-off and
``"noise"`` for a text that should not be grouped at all.
"""

from __future__ import annotations

Review = tuple[str, str, str | None]

CODE_REVIEW_BOT = """## Code Review

### Summary
This PR refactors the configuration loader and adds a cache for parsed files.

### Strengths
- Clear separation between parsing and validation
- Good use of type hints

### Issues
1. **Tests failing**: `test_loader.py::test_reload` fails in CI.
2. The cache is never invalidated.

### Recommendation
Request changes until the tests pass.
"""

COPILOT_OVERVIEW = """## Pull Request Overview

This PR adds retry logic to the HTTP client and updates the related tests.

### Reviewed Changes

Copilot reviewed 4 out of 4 changed files in this pull request and generated 2 comments.

| File | Description |
| ---- | ----------- |
| src/client.py | Adds exponential backoff |
| tests/test_client.py | Covers the retry path |
"""

CODERABBIT = """<!-- This is an auto-generated comment: summarize by coderabbit.ai -->
**Actionable comments posted: 3**

<details>
<summary>🧹 Nitpick comments (1)</summary>

Consider renaming `tmp` to something more descriptive.
</details>
"""

FLAT_TEMPLATE = (
    "## Code Review ### Summary The change adds a flag. ### Issues - none ### Verdict approve"
)

OLDER: list[Review] = [
    # tests failing / CI red
    ("Tests are failing, please take a look.", "ann", "tests"),
    ("The CI tests fail on this branch.", "bob", "tests"),
    ("Please fix the failing unit tests before we merge.", "ann", "tests"),
    (
        "Unit tests are failing after this change:\n```\nFAILED tests/test_api.py::test_create"
        " - AssertionError\n```",
        "cy",
        "tests",
    ),
    ("@copilot the tests still fail, can you fix them?", "bob", "tests"),
    (
        "Several tests fail: test_login and test_logout. Please run pytest before pushing.",
        "dee",
        "tests",
    ),
    ("Failing tests in CI. Looks like the fixture path changed.", "ann", "tests"),
    ("> I fixed the tests\n\nNo, the tests are still failing on CI.", "cy", "tests"),
    ("Tests fail on Python 3.10 (`match` statement).", "eve", "tests"),
    (
        "CI is red: the unit tests fail, see https://github.com/org/repo/actions/runs/123",
        "bob",
        "tests",
    ),
    # formatting / lint
    ("Please run the formatter; the indentation is off.", "ann", "format"),
    ("Formatting: run `black .` before committing.", "bob", "format"),
    ("Lint errors: unused imports in utils.py", "cy", "lint"),
    ("ruff reports 12 lint errors, please fix them", "dee", "lint"),
    ("The linter fails on line 42 (E501 line too long).", "eve", "lint"),
    ("Code formatting is inconsistent, please run prettier.", "ann", "format"),
    ("nit: formatting", "bob", "format"),
    ("Fix the lint warnings.", "cy", "lint"),
    # missing error handling
    ("Missing error handling when the request fails.", "ann", "errors"),
    ("What happens if `open()` raises? Please add error handling.", "bob", "errors"),
    ("No error handling for the network call.", "cy", "errors"),
    ("This needs proper error handling instead of crashing.", "dee", "errors"),
    (
        "Please add error handling around the JSON parsing:\n\n```diff\n@@ -10,3 +10,4 @@\n"
        "-data = json.loads(raw)\n+data = json.loads(raw)  # may raise\n```",
        "eve",
        "errors",
    ),
    ("Errors from the API are not handled at all.", "ann", "errors"),
    # naming
    ("Naming: `tmp2` is not a descriptive name.", "bob", "naming"),
    ("Please use a clearer variable name than `x`.", "cy", "naming"),
    ("Rename `doStuff` to something that says what it does.", "dee", "naming"),
    ("The function name is misleading.", "eve", "naming"),
    ("Bad naming: `data1` and `data2` say nothing.", "ann", "naming"),
    # one-offs
    ("This duplicates the logic in `helpers.py`; reuse it.", "bob", None),
    ("Hardcoded API key! Move it to the environment.", "cy", None),
    ("Why is this sleep needed?", "dee", None),
    ("The docstring does not match the behaviour.", "eve", None),
    ("Please split this into smaller pull requests.", "ann", None),
    ("This introduces a SQL injection risk: the query is built with f-strings.", "bob", None),
    ("<p>Please add a <b>changelog</b> entry.</p>", "cy", None),
    # noise: bots, templates, commands, approvals
    (CODE_REVIEW_BOT, "claude[bot]", "noise"),
    (CODE_REVIEW_BOT.replace("configuration loader", "settings module"), "", "noise"),
    (COPILOT_OVERVIEW, "copilot-pull-request-reviewer[bot]", "noise"),
    (COPILOT_OVERVIEW.replace("HTTP client", "database layer"), "", "noise"),
    (CODERABBIT, "", "noise"),
    (FLAT_TEMPLATE, "", "noise"),
    ("Thanks for the PR, the tests fail on CI though.", "github-actions[bot]", "noise"),
    ("/azp run", "ann", "noise"),
    ("/azp run linux-ci", "bob", "noise"),
    ("/retest", "cy", "noise"),
    ("@copilot try again", "dee", "noise"),
    ("LGTM", "eve", "noise"),
    ("lgtm 👍", "ann", "noise"),
    ("+1", "bob", "noise"),
    ("Looks good to me!", "cy", "noise"),
    ("See comment", "dee", "noise"),
    ("see comments above", "eve", "noise"),
    ("Code review", "ann", "noise"),
    ("@dependabot rebase", "bob", "noise"),
    ("Thanks!", "cy", "noise"),
    ("> the tests pass now\n\nLGTM", "dee", "noise"),
    ("<!-- reviewed -->\n\n---\n", "eve", "noise"),
]

NEWER: list[Review] = [
    # tests failing / CI red
    ("The tests fail again after the last push.", "ann", "tests"),
    ("e2e tests are failing", "bob", "tests"),
    ("This breaks the existing tests: `test_export` fails.", "cy", "tests"),
    ("@agent unit tests failing, please fix", "dee", "tests"),
    ("Two failing tests in the CI run, see the log.", "eve", "tests"),
    ("Tests don't pass locally.\n\n```\n$ pytest\n3 failed, 120 passed\n```", "ann", "tests"),
    # formatting / lint
    ("Please format the code with the project formatter.", "bob", "format"),
    ("eslint complains: lint errors in `src/app.ts`", "cy", "lint"),
    ("Lint is failing on the new files.", "dee", "lint"),
    ("The formatting is off in this file (tabs and spaces mixed).", "eve", "format"),
    # missing error handling
    ("Missing error handling for the file read.", "ann", "errors"),
    ("Handle the error case when the file does not exist.", "bob", "errors"),
    ("Please add error handling, the call can time out.", "cy", "errors"),
    ("Errors are silently swallowed here; handle them properly.", "dee", "errors"),
    # naming
    ("Please rename this variable, the name is confusing.", "eve", "naming"),
    ("Variable names should say what they hold: `res` → `response`.", "ann", "naming"),
    ("The naming is inconsistent with the rest of the module.", "bob", "naming"),
    # one-offs
    ("Performance: this loop is quadratic on large inputs.", "cy", None),
    ("Don't commit the generated files.", "dee", None),
    ("Update the README with the new option.", "eve", None),
    ("Can we avoid the global state here?", "ann", None),
    ("The migration is not reversible.", "bob", None),
    ("Magic number 86400: name it `SECONDS_PER_DAY`.", "cy", None),
    # noise
    (CODE_REVIEW_BOT.replace("a cache", "a lock"), "claude[bot]", "noise"),
    (COPILOT_OVERVIEW.replace("retry logic", "a timeout"), "", "noise"),
    ("/azp run", "dee", "noise"),
    ("/retest-required", "eve", "noise"),
    ("@copilot try again", "ann", "noise"),
    ("LGTM!", "bob", "noise"),
    ("Looks good", "cy", "noise"),
    ("+1, ship it", "dee", "noise"),
    ("See my comment", "eve", "noise"),
]
