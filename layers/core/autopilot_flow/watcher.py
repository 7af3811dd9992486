"""WatchJobs: turn SageMaker's silence into "AutoML Job State Change" events.

SageMaker publishes no EventBridge event for AutoML jobs (it does for training, tuning and
endpoints). Each tick makes one ``ListAutoMLJobs`` query for jobs modified since a stored
watermark (minus an overlap for clock skew), paginated; compares each job's (status,
secondary status) with the registry in batches; and only for jobs that changed calls
``DescribeAutoMLJobV2``, updates the registry conditionally on the state it read, and
publishes one event. Cost is O(changes), not O(jobs).

Two overlapping ticks never emit the same transition twice: the registry update is
conditional on the previous state, and only the tick whose update wins publishes.

No transition is lost either: a job whose ``DescribeAutoMLJobV2`` fails (throttled past every
retry) is left as it was in the registry and the watermark stays at or before it, so the
next tick sees it again; and whatever a page recorded is published before an error leaves
the tick.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from autopilot_flow import events as ev
from autopilot_flow.registry import WATCHER_FIELDS, JobItem, Registry, job_key, now_iso
from autopilot_flow.sagemaker import Backoff
from autopilot_flow.vocabulary import TERMINAL, Lifecycle, problem_type_of

EXTERNAL = Lifecycle.EXTERNAL
logger = logging.getLogger(__name__)


@dataclass
class TickReport:
    listed: int = 0
    changed: int = 0
    published: int = 0
    list_calls: int = 0
    describe_calls: int = 0
    lost_races: int = 0
    deferred: int = 0
    transitions: list[tuple[str, str | None, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Change:
    name: str
    previous: tuple[Any, Any] | None
    current: tuple[str, str]
    detail: dict[str, Any]
    arn: str


def _state(status: Any, secondary: Any) -> str:
    return f"{status}/{secondary}"


@dataclass
class JobWatcher:
    sagemaker: Any
    dynamodb: Any
    table: str
    publisher: ev.EventPublisher
    overlap: timedelta = timedelta(minutes=5)
    first_lookback: timedelta = timedelta(days=1)
    backoff: Backoff = field(default_factory=Backoff)

    def __post_init__(self) -> None:
        self.registry = Registry(self.dynamodb, self.table)

    # --- a tick ---------------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> TickReport:
        report = TickReport()
        now = now or datetime.now(UTC)
        mark = self.registry.watermark()
        since = (mark - self.overlap) if mark else (now - self.first_lookback)
        newest = mark
        oldest_deferred: datetime | None = None
        for page in self._pages(since, report):
            summaries = page
            report.listed += len(summaries)
            known = self.registry.get_many(
                [s["AutoMLJobName"] for s in summaries], fields=WATCHER_FIELDS
            )
            changes: list[Change] = []
            try:
                for summary in summaries:
                    modified = summary.get("LastModifiedTime")
                    if isinstance(modified, datetime) and (newest is None or modified > newest):
                        newest = modified
                    name = summary["AutoMLJobName"]
                    item = known.get(job_key(name))
                    previous = (
                        (item.get("jobStatus"), item.get("secondaryStatus")) if item else None
                    )
                    current = (summary["AutoMLJobStatus"], summary["AutoMLJobSecondaryStatus"])
                    if previous == current:
                        continue
                    report.changed += 1
                    try:
                        change = self._transition(name, item, previous, current, report)
                    except ClientError as exc:
                        # Throttled past every retry (or refused): the registry is untouched,
                        # so the next tick sees the same change, provided the watermark stays
                        # at or before this job.
                        report.deferred += 1
                        logger.warning("job %s deferred to the next tick: %s", name, exc)
                        if isinstance(modified, datetime) and (
                            oldest_deferred is None or modified < oldest_deferred
                        ):
                            oldest_deferred = modified
                        continue
                    if change is not None:
                        changes.append(change)
            except Exception:
                # What this page recorded must not stay unpublished: the next tick would see
                # no difference and the transition would be lost.
                self._publish(changes, report)
                raise
            self._publish(changes, report)
        if oldest_deferred is not None and (newest is None or oldest_deferred < newest):
            newest = oldest_deferred
        # Only forward, and only when it moved: an idle tick writes nothing (a conditional
        # write refused every minute would count as a failed request in DynamoDB's metrics).
        if newest is not None and (mark is None or newest > mark):
            self.registry.advance_watermark(newest)
        return report

    def _pages(self, since: datetime, report: TickReport) -> Iterator[list[dict[str, Any]]]:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {
                "LastModifiedTimeAfter": since,
                "SortBy": "LastModifiedTime",
                "SortOrder": "Ascending",
                "MaxResults": 100,
            }
            if token:
                kwargs["NextToken"] = token
            response = self._list(kwargs)
            report.list_calls += 1
            yield list(response.get("AutoMLJobSummaries", []))
            token = response.get("NextToken")
            if not token:
                return

    def _list(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = self.backoff.call(
            lambda: self.sagemaker.list_auto_ml_jobs(**kwargs)
        )
        return response

    def _transition(
        self,
        name: str,
        item: JobItem | None,
        previous: tuple[Any, Any] | None,
        current: tuple[str, str],
        report: TickReport,
    ) -> Change | None:
        """Describe a changed job and claim its transition in the registry."""
        description = self.backoff.call(
            lambda: self.sagemaker.describe_auto_ml_job_v2(AutoMLJobName=name)
        )
        report.describe_calls += 1
        # Describe is newer than the listing: report what SageMaker says now.
        current = (description["AutoMLJobStatus"], description["AutoMLJobSecondaryStatus"])
        if previous == current:
            return None
        managed = bool(item and item.get("sourceId") and item.get("status") != EXTERNAL)
        if not self._record(name, item, previous, current, description):
            report.lost_races += 1
            return None
        detail = state_change_detail(name, description, previous, current, managed)
        return Change(name, previous, current, detail, description["AutoMLJobArn"])

    def _publish(self, changes: list[Change], report: TickReport) -> None:
        """One PutEvents call per ten changes, in order. If publishing fails for good, the
        transitions are given back, so that the next tick sees them again and retries."""
        if not changes:
            return
        try:
            self.publisher.publish_many([(ev.JOB_STATE_CHANGE, c.detail, [c.arn]) for c in changes])
        except ev.PublishError:
            for change in changes:
                self._undo(change.name, change.previous, change.current)
            raise
        for change in changes:
            report.published += 1
            previous = _state(*change.previous) if change.previous else None
            report.transitions.append((change.name, previous, _state(*change.current)))

    def _record(
        self,
        name: str,
        item: JobItem | None,
        previous: tuple[Any, Any] | None,
        current: tuple[str, str],
        description: dict[str, Any],
    ) -> bool:
        """Store the new state, conditional on the state this tick read. False: lost a race."""
        return self.registry.record_state(
            name,
            known=item is not None,
            previous=previous,
            current=current,
            seen_at=_shown_time(description, current),
            job_arn=description["AutoMLJobArn"],
            best=best_candidate_summary(description) if current[0] in TERMINAL else None,
        )

    def _undo(self, name: str, previous: tuple[Any, Any] | None, current: tuple[str, str]) -> None:
        # A later tick may already have moved on: then there is nothing to give back.
        self.registry.undo_state(name, previous, current)


def _shown_time(description: dict[str, Any], current: tuple[str, str]) -> str:
    """When SageMaker says the job reached this state: its EndTime for a terminal state,
    else its LastModifiedTime (the watcher sees a state up to a tick after it began)."""
    when = description.get("EndTime") if current[0] in TERMINAL else None
    when = when or description.get("LastModifiedTime")
    if isinstance(when, datetime):
        # As the registry writes every time: UTC, milliseconds, "Z".
        aware = when if when.tzinfo else when.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return now_iso()


def best_candidate_summary(description: dict[str, Any]) -> dict[str, Any] | None:
    """Name, metric and value of the best candidate; None when there is none (a failed job,
    or the runtime ran out before any candidate finished)."""
    best = description.get("BestCandidate")
    if not best:
        return None
    metric = best.get("FinalAutoMLJobObjectiveMetric") or {}
    return {
        "candidateName": best.get("CandidateName"),
        "metricName": metric.get("MetricName"),
        "value": metric.get("Value"),
    }


def state_change_detail(
    name: str,
    description: dict[str, Any],
    previous: tuple[Any, Any] | None,
    current: tuple[str, str],
    managed: bool,
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "jobName": name,
        "jobArn": description["AutoMLJobArn"],
        "managed": managed,
        "problemType": problem_type_of(description),
        "previous": (
            {"status": previous[0], "secondaryStatus": previous[1]}
            if previous and previous[0] is not None
            else None
        ),
        "current": {"status": current[0], "secondaryStatus": current[1]},
        "terminal": current[0] in TERMINAL,
    }
    if description.get("FailureReason"):
        detail["failureReason"] = description["FailureReason"]
    if current[0] in TERMINAL:
        detail["bestCandidate"] = best_candidate_summary(description)
        end = description.get("EndTime")
        if isinstance(end, datetime):
            detail["endTime"] = end.astimezone(UTC).isoformat()
    return detail


def build_watcher(settings: Any, session: Any = None) -> JobWatcher:
    """Wire the watcher from validated settings (``WatchSettings``)."""
    import boto3  # noqa: PLC0415 - the CLI never needs it

    from autopilot_flow.sagemaker import sagemaker_client  # noqa: PLC0415

    session = session or boto3.session.Session()
    return JobWatcher(
        sagemaker=sagemaker_client(session),
        dynamodb=session.client("dynamodb"),
        table=settings.jobs_table,
        publisher=ev.EventPublisher(session.client("events"), settings.event_bus),
        overlap=timedelta(seconds=settings.overlap_seconds),
    )
