"""``autopilot-flow``: validate manifests, print skeletons, the JSON Schema and the rule list.

Exit codes of ``validate`` (docs/architecture.md, Contracts): 0 all valid, 1 any invalid or
unparseable, 2 a usage error or an unreadable file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from autopilot_flow import __version__
from autopilot_flow import problem_types as pt

if TYPE_CHECKING:
    from autopilot_flow.issues import Issue
    from autopilot_flow.validate import ValidationResult

    Positions = dict[Issue, tuple[int, int]]

# Each command imports what it needs when it runs: local ones (validate, skeleton, schema,
# rules, --version) must start in less than half the time boto3 takes to import
# (bench/cli_startup.py), and never import boto3 or botocore.
EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
LOCAL_COMMANDS = ("validate", "skeleton", "schema", "rules", "completion", "--version")


class _Style:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def _wrap(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled else text

    def red(self, text: str) -> str:
        return self._wrap("31", text)

    def green(self, text: str) -> str:
        return self._wrap("32", text)

    def yellow(self, text: str) -> str:
        return self._wrap("33", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def bold(self, text: str) -> str:
        return self._wrap("1", text)


def _use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


STDIN = "-"
STDIN_NAME = "<stdin>"  # how findings name a manifest read from stdin


def _print_human(
    name: str, result: ValidationResult, style: _Style, out: TextIO, positions: Positions
) -> None:
    if result.valid:
        job = f" (job {result.job_name})" if result.job_name else ""
        out.write(f"{style.green('valid')}    {style.bold(name)}{job}\n")
    else:
        count = len(result.errors)
        noun = "error" if count == 1 else "errors"
        out.write(f"{style.red('invalid')}  {style.bold(name)}: {count} {noun}\n")
    for label, issues, colour in (
        ("error", result.errors, style.red),
        ("warning", result.warnings, style.yellow),
    ):
        for issue in issues:
            path = issue.path or "(document)"
            # file:line:col first, as compilers print it: editors and CI annotations link it.
            where = positions.get(issue)
            at = f"{name}:{where[0]}:{where[1]}: " if where else ""
            out.write(
                f"  {colour(label)}  {at}{path}: {issue.message} "
                f"{style.dim('[' + issue.code + ']')}\n"
            )


def _positions(data: bytes, result: ValidationResult) -> Positions:
    """Each finding's line and column (a finding with no position is left out)."""
    from autopilot_flow.manifest import issue_position, node_positions  # noqa: PLC0415

    issues = [*result.errors, *result.warnings]
    if not issues:
        return {}
    nodes = node_positions(data)
    found = {issue: issue_position(issue, nodes) for issue in issues}
    return {issue: where for issue, where in found.items() if where is not None}


def _json_record(name: str, result: ValidationResult, positions: Positions) -> dict[str, Any]:
    """``{file, valid, errors, warnings}``; each finding ``{path, message, code}``, plus
    ``line`` and ``column`` when known (additive: the contract's keys stay as they are)."""

    def finding(issue: Issue) -> dict[str, Any]:
        item: dict[str, Any] = dict(issue.to_dict())
        if issue in positions:
            item["line"], item["column"] = positions[issue]
        return item

    return {
        "file": name,
        "valid": result.valid,
        "errors": [finding(i) for i in result.errors],
        "warnings": [finding(i) for i in result.warnings],
    }


def _unreadable(name: str, reason: str) -> ValidationResult:
    from autopilot_flow.issues import Issue  # noqa: PLC0415
    from autopilot_flow.validate import ValidationResult  # noqa: PLC0415

    return ValidationResult(errors=[Issue((), "io.unreadable", f"cannot read {name}: {reason}")])


def _cmd_validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from autopilot_flow.policy import Policy, PolicyError  # noqa: PLC0415
    from autopilot_flow.validate import validate_bytes  # noqa: PLC0415

    policy = None
    if args.policy is not None:
        try:
            policy = Policy.from_bytes(Path(args.policy).read_bytes(), args.policy)
        except OSError as exc:
            err.write(f"autopilot-flow: cannot read the policy {args.policy}: {exc.strerror}\n")
            return EXIT_USAGE
        except PolicyError as exc:
            err.write(f"autopilot-flow: the policy {args.policy} is invalid:\n")
            for issue in exc.issues:
                err.write(f"  {issue.path or '(policy)'}: {issue.message} [{issue.code}]\n")
            return EXIT_USAGE
    style = _Style(not args.json and _use_colour(out))
    status = EXIT_OK
    for argument in args.files:
        name = STDIN_NAME if argument == STDIN else argument
        positions: Positions = {}
        try:
            data = sys.stdin.buffer.read() if argument == STDIN else Path(name).read_bytes()
        except OSError as exc:
            result = _unreadable(name, exc.strerror or str(exc))
            status = EXIT_USAGE
        else:
            result = validate_bytes(data, None if argument == STDIN else name, policy)
            positions = _positions(data, result)
            if not result.valid and status == EXIT_OK:
                status = EXIT_INVALID
        if args.json:
            record = _json_record(name, result, positions)
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            _print_human(name, result, style, out, positions)
    return status


