"""The ``switchboard`` command's app and shared helpers, and its commands to run the suite, issue development
tokens, and act on tickets and routing as a user would."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import grpc
import typer
from google.protobuf import json_format
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pydantic import ValidationError

from switchboard import logs
from switchboard.composition import load_services
from switchboard.enums import CHANNELS, TIERS, channel_name, channel_value, tier_name, tier_value
from switchboard.ids import new_id
from switchboard.routing.v1 import (
    queues_pb2,
    queues_pb2_grpc,
    routing_pb2,
    routing_pb2_grpc,
    workers_pb2,
    workers_pb2_grpc,
)
from switchboard.rpc import auth, client
from switchboard.rpc.status import describe
from switchboard.runner import ROLES, Suite, declare_topology, supervise, wait_for_signal
from switchboard.settings import Settings, get_settings
from switchboard.ticketing.v1 import ticketing_pb2, ticketing_pb2_grpc, triage_pb2, triage_pb2_grpc
from switchboard.timestamps import timestamp

app = typer.Typer(help="Switchboard: contact centre and service desk.", no_args_is_help=True, add_completion=False)
ticket_app = typer.Typer(help="Tickets.", no_args_is_help=True)
task_app = typer.Typer(help="Routing tasks.", no_args_is_help=True)
app.add_typer(ticket_app, name="ticket")
triage_app = typer.Typer(help="The rules that classify new tickets.", no_args_is_help=True)
app.add_typer(task_app, name="task")
app.add_typer(triage_app, name="triage")
worker_app = typer.Typer(help="Agents and technicians: profiles and presence.", no_args_is_help=True)
app.add_typer(worker_app, name="worker")
queue_app = typer.Typer(help="Routing queues: policies and live statistics.", no_args_is_help=True)
app.add_typer(queue_app, name="queue")
offer_app = typer.Typer(help="Offers of work: accept, reject, watch.", no_args_is_help=True)
app.add_typer(offer_app, name="offer")

TokenOption = Annotated[
    str | None, typer.Option(envvar="SWITCHBOARD_TOKEN", help="Bearer token (see 'switchboard token').")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _settings() -> Settings:
    try:
        return get_settings()
    except (ValidationError, ValueError) as exc:
        typer.echo(f"switchboard: bad settings:\n{exc}", err=True)
        raise typer.Exit(2) from None


def _target(service: str) -> str:
    settings = _settings()
    offset = {d.name: d.port_offset for d in load_services()}[service]
    return f"{settings.host}:{settings.port_of(offset)}"


def _call(method: Any, request: Message, token: str | None) -> Any:
    if not token:
        typer.echo("switchboard: no token. Run: export SWITCHBOARD_TOKEN=$(switchboard token --role agent)", err=True)
        raise typer.Exit(2)
    try:
        return method(request, metadata=client.metadata(token), timeout=client.timeout(_settings().client_deadline))
    except grpc.RpcError as error:
        typer.echo(describe(error), err=True)
        raise typer.Exit(1) from None


def _watch(method: Any, request: Message, token: str | None, show: Callable[[Any], None]) -> None:
    """Show each message of a server stream until the server ends it or Ctrl-C does."""
    if not token:
        typer.echo("switchboard: no token. Run: export SWITCHBOARD_TOKEN=$(switchboard token --role agent)", err=True)
        raise typer.Exit(2)
    # No deadline: a stream lasts as long as whoever watches it.
    call = method(request, metadata=client.metadata(token))
    try:
        for message in call:
            show(message)
    except grpc.RpcError as error:
        typer.echo(describe(error), err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        call.cancel()


def _print(message: Message, as_json: bool, summary: str) -> None:
    if as_json:
        typer.echo(json.dumps(json_format.MessageToDict(message, preserving_proto_field_name=True), indent=2))
    else:
        typer.echo(summary)


def _print_line(message: Message, as_json: bool, summary: str) -> None:
    """One message of a stream: with --json, one JSON document per line (JSON Lines)."""
    if as_json:
        typer.echo(json.dumps(json_format.MessageToDict(message, preserving_proto_field_name=True)))
    else:
        typer.echo(summary)


def _enum_name(enum: Any, prefix: str, value: int) -> str:
    """ "wrap_up" for PRESENCE_WRAP_UP."""
    return str(enum.Name(value)).removeprefix(prefix).lower()


def _enum_value(enum: Any, prefix: str, name: str, option: str) -> int:
    names = [_enum_name(enum, prefix, v) for v in enum.values() if v]
    if name not in names:
        typer.echo(f"switchboard: {option} must be one of {', '.join(names)}", err=True)
        raise typer.Exit(2)
    return int(enum.Value(prefix + name.upper()))


def _pairs(values: list[str] | None, option: str, value: Callable[[str], Any] = str) -> dict[str, Any]:
    """KEY=VALUE options, repeated: {"boiler": 4} from --skill boiler=4."""
    pairs = {}
    for text in values or []:
        key, equals, raw = text.partition("=")
        try:
            if not key or not equals:
                raise ValueError(text)
            pairs[key] = value(raw)
        except ValueError:
            typer.echo(f"switchboard: {option} takes KEY=VALUE; got {text!r}", err=True)
            raise typer.Exit(2) from None
    return pairs


@app.command()
def up() -> None:
    """Start the whole suite and print every address; Ctrl-C stops it.

    With no broker configured: one process, SQLite under ./var, the in-process bus. With
    SWITCHBOARD_BROKER_URL and SWITCHBOARD_DATABASE_URL: one process per service and role.
    """
    settings = _settings()
    logs.configure(settings)
    definitions = load_services()
    if settings.broker_url and settings.database_url:
        typer.echo(f"Switchboard (production layout: RabbitMQ {_redact(settings.broker_url)}, PostgreSQL)")
        raise typer.Exit(supervise(settings, definitions, typer.echo))
    suite = Suite(settings, definitions)
    suite.start()
    bus = "in-process bus" if settings.embedded else f"RabbitMQ {_redact(settings.broker_url or '')}"
    typer.echo(f"Switchboard is up ({bus}, SQLite under {settings.data_dir}/):")
    for name, server in suite.servers.items():
        typer.echo(f"  {name:<14} gRPC {server.address}")
    typer.echo("Ctrl-C stops everything.")
    try:
        wait_for_signal()
    finally:
        suite.stop()
        typer.echo("Switchboard stopped.")


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help="ticketing, routing, customer360 or notifications")],
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}, or 'all'.")] = "all",
) -> None:
    """Run one role of one service in this process (the production layout runs one per role)."""
    settings = _settings()
    logs.configure(settings)
    roles = ROLES if role == "all" else (role,)
    if not set(roles) <= set(ROLES):
        typer.echo(f"switchboard: unknown role {role!r}; use one of {', '.join(ROLES)} or 'all'", err=True)
        raise typer.Exit(2)
    suite = Suite(settings, load_services([service]), roles=roles)
    suite.start()
    try:
        wait_for_signal()
    finally:
        suite.stop()


@app.command()
def declare() -> None:
    """Declare every service's exchanges, queues and dead-letter queues on RabbitMQ, then exit.

    Run it once before the relays of a new deployment start (an init job), so that the first
    events find their queues; `switchboard up` does it by itself.
    """
    settings = _settings()
    if not settings.broker_url:
        typer.echo("switchboard: set SWITCHBOARD_BROKER_URL; the embedded bus has nothing to declare", err=True)
        raise typer.Exit(2)
    definitions = load_services()
    declare_topology(settings, definitions)
    for definition in definitions:
        for subscription in definition.subscriptions:
            typer.echo(f"{subscription.queue(definition.name)}  <- {subscription.exchange} / {subscription.event_type}")


@app.command()
def token(
    role: Annotated[list[str], typer.Option(help=f"Role(s): {', '.join(sorted(auth.ROLES))}.")],
    subject: Annotated[str, typer.Option(help="The caller's id.")] = os.environ.get("USER", "dev"),
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 8 * 3600,
) -> None:
    """Issue a development token signed with this machine's key."""
    try:
        typer.echo(auth.issue(_settings(), subject, role, ttl))
    except ValueError as exc:
        typer.echo(f"switchboard: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def health(timeout: Annotated[float, typer.Option(help="Seconds to wait for each server.")] = 3.0) -> None:
    """Ask every server for its standard gRPC health status."""
    failed = False
    for definition in load_services():
        target = _target(definition.name)
        with client.channel(target) as channel:
            try:
                reply = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=timeout, wait_for_ready=True
                )
                state = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            except grpc.RpcError as error:
                state = f"UNREACHABLE ({error.code().name})"
        failed |= state != "SERVING"
        typer.echo(f"{definition.name:<14} {target:<22} {state}")
    raise typer.Exit(1 if failed else 0)


