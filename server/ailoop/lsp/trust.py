"""Workspace trust in the editor: say once what an untrusted folder's files would run.

When ailoop's trust store decides (any editor without its own workspace trust), the
user is asked with ``window/showMessageRequest`` and a Trust action; the ``ailoop.trust``
command does the same for a folder, or for every folder with ignored settings. When the
editor decides (it sent ``initializationOptions.workspaceTrust``), the server only says
what it ignores: the editor starts the server again when its decision changes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcInvalidRequest

from ailoop.lsp.server import AiloopServer
from ailoop.lsp.session import Folder
from ailoop.trust import untrusted_message

TRUST = "ailoop.trust"
ACTION_TRUST = "Trust"
ACTION_LATER = "Not now"


def register(server: AiloopServer) -> None:
    """Register the ``ailoop.trust`` command."""
    server.command(TRUST)(trust_command)


def _ignored(folder: Folder) -> str:
    return "; ".join(folder.settings.trust.withheld)


def tell(ls: AiloopServer, folder: Folder) -> None:
    """Once per folder and settings: say what is ignored because it is not trusted."""
    state = folder.settings.trust
    if not ls.ready or state.trusted or not state.withheld or folder.path is None:
        return
    if folder.trust_told == state.fingerprint:
        return
    folder.trust_told = state.fingerprint
    if state.decided_by == "editor":
        ls.problem(
            f"{folder.path}: the editor does not trust this workspace, so ailoop ignores "
            f"what would run a program from it: {_ignored(folder)}. Trust the workspace in "
            "the editor to use them.",
            types.MessageType.Info,
        )
        return
    message = "ailoop: " + untrusted_message(folder.path, state.withheld, state.state)
    ls.log(message, types.MessageType.Warning)
    ls.run_task(_ask(ls, folder, state.fingerprint, message), f"ask to trust {folder.name}")


async def _ask(ls: AiloopServer, folder: Folder, fingerprint: str, message: str) -> None:
    params = types.ShowMessageRequestParams(
        type=types.MessageType.Warning,
        message=message,
        actions=[types.MessageActionItem(ACTION_TRUST), types.MessageActionItem(ACTION_LATER)],
    )
    try:
        answer = await ls.window_show_message_request_async(params)
    except Exception as exc:  # noqa: BLE001 - the client's failure, whatever it is
        ls.log(f"could not ask to trust {folder.path}: {exc!r}", types.MessageType.Warning)
        return
    if answer is None or answer.title != ACTION_TRUST:
        return
    await record(ls, [folder], fingerprint)


async def record(
    ls: AiloopServer, chosen: list[Folder], fingerprint: str | None = None
) -> list[str]:
    """Trust ``chosen`` with the settings the server read; apply them; return their URIs.

    With ``fingerprint``, a folder whose settings changed since it was asked about is left
    alone: the user trusted what they were shown.
    """
    from ailoop.lsp import folders
    from ailoop.trust import TrustStore

    store = TrustStore()
    trusted = []
    for folder in chosen:
        state = folder.settings.trust
        if folder.path is None or (fingerprint is not None and state.fingerprint != fingerprint):
            continue
        await asyncio.to_thread(store.trust, folder.path, state.fingerprint)
        ls.log(f"{folder.path} is trusted: {_ignored(folder) or 'nothing was ignored'}")
        folders.configure(ls, folder)
        trusted.append(folder.uri)
    return trusted


async def trust_command(ls: AiloopServer, *args: Any) -> dict[str, Any]:
    """``ailoop.trust [{folder}]``: trust a folder (default: each with ignored settings)."""
    if ls.session.editor_trust is not None:
        raise JsonRpcInvalidRequest(
            "the editor's workspace trust decides for this window: trust the workspace there"
        )
    if len(args) > 1:
        raise JsonRpcInvalidParams(
            f"expected at most one object argument {{folder}}, got {list(args)!r}"
        )
    argument = args[0] if args else None
    folders = list(ls.session.all_folders())
    if argument is None:
        chosen = [f for f in folders if f.settings.trust.withheld]
    else:
        uri = argument.get("folder") if isinstance(argument, dict) else None
        if not isinstance(uri, str):
            raise JsonRpcInvalidParams("the argument needs a 'folder' URI string")
        chosen = [f for f in folders if f.uri.rstrip("/") == uri.rstrip("/")]
        if not chosen:
            raise JsonRpcInvalidParams(f"{uri} is not a folder of this workspace")
    return {"trusted": await record(ls, chosen)}
