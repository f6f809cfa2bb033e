"""The ``switchboard`` command: run the suite, issue development tokens, and act as a user would."""

from __future__ import annotations

import json
import os
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
from switchboard.enums import CHANNELS, channel_name, channel_value, tier_name
from switchboard.ids import new_id
from switchboard.routing.v1 import routing_pb2, routing_pb2_grpc
from switchboard.rpc import auth, client
from switchboard.rpc.status import describe
from switchboard.runner import ROLES, Suite, declare_topology, supervise, wait_for_signal
from switchboard.settings import Settings, get_settings
from switchboard.ticketing.v1 import ticketing_pb2, ticketing_pb2_grpc, triage_pb2, triage_pb2_grpc

app = typer.Typer(help="Switchboard: contact centre and service desk.", no_args_is_help=True, add_completion=False)
ticket_app = typer.Typer(help="Tickets.", no_args_is_help=True)
task_app = typer.Typer(help="Routing tasks.", no_args_is_help=True)
app.add_typer(ticket_app, name="ticket")
triage_app = typer.Typer(help="The rules that classify new tickets.", no_args_is_help=True)
app.add_typer(task_app, name="task")
app.add_typer(triage_app, name="triage")

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


def _print(message: Message, as_json: bool, summary: str) -> None:
    if as_json:
        typer.echo(json.dumps(json_format.MessageToDict(message, preserving_proto_field_name=True), indent=2))
    else:
        typer.echo(summary)


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


@task_app.command("list")
def task_list(
    ticket: Annotated[str, typer.Option(help="Only the tasks of this ticket id.")] = "",
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """List routing's tasks, oldest first."""
    with client.channel(_target("routing")) as ch:
        reply = _call(
            routing_pb2_grpc.RoutingServiceStub(ch).ListTasks,
            routing_pb2.ListTasksRequest(page_size=limit, ticket_id=ticket),
            token,
        )
    lines = [
        f"{t.task_id}  {routing_pb2.TaskStatus.Name(t.status).removeprefix('TASK_STATUS_').lower():<9} "
        f"P{t.priority}  ticket {t.ticket_id}  skills {','.join(t.required_skills) or '-'}"
        for t in reply.tasks
    ]
    _print(reply, as_json, "\n".join(lines) or "no tasks")


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
