"""``ailoop review``: code review outcomes matched back to the AI snippets they judge.

``ingest`` reads webhook deliveries (GitHub ``pull_request``, ``pull_request_review``,
``pull_request_review_comment``; GitLab note and merge request events) from files, a
directory or stdin, matches them by content in the checkout and records ``reviewed``
events; ``serve`` receives them over HTTP; ``status`` says what was ingested, per PR;
``backfill`` reads GitHub's or GitLab's REST API (or the JSON ``gh api --paginate``
printed). Many deliveries are written in batches (:mod:`ailoop.review.batch`). See
docs/review.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ailoop.commands import whole_number
from ailoop.text import clean

if TYPE_CHECKING:
    from ailoop.review.ingest import Ingester, Options, Result
    from ailoop.review.payloads import Delivery

#: The environment variable ``serve`` reads the webhook secret from, by default.
SECRET_ENV = "AILOOP_WEBHOOK_SECRET"  # noqa: S105 - the variable's name, not a secret


def register(subparsers: Any) -> None:
    """Add the ``review`` subcommand and its actions."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "review", help="code review outcomes, matched to the AI snippets they judge"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    ingest = actions.add_parser(
        "ingest",
        help="record review outcomes from webhook deliveries (files, a directory or -)",
        description="Read GitHub or GitLab webhook deliveries (a bare payload, or a "
        '{"headers": …, "payload": …} record), match them by content in the checkout, '
        "and record reviewed events. The same delivery twice records nothing new.",
    )
    ingest.add_argument(
        "sources", nargs="*", default=["-"], metavar="FILE|DIR|-", help="deliveries (default: -)"
    )
    ingest.add_argument(
        "--event", help="the event type of bare payloads ($GITHUB_EVENT_NAME in GitHub Actions)"
    )
    _common(ingest)
    _team(ingest)
    ingest.add_argument("--format", choices=("text", "json"), default="text")
    ingest.set_defaults(func=run_ingest)

    serve = actions.add_parser(
        "serve", help="receive webhook deliveries over HTTP (127.0.0.1 by default)"
    )
    serve.add_argument("--port", type=whole_number(0), default=8787, help="(default: 8787)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument(
        "--secret-env",
        default=SECRET_ENV,
        metavar="NAME",
        help=f"environment variable holding the webhook secret (default: {SECRET_ENV})",
    )
    serve.add_argument(
        "--max-body", type=whole_number(1), default=None, help="largest body in bytes (25 MB)"
    )
    _common(serve)
    serve.set_defaults(func=run_serve)

    status = actions.add_parser("status", help="what was ingested, matched and unmatched, per PR")
    status.add_argument("--format", choices=("text", "json"), default="text")
    status.add_argument("--data-dir", type=Path, help="data directory (default: AILOOP_DATA_DIR)")
    status.set_defaults(func=run_status)

    backfill = actions.add_parser(
        "backfill",
        help="record the outcomes of past PRs from GitHub's or GitLab's API (or gh api output)",
        description="Read the pull requests of --repo OWNER/NAME (default: the checkout's "
        "origin) from GitHub's REST API: pulls, their review comments, reviews and files, "
        "paginated and rate-limit aware; the token from GITHUB_TOKEN or `gh auth token`. "
        "--gitlab reads a GitLab project's merge requests, notes and approvals (GITLAB_TOKEN). "
        "--from-file reads the JSON `gh api --paginate` printed instead. Ingested like webhook "
        "deliveries: what was recorded before is not recorded again.",
    )
    backfill.add_argument(
        "--from-file", dest="files", action="append", type=Path, metavar="FILE",
        help="read gh api --paginate output instead of the API (repeatable)",
    )  # fmt: skip
    backfill.add_argument("--since", metavar="DATE", help="only PRs updated since (2026-01-31)")
    backfill.add_argument("--gitlab", action="store_true", help="read GitLab's API")
    backfill.add_argument(
        "--api-url",
        metavar="URL",
        help="the API's base URL (GitHub Enterprise: https://HOST/api/v3; default: "
        "https://api.github.com, with --gitlab https://gitlab.com/api/v4)",
    )
    backfill.add_argument(
        "--max-wait",
        type=whole_number(0),
        default=900,
        metavar="SECONDS",
        help="longest wait for a rate limit before stopping (default: 900)",
    )
    _common(backfill)
    _team(backfill)
    backfill.add_argument("--format", choices=("text", "json"), default="text")
    backfill.set_defaults(func=run_backfill)


