"""The service's words, in one place: every status, outcome and problem type it stores,
publishes, answers or prints.

Each is a ``StrEnum`` whose values are the wire values (table items, events, API answers:
contracts that ``schemas/`` and the contract tests hold), so a member compares and
serialises as the plain string. Standard library only: the CLI imports it without boto3.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final


class Lifecycle(StrEnum):
    """A job's lifecycle in the jobs table (``status``), the ``ByStatus`` index's partitions,
    and ``lifecycle`` in the API's answers."""

    SUBMITTED = "SUBMITTED"
    CREATED = "CREATED"
    WAITING_FOR_CAPACITY = "WAITING_FOR_CAPACITY"
    REJECTED = "REJECTED"
    SUBMISSION_FAILED = "SUBMISSION_FAILED"
    # A job this stack did not create (console, SDK...), recorded by the watcher.
    EXTERNAL = "EXTERNAL"


# Every lifecycle status, in the order the API lists them (and the page token's partitions).
LIFECYCLE_STATUSES: Final[tuple[Lifecycle, ...]] = tuple(Lifecycle)
# Records that never became a SageMaker job: their name is free to claim again.
RELEASED: Final = (Lifecycle.REJECTED, Lifecycle.SUBMISSION_FAILED)
# Lifecycle partitions that hold SageMaker jobs (and so a ``jobStatus``).
JOB_PARTITIONS: Final = (Lifecycle.CREATED, Lifecycle.EXTERNAL)


class JobStatus(StrEnum):
    """SageMaker's ``AutoMLJobStatus`` (``jobStatus`` in the table, ``status`` in answers)."""

    IN_PROGRESS = "InProgress"
    STOPPING = "Stopping"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPED = "Stopped"


JOB_STATUSES: Final[tuple[JobStatus, ...]] = tuple(JobStatus)
# The final statuses, in the documented order (Notifications.OnStatus's default).
FINAL_STATUSES: Final = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.STOPPED)
TERMINAL: Final[frozenset[JobStatus]] = frozenset(FINAL_STATUSES)


class IngestOutcome(StrEnum):
    """How the ingest pipeline answered one manifest (``Outcome.status``, the receipts')."""

    CREATED = "created"
    ALREADY_CREATED = "already_created"
    REJECTED = "rejected"
    IGNORED = "ignored"


class DeploymentAction(StrEnum):
    """FinalizeJob's plan (``plan.action``, read by the state machine's Choice states)."""

    DEPLOY = "deploy"
    SKIP = "skip"
    SAGEMAKER = "sagemaker"  # ModelDeployConfig: SageMaker deployed the model itself
    # Registry.ApprovalRequired: registered, not deployed until the package is approved
    AWAITING_APPROVAL = "awaiting_approval"
    NONE = "none"
    # Set by the state machine when SageMaker rolled the update back (alarm or failure)
    ROLLED_BACK = "rolled_back"


class DeploymentState(StrEnum):
    """``deployment.state`` of a job's record (FAILED is written by the state machine)."""

    DEPLOYED = "DEPLOYED"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    ROLLED_BACK = "ROLLED_BACK"  # the endpoint went back to the model live before
    REJECTED = "REJECTED"  # the package awaiting approval was rejected


class DeployMode(StrEnum):
    """FinalizeJob's input ``mode``: a finished job's event, or a deployment request."""

    FINALIZE = "finalize"
    DEPLOY = "deploy"


class DeployReason(StrEnum):
    """Why a deploy-mode FinalizeJob runs (its input's ``reason``; the execution's name)."""

    APPROVED = "approved"  # the job's model package was approved
    ROLLBACK = "rollback"  # put the endpoint's previous live job back


class ApprovalStatus(StrEnum):
    """A model package's ``ModelApprovalStatus`` (SageMaker's words)."""

    APPROVED = "Approved"
    REJECTED = "Rejected"
    PENDING = "PendingManualApproval"


class DeployedBy(StrEnum):
    """Who deployed the model (``deployedBy`` in the record and the Model Deployed event)."""

    SAGEMAKER = "sagemaker"
    AUTOPILOT_FLOW = "autopilot-flow"


class DeploymentOutcome(StrEnum):
    """The ``Outcome`` dimension of the ``Deployments`` metric (written by the state machine)."""

    DONE = "Done"
    SKIPPED = "Skipped"
    FAILED = "Failed"
    ROLLED_BACK = "RolledBack"  # SageMaker rolled the update back; the old model serves


class ProblemType(StrEnum):
    """A problem type. The value is the API's name (the key under ``AutoMLProblemTypeConfig``,
    stored as ``problemType`` and answered by the API); ``word`` is the one word people type
    and read (``skeleton --problem-type``, ``list``'s column, ``status``)."""

    TABULAR = "TabularJobConfig"
    TIME_SERIES = "TimeSeriesForecastingJobConfig"
    TEXT_CLASSIFICATION = "TextClassificationJobConfig"
    IMAGE_CLASSIFICATION = "ImageClassificationJobConfig"
    TEXT_GENERATION = "TextGenerationJobConfig"

    @property
    def word(self) -> str:
        return _WORDS[self]

    @property
    def short(self) -> str:
        """The API name without ``JobConfig`` (``Tabular``), as older ``list`` output shows."""
        return self.value.removesuffix("JobConfig")

    @classmethod
    def parse(cls, text: str) -> ProblemType | None:
        """``tabular``, ``Tabular`` or ``TabularJobConfig``, any case; None when none."""
        wanted = text.strip().lower()
        for member in cls:
            if wanted in (member.word, member.value.lower(), member.short.lower()):
                return member
        return None

    @classmethod
    def display(cls, value: object) -> str | None:
        """The word to print for a stored or answered value (unknown values as they are)."""
        if value is None or value == "":
            return None
        member = cls.parse(str(value))
        return member.word if member else str(value)


_WORDS: Final[dict[ProblemType, str]] = {
    ProblemType.TABULAR: "tabular",
    ProblemType.TIME_SERIES: "timeseries",
    ProblemType.TEXT_CLASSIFICATION: "text-classification",
    ProblemType.IMAGE_CLASSIFICATION: "image-classification",
    ProblemType.TEXT_GENERATION: "text-generation",
}
PROBLEM_TYPES: Final[tuple[ProblemType, ...]] = tuple(ProblemType)


def problem_type_of(description: Mapping[str, Any]) -> str | None:
    """A job's problem type as stored and answered (the key of its ``AutoMLProblemTypeConfig``
    in a ``DescribeAutoMLJobV2`` answer or a request); None when it has none."""
    config = description.get("AutoMLProblemTypeConfig") or {}
    return next(iter(config), None) if isinstance(config, Mapping) else None
