"""Sizes of the built Lambda artefacts (``sam build`` output) against Lambda's limits.

    .venv/bin/python scripts/package_size.py [BUILD_DIR]      # default: .aws-sam/build

Reads ``BUILD_DIR/template.yaml`` (the template ``sam build`` writes: every ``CodeUri`` and
``ContentUri`` names a folder of BUILD_DIR), prints each layer and function artefact unzipped
(the sum of its file sizes) and zipped (deflated in memory, as ``sam deploy`` zips it), and
exits 1 when:

- a function and its layers together exceed 250 MiB unzipped (262,144,000 bytes), or an
  artefact exceeds 50 MiB zipped (52,428,800 bytes, the direct-upload limit), or a function
  uses more than 5 layers;
- a function artefact bundles a third-party package: pip metadata (``*.dist-info``,
  ``*.egg-info``), a compiled extension, a well-known dependency (``aws_lambda_powertools``,
  ``pydantic``, ``yaml``, boto3, ...) or any top-level module that one of its layers also
  provides. Dependencies come from the core layer only, once;
- a compiled extension is not built for the function's runtime: the ELF machine must match
  the architecture (``arm64`` = aarch64) and a ``cpython-XY`` tag the Python version.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MIB = 1024 * 1024
UNZIPPED_LIMIT = 250 * MIB  # function + all its layers, unzipped
ZIPPED_LIMIT = 50 * MIB  # one artefact, zipped, uploaded directly
MAX_LAYERS = 5

# Dependencies that must never be bundled into a function (they come from the core layer,
# or from the Lambda runtime for boto3), even when copied in without pip's metadata.
KNOWN_DEPENDENCIES = frozenset(
    {
        "aws_lambda_powertools",
        "aws_xray_sdk",
        "pydantic",
        "pydantic_core",
        "annotated_types",
        "typing_inspection",
        "typing_extensions",
        "yaml",
        "_yaml",
        "jmespath",
        "boto3",
        "botocore",
        "s3transfer",
        "urllib3",
        "dateutil",
        "autopilot_flow",
    }
)
PIP_METADATA = re.compile(r"\.(dist-info|egg-info)$|^[A-Za-z0-9_.]+-\d[^/]*\.data$")
EXTENSION_SUFFIXES = (".so", ".pyd")
CPYTHON_TAG = re.compile(r"\.cpython-(\d)(\d+)")
ELF_MACHINES = {62: "x86_64", 183: "arm64"}  # e_machine: EM_X86_64, EM_AARCH64
RUNTIME = re.compile(r"^python(\d)\.(\d+)$")


@dataclass
class Artefact:
    """One built folder: a layer or a function."""

    name: str
    kind: str  # "layer" or "function"
    path: Path
    unzipped: int = 0
    zipped: int = 0
    files: list[Path] = field(default_factory=list)


@dataclass
class Report:
    artefacts: list[Artefact]
    errors: list[str]
    notes: list[str]
    lines: list[str]

    @property
    def ok(self) -> bool:
        return not self.errors


# --- reading the built template --------------------------------------------------------


class _TemplateLoader(yaml.SafeLoader):
    """Safe YAML that also reads CloudFormation's short tags (``!Ref X`` -> ``{"Ref": X}``)."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {suffix if suffix == "Ref" else f"Fn::{suffix}": value}


_TemplateLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=_TemplateLoader)  # noqa: S506
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise ValueError(f"{path}: not a CloudFormation template (no Resources)")
    return document


# --- measuring -------------------------------------------------------------------------


def iter_files(root: Path) -> Iterator[Path]:
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            yield Path(directory, filename)


def measure(artefact: Artefact) -> None:
    """Unzipped bytes (file sizes) and zipped bytes (deflated in memory, like sam deploy)."""
    artefact.files = list(iter_files(artefact.path))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in artefact.files:
            artefact.unzipped += file.stat().st_size
            archive.write(file, file.relative_to(artefact.path).as_posix())
    artefact.zipped = len(buffer.getvalue())


def elf_machine(path: Path) -> str | None:
    """The architecture an ELF file is built for, or None when it is not ELF."""
    with path.open("rb") as handle:
        header = handle.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    machine = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
    return ELF_MACHINES.get(machine, f"e_machine {machine}")


