"""``switchboard customer ...``: the customer-360 as an agent or supervisor uses it from a terminal.

Talks to the customer360 server through the generated stubs only: the chassis never imports a service.
"""

from __future__ import annotations

from typing import Annotated

import grpc
import typer

from switchboard.cli.suite import JsonOption, TokenOption, _call, _pairs, _print, _target, app
from switchboard.customer360.v1 import customer360_pb2 as pb
from switchboard.customer360.v1 import customer360_pb2_grpc
from switchboard.enums import tier_name
from switchboard.ids import new_id
from switchboard.rpc import client

customer_app = typer.Typer(help="Customer-360: profiles, the one-call view, timeline, merge, export, erase.")
app.add_typer(customer_app, name="customer", no_args_is_help=True)

KeyOption = Annotated[str | None, typer.Option(help="Reuse to retry safely; default: a new one.")]


def _stub(ch: grpc.Channel) -> customer360_pb2_grpc.CustomerServiceStub:
    return customer360_pb2_grpc.CustomerServiceStub(ch)


def _line(c: pb.Customer) -> str:
    contact = ", ".join([*c.phones, *c.emails]) or "no contact"
    tier = tier_name(c.tier) or "-"
    merged = f"  merged into {c.merged_into}" if c.merged_into else ""
    return f"{c.customer_id}  v{c.version}  {c.display_name or '(no name)'}  {tier}  {contact}{merged}"


def _entry(e: pb.TimelineEntry) -> str:
    amount = f"  {e.amount_minor / 100:.2f} {e.currency}" if e.currency else ""
    return f"{e.occurred_at.ToDatetime():%Y-%m-%d %H:%M}  {e.kind:<12} {e.title}{amount}"