def _team(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--team",
        action="store_true",
        help="also match against the team store's snippets (for CI, where the local store "
        "is empty); the store is found as ailoop sync finds it, or --url",
    )
    parser.add_argument("--url", help="the team store's URL (with --team)")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root", type=Path, help="the repository checkout (default: the current directory)"
    )
    parser.add_argument("--data-dir", type=Path, help="data directory (default: AILOOP_DATA_DIR)")
    parser.add_argument(
        "--repo",
        metavar="OWNER/NAME",
        help="the repository the deliveries must be for (default: the checkout's origin)",
    )
    bodies = parser.add_mutually_exclusive_group()
    bodies.add_argument(
        "--store-bodies",
        action="store_true",
        default=None,
        help="keep comment texts as reasons (default: the review.store_bodies setting, off)",
    )
    bodies.add_argument("--no-store-bodies", dest="store_bodies", action="store_false")
    parser.add_argument(
        "--include-bots", action="store_true", default=None, help="also record bots' reviews"
    )


def _options(args: argparse.Namespace, root: Path) -> Options:
    from ailoop import settings as settings_module
    from ailoop.review.ingest import Options

    settings, problems = settings_module.load(root)
    for problem in problems:
        print(f"ailoop: {problem}", file=sys.stderr)
    table = settings.review
    values: dict[str, bool] = {}
    for key in ("store_bodies", "include_bots"):
        value = table.get(key, False)
        if not isinstance(value, bool):
            print(f"ailoop: 'review.{key}' must be true or false; using false", file=sys.stderr)
            value = False
        values[key] = value
    for key in sorted(set(table) - {"store_bodies", "include_bots"}):
        print(
            f"ailoop: unknown setting 'review.{clean(key, 60)}' (known: include_bots, "
            "store_bodies)",
            file=sys.stderr,
        )
    if args.store_bodies is not None:
        values["store_bodies"] = args.store_bodies
    if args.include_bots:
        values["include_bots"] = True
    return Options(**values)


class _Setup:
    """The checkout, the store and the ingester of one command run."""

    def __init__(self, args: argparse.Namespace) -> None:
        from ailoop.review.batch import BatchingStore
        from ailoop.review.git import Git
        from ailoop.review.ingest import Ingester
        from ailoop.workspace import find_repo_root, repo_identity

        start = (args.root or Path.cwd()).resolve()
        self.git = Git(start)
        root = find_repo_root(self.git.top) or self.git.top
        self.repo = repo_identity(root)
        expected = args.repo or self.repo
        if "/" not in expected:
            self.git.close()
            raise _Usage(
                f"cannot tell which repository {root} is (it has no origin remote); "
                "pass --repo OWNER/NAME"
            )
        self.store = BatchingStore.open(args.data_dir)
        self.conn: Any = None
        index = None
        if getattr(args, "team", False):
            index = self._team_index(args)
        self.ingester: Ingester = Ingester(
            self.store,
            self.git,
            self.repo,
            index=index,
            options=_options(args, root),
            expected_repo=expected,
        )

    def _team_index(self, args: argparse.Namespace) -> Any:
        from ailoop.commands.store import resolve
        from ailoop.review.ingest import CombinedIndex, LocalIndex, TeamIndex
        from ailoop.store import shared

        choice = resolve(args)
        if choice is None:
            raise _Usage("--team needs a shared store")
        key = choice.options.user_hash_key
        if not key:
            raise _Usage(
                "--team matches through the team store's line index, which is kept only "
                "with the team's key: set hash_users and AILOOP_USER_HASH_KEY as on the "
                "developers' machines"
            )
        try:
            self.conn = shared.connect(choice.url, choice.options.timeouts, tls=choice.options.tls)
        except shared.SharedStoreError as exc:
            raise _Usage(str(exc)) from None
        return CombinedIndex(
            [LocalIndex(self.store, self.repo), TeamIndex(self.conn, self.repo, key)]
        )

    def close(self) -> None:
        self.git.close()
        self.store.close()
        if self.conn is not None:
            self.conn.close()


