"""Language names: editor language ids and file extensions mapped to ast-grep's names."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath
from types import MappingProxyType

#: The languages ast-grep-py parses, by the name ast-grep uses.
AST_GREP_LANGUAGES = frozenset(
    {
        "bash", "c", "cpp", "csharp", "css", "elixir", "go", "haskell", "hcl", "html",
        "java", "javascript", "json", "kotlin", "lua", "nix", "php", "python", "ruby",
        "rust", "scala", "solidity", "swift", "tsx", "typescript", "yaml",
    }
)  # fmt: skip

#: Other spellings (LSP language ids, common short names) of those languages.
LANGUAGE_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "py": "python",
        "python3": "python",
        "js": "javascript",
        "javascriptreact": "javascript",
        "jsx": "javascript",
        "ts": "typescript",
        "typescriptreact": "tsx",
        "golang": "go",
        "rs": "rust",
        "c++": "cpp",
        "cs": "csharp",
        "c#": "csharp",
        "rb": "ruby",
        "sh": "bash",
        "shell": "bash",
        "shellscript": "bash",
        "zsh": "bash",
        "kt": "kotlin",
        "yml": "yaml",
        "terraform": "hcl",
        "ex": "elixir",
        "hs": "haskell",
    }
)

#: File extensions to language names, for ``ailoop check`` on files.
EXTENSIONS: Mapping[str, str] = MappingProxyType({
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript",
    ".cjs": "javascript", ".jsx": "javascript", ".ts": "typescript", ".mts": "typescript",
    ".cts": "typescript", ".tsx": "tsx", ".go": "go", ".rs": "rust", ".java": "java",
    ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp",
    ".hh": "cpp", ".cs": "csharp", ".rb": "ruby", ".sh": "bash", ".bash": "bash",
    ".kt": "kotlin", ".kts": "kotlin", ".lua": "lua", ".php": "php", ".swift": "swift",
    ".scala": "scala", ".html": "html", ".htm": "html", ".css": "css", ".json": "json",
    ".yaml": "yaml", ".yml": "yaml", ".hs": "haskell", ".ex": "elixir", ".exs": "elixir",
    ".nix": "nix", ".sol": "solidity", ".tf": "hcl", ".hcl": "hcl",
})  # fmt: skip


def canonical_language(name: str) -> str | None:
    """Return ast-grep's name for the language ``name`` (an editor id or alias), or None."""
    lowered = name.strip().lower()
    lowered = LANGUAGE_ALIASES.get(lowered, lowered)
    return lowered if lowered in AST_GREP_LANGUAGES else None


def language_for_path(path: PurePath) -> str | None:
    """Return the language of a file by its extension, or None when it is not known."""
    return EXTENSIONS.get(path.suffix.lower())