def _cmd_skeleton(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import yaml  # noqa: PLC0415

    from autopilot_flow.skeleton import skeleton  # noqa: PLC0415

    manifest = skeleton(args.problem_type)
    if args.yaml:
        out.write(yaml.safe_dump(manifest, sort_keys=False, width=100))
    else:
        out.write(json.dumps(manifest, indent=2) + "\n")
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from autopilot_flow.schema import manifest_schema  # noqa: PLC0415

    out.write(json.dumps(manifest_schema(), indent=2) + "\n")
    return EXIT_OK


def _cmd_rules(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # The validator's modules register every rule (our sections' too) as they load.
    from autopilot_flow import validate  # noqa: F401, PLC0415
    from autopilot_flow.rules import RULES  # noqa: PLC0415

    if args.json:
        rows: list[dict[str, Any]] = [
            {"rule": r.name, "codes": list(r.codes), "cite": r.cite} for r in RULES
        ]
        out.write(json.dumps(rows, indent=2) + "\n")
        return EXIT_OK
    for index, registered in enumerate(RULES, start=1):
        out.write(f"{index:2}. {', '.join(registered.codes)}\n    {registered.cite}\n")
    return EXIT_OK


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser(local_only: bool = False) -> argparse.ArgumentParser:
    """The whole parser; with ``local_only``, without the commands that call the stack (so
    that a local command never imports their modules)."""
    parser = _Parser(
        prog="autopilot-flow",
        description="Validate and prepare SageMaker Autopilot (CreateAutoMLJobV2) manifests.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    validate = commands.add_parser(
        "validate",
        help="check manifests against every documented rule and the policy",
        description="Exit 0 when all files are valid, 1 when any is invalid, 2 for a usage "
        "error or an unreadable file.",
    )
    validate.add_argument("files", nargs="+", metavar="FILE", help="a manifest; - reads stdin")
    validate.add_argument("--policy", metavar="POLICY", help="organisation policy (JSON/YAML)")
    validate.add_argument("--json", action="store_true", help="one JSON object per file")
    validate.set_defaults(run=_cmd_validate)

    skel = commands.add_parser("skeleton", help="print a complete, valid starting manifest")
    skel.add_argument("--problem-type", required=True, choices=list(pt.CLI_NAMES))
    skel.add_argument("--yaml", action="store_true", help="YAML instead of JSON")
    skel.set_defaults(run=_cmd_skeleton)

    schema = commands.add_parser("schema", help="print the manifest's JSON Schema (2020-12)")
    schema.set_defaults(run=_cmd_schema)

    rules = commands.add_parser("rules", help="list the rules checked, with their sources")
    rules.add_argument("--json", action="store_true")
    rules.set_defaults(run=_cmd_rules)

    completion = commands.add_parser(
        "completion",
        help="print the shell completion script",
        description="bash: source <(autopilot-flow completion bash) in ~/.bashrc; "
        "zsh: source <(autopilot-flow completion zsh) in ~/.zshrc.",
    )
    completion.add_argument("shell", choices=("bash", "zsh"))
    completion.set_defaults(run=_cmd_completion)

    if local_only:
        return parser
    from autopilot_flow import client, report_cli, subscribe_cli  # noqa: PLC0415

    # submit, status, list, candidates, stop, watch: the deployed (or offline) stack.
    client.add_commands(commands)
    # subscribe, unsubscribe, replay: the stack's bus and archive (docs/subscribing.md).
    subscribe_cli.add_commands(commands)
    # report: a job's HTML report, written locally.
    report_cli.add_commands(commands)

    offline = commands.add_parser(
        "offline", help="the whole service on this machine (moto + the Autopilot simulator)"
    )
    modes = offline.add_subparsers(dest="mode", required=True, parser_class=_Parser)
    for mode, help_text in (
        ("up", "start the offline stack and keep it running until Ctrl-C"),
        ("demo", "start it, run every example manifest through it, show the result"),
    ):
        sub = modes.add_parser(mode, help=help_text)
        sub.add_argument("--port", type=int, default=0, help="moto server port (0: any free)")
        sub.add_argument(
            "--speed", type=float, default=600.0, help="simulated time per real second"
        )
        sub.add_argument("--quota", type=int, help="concurrent AutoML jobs before quota errors")
        sub.add_argument("--throttle-rate", type=float, default=0.0)
        sub.add_argument("--fail-rate", type=float, default=0.0)
        sub.add_argument("--policy", metavar="POLICY", help="policy file (as for validate)")
        # The demo keeps its own stack.json: a running `offline up` keeps answering.
        state_dir = ".offline" if mode == "up" else ".offline/demo"
        sub.add_argument("--state-dir", default=state_dir, help="where stack.json is written")
        if mode == "up":
            sub.add_argument(
                "--api-port", type=int, default=0, help="the jobs API's port (0: any free)"
            )
        sub.set_defaults(run=_cmd_offline)
    return parser


def _cmd_completion(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from autopilot_flow.completion import script  # noqa: PLC0415

    out.write(script(args.shell, build_parser()))  # every command, the stack's too
    return EXIT_OK


def _cmd_offline(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        from offline import cli as offline_cli  # noqa: PLC0415 - needs the offline extras
    except ImportError as exc:
        err.write(
            f"autopilot-flow: offline mode needs the offline extras ({exc}); "
            "run `make demo` or `pip install -e '.[offline]'` in a clone.\n"
        )
        return EXIT_USAGE
    code: int = offline_cli.run(args, out, err)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    local = bool(words) and words[0] in LOCAL_COMMANDS
    args = build_parser(local_only=local).parse_args(words)
    code: int = args.run(args, sys.stdout, sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
