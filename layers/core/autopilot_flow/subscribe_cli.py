"""``autopilot-flow subscribe|unsubscribe|replay``: the CLI side of subscriptions.py.

Where the bus is comes from the stack's outputs (``EventBusName``, ``EventBusArn``,
``EventArchiveArn``) or, with ``--offline``, from ``.offline/stack.json``. Exit codes: 0 done
(``replay``: the replay COMPLETED), 1 AWS refused or the replay failed, was cancelled or did
not end in time, 2 a usage error (bad arguments, no stack, no such rule or event type).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from autopilot_flow import client
from autopilot_flow.subscriptions import (
    DETAIL_TYPES,
    Bus,
    Replayer,
    Subscriber,
    SubscriptionError,
    parse_time,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = client.EXIT_OK, client.EXIT_FAILED, client.EXIT_USAGE


def _bus(ctx: client.Context) -> Bus:
    args = ctx.args
    if args.offline:
        path = Path(args.state_dir) / "stack.json"
        client.offline_endpoints(Path(args.state_dir))  # the same errors as the other commands
        resources = json.loads(path.read_text(encoding="utf-8")).get("resources") or {}
        bus_arn = resources.get("EventBus")
        if not bus_arn:
            raise client.CommandError(f"no EventBus in {path}")
        return Bus(
            name=str(bus_arn).rsplit("/", 1)[-1],
            arn=str(bus_arn),
            archive_arn=resources.get("EventArchive"),
            stack_name=args.stack_name,
        )
    outputs = _stack_outputs(ctx)
    if not outputs.get("EventBusName") or not outputs.get("EventBusArn"):
        raise client.CommandError(
            f"the stack {args.stack_name} has no EventBusArn output: update it to this version"
        )
    return Bus(
        name=outputs["EventBusName"],
        arn=outputs["EventBusArn"],
        archive_arn=outputs.get("EventArchiveArn"),
        stack_name=args.stack_name,
    )


def _stack_outputs(ctx: client.Context) -> dict[str, str]:
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415
    from botocore.exceptions import ClientError as AwsError  # noqa: PLC0415

    cloudformation = client.make_session(region=ctx.args.region).client("cloudformation")
    try:
        stacks = cloudformation.describe_stacks(StackName=ctx.args.stack_name)["Stacks"]
    except AwsError as exc:
        message = exc.response.get("Error", {}).get("Message", "refused")
        raise client.CommandError(
            f"cannot read the stack {ctx.args.stack_name!r}: {message}"
        ) from None
    except BotoCoreError as exc:
        raise client.CommandError(f"cannot reach CloudFormation: {exc}") from None
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def _caller_account(ctx: client.Context) -> str:
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415
    from botocore.exceptions import ClientError as AwsError  # noqa: PLC0415

    try:
        return str(ctx.aws("sts").get_caller_identity()["Account"])
    except (AwsError, BotoCoreError) as exc:
        raise client.CommandError(f"no AWS identity: {exc}") from None


def _failed(exc: SubscriptionError) -> client.CommandError:
    return client.CommandError(str(exc), EXIT_USAGE if exc.usage else EXIT_FAILED)


def _offline_flag(ctx: client.Context) -> str:
    return " --offline" if ctx.args.offline else ""


def cmd_subscribe(ctx: client.Context) -> int:
    args = ctx.args
    bus = _bus(ctx)
    subscriber = Subscriber(ctx.aws, bus, _caller_account(ctx))
    try:
        made = subscriber.subscribe(
            args.target_arn,
            detail_types=args.detail_type or (),
            job=args.job,
            rule_name=args.rule_name,
            role_arn=args.role_arn,
        )
    except SubscriptionError as exc:
        raise _failed(exc) from None
    if args.json:
        ctx.console.line(json.dumps({"bus": bus.name, **made.to_dict()}))
        return EXIT_OK
    out = ctx.console
    out.line(f"subscribed  {made.target_arn}")
    out.line(f"  rule       {made.rule_name} on the bus {bus.name}")
    out.line(f"  permission {made.permission}")
    out.line("  pattern")
    for line in json.dumps(made.pattern, indent=2).splitlines():
        out.line(f"    {line}")
    out.line(
        f"  catch up   autopilot-flow replay --since 7d --rule-name {made.rule_name}"
        + _offline_flag(ctx)
    )
    out.line(
        f"  remove     autopilot-flow unsubscribe --rule-name {made.rule_name}" + _offline_flag(ctx)
    )
    return EXIT_OK


def cmd_unsubscribe(ctx: client.Context) -> int:
    bus = _bus(ctx)
    subscriber = Subscriber(ctx.aws, bus, _caller_account(ctx))
    try:
        targets = subscriber.unsubscribe(ctx.args.rule_name)
    except SubscriptionError as exc:
        raise _failed(exc) from None
    if ctx.args.json:
        ctx.console.line(json.dumps({"ruleName": ctx.args.rule_name, "removedTargets": targets}))
    else:
        ctx.console.line(f"unsubscribed  rule {ctx.args.rule_name} removed from {bus.name}")
        for target in targets:
            ctx.console.line(f"  target      {target} (and the permission subscribe gave it)")
    return EXIT_OK


def cmd_replay(ctx: client.Context) -> int:
    args = ctx.args
    try:
        start = parse_time(args.since)
        end = parse_time(args.until) if args.until else None
    except SubscriptionError as exc:
        raise _failed(exc) from None
    bus = _bus(ctx)
    replayer = Replayer(ctx.aws, bus, sleep=ctx.sleep, clock=ctx.clock)
    out = ctx.console
    try:
        from datetime import UTC, datetime  # noqa: PLC0415

        plan = replayer.plan(
            start,
            end or datetime.now(UTC),
            detail_types=args.detail_type or (),
            rule_names=args.rule_name or (),
            name=args.name,
        )
        if not args.json:
            out.line(
                f"replay  {plan.name}: events of {plan.start.isoformat()} to "
                f"{plan.end.isoformat()} from {bus.archive_arn}"
            )
            out.line(f"  to     {', '.join(sorted(plan.rules))}")
        replayer.start(plan)

        def progress(state: dict[str, Any]) -> None:
            if not args.json:
                last = state.get("EventLastReplayedTime")
                suffix = f" (up to {last})" if last else ""
                out.line(f"  state  {state.get('State')}{suffix}")

        final = replayer.follow(plan, args.interval, args.timeout, progress)
    except SubscriptionError as exc:
        raise _failed(exc) from None
    state = str(final.get("State"))
    if args.json:
        out.line(json.dumps({**plan.to_dict(), "state": state, "reason": final.get("StateReason")}))
    elif state != "COMPLETED":
        reason = final.get("StateReason") or (
            "still running" if state not in ("FAILED", "CANCELLED") else ""
        )
        out.error(f"the replay {plan.name} is {state}: {reason}")
    else:
        out.line('  done   replayed events carry "replay-name": "' + plan.name + '"')
    return EXIT_OK if state == "COMPLETED" else EXIT_FAILED


def _detail_type_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "--detail-type",
        action="extend",
        nargs="+",
        metavar="T",
        choices=list(DETAIL_TYPES),
        help=help_text,
    )


def add_commands(commands: Any) -> None:
    """Add subscribe, unsubscribe and replay to the CLI's subparsers."""
    subscribe = commands.add_parser(
        "subscribe",
        help="a rule on the stack's bus delivering its events to a queue, function, topic or bus",
        description="Creates the rule and, for a target in your account, the target's resource "
        "policy for that rule; prints the pattern. Exit 0 when subscribed, 1 when AWS "
        "refused, 2 for a usage error.",
    )
    subscribe.add_argument("--target-arn", required=True, metavar="ARN")
    _detail_type_option(subscribe, "only these events (default: all), e.g. 'AutoML Job Submitted'")
    subscribe.add_argument("--job", metavar="NAME", help="only the events of this job")
    subscribe.add_argument("--rule-name", metavar="N", help="default: subscriber-<target>-<hash>")
    subscribe.add_argument("--role-arn", help="for an event bus target in this account")
    subscribe.add_argument("--json", action="store_true")
    client._connection_options(subscribe)
    subscribe.set_defaults(run=client._run(cmd_subscribe))

    unsubscribe = commands.add_parser(
        "unsubscribe", help="remove a subscriber rule, its targets and the permission it got"
    )
    unsubscribe.add_argument("--rule-name", required=True, metavar="N")
    unsubscribe.add_argument("--json", action="store_true")
    client._connection_options(unsubscribe)
    unsubscribe.set_defaults(run=client._run(cmd_unsubscribe))

    replay = commands.add_parser(
        "replay",
        help="replay archived events to subscriber rules, and follow the replay to its end",
        description="TIME: ISO 8601 (UTC unless a zone is given) or 90m, 36h, 7d back from "
        "now. The stack's own rules never receive a replay. Exit 0 when the replay "
        "completed, 1 when it failed, was cancelled or did not end before --timeout, 2 for "
        "a usage error.",
    )
    replay.add_argument("--since", required=True, metavar="TIME")
    replay.add_argument("--until", metavar="TIME", help="default: now")
    _detail_type_option(replay, "only to the rules that ask for these events")
    replay.add_argument(
        "--rule-name", action="extend", nargs="+", metavar="N", help="only to these rules"
    )
    replay.add_argument("--name", help="the replay's name (default: replay-<UTC time>)")
    replay.add_argument("--interval", type=float, default=5.0, help="seconds between polls")
    replay.add_argument("--timeout", type=float, default=3600.0, help="stop following after")
    replay.add_argument("--json", action="store_true")
    client._connection_options(replay)
    replay.set_defaults(run=client._run(cmd_replay))
