"""scripts/package_size.py on small fake `sam build` outputs."""

from __future__ import annotations

import importlib.util
import io
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "package_size", ROOT / "scripts" / "package_size.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["package_size"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


package_size = _load()

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Architectures: [arm64]
    Layers:
      - !Ref CoreLayer
Resources:
  CoreLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: CoreLayer
      CompatibleRuntimes: [python3.12]
    Metadata:
      BuildMethod: python3.12
      BuildArchitecture: arm64
  IngestFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: IngestFunction
      Handler: app.lambda_handler
      Environment:
        Variables:
          TABLE: !Sub "${AWS::StackName}-jobs"
  ApiFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ApiFunction
      Handler: app.lambda_handler
  Queue:
    Type: AWS::SQS::Queue
"""


def elf(machine: int) -> bytes:
    """A minimal little-endian ELF header for the given e_machine."""
    header = bytearray(64)
    header[:4] = b"\x7fELF"
    header[4] = 2  # 64-bit
    header[5] = 1  # little-endian
    header[18:20] = machine.to_bytes(2, "little")
    return bytes(header)


AARCH64 = 183
X86_64 = 62


def write(path: Path, content: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


@pytest.fixture
def build(tmp_path: Path) -> Path:
    """A healthy build: the layer holds every dependency, functions only their handler."""
    write(tmp_path / "template.yaml", TEMPLATE)
    layer = tmp_path / "CoreLayer" / "python"
    write(layer / "aws_lambda_powertools" / "__init__.py", "# powertools\n" * 50)
    write(layer / "aws_lambda_powertools-3.37.0.dist-info" / "METADATA", "Name: x\n")
    write(layer / "pydantic_core" / "__init__.py", "")
    write(
        layer / "pydantic_core" / "_pydantic_core.cpython-312-aarch64-linux-gnu.so",
        elf(AARCH64) + b"\0" * 1000,
    )
    write(layer / "autopilot_flow" / "__init__.py", '"""core"""\n')
    write(tmp_path / "IngestFunction" / "app.py", "def lambda_handler(e, c):\n    return e\n")
    write(tmp_path / "ApiFunction" / "app.py", "def lambda_handler(e, c):\n    return 1\n")
    return tmp_path


def run(build_dir: Path) -> tuple[int, str]:
    out = io.StringIO()
    code = package_size.main([str(build_dir)], out=out)
    return code, out.getvalue()


def test_healthy_build_passes_and_prints_every_artefact(build: Path) -> None:
    code, output = run(build)
    assert code == 0, output
    for name in ("CoreLayer", "IngestFunction", "ApiFunction"):
        assert name in output
    assert "Queue" not in output
    assert "package-size: OK" in output
    assert "largest function with its layers: IngestFunction + CoreLayer" in output


def test_sizes_are_file_bytes_and_deflated_zip_bytes(build: Path) -> None:
    report = package_size.analyse(build)
    sizes = {a.name: a for a in report.artefacts}
    app = build / "IngestFunction" / "app.py"
    assert sizes["IngestFunction"].unzipped == app.stat().st_size
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(app, "app.py")
    assert sizes["IngestFunction"].zipped == len(buffer.getvalue())
    layer_files = [p for p in (build / "CoreLayer").rglob("*") if p.is_file()]
    assert sizes["CoreLayer"].unzipped == sum(p.stat().st_size for p in layer_files)


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("aws_lambda_powertools/__init__.py", "aws_lambda_powertools"),
        ("yaml/__init__.py", "yaml"),
        ("six.py", "six (also in the function's layer)"),
        ("requests-2.0.0.dist-info/METADATA", "requests-2.0.0.dist-info/"),
        ("vendor/thing.cpython-312-aarch64-linux-gnu.so", "compiled extension"),
    ],
)
def test_a_function_bundling_a_package_fails(build: Path, relative: str, expected: str) -> None:
    write(build / "CoreLayer" / "python" / "six.py", "")
    write(build / "ApiFunction" / relative, elf(AARCH64) if relative.endswith(".so") else "")
    code, output = run(build)
    assert code == 1
    assert "error: ApiFunction: bundles" in output
    assert expected in output
    assert "IngestFunction: bundles" not in output


def test_the_functions_own_modules_are_fine(build: Path) -> None:
    write(build / "ApiFunction" / "helpers.py", "X = 1\n")
    write(build / "ApiFunction" / "routes" / "__init__.py", "")
    assert run(build)[0] == 0


def test_an_x86_extension_in_the_layer_fails(build: Path) -> None:
    write(
        build / "CoreLayer" / "python" / "yaml" / "_yaml.cpython-312-x86_64-linux-gnu.so",
        elf(X86_64),
    )
    code, output = run(build)
    assert code == 1
    assert "_yaml.cpython-312-x86_64-linux-gnu.so is built for x86_64, not arm64" in output
    assert output.count("is built for x86_64") == 1  # reported once, not once per function


def test_an_extension_for_another_python_fails(build: Path) -> None:
    write(
        build / "CoreLayer" / "python" / "m" / "_m.cpython-311-aarch64-linux-gnu.so", elf(AARCH64)
    )
    code, output = run(build)
    assert code == 1
    assert "is built for CPython 3.11, not 3.12" in output


def test_limits_are_enforced(build: Path) -> None:
    report = package_size.analyse(build, unzipped_limit=1500, zipped_limit=10**9)
    assert not report.ok
    assert any("IngestFunction: " in e and "unzipped with its layers" in e for e in report.errors)
    report = package_size.analyse(build, unzipped_limit=10**9, zipped_limit=600)
    assert any("CoreLayer: " in e and "direct-upload limit" in e for e in report.errors)


def test_a_missing_build_is_an_error(tmp_path: Path) -> None:
    code, output = run(tmp_path)
    assert code == 1
    assert "run `make build` first" in output
    write(tmp_path / "template.yaml", TEMPLATE)
    code, output = run(tmp_path)
    assert code == 1
    assert "is missing (run `make build`)" in output


def test_the_template_sam_build_writes_parses(build: Path) -> None:
    # sam build writes intrinsic functions in their long form.
    long_form = TEMPLATE.replace("- !Ref CoreLayer", "- Ref: CoreLayer").replace(
        'TABLE: !Sub "${AWS::StackName}-jobs"',
        "TABLE:\n            Fn::Sub: ${AWS::StackName}-jobs",
    )
    write(build / "template.yaml", long_form)
    assert run(build)[0] == 0