# --- checks ----------------------------------------------------------------------------


def top_level_modules(root: Path) -> set[str]:
    """Importable top-level names in a folder: packages and modules (``x.py``, ``x.*.so``)."""
    if not root.is_dir():
        return set()
    names = set()
    for entry in root.iterdir():
        if entry.is_dir():
            if not PIP_METADATA.search(entry.name) and entry.name != "__pycache__":
                names.add(entry.name)
        elif entry.suffix == ".py" or entry.name.endswith(EXTENSION_SUFFIXES):
            names.add(entry.name.split(".", 1)[0])
    return names


def bundled_packages(function: Artefact, layer_modules: set[str]) -> list[str]:
    """What a function artefact holds that is a dependency, not the function's own code."""
    found: list[str] = []
    for entry in sorted(function.path.rglob("*")):
        relative = entry.relative_to(function.path).as_posix()
        if entry.is_dir() and PIP_METADATA.search(entry.name):
            found.append(f"{relative}/ (pip-installed package metadata)")
        elif entry.is_file() and entry.name.endswith(EXTENSION_SUFFIXES):
            found.append(f"{relative} (compiled extension)")
    for name in sorted(top_level_modules(function.path)):
        if name in KNOWN_DEPENDENCIES:
            found.append(f"{name} (a dependency: it belongs in the core layer)")
        elif name in layer_modules:
            found.append(f"{name} (also in the function's layer)")
    return found


def extension_problems(artefact: Artefact, architecture: str, python: str | None) -> list[str]:
    problems = []
    for file in artefact.files:
        if not file.name.endswith(EXTENSION_SUFFIXES):
            continue
        relative = file.relative_to(artefact.path).as_posix()
        machine = elf_machine(file)
        if machine is not None and machine != architecture:
            problems.append(
                f"{artefact.name}: {relative} is built for {machine}, not {architecture}"
            )
        tag = CPYTHON_TAG.search(file.name)
        if python and tag and f"{tag.group(1)}.{tag.group(2)}" != python:
            problems.append(
                f"{artefact.name}: {relative} is built for CPython {tag.group(1)}.{tag.group(2)},"
                f" not {python}"
            )
    return problems


# --- the report ------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _fmt(size: int) -> str:
    return f"{size:>13,} B {size / MIB:>8.2f} MiB"


@dataclass
class Function:
    artefact: Artefact
    layers: list[str]  # logical ids of the template's layers it uses
    architecture: str  # "arm64" or "x86_64"
    python: str | None  # "3.12" for python3.12


def read_artefacts(
    template: dict[str, Any], build_dir: Path, errors: list[str], notes: list[str]
) -> tuple[dict[str, Artefact], dict[str, Function]]:
    """The template's zip layers and functions, with what Globals.Function gives them."""
    defaults: dict[str, Any] = (template.get("Globals") or {}).get("Function") or {}
    layers: dict[str, Artefact] = {}
    functions: dict[str, Function] = {}
    for name, resource in template["Resources"].items():
        kind = resource.get("Type")
        props: dict[str, Any] = resource.get("Properties") or {}
        if kind in ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"):
            uri = props.get("ContentUri", props.get("Content"))
            if isinstance(uri, str):
                layers[name] = Artefact(name, "layer", build_dir / uri)
            else:
                notes.append(f"{name}: layer content is not a built folder; not measured")
            continue
        if kind not in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            continue
        uri = props.get("CodeUri", props.get("Code", defaults.get("CodeUri")))
        if props.get("PackageType", "Zip") != "Zip" or not isinstance(uri, str):
            notes.append(f"{name}: not a built zip folder (image or inline code); not measured")
            continue
        # SAM adds Globals' layers to the function's own.
        used = _as_list(defaults.get("Layers")) + _as_list(props.get("Layers"))
        if len(used) > MAX_LAYERS:
            errors.append(f"{name}: uses {len(used)} layers (Lambda allows {MAX_LAYERS})")
        refs: list[str] = []
        for layer in used:
            ref = layer.get("Ref") if isinstance(layer, dict) else None
            if not isinstance(ref, str) or ref not in template["Resources"]:
                notes.append(f"{name}: layer {layer!r} is not built here; not measured")
            elif ref not in refs:
                refs.append(ref)
        architectures = props.get("Architectures", defaults.get("Architectures"))
        runtime = RUNTIME.match(str(props.get("Runtime", defaults.get("Runtime", ""))))
        functions[name] = Function(
            artefact=Artefact(name, "function", build_dir / uri),
            layers=refs,
            architecture=str((_as_list(architectures) or ["x86_64"])[0]),
            python=f"{runtime.group(1)}.{runtime.group(2)}" if runtime else None,
        )
    return layers, functions


