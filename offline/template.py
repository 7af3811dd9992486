"""Reading ``template.yaml`` offline: CloudFormation's YAML tags and intrinsic functions.

The offline stack and the integration tests are driven by the real template, so what they
provision cannot drift from what ``sam deploy`` ships.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


# libyaml's parser when PyYAML was built with it (the wheels are): the template is read by
# every provisioned stack and at the import of several test modules, and the pure-Python
# parser took about half a second for it. The constructors are PyYAML's either way.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CfnLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """SafeLoader that turns ``!Ref X`` into ``{"Ref": "X"}`` and ``!Sub s`` into
    ``{"Fn::Sub": s}`` (and so on), the JSON form of CloudFormation's short tags."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    if suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        template: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506
    return template


class UnresolvableError(Exception):
    pass


class Resolver:
    """Evaluates intrinsic functions against parameters and provisioned resources."""

    def __init__(
        self,
        template: Mapping[str, Any],
        parameters: Mapping[str, Any],
        pseudo: Mapping[str, str],
    ) -> None:
        self.template = template
        self.parameters = dict(parameters)
        self.pseudo = dict(pseudo)
        # logical id -> {"Ref": value, "<Attr>": value}
        self.resources: dict[str, dict[str, Any]] = {}
        self.conditions: dict[str, bool] = {}
        for name, expression in template.get("Conditions", {}).items():
            self.conditions[name] = bool(self.resolve(expression))

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.resources[name]["Ref"]
        raise UnresolvableError(f"Ref {name}")

    def get_att(self, name: str, attribute: str) -> Any:
        if name in self.resources and attribute in self.resources[name]:
            return self.resources[name][attribute]
        raise UnresolvableError(f"GetAtt {name}.{attribute}")

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in variables:
                return str(variables[token])
            if "." in token:
                name, attribute = token.split(".", 1)
                return str(self.get_att(name, attribute))
            return str(self.ref(token))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Fn::GetAtt":
                return self.get_att(argument[0], argument[1])
            if key == "Fn::Sub":
                if isinstance(argument, list):
                    text, variables = argument
                    return self._sub(text, {k: self.resolve(v) for k, v in variables.items()})
                return self._sub(argument, {})
            if key == "Fn::Join":
                separator, items = argument
                return self.resolve(separator).join(str(i) for i in self.resolve(items))
            if key == "Fn::Split":
                separator, text = argument
                return str(self.resolve(text)).split(self.resolve(separator))
            if key == "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::If":
                condition, if_true, if_false = argument
                return self.resolve(if_true if self.conditions[condition] else if_false)
            if key == "Fn::Equals":
                left, right = self.resolve(argument)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(argument[0])
            if key == "Fn::And":
                return all(self.resolve(argument))
            if key == "Fn::Or":
                return any(self.resolve(argument))
            if key == "Condition":
                return self.conditions[argument]
        return {k: self.resolve(v) for k, v in value.items()}


def parameter_values(
    template: Mapping[str, Any], overrides: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Parameter values: the overrides, else the template's defaults. Lists are split."""
    values: dict[str, Any] = {}
    overrides = overrides or {}
    missing = []
    for name, spec in template.get("Parameters", {}).items():
        if name in overrides:
            raw: Any = overrides[name]
        elif "Default" in spec:
            raw = spec["Default"]
        else:
            missing.append(name)
            continue
        if spec.get("Type") == "CommaDelimitedList":
            raw = [item.strip() for item in str(raw).split(",")] if raw != "" else [""]
        elif spec.get("Type") == "Number":
            raw = str(raw)
        values[name] = raw
    if missing:
        raise UnresolvableError(f"parameters without a value: {', '.join(missing)}")
    return values