class _Usage(Exception):
    """A problem with how the command was run; the message says what to do."""


def _deliveries(
    sources: list[str], event: str | None
) -> Iterator[tuple[str, Delivery | None, str]]:
    """Yield (where, delivery or None, why not) for each delivery in the sources.

    Standard input is read first, before anything is written: the store's write lock is
    never held while waiting for it.
    """
    from ailoop.review.payloads import MAX_BYTES, PayloadError, load

    stdin = sys.stdin.buffer.read(MAX_BYTES + 1) if "-" in sources else b""
    for source in sources:
        if source == "-":
            files: list[tuple[str, bytes | None]] = [("stdin", stdin)]
        else:
            path = Path(source)
            if path.is_dir():
                found = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
                if not found:
                    yield str(path), None, "holds no .json deliveries"
                files = [(str(p), None) for p in found]
            else:
                files = [(str(path), None)]
        for where, data in files:
            if data is None:
                try:
                    with Path(where).open("rb") as f:
                        data = f.read(MAX_BYTES + 1)
                except OSError as exc:
                    yield where, None, f"cannot be read ({clean(exc.strerror or exc, 200)})"
                    continue
            try:
                yield where, load(data, event=event), ""
            except PayloadError as exc:
                yield where, None, str(exc)


def _report(results: list[tuple[str, Result]], problems: int, fmt: str) -> int:
    from ailoop.review.ingest import describe, summary

    if fmt == "json":
        out = summary([r for _, r in results])
        out["unreadable"] = problems
        out["results"] = [
            {"source": where, "delivery": r.key, "status": r.status, "pr": r.pr,
             "recorded": r.recorded, "matched": r.matched, "message": r.message}
            for where, r in results
        ]  # fmt: skip
        print(json.dumps(out, indent=2))
    else:
        for where, result in results:
            stream = sys.stderr if result.status == "error" else sys.stdout
            print(describe(result, where), file=stream)
        counts = summary([r for _, r in results])
        print(
            f"{counts['deliveries']} deliveries: {counts['events']} events recorded "
            f"({counts['matched']} on a snippet), {counts['duplicate']} already ingested, "
            f"{counts['skipped']} with nothing to record, {counts['error'] + problems} not read"
        )
    failed = problems + sum(1 for _, r in results if r.status == "error")
    return 1 if failed else 0


def _ingest_each(
    setup: _Setup,
    deliveries: Iterable[tuple[Any, ...]] | None,
    results: list[tuple[str, Result]],
    *,
    groups: Iterable[list[tuple[str, Delivery]]] = (),
) -> int:
    """Ingest each ``(where, delivery)``, adding to ``results``; return how many failed.

    A delivery of ``None`` could not be read: its reason is the third item of the tuple.
    Deliveries are written in batches (one commit for many, see :mod:`ailoop.review.batch`);
    ``groups`` (one per pull request, read from an API) are each committed before the next
    is read, so no lock is held while the network is waited on. When a batch cannot be
    committed, its deliveries are reported as not recorded.
    """
    from ailoop.review.backfill import BackfillError
    from ailoop.review.git import GitError
    from ailoop.store.local import StoreError

    problems = 0
    pending: list[tuple[str, Result]] = []  # recorded in the batch not yet committed

    def one(where: str, delivery: Delivery | None, why: list[str]) -> None:
        nonlocal problems
        if delivery is None:
            problems += 1
            print(f"ailoop: {where}: {why[0]}; nothing recorded", file=sys.stderr)
            return
        try:
            result = setup.ingester.ingest(delivery)
        except (GitError, StoreError) as exc:
            problems += 1
            print(f"ailoop: {where}: {exc}; nothing recorded", file=sys.stderr)
            return
        results.append((where, result))
        pending.append((where, result))

    try:
        with setup.store.batches() as batch:
            for where, delivery, *why in deliveries or ():
                one(where, delivery, why)
                if batch.due():
                    pending.clear()
            try:
                for group in groups:
                    for where, delivery in group:
                        one(where, delivery, [])
                    batch.flush()
                    pending.clear()
            except BackfillError as exc:  # the API stopped answering: keep what was read
                problems += 1
                print(f"ailoop: {exc}", file=sys.stderr)
        pending.clear()
    except StoreError as exc:
        for where, _ in pending:
            print(f"ailoop: {where}: {exc}; nothing recorded", file=sys.stderr)
        problems += len(pending)
        lost = {id(r) for _, r in pending}
        results[:] = [(w, r) for w, r in results if id(r) not in lost]
    return problems


