"""Shell completion for ``autopilot-flow`` (bash and zsh), generated from the CLI's parser.

``autopilot-flow completion bash`` prints a script that completes commands, sub-commands
(``offline up|demo``), each command's options, option choices (``--problem-type``,
``--via``...) and file names elsewhere. zsh runs the same function through ``bashcompinit``.
Install: ``source <(autopilot-flow completion bash)`` in ~/.bashrc (or ``zsh`` in ~/.zshrc).
"""

from __future__ import annotations

import argparse
import shlex

FUNCTION = "_autopilot_flow_complete"
SHELLS = ("bash", "zsh")


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps no public list of sub-parsers
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> tuple[list[str], dict[str, list[str]]]:
    """A parser's option strings (and its positionals' fixed values), and the fixed choices
    of the options that take one."""
    words: list[str] = []
    choices: dict[str, list[str]] = {}
    for action in parser._actions:
        words.extend(s for s in action.option_strings if s.startswith("--") or len(s) == 2)
        if action.option_strings and action.choices:
            for option in action.option_strings:
                choices[option] = [str(c) for c in action.choices]
        elif action.choices and not isinstance(action, argparse._SubParsersAction):
            words.extend(str(c) for c in action.choices)  # a positional's fixed values
    return words, choices


def _takes_free_positionals(parser: argparse.ArgumentParser) -> bool:
    """Whether a command takes positionals without fixed values (files, job names...)."""
    return any(
        not action.option_strings
        and not action.choices
        and not isinstance(action, argparse._SubParsersAction)
        for action in parser._actions
    )


def _quoted(words: list[str]) -> str:
    return shlex.quote(" ".join(words))


def bash_script(parser: argparse.ArgumentParser, program: str = "autopilot-flow") -> str:
    """The bash function and its ``complete`` line. A command path is the words before the
    cursor that name (sub-)commands, e.g. ``offline up``; each gets its own options."""
    lines = [
        f"# {program} completion (bash; zsh through bashcompinit)",
        f"{FUNCTION}() {{",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
        '    local path="" word i',
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        word="${COMP_WORDS[i]}"',
        '        case "$path/$word" in',
    ]
    paths: dict[str, argparse.ArgumentParser] = {"": parser}
    pending = [("", parser)]
    while pending:
        prefix, current = pending.pop(0)
        for name, sub in _subcommands(current).items():
            key = f"{prefix}/{name}" if prefix else f"/{name}"
            paths[key] = sub
            pending.append((key, sub))
    commands = [key for key in paths if key]
    for key in commands:
        lines.append(f"            {shlex.quote(key)}) path={shlex.quote(key)} ;;")
    lines += [
        "        esac",
        "    done",
        '    local words="" choices="" files=""',
        '    case "$path" in',
    ]
    for key, current in paths.items():
        options, choices = _options(current)
        subs = list(_subcommands(current))
        label = shlex.quote(key) if key else '""'
        lines.append(f"        {label})")
        lines.append(f"            words={_quoted(subs + options)}")
        if _takes_free_positionals(current):
            lines.append("            files=1")
        if choices:
            lines.append('            case "$prev" in')
            for option, values in choices.items():
                lines.append(f"                {option}) choices={_quoted(values)} ;;")
            lines.append("            esac")
        lines.append("            ;;")
    lines += [
        "    esac",
        '    if [[ -n "$choices" ]]; then',
        '        COMPREPLY=($(compgen -W "$choices" -- "$cur"))',
        '    elif [[ "$cur" != -* && -n "$files" ]]; then',
        '        COMPREPLY=($(compgen -f -- "$cur"))',
        "    else",
        '        COMPREPLY=($(compgen -W "$words" -- "$cur"))',
        "    fi",
        "}",
        f"complete -F {FUNCTION} {program}",
        "",
    ]
    return "\n".join(lines)


def zsh_script(parser: argparse.ArgumentParser, program: str = "autopilot-flow") -> str:
    """zsh runs the bash function through its bash-completion emulation."""
    return (
        "autoload -U +X compinit && compinit\n"
        "autoload -U +X bashcompinit && bashcompinit\n" + bash_script(parser, program)
    )


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    return zsh_script(parser) if shell == "zsh" else bash_script(parser)
