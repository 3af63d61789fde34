"""Account and audit commands: users and their roles, API tokens, the audit trail's export."""
from __future__ import annotations

import argparse
import csv
import getpass
import json
import sys
from dataclasses import asdict

from artwork.accounts import ROLES

from api.cli import privacy
from api.cli.common import emit, open_store
from api.errors import InvalidRequestError

_USER_COLUMNS = ("name", "role", "disabled")
_TOKEN_COLUMNS = ("id", "user_name", "label", "revoked")
_AUDIT_COLUMNS = ("at", "actor", "origin", "action", "title_id", "artwork_id", "detail")


def _password(args: argparse.Namespace) -> str:
    """The new password: typed twice at a terminal, else the first line of stdin."""
    if args.password_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != first:
        raise InvalidRequestError("the two passwords differ; nothing was changed")
    return first


def _cmd_user_add(args: argparse.Namespace) -> int:
    user = open_store(args).accounts.add_user(args.name, args.role, _password(args))
    emit([asdict(user)], args.json, _USER_COLUMNS)
    return 0


def _cmd_user_list(args: argparse.Namespace) -> int:
    emit([asdict(u) for u in open_store(args).accounts.list_users()], args.json, _USER_COLUMNS)
    return 0


def _cmd_user_role(args: argparse.Namespace) -> int:
    user = open_store(args).accounts.set_role(args.name, args.role)
    emit([asdict(user)], args.json, _USER_COLUMNS)
    return 0


def _cmd_user_disable(args: argparse.Namespace) -> int:
    user = open_store(args).accounts.disable_user(args.name)
    emit([asdict(user)], args.json, _USER_COLUMNS)
    return 0


def _cmd_user_sign_out(args: argparse.Namespace) -> int:
    ended = open_store(args).accounts.end_sessions(args.name)
    print(f"ended {ended} studio session(s) of {args.name}")
    return 0


def _cmd_token_create(args: argparse.Namespace) -> int:
    token, secret = open_store(args).accounts.create_token(args.name, args.label or "")
    if args.json:
        emit([{**asdict(token), "token": secret}], True, ())
    else:
        print(f"API token {token.id} for {token.user_name} (shown once, keep it safe):")
        print(secret)
    return 0


def _cmd_token_list(args: argparse.Namespace) -> int:
    emit([asdict(t) for t in open_store(args).accounts.list_tokens(args.name)], args.json,
         _TOKEN_COLUMNS)
    return 0


def _cmd_token_revoke(args: argparse.Namespace) -> int:
    emit([asdict(open_store(args).accounts.revoke_token(args.id))], args.json, _TOKEN_COLUMNS)
    return 0


def _cmd_audit_export(args: argparse.Namespace) -> int:
    entries = [e.as_dict() for e in open_store(args).audit.entries(args.since)]
    out = open(args.output, "w", newline="") if args.output else sys.stdout
    try:
        if args.format == "csv":
            writer = csv.DictWriter(out, fieldnames=("id", *_AUDIT_COLUMNS))
            writer.writeheader()
            for e in entries:
                writer.writerow({**e, "detail": json.dumps(e["detail"], sort_keys=True)})
        else:
            for e in entries:
                out.write(json.dumps(e, sort_keys=True) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    if args.output:
        print(f"wrote {len(entries)} audit entries to {args.output}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `user` and `audit` commands."""
    user = sub.add_parser("user", help="studio and API users, their roles and API tokens",
                          description="Users of the studio and the creatives' API: each has a "
                          "role (viewer, editor, admin), a password and API tokens.")
    users = user.add_subparsers(dest="user_command", metavar="SUBCOMMAND", required=True)

    def command(parent, name: str, func, help: str) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".")
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(func=func)
        return p

    p = command(users, "add", _cmd_user_add,
                "add a user (password typed twice, or the first line of stdin)")
    p.add_argument("name", help="lower-case letters, digits, '.', '_' or '-'")
    p.add_argument("--role", choices=ROLES, required=True,
                   help="viewer: look; editor: upload, approve, retire; admin: users too")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from stdin even at a terminal")
    command(users, "list", _cmd_user_list, "list users")
    p = command(users, "role", _cmd_user_role, "change a user's role")
    p.add_argument("name", help="the user")
    p.add_argument("role", choices=ROLES, help="the new role")
    p = command(users, "disable", _cmd_user_disable,
                "stop a user: sessions end, tokens stop working, at once")
    p.add_argument("name", help="the user")
    p = command(users, "sign-out", _cmd_user_sign_out, "end every studio session of a user")
    p.add_argument("name", help="the user")
    privacy.register_forget(users)
    token = users.add_parser("token", help="API tokens for machines",
                             description="API tokens: `Authorization: Bearer TOKEN` for the "
                             "creatives' API, with the role of the user they belong to.")
    tokens = token.add_subparsers(dest="token_command", metavar="SUBCOMMAND", required=True)
    p = command(tokens, "create", _cmd_token_create, "create an API token (shown once)")
    p.add_argument("name", help="the user the token acts for")
    p.add_argument("--label", help="what the token is for")
    p = command(tokens, "list", _cmd_token_list, "list API tokens (never the tokens themselves)")
    p.add_argument("name", nargs="?", help="only this user's tokens")
    p = command(tokens, "revoke", _cmd_token_revoke, "revoke an API token by id, at once")
    p.add_argument("id", help="the token's id (`artbandit user token list`)")

    audit = sub.add_parser("audit", help="the audit trail of catalog changes",
                           description="The audit trail: every change to the catalog with who, "
                           "when, what and from where.")
    audits = audit.add_subparsers(dest="audit_command", metavar="SUBCOMMAND", required=True)
    p = audits.add_parser("export", help="every catalog change: who, when, what, from where",
                          description="Write the audit trail, oldest first, as JSON lines or CSV.")
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl",
                   help="JSON lines (default) or CSV")
    p.add_argument("--output", "-o", help="file to write (default: stdout)")
    p.add_argument("--since", type=float, help="only changes at or after this Unix time")
    p.set_defaults(func=_cmd_audit_export)