def _open_setup(args: argparse.Namespace) -> _Setup | None:
    """Open the checkout and the stores, or print why not and return None."""
    from ailoop.review.git import GitError
    from ailoop.store.local import StoreError

    try:
        return _Setup(args)
    except (_Usage, GitError, StoreError) as exc:
        print(f"ailoop: {exc}", file=sys.stderr)
        return None


def run_ingest(args: argparse.Namespace) -> int:
    """Ingest deliveries; print one line each and a summary."""
    setup = _open_setup(args)
    if setup is None:
        return 2
    results: list[tuple[str, Result]] = []
    try:
        problems = _ingest_each(setup, _deliveries(args.sources, args.event), results)
    finally:
        setup.close()
    return _report(results, problems, args.format)


def run_serve(args: argparse.Namespace) -> int:
    """Receive deliveries until interrupted."""
    from ailoop.review.git import GitError
    from ailoop.review.receiver import DEFAULT_MAX_BODY, make_server
    from ailoop.store.local import StoreError

    secret = os.environ.get(args.secret_env, "")
    if not secret:
        print(
            f"ailoop: set the webhook secret in {args.secret_env} (the one GitHub or GitLab "
            "signs with); the receiver does not run without it",
            file=sys.stderr,
        )
        return 2
    try:
        setup = _Setup(args)
    except (_Usage, GitError, StoreError) as exc:
        print(f"ailoop: {exc}", file=sys.stderr)
        return 2

    def handle(delivery: Delivery) -> tuple[int, dict[str, Any]]:
        try:
            result = setup.ingester.ingest(delivery)
        except (GitError, StoreError) as exc:
            return 503, {"error": clean(str(exc), 300)}
        code = {"recorded": 200, "duplicate": 200, "skipped": 200}.get(result.status, 422)
        return code, {
            "status": result.status, "recorded": result.recorded, "matched": result.matched,
            "message": result.message, "delivery": result.key,
        }  # fmt: skip

    try:
        server = make_server(
            handle,
            secret,
            host=args.host,
            port=args.port,
            max_body=args.max_body or DEFAULT_MAX_BODY,
        )
    except OSError as exc:
        setup.close()
        print(f"ailoop: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    host, port = str(server.server_address[0]), int(server.server_address[1])
    print(f"ailoop review: receiving webhooks on http://{host}:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        setup.close()
    return 0


def review_status(store: Any) -> dict[str, Any]:
    """Return, per PR, the deliveries ingested and the outcomes matched and unmatched."""
    prs: dict[str, dict[str, Any]] = {}

    def entry(pr: str, repo: str) -> dict[str, Any]:
        return prs.setdefault(pr or "(no PR)", {
            "pr": pr, "repo": repo, "deliveries": 0, "recorded": 0, "nothing_to_record": 0,
            "matched": 0, "unmatched": 0, "snippets": [], "outcomes": {}, "last": "",
        })  # fmt: skip

    for row in store.review_deliveries():
        item = entry(str(row["pr"]), str(row["repo"]))
        item["deliveries"] += 1
        item["recorded"] += int(str(row["recorded"]))
        item["nothing_to_record"] += 1 if not row["recorded"] else 0
        item["last"] = max(item["last"], str(row["received_at"]))
    for event in store.review_events():
        item = entry(event.pr or "", event.repo)
        key = "matched" if event.snippet else "unmatched"
        item[key] += 1
        if event.snippet and event.snippet not in item["snippets"]:
            item["snippets"].append(event.snippet)
        outcomes = item["outcomes"]
        outcomes[event.outcome or "?"] = outcomes.get(event.outcome or "?", 0) + 1
    return {"prs": list(prs.values())}


def run_status(args: argparse.Namespace) -> int:
    """Print what was ingested, per PR."""
    from ailoop.store.local import LocalStore, StoreError

    try:
        store = LocalStore.open(args.data_dir)
    except StoreError as exc:
        print(f"ailoop: {exc}", file=sys.stderr)
        return 1
    try:
        status = review_status(store)
    finally:
        store.close()
    if args.format == "json":
        print(json.dumps(status, indent=2))
        return 0
    if not status["prs"]:
        print("no review deliveries ingested yet (see `ailoop review ingest`)")
        return 0
    for item in status["prs"]:
        outcomes = ", ".join(f"{n} {o}" for o, n in sorted(item["outcomes"].items())) or "none"
        print(
            f"{clean(item['pr'] or '(no PR)', 200)}: {item['deliveries']} deliveries, "
            f"{item['matched']} events on {len(item['snippets'])} snippets, "
            f"{item['unmatched']} at PR level (unmatched); outcomes: {outcomes}"
        )
    return 0


def run_backfill(args: argparse.Namespace) -> int:
    """Ingest past pull requests: from the API, or from `gh api --paginate` output."""
    from ailoop.review.backfill import BackfillError, deliveries_from_gh

    if args.files and (args.gitlab or args.api_url or args.since):
        print("ailoop: --from-file reads files; --gitlab, --api-url and --since are for the "
              "API", file=sys.stderr)  # fmt: skip
        return 2
    setup = _open_setup(args)
    if setup is None:
        return 2
    results: list[tuple[str, Result]] = []
    try:
        if args.files:
            try:
                deliveries = deliveries_from_gh(args.files, setup.ingester.expected)
            except BackfillError as exc:
                print(f"ailoop: {exc}", file=sys.stderr)
                return 1
            problems = _ingest_each(setup, deliveries, results)
        else:
            try:
                groups = _from_api(args, setup)
            except BackfillError as exc:
                print(f"ailoop: {exc}", file=sys.stderr)
                return 2
            problems = _ingest_each(setup, None, results, groups=groups)
    finally:
        setup.close()
    return _report(results, problems, args.format)


def _owner_name(expected: str) -> str:
    """Return ``OWNER/NAME`` (GitLab: ``group/…/name``) of a repository URL or identity."""
    from ailoop.review.ingest import repo_slug

    slug = repo_slug(expected)
    parts = slug.split("/")
    if len(parts) >= 3 and "." in parts[0]:  # host/owner/name
        return "/".join(parts[1:])
    return slug


def _from_api(args: argparse.Namespace, setup: _Setup) -> Iterator[list[tuple[str, Delivery]]]:
    """Return the deliveries read from the API, one list per pull request, read lazily."""
    from ailoop.review import api

    def say(message: str) -> None:
        print(f"ailoop: {message}", file=sys.stderr, flush=True)

    repo = _owner_name(args.repo or setup.ingester.expected)
    if repo.count("/") < 1:
        raise api.ApiError(
            f"cannot tell the repository's OWNER/NAME from {clean(repo, 200)!r}; pass --repo"
        )
    since = api.since_value(args.since) if args.since else None
    limits = api.Limits(max_wait=float(args.max_wait))
    if args.gitlab:
        base = args.api_url or api.GITLAB_API
        secret = os.environ.get("GITLAB_TOKEN", "").strip()
        headers = {"PRIVATE-TOKEN": secret} if secret else {}
        if not secret:
            say("no GITLAB_TOKEN: reading as an anonymous user (public projects only)")
        client = api.Client(base, headers, name="GitLab", say=say, limits=limits)
        return api.gitlab_deliveries(client, repo, since, say)
    base = args.api_url or api.GITHUB_API
    token = api.github_token(base, say)
    if not token:
        say("no GITHUB_TOKEN and no gh token: GitHub allows 60 requests an hour without one")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers["X-GitHub-Api-Version"] = "2022-11-28"
    client = api.Client(base, headers, name="GitHub", say=say, limits=limits)
    return api.github_deliveries(client, repo, since, say)
