"""Shared test fixtures: the example manifests and the botocore request shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autopilot_flow.manifest import parse_document

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples" / "manifests").iterdir())


def load_example(name: str) -> dict[str, Any]:
    path = ROOT / "examples" / "manifests" / name
    return parse_document(path.read_bytes(), path.name)


@pytest.fixture(scope="session")
def botocore_input_shape() -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    return model.operation_model("CreateAutoMLJobV2").input_shape