@ticket_app.command("create")
def ticket_create(
    customer: Annotated[str, typer.Option(help="Customer id.")],
    subject: Annotated[str, typer.Option(help="One line saying what is wrong.")],
    channel: Annotated[str, typer.Option(help=f"One of {', '.join(CHANNELS)}.")] = "phone",
    priority: Annotated[int, typer.Option(min=0, max=4, help="1 (most urgent) to 4; 0 means the default (3).")] = 0,
    description: Annotated[str, typer.Option()] = "",
    asset: Annotated[str, typer.Option(help="The product being repaired.")] = "",
    skill: Annotated[list[str] | None, typer.Option(help="Required skill; repeat for several.")] = None,
    language: Annotated[str, typer.Option(help="BCP 47 tag, e.g. en or zh-Hans.")] = "",
    tag: Annotated[list[str] | None, typer.Option(help="Tag; repeat for several.")] = None,
    idempotency_key: Annotated[str | None, typer.Option(help="Reuse to retry safely; default: a new one.")] = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open a ticket."""
    if channel not in CHANNELS:
        typer.echo(f"switchboard: --channel must be one of {', '.join(CHANNELS)}", err=True)
        raise typer.Exit(2)
    request = ticketing_pb2.CreateTicketRequest(
        idempotency_key=idempotency_key or new_id(),
        customer_id=customer,
        asset_id=asset,
        channel=channel_value(channel),
        subject=subject,
        description=description,
        priority=priority,  # type: ignore[arg-type]
        required_skills=skill or [],
        language=language,
        tags=tag or [],
    )
    with client.channel(_target("ticketing")) as ch:
        reply = _call(ticketing_pb2_grpc.TicketingServiceStub(ch).CreateTicket, request, token)
    t = reply.ticket
    _print(reply, as_json, f"{t.number}  P{t.priority}  {t.subject}  (customer {t.customer_id}, id {t.ticket_id})")


@ticket_app.command("get")
def ticket_get(
    ref: Annotated[str, typer.Argument(help="Ticket number (T-000123) or id.")],
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one ticket."""
    request = (
        ticketing_pb2.GetTicketRequest(number=ref)
        if ref.startswith("T-")
        else ticketing_pb2.GetTicketRequest(ticket_id=ref)
    )
    with client.channel(_target("ticketing")) as ch:
        reply = _call(ticketing_pb2_grpc.TicketingServiceStub(ch).GetTicket, request, token)
    t = reply.ticket
    status = ticketing_pb2.TicketStatus.Name(t.status).removeprefix("TICKET_STATUS_").lower()
    _print(reply, as_json, f"{t.number}  {status}  P{t.priority}  {t.subject}  (customer {t.customer_id})")


def _task_status(value: int) -> str:
    return _enum_name(routing_pb2.TaskStatus, "TASK_STATUS_", value)


def _task_line(t: routing_pb2.Task) -> str:
    skills = ",".join(f"{r.skill}>={r.min_level}" for r in t.requirements) or ",".join(t.required_skills) or "-"
    held = f"  by {t.assignee}" if t.assignee else ""
    return (
        f"{t.task_id}  {_task_status(t.status):<9} P{t.priority}  {channel_name(t.channel) if t.channel else '-':<6} "
        f"queue {t.queue_id or '-'}  skills {skills}  customer {t.customer_id}{held}"
    )


@task_app.command("create")
def task_create(
    customer: Annotated[str, typer.Option(help="Customer id.")],
    channel: Annotated[str, typer.Option(help=f"One of {', '.join(CHANNELS)}.")] = "phone",
    priority: Annotated[int, typer.Option(min=0, max=4, help="1 (most urgent) to 4; 0 means the default (3).")] = 0,
    tier: Annotated[str, typer.Option(help=f"One of {', '.join(TIERS)}; empty means standard.")] = "",
    skill: Annotated[
        list[str] | None, typer.Option(help="Required skill as SKILL=MIN_LEVEL (1-5); repeat for several.")
    ] = None,
    language: Annotated[str, typer.Option(help="BCP 47 tag, e.g. de or zh-Hans.")] = "",
    team: Annotated[str, typer.Option(help="Only this team's workers (queues may widen it).")] = "",
    last_agent: Annotated[str, typer.Option(help="Who last served this customer (sticky routing).")] = "",
    avoid: Annotated[list[str] | None, typer.Option(help="A worker never to offer it to; repeat for several.")] = None,
    attribute: Annotated[list[str] | None, typer.Option(help="KEY=VALUE for queue expressions; repeat.")] = None,
    ticket: Annotated[str, typer.Option(help="The ticket behind it, when there is one.")] = "",
    idempotency_key: Annotated[str | None, typer.Option(help="Reuse to retry safely; default: a new one.")] = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Route a request that has no ticket event behind it, such as an inbound call."""
    if channel not in CHANNELS:
        typer.echo(f"switchboard: --channel must be one of {', '.join(CHANNELS)}", err=True)
        raise typer.Exit(2)
    if tier and tier not in TIERS:
        typer.echo(f"switchboard: --tier must be one of {', '.join(TIERS)}", err=True)
        raise typer.Exit(2)
    request = routing_pb2.CreateTaskRequest(
        idempotency_key=idempotency_key or new_id(),
        customer_id=customer,
        channel=channel_value(channel),
        priority=priority,  # type: ignore[arg-type]
        tier=tier_value(tier),
        requirements=[
            routing_pb2.Requirement(skill=name, min_level=level)
            for name, level in _pairs(skill, "--skill", int).items()
        ],
        language=language,
        team=team,
        last_agent=last_agent,
        avoid=avoid or [],
        attributes=_pairs(attribute, "--attribute"),
        ticket_id=ticket,
    )
    with client.channel(_target("routing")) as ch:
        reply = _call(routing_pb2_grpc.RoutingServiceStub(ch).CreateTask, request, token)
    _print(reply, as_json, _task_line(reply.task))


@task_app.command("get")
def task_get(
    task_id: Annotated[str, typer.Argument(help="Task id.")],
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a task, its offers, every routing decision with its reason, and why it still waits."""
    with client.channel(_target("routing")) as ch:
        reply = _call(
            routing_pb2_grpc.RoutingServiceStub(ch).GetTask, routing_pb2.GetTaskRequest(task_id=task_id), token
        )
    lines = [_task_line(reply.task)]
    lines += [
        f"  decided {d.decided_at.ToDatetime():%H:%M:%S}  queue {d.queue_id} step {d.step}  {d.rule}  "
        f"offered to {', '.join(d.offered_to) or '-'}  ({d.qualified} qualified): {d.explanation}"
        for d in reply.decisions
    ]
    lines += [f"  offer {o.offer_id}  {_offer_status(o.status):<9} {o.worker_id}" for o in reply.offers]
    if reply.HasField("waiting"):
        lines.append(
            f"  waiting {reply.waiting.waited_seconds:.0f} s in {reply.waiting.queue_id}: {reply.waiting.explanation}"
        )
    _print(reply, as_json, "\n".join(lines))


@task_app.command("list")
def task_list(
    ticket: Annotated[str, typer.Option(help="Only the tasks of this ticket id.")] = "",
    status: Annotated[str, typer.Option(help="Only tasks in this status: queued, offered, assigned, ...")] = "",
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """List routing's tasks, oldest first."""
    wanted = _enum_value(routing_pb2.TaskStatus, "TASK_STATUS_", status, "--status") if status else 0
    with client.channel(_target("routing")) as ch:
        reply = _call(
            routing_pb2_grpc.RoutingServiceStub(ch).ListTasks,
            routing_pb2.ListTasksRequest(page_size=limit, ticket_id=ticket, status=wanted),  # type: ignore[arg-type]
            token,
        )
    _print(reply, as_json, "\n".join(_task_line(t) for t in reply.tasks) or "no tasks")


# -- offers --------------------------------------------------------------------------------------


def _offer_status(value: int) -> str:
    return _enum_name(routing_pb2.OfferStatus, "OFFER_STATUS_", value)


def _offer_line(o: routing_pb2.Offer) -> str:
    return (
        f"{o.offer_id}  {_offer_status(o.status):<9} {o.worker_id}  P{o.priority} "
        f"{channel_name(o.channel) if o.channel else '-'}  customer {o.customer_id}  "
        f"skills {','.join(o.required_skills) or '-'}  until {o.expires_at.ToDatetime():%H:%M:%S} UTC  task {o.task_id}"
    )


@offer_app.command("accept")
def offer_accept(
    offer_id: Annotated[str, typer.Argument(help="The offer's id, as 'switchboard offer watch' shows it.")],
    idempotency_key: Annotated[str | None, typer.Option(help="Reuse to retry safely; default: a new one.")] = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Take an offered task; exactly one acceptance wins."""
    request = routing_pb2.AcceptOfferRequest(idempotency_key=idempotency_key or new_id(), offer_id=offer_id)
    with client.channel(_target("routing")) as ch:
        reply = _call(routing_pb2_grpc.RoutingServiceStub(ch).AcceptOffer, request, token)
    _print(reply, as_json, _task_line(reply.task))


@offer_app.command("reject")
def offer_reject(
    offer_id: Annotated[str, typer.Argument(help="The offer's id.")],
    reason: Annotated[str, typer.Option(help="Why, for the record.")] = "",
    idempotency_key: Annotated[str | None, typer.Option(help="Reuse to retry safely; default: a new one.")] = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Decline an offer: the task goes to someone else and is not offered to you again."""
    request = routing_pb2.RejectOfferRequest(
        idempotency_key=idempotency_key or new_id(), offer_id=offer_id, reason=reason
    )
    with client.channel(_target("routing")) as ch:
        reply = _call(routing_pb2_grpc.RoutingServiceStub(ch).RejectOffer, request, token)
    _print(reply, as_json, _offer_line(reply.offer))


@offer_app.command("watch")
def offer_watch(
    worker: Annotated[str, typer.Option(help="Whose offers (a supervisor's choice); default: yours.")] = "",
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show your pending offers, then each new offer and how each ends, as they happen; Ctrl-C stops."""
    with client.channel(_target("routing")) as ch:
        _watch(
            routing_pb2_grpc.RoutingServiceStub(ch).WatchOffers,
            routing_pb2.WatchOffersRequest(worker_id=worker),
            token,
            lambda reply: _print_line(reply, as_json, _offer_line(reply.offer)),
        )


# -- workers -------------------------------------------------------------------------------------


def _presence_name(value: int) -> str:
    return _enum_name(workers_pb2.Presence, "PRESENCE_", value)


def _worker_line(w: workers_pb2.Worker) -> str:
    skills = ",".join(f"{s.name}={s.level}" for s in w.skills) or "-"
    load = ",".join(
        f"{c.channel} {used}/{c.capacity}"
        for c in w.capacity
        for used in [next((x.capacity for x in w.load if x.channel == c.channel), 0)]
    )
    return (
        f"{w.worker_id:<12} {_enum_name(workers_pb2.WorkerKind, 'WORKER_KIND_', w.kind):<10} "
        f"{_presence_name(w.presence):<9} v{w.version}  skills {skills}  languages {','.join(w.languages) or '-'}  "
        f"teams {','.join(w.teams) or '-'}  load {load or '-'}"
    )


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _shift(text: str) -> workers_pb2.Shift:
    """ "mon 08:00-16:00" (or "0 08:00-16:00", 0 being Monday)."""
    day, _, stretch = text.lower().partition(" ")
    start, _, end = stretch.strip().partition("-")
    weekday = _WEEKDAYS.index(day[:3]) if day[:3] in _WEEKDAYS else int(day) if day.isdigit() else None
    if weekday is None or not start or not end:
        typer.echo(f"switchboard: --shift takes 'DAY HH:MM-HH:MM', e.g. 'mon 08:00-16:00'; got {text!r}", err=True)
        raise typer.Exit(2)
    return workers_pb2.Shift(weekday=weekday, start=start, end=end)


def _location(text: str) -> tuple[float, float]:
    if not text:
        return 0.0, 0.0
    latitude, _, longitude = text.partition(",")
    try:
        return float(latitude), float(longitude)
    except ValueError:
        typer.echo(f"switchboard: --base takes LAT,LON, e.g. 53.5511,9.9937; got {text!r}", err=True)
        raise typer.Exit(2) from None


@worker_app.command("put")
def worker_put(
    worker_id: Annotated[str, typer.Argument(help="The worker's user id (the subject of its token).")],
    name: Annotated[str, typer.Option(help="Full name.")],
    kind: Annotated[str, typer.Option(help="agent or technician.")] = "agent",
    skill: Annotated[list[str] | None, typer.Option(help="SKILL=LEVEL (1-5); repeat for several.")] = None,
    language: Annotated[list[str] | None, typer.Option(help="BCP 47 tag; repeat for several.")] = None,
    team: Annotated[list[str] | None, typer.Option(help="Team; repeat for several.")] = None,
    capacity: Annotated[
        list[str] | None, typer.Option(help=f"CHANNEL=N tasks at once ({', '.join(CHANNELS)}); repeat.")
    ] = None,
    attribute: Annotated[list[str] | None, typer.Option(help="KEY=VALUE for queue expressions; repeat.")] = None,
    time_zone: Annotated[str, typer.Option(help="IANA time zone of the shifts, e.g. Europe/Berlin.")] = "",
    shift: Annotated[
        list[str] | None, typer.Option(help="'DAY HH:MM-HH:MM' (mon..sun or 0..6); repeat. None: always on.")
    ] = None,
    territory: Annotated[str, typer.Option(help="Technicians: the territory they cover.")] = "",
    base: Annotated[str, typer.Option(help="Technicians: LAT,LON where the day starts and ends.")] = "",
    van: Annotated[list[str] | None, typer.Option(help="Technicians: SKU=QUANTITY in the van; repeat.")] = None,
    version: Annotated[int, typer.Option(min=0, help="The version this replaces, as read; 0 adds a new worker.")] = 0,
    idempotency_key: Annotated[str | None, typer.Option(help="Reuse to retry safely; default: a new one.")] = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a worker, or replace its whole profile (pass --version as 'worker get' shows it)."""
    if shift and not time_zone:
        typer.echo("switchboard: --shift needs --time-zone (the zone its times are in)", err=True)
        raise typer.Exit(2)
    latitude, longitude = _location(base)
    message = workers_pb2.Worker(
        worker_id=worker_id,
        name=name,
        kind=_enum_value(workers_pb2.WorkerKind, "WORKER_KIND_", kind, "--kind"),  # type: ignore[arg-type]
        skills=[workers_pb2.Skill(name=n, level=level) for n, level in _pairs(skill, "--skill", int).items()],
        languages=language or [],
        teams=team or [],
        capacity=[
            workers_pb2.ChannelCapacity(channel=c, capacity=n) for c, n in _pairs(capacity, "--capacity", int).items()
        ],
        attributes=_pairs(attribute, "--attribute"),
        territory=territory,
        van_stock=[workers_pb2.StockItem(sku=sku, quantity=n) for sku, n in _pairs(van, "--van", int).items()],
        base_latitude=latitude,
        base_longitude=longitude,
    )
    if time_zone:
        message.hours.CopyFrom(workers_pb2.WorkingHours(time_zone=time_zone, shifts=[_shift(s) for s in shift or []]))
    request = workers_pb2.PutWorkerRequest(
        idempotency_key=idempotency_key or new_id(), worker=message, expected_version=version
    )
    with client.channel(_target("routing")) as ch:
        reply = _call(workers_pb2_grpc.WorkerServiceStub(ch).PutWorker, request, token)
    _print(reply, as_json, _worker_line(reply.worker))


@worker_app.command("get")
def worker_get(
    worker_id: Annotated[str, typer.Argument(help="The worker's user id.")],
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one worker: profile, presence and what it holds now."""
    with client.channel(_target("routing")) as ch:
        reply = _call(
            workers_pb2_grpc.WorkerServiceStub(ch).GetWorker, workers_pb2.GetWorkerRequest(worker_id=worker_id), token
        )
    _print(reply, as_json, _worker_line(reply.worker))


@worker_app.command("list")
def worker_list(
    team: Annotated[str, typer.Option(help="Only this team's workers.")] = "",
    kind: Annotated[str, typer.Option(help="Only agents or only technicians.")] = "",
    presence: Annotated[str, typer.Option(help="Only workers in this presence: available, busy, ...")] = "",
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """List workers by id."""
    request = workers_pb2.ListWorkersRequest(
        page_size=limit,
        team=team,
        kind=_enum_value(workers_pb2.WorkerKind, "WORKER_KIND_", kind, "--kind") if kind else 0,  # type: ignore[arg-type]
        presence=_enum_value(workers_pb2.Presence, "PRESENCE_", presence, "--presence") if presence else 0,  # type: ignore[arg-type]
    )
    with client.channel(_target("routing")) as ch:
        reply = _call(workers_pb2_grpc.WorkerServiceStub(ch).ListWorkers, request, token)
    _print(reply, as_json, "\n".join(_worker_line(w) for w in reply.workers) or "no workers")


@worker_app.command("presence")
def worker_presence(
    presence: Annotated[str, typer.Argument(help="available, busy, break, wrap_up or offline.")],
    worker: Annotated[str, typer.Option(help="Whose presence (a supervisor's choice); default: yours.")] = "",
    minutes: Annotated[
        int, typer.Option(min=0, help="A break or wrap-up ends by itself after this long; 0: open-ended.")
    ] = 0,
    reason: Annotated[str, typer.Option(help="Why, for the record.")] = "",
    idempotency_key: Annotated[str | None, typer.Option(help="Reuse to retry safely; default: a new one.")] = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set your presence (or, as a supervisor, anyone's)."""
    request = workers_pb2.SetPresenceRequest(
        idempotency_key=idempotency_key or new_id(),
        worker_id=worker,
        presence=_enum_value(workers_pb2.Presence, "PRESENCE_", presence, "presence"),  # type: ignore[arg-type]
        reason=reason,
    )
    if minutes:
        request.until.CopyFrom(timestamp(datetime.now(UTC) + timedelta(minutes=minutes)))
    with client.channel(_target("routing")) as ch:
        reply = _call(workers_pb2_grpc.WorkerServiceStub(ch).SetPresence, request, token)
    _print(reply, as_json, _worker_line(reply.worker))


# -- queues --------------------------------------------------------------------------------------


def _queue_line(q: queues_pb2.Queue) -> str:
    strategy = _enum_name(queues_pb2.Strategy, "STRATEGY_", q.strategy)
    return (
        f"{q.order:>7}  {q.queue_id:<14} v{q.version}  {strategy:<15} "
        f"offer to {q.offer_to} for {q.offer_timeout_seconds} s  SL {q.service_level_seconds} s  "
        f"{len(q.steps)} step(s)  filter {q.filter or '(all)'}  target {q.target or '(skills)'}"
    )


def _stats_lines(reply: queues_pb2.GetQueueStatsResponse | queues_pb2.WatchQueueStatsResponse) -> str:
    lines = [f"as of {reply.as_of.ToDatetime():%Y-%m-%d %H:%M:%S} UTC"]
    for s in reply.queues:
        agents = ", ".join(f"{_presence_name(a.presence)} {a.workers}" for a in s.agents) or "none"
        lines.append(
            f"  {s.queue_id:<14} waiting {s.waiting} (longest {s.longest_wait_seconds:.0f} s)  answered {s.answered}"
            f"  ASA {s.average_speed_of_answer_seconds:.1f} s  SL {s.service_level_percent:.1f}%  "
            f"abandoned {s.abandoned}  occupancy {s.occupancy:.0%}  agents: {agents}"
        )
    return "\n".join(lines)


@queue_app.command("put")
def queue_put(
    queue_id: Annotated[str, typer.Argument(help="Lowercase id, e.g. heating.")],
    name: Annotated[str, typer.Option(help="What wallboards show.")],
    filter_: Annotated[
        str,
        typer.Option("--filter", help="Which tasks enter (over task), e.g. '\"boiler\" in task.skills'; empty: all."),
    ] = "",
    order: Annotated[int, typer.Option(help="Queues are tried in ascending order.")] = 0,
    target: Annotated[
        str,
        typer.Option(help="Which workers may take its tasks (over task and worker); empty: skills, language, team."),
    ] = "",
    strategy: Annotated[
        str, typer.Option(help="longest_idle, least_occupied, best_skill or round_robin.")
    ] = "longest_idle",
    offer_to: Annotated[int, typer.Option(min=1, max=20, help="Workers one task is offered to at once.")] = 1,
    offer_timeout: Annotated[int, typer.Option(min=1, help="Seconds an offer stays open.")] = 30,
    missed_offer_pause: Annotated[int, typer.Option(min=0, help="Seconds without offers after missing one.")] = 60,
    aging: Annotated[int, typer.Option(min=0, help="Seconds of waiting per priority level gained; 0: none.")] = 300,
    vip: Annotated[list[str] | None, typer.Option(help=f"VIP tier ({', '.join(TIERS)}); repeat.")] = None,
    dedicated_target: Annotated[str, typer.Option(help="The dedicated agents of VIPs (over worker).")] = "",
    sticky: Annotated[int, typer.Option(min=0, help="Seconds a task waits for the customer's last agent.")] = 60,
    wrap_up: Annotated[int, typer.Option(min=0, help="Seconds of wrap-up after each task.")] = 30,
    service_level: Annotated[int, typer.Option(min=1, help="Answered within this many seconds counts.")] = 20,
    step: Annotated[
        list[str] | None,
        typer.Option(help='A relaxation step as JSON, e.g. \'{"after_seconds": 60, "lower_levels_by": 1}\'; repeat.'),
    ] = None,
    version: Annotated[int, typer.Option(min=0, help="The version this replaces, as listed; 0 adds a new queue.")] = 0,
    idempotency_key: Annotated[str | None, typer.Option(help="Reuse to retry safely; default: a new one.")] = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a queue, or replace its whole policy (pass --version as 'queue list' shows it)."""
    steps = []
    for text in step or []:
        try:
            steps.append(json_format.Parse(text, queues_pb2.Step()))
        except json_format.ParseError as exc:
            typer.echo(f"switchboard: --step {text!r} is not a step: {exc}", err=True)
            raise typer.Exit(2) from None
    message = queues_pb2.Queue(
        queue_id=queue_id,
        name=name,
        filter=filter_,
        order=order,
        target=target,
        steps=steps,
        strategy=_enum_value(queues_pb2.Strategy, "STRATEGY_", strategy, "--strategy"),  # type: ignore[arg-type]
        offer_to=offer_to,
        offer_timeout_seconds=offer_timeout,
        missed_offer_pause_seconds=missed_offer_pause,
        aging_seconds_per_level=aging,
        vip_tiers=vip if vip is not None else ["platinum"],
        dedicated_target=dedicated_target,
        sticky_seconds=sticky,
        wrap_up_seconds=wrap_up,
        service_level_seconds=service_level,
    )
    request = queues_pb2.PutQueueRequest(
        idempotency_key=idempotency_key or new_id(), queue=message, expected_version=version
    )
    with client.channel(_target("routing")) as ch:
        reply = _call(queues_pb2_grpc.QueueServiceStub(ch).PutQueue, request, token)
    _print(reply, as_json, _queue_line(reply.queue))


@queue_app.command("list")
def queue_list(token: TokenOption = None, as_json: JsonOption = False) -> None:
    """List the queues in the order tasks try them."""
    with client.channel(_target("routing")) as ch:
        reply = _call(queues_pb2_grpc.QueueServiceStub(ch).ListQueues, queues_pb2.ListQueuesRequest(), token)
    _print(reply, as_json, "\n".join(_queue_line(q) for q in reply.queues))


@queue_app.command("stats")
def queue_stats(
    queue: Annotated[str, typer.Option(help="Only this queue; default: every queue.")] = "",
    watch: Annotated[
        bool, typer.Option("--watch", help="Keep showing each change, as a wallboard; Ctrl-C stops.")
    ] = False,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Live statistics per queue: waiting, longest wait, speed of answer, service level, agents."""
    with client.channel(_target("routing")) as ch:
        stub = queues_pb2_grpc.QueueServiceStub(ch)
        if watch:
            _watch(
                stub.WatchQueueStats,
                queues_pb2.WatchQueueStatsRequest(queue_id=queue),
                token,
                lambda reply: _print_line(reply, as_json, _stats_lines(reply)),
            )
            return
        reply = _call(stub.GetQueueStats, queues_pb2.GetQueueStatsRequest(queue_id=queue), token)
    _print(reply, as_json, _stats_lines(reply))


@triage_app.command("show")
def triage_show(token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Show the triage rules in force, in the order they are tried.

    --json prints the ruleset in the form 'switchboard triage load' reads: save it, edit it, load it.
    """
    with client.channel(_target("ticketing")) as ch:
        reply = _call(triage_pb2_grpc.TriageServiceStub(ch).GetTriageRules, triage_pb2.GetTriageRulesRequest(), token)
    ruleset = reply.ruleset
    if as_json:
        document = json_format.MessageToDict(ruleset, preserving_proto_field_name=True)
        # Defaults are left out of the JSON form, but a loader needs both: what to replace, and with what.
        document["version"] = str(ruleset.version)
        document.setdefault("rules", [])
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    typer.echo(_ruleset_heading(ruleset))
    for index, rule in enumerate(ruleset.rules, start=1):
        typer.echo(f"{index:>3}  {rule.name}\n     when {_conditions(rule)}\n     then {_actions(rule)}")


@triage_app.command("load")
def triage_load(
    file: Annotated[Path, typer.Argument(help="A ruleset in JSON, as 'switchboard triage show --json' prints it.")],
    version: Annotated[
        int | None,
        typer.Option(min=0, help="The version the rules replace (0 for none); default: the file's 'version'."),
    ] = None,
    idempotency_key: Annotated[str | None, typer.Option(help="Reuse to retry safely; default: a new one.")] = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replace the triage rules with the ones in FILE, all at once.

    The replacement names the version it replaces, so it is refused (ABORTED) if someone else
    changed the rules since: show them again, merge, and load again.
    """
    ruleset, has_version = _read_ruleset(file)
    if version is None and not has_version:
        typer.echo(
            f"switchboard: {file} does not say which version it replaces; pass --version "
            "(the version 'switchboard triage show' prints, 0 if there are no rules yet)",
            err=True,
        )
        raise typer.Exit(2)
    expected = version if version is not None else ruleset.version
    request = triage_pb2.ReplaceTriageRulesRequest(
        idempotency_key=idempotency_key or new_id(), version=expected, rules=ruleset.rules
    )
    with client.channel(_target("ticketing")) as ch:
        reply = _call(triage_pb2_grpc.TriageServiceStub(ch).ReplaceTriageRules, request, token)
    stored = reply.ruleset
    _print(stored, as_json, f"triage rules version {stored.version} in force: {len(stored.rules)} rule(s)")


def _read_ruleset(file: Path) -> tuple[triage_pb2.TriageRuleset, bool]:
    """The ruleset a file holds, and whether it says which version it replaces."""
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        typer.echo(f"switchboard: cannot read {file}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    except json.JSONDecodeError as exc:
        typer.echo(f"switchboard: {file} is not JSON: {exc}", err=True)
        raise typer.Exit(2) from None
    if not isinstance(document, dict) or "rules" not in document:
        # Refused rather than read as no rules, which would turn triage off: say so explicitly.
        typer.echo(
            f'switchboard: {file} must hold a JSON object with "rules" (and "version"); '
            'to turn triage off, load {"rules": []}',
            err=True,
        )
        raise typer.Exit(2)
    try:
        # Unknown fields are refused: a misspelt condition silently ignored would match too much.
        ruleset = json_format.ParseDict(document, triage_pb2.TriageRuleset())
    except json_format.ParseError as exc:
        typer.echo(f"switchboard: {file} is not a triage ruleset: {exc}", err=True)
        raise typer.Exit(2) from None
    return ruleset, "version" in document


def _ruleset_heading(ruleset: triage_pb2.TriageRuleset) -> str:
    if not ruleset.version:
        return "no triage rules (version 0): new tickets keep what their requester gave"
    changed = ruleset.updated_at.ToDatetime().strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"triage rules version {ruleset.version}, set by {ruleset.updated_by} at {changed}: "
        f"{len(ruleset.rules)} rule(s), every matching one applies in order"
    )


def _conditions(rule: triage_pb2.TriageRule) -> str:
    parts = {
        "any of": ", ".join(f'"{k}"' for k in rule.any_keywords),
        "all of": ", ".join(f'"{k}"' for k in rule.all_keywords),
        "none of": ", ".join(f'"{k}"' for k in rule.none_keywords),
        "channel": ", ".join(channel_name(c) for c in rule.channels),
        "tier": ", ".join(tier_name(t) for t in rule.tiers),
        "asset": ", ".join(rule.asset_patterns),
    }
    return "; ".join(f"{label} {text}" for label, text in parts.items() if text)


def _actions(rule: triage_pb2.TriageRule) -> str:
    parts = {
        "category": rule.category,
        "team": rule.team,
        "skills": ", ".join(rule.required_skills),
        "priority": f"P{rule.priority}" if rule.priority else "",
        "priority up": str(rule.raise_priority) if rule.raise_priority else "",
        "stop": "(no later rule applies)" if rule.stop else "",
    }
    return "; ".join(f"{label} {text}" for label, text in parts.items() if text)


def _redact(url: str) -> str:
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    return f"{scheme}://{credentials.split(':')[0]}:***@{host}" if at else url


def main() -> None:
    app(prog_name="switchboard")


if __name__ == "__main__":
    main()