@customer_app.command("get")
def customer_get(
    customer_id: Annotated[str, typer.Argument(help="Customer id (a merged one shows its survivor).")],
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Everything about a customer in one view."""
    with client.channel(_target("customer360")) as ch:
        reply = _call(_stub(ch).GetCustomerView, pb.GetCustomerViewRequest(customer_id=customer_id), token)
    v = reply.view
    lines = [_line(v.customer)]
    lines += [f"  ticket {t.number} {t.status}: {t.subject}" for t in v.open_tickets]
    lines += [f"  product {p.serial} {p.model} {p.name}" for p in v.products]
    lines += [f"  anomaly {a.kind}: {a.reason}" for a in v.open_anomalies]
    if v.satisfaction.count:
        flag = f"  DISSATISFIED: {v.satisfaction.reason}" if v.satisfaction.dissatisfied else ""
        lines.append(f"  ratings {v.satisfaction.count}, average {v.satisfaction.average:.1f}{flag}")
    lines += ["  " + _entry(e) for e in v.recent_timeline]
    _print(reply, as_json, "\n".join(lines))


@customer_app.command("find")
def customer_find(
    phone: Annotated[str, typer.Option(help="As the phone network presents it.")] = "",
    email: Annotated[str, typer.Option()] = "",
    external: Annotated[str, typer.Option(help="SYSTEM=ID, for example shop=88121.")] = "",
    serial: Annotated[str, typer.Option(help="A product serial number.")] = "",
    name: Annotated[str, typer.Option(help="The start of the display name.")] = "",
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find customers by exactly one of phone, email, external id, product serial or name."""
    given = [bool(v) for v in (phone, email, external, serial, name)]
    if sum(given) != 1:
        typer.echo("switchboard: give exactly one of --phone, --email, --external, --serial, --name", err=True)
        raise typer.Exit(2)
    request = pb.FindCustomersRequest()
    if phone:
        request.phone = phone
    elif email:
        request.email = email
    elif external:
        ((system, external_id),) = _pairs([external], "--external").items()
        request.external.CopyFrom(pb.ExternalId(system=system, id=external_id))
    elif serial:
        request.serial = serial
    else:
        request.name_prefix = name
    with client.channel(_target("customer360")) as ch:
        reply = _call(_stub(ch).FindCustomers, request, token)
    _print(reply, as_json, "\n".join(_line(c) for c in reply.customers) or "no customer found")


@customer_app.command("create")
def customer_create(
    customer_id: Annotated[str, typer.Argument(help="The id the suite shares, e.g. C-1001.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    phone: Annotated[list[str] | None, typer.Option(help="Phone number; repeat for several.")] = None,
    email: Annotated[list[str] | None, typer.Option(help="Email address; repeat for several.")] = None,
    external: Annotated[list[str] | None, typer.Option(help="SYSTEM=ID; repeat for several.")] = None,
    language: Annotated[str, typer.Option(help="BCP 47 tag, e.g. de.")] = "",
    owner: Annotated[str, typer.Option(help="The worker who looks after the customer.")] = "",
    attribute: Annotated[list[str] | None, typer.Option(help="KEY=VALUE; repeat.")] = None,
    idempotency_key: KeyOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a profile."""
    customer = pb.Customer(
        customer_id=customer_id,
        display_name=name,
        phones=phone or [],
        emails=email or [],
        external_ids=[pb.ExternalId(system=s, id=i) for s, i in _pairs(external, "--external").items()],
        preferred_language=language,
        account_owner=owner,
        attributes=_pairs(attribute, "--attribute"),
    )
    request = pb.CreateCustomerRequest(idempotency_key=idempotency_key or new_id(), customer=customer)
    with client.channel(_target("customer360")) as ch:
        reply = _call(_stub(ch).CreateCustomer, request, token)
    _print(reply, as_json, _line(reply.customer))


@customer_app.command("timeline")
def customer_timeline(
    customer_id: Annotated[str, typer.Argument()],
    kind: Annotated[list[str] | None, typer.Option(help="Only this kind (order, call, ticket, ...); repeat.")] = None,
    page_size: Annotated[int, typer.Option(min=1, max=500)] = 50,
    page_token: Annotated[str, typer.Option(help="The token the previous page printed.")] = "",
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The customer's interactions, newest first."""
    request = pb.ListTimelineRequest(
        customer_id=customer_id, kinds=kind or [], page_size=page_size, page_token=page_token
    )
    with client.channel(_target("customer360")) as ch:
        reply = _call(_stub(ch).ListTimeline, request, token)
    more = f"\nnext page: --page-token {reply.next_page_token}" if reply.next_page_token else ""
    _print(reply, as_json, "\n".join(_entry(e) for e in reply.entries) + more)


@customer_app.command("merge")
def customer_merge(
    survivor_id: Annotated[str, typer.Argument(help="The profile that stays.")],
    merged_id: Annotated[str, typer.Argument(help="The duplicate that joins it.")],
    idempotency_key: KeyOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Merge a duplicate into a profile (undo with unmerge)."""
    request = pb.MergeCustomersRequest(
        idempotency_key=idempotency_key or new_id(), survivor_id=survivor_id, merged_id=merged_id
    )
    with client.channel(_target("customer360")) as ch:
        reply = _call(_stub(ch).MergeCustomers, request, token)
    _print(reply, as_json, f"merged {merged_id} into {survivor_id} (merge {reply.merge.merge_id})")


@customer_app.command("unmerge")
def customer_unmerge(
    merged_id: Annotated[str, typer.Argument(help="The profile to stand on its own again.")],
    idempotency_key: KeyOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Undo a merge exactly."""
    request = pb.UnmergeCustomersRequest(idempotency_key=idempotency_key or new_id(), merged_id=merged_id)
    with client.channel(_target("customer360")) as ch:
        reply = _call(_stub(ch).UnmergeCustomers, request, token)
    _print(reply, as_json, f"{merged_id} no longer merged into {reply.merge.survivor_id}")


@customer_app.command("export")
def customer_export(
    customer_id: Annotated[str, typer.Argument()],
    token: TokenOption = None,
) -> None:
    """Everything held about the customer, as JSON."""
    with client.channel(_target("customer360")) as ch:
        reply = _call(_stub(ch).ExportCustomer, pb.ExportCustomerRequest(customer_id=customer_id), token)
    _print(reply, True, "")


@customer_app.command("erase")
def customer_erase(
    customer_id: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option(help="The request's reference, e.g. DSR-2025-077.")] = "",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    idempotency_key: KeyOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Erase a customer and its merge group for good."""
    if not yes:
        typer.confirm(f"Erase {customer_id} and every profile merged with it? This cannot be undone", abort=True)
    request = pb.EraseCustomerRequest(
        idempotency_key=idempotency_key or new_id(), customer_id=customer_id, reason=reason
    )
    with client.channel(_target("customer360")) as ch:
        reply = _call(_stub(ch).EraseCustomer, request, token)
    _print(reply, as_json, f"erased {', '.join(reply.erased_ids)}")
