"""Lambda Invoke (Step Functions' ``lambda:invoke`` included) running the real handlers.

moto runs a function only in Docker, or echoes its input (moto 5.2.5). ``install``
creates each function of the stack in moto's Lambda (a placeholder zip and role: the code
that runs is the handler ``load_handler`` imported from ``functions/``) and replaces
``moto.awslambda.models.LambdaFunction._invoke_lambda``, the Docker path, so that invoking
one of them calls its handler in-process with a Lambda context. The answer is the Lambda
service's: the handler's return value as JSON; for an exception, the error payload
``{"errorMessage", "errorType", "stackTrace"}`` with ``FunctionError`` set, which Step
Functions turns into a task failure named after ``errorType``. Functions this module does not
know keep moto's behaviour.

Works with ``mock_aws()`` and with ``ThreadedMotoServer`` in the same process (the patch is on
moto's class; the functions are created through the session, i.e. wherever it points).

    undo = install(session, stack)              # every function of the stack
    ...                                         # start executions, invoke functions
    undo()

or ``with InProcessLambdas(session, stack) as lambdas: ...`` (``lambdas.invocations`` lists
every call, for assertions).
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
import traceback
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.models import LambdaFunction

from offline.lambda_runtime import Handler, context_for, load_handler, unload_handler
from offline.provision import ACCOUNT, FunctionSpec, Stack

ROLE_NAME = "autopilot-flow-offline-lambda"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "# runs in-process offline: see offline/lambda_invoke.py\n")
    return buffer.getvalue()


@dataclass
class Invocation:
    function_name: str
    event: Any
    result: Any = None
    error: str | None = None


@dataclass
class InProcessLambdas:
    """The stack's functions in moto's Lambda, invoked in-process. See the module docstring."""

    session: Any
    stack: Stack
    handlers: Mapping[str, Handler] | None = None
    invocations: list[Invocation] = field(default_factory=list)
    _by_name: dict[str, FunctionSpec] = field(default_factory=dict)
    _loaded: dict[str, Handler] = field(default_factory=dict)
    _original: Callable[..., Any] | None = None
    _lock: Any = field(default_factory=threading.RLock)

    def install(self) -> InProcessLambdas:
        if self._original is not None:
            return self
        self._create_functions()
        original = LambdaFunction._invoke_lambda
        self._original = original
        lambdas = self

        def _invoke_lambda(fn: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
            spec = lambdas._by_name.get(fn.function_name)
            if spec is None:
                return original(fn, event)  # type: ignore[no-any-return]
            return lambdas._run(fn.function_name, spec, event)

        LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
        return self

    def uninstall(self) -> None:
        if self._original is not None:
            LambdaFunction._invoke_lambda = self._original  # type: ignore[method-assign]
            self._original = None
        # Unload the handlers imported here (the ones passed in belong to the caller).
        given = {id(h) for h in (self.handlers or {}).values()}
        for name, handler in list(self._loaded.items()):
            if id(handler) not in given:
                unload_handler(handler)
                del self._loaded[name]

    def __enter__(self) -> InProcessLambdas:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    # --- internals -------------------------------------------------------------------------

    def _create_functions(self) -> None:
        iam = self.session.client("iam")
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(_TRUST))
        client = self.session.client("lambda")
        code = _placeholder_zip()
        for logical_id, spec in self.stack.functions.items():
            self._by_name[spec.name] = spec
            if (self.handlers or {}).get(logical_id) is not None:
                self._loaded[spec.name] = (self.handlers or {})[logical_id]
            # ResourceConflict: created by an earlier install against the same backend.
            with contextlib.suppress(client.exceptions.ResourceConflictException):
                client.create_function(
                    FunctionName=spec.name,
                    Runtime="python3.12",
                    Role=ROLE_ARN,
                    Handler=spec.handler,
                    Code={"ZipFile": code},
                    Timeout=spec.timeout,
                    Environment={"Variables": spec.environment},
                )

    def handler(self, logical_id: str) -> Handler:
        """The handler of a function (imported on first use, as a cold start would)."""
        spec = self.stack.functions[logical_id]
        with self._lock:
            if spec.name not in self._loaded:
                self._loaded[spec.name] = load_handler(spec)
            return self._loaded[spec.name]

    def _run(self, name: str, spec: FunctionSpec, event: Any) -> tuple[str, bool, str]:
        handler = self.handler(spec.logical_id)
        payload = json.loads(event) if isinstance(event, str | bytes) else (event or {})
        record = Invocation(name, payload)
        with self._lock:
            self.invocations.append(record)
        try:
            result = handler(payload, context_for(spec))
        except Exception as exc:
            trace = traceback.format_exception(exc)
            record.error = type(exc).__name__
            body = {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "stackTrace": [line.rstrip() for line in trace[1:]],
            }
            return json.dumps(body), True, "".join(trace)
        try:
            text = json.dumps(result)
        except (TypeError, ValueError) as exc:
            # What the Lambda runtime answers when the return value is not JSON.
            record.error = "Runtime.MarshalError"
            body = {"errorMessage": f"Unable to marshal response: {exc}", "errorType": record.error}
            return json.dumps(body), True, ""
        record.result = result
        return text, False, ""


def install(
    session: Any, stack: Stack, handlers: Mapping[str, Handler] | None = None
) -> Callable[[], None]:
    """Create the stack's functions in moto and run them in-process; returns the undo."""
    lambdas = InProcessLambdas(session, stack, handlers).install()
    return lambdas.uninstall