def analyse(
    build_dir: Path,
    unzipped_limit: int = UNZIPPED_LIMIT,
    zipped_limit: int = ZIPPED_LIMIT,
) -> Report:
    errors: list[str] = []
    notes: list[str] = []
    template = load_template(build_dir / "template.yaml")
    layers, functions = read_artefacts(template, build_dir, errors, notes)
    artefacts = [*layers.values(), *(function.artefact for function in functions.values())]

    lines = [f"{'artefact':<28} {'kind':<9} {'unzipped':>28}   {'zipped':>28}"]
    for artefact in artefacts:
        if not artefact.path.is_dir():
            errors.append(f"{artefact.name}: {artefact.path} is missing (run `make build`)")
            continue
        measure(artefact)
        lines.append(
            f"{artefact.name:<28} {artefact.kind:<9} {_fmt(artefact.unzipped)}   "
            f"{_fmt(artefact.zipped)}"
        )
        if artefact.zipped > zipped_limit:
            errors.append(
                f"{artefact.name}: {artefact.zipped:,} bytes zipped, over the"
                f" {zipped_limit:,}-byte direct-upload limit"
            )

    largest: tuple[int, str] | None = None
    for name, function in functions.items():
        own_layers = [layers[ref] for ref in function.layers if ref in layers]
        total = function.artefact.unzipped + sum(layer.unzipped for layer in own_layers)
        if total > unzipped_limit:
            errors.append(
                f"{name}: {total:,} bytes unzipped with its layers, over the"
                f" {unzipped_limit:,}-byte limit"
            )
        if largest is None or total > largest[0]:
            largest = (total, " + ".join([name, *(layer.name for layer in own_layers)]))
        provided = set().union(*(top_level_modules(layer.path / "python") for layer in own_layers))
        if function.artefact.path.is_dir():
            errors.extend(
                f"{name}: bundles {item}" for item in bundled_packages(function.artefact, provided)
            )
        for artefact in [function.artefact, *own_layers]:
            for problem in extension_problems(artefact, function.architecture, function.python):
                if problem not in errors:  # a layer's problem once, not once per function
                    errors.append(problem)

    if largest is not None:
        lines.append(
            f"largest function with its layers: {largest[1]} = {largest[0]:,} bytes unzipped"
            f" ({largest[0] / MIB:.2f} MiB, {100 * largest[0] / unzipped_limit:.1f}% of"
            f" {unzipped_limit / MIB:g} MiB)"
        )
    zipped = max((artefact.zipped for artefact in artefacts), default=0)
    lines.append(
        f"largest artefact zipped: {zipped:,} bytes ({zipped / MIB:.2f} MiB,"
        f" {100 * zipped / zipped_limit:.1f}% of {zipped_limit / MIB:g} MiB)"
    )
    return Report(artefacts=artefacts, errors=errors, notes=notes, lines=lines)


def main(argv: Sequence[str] | None = None, out: Any = None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("build_dir", nargs="?", default=".aws-sam/build", type=Path)
    args = parser.parse_args(argv)
    template = args.build_dir / "template.yaml"
    if not template.is_file():
        print(f"package-size: {template} not found: run `make build` first", file=out)
        return 1
    report = analyse(args.build_dir)
    _print(report.lines, out)
    _print((f"note: {note}" for note in report.notes), out)
    if report.errors:
        _print((f"error: {error}" for error in report.errors), out)
        print(f"package-size: {len(report.errors)} problem(s)", file=out)
        return 1
    print("package-size: OK (within Lambda's limits; dependencies only in layers)", file=out)
    return 0


def _print(lines: Iterable[str], out: Any) -> None:
    for line in lines:
        print(line, file=out)


if __name__ == "__main__":
    sys.exit(main())
