"""CustomerService served in-process over gRPC with the chassis's interceptor: roles, validation,
idempotency keys, the screen pop by phone, the one-call view, timeline pages, export and erasure."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from services.customer360 import api, config
from switchboard.composition import Runtime
from switchboard.context import Caller
from switchboard.customer360.v1 import customer360_pb2 as pb
from switchboard.customer360.v1 import customer360_pb2_grpc
from switchboard.events.v1.customer_events_pb2 import ContactConsents
from switchboard.rpc import auth
from switchboard.rpc.server import build_server
from switchboard.settings import Settings
from tests.unit.builders import CUSTOMER360_MIGRATIONS, OpenDb
from tests.unit.services.customer360.events import T0, apply, call, event, minutes, order

ALICE = Caller(subject="alice", roles=frozenset({"agent"}))
SOFIA = Caller(subject="sofia", roles=frozenset({"supervisor"}))


class Client:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.server = build_server(runtime.settings, "customer360", api.bindings(runtime), runtime.settings.port_of(2))
        self.server.start()
        self.channel = grpc.insecure_channel(self.server.address)
        self.stub = customer360_pb2_grpc.CustomerServiceStub(self.channel)

    def as_(self, caller: Caller) -> tuple[tuple[str, str], ...]:
        token = auth.issue(self.runtime.settings, caller.subject, caller.roles)
        return (("authorization", f"Bearer {token}"),)


@pytest.fixture
def runtime(open_db: OpenDb, settings: Settings) -> Runtime:
    config.load.cache_clear()
    return Runtime(settings=settings, db=open_db("customer360", CUSTOMER360_MIGRATIONS))


@pytest.fixture
def client(runtime: Runtime) -> Iterator[Client]:
    served = Client(runtime)
    yield served
    served.channel.close()
    served.server.stop()


def _ada(key: str = "key-create-0001") -> pb.CreateCustomerRequest:
    return pb.CreateCustomerRequest(
        idempotency_key=key,
        customer=pb.Customer(
            customer_id="C-1001",
            display_name="Ada Lovelace",
            birth_date="1985-12-10",
            phones=["0171 1234567"],
            emails=["Ada@Example.com"],
            external_ids=[pb.ExternalId(system="shop", id="88121")],
            addresses=[pb.Address(kind="home", lines=["Hauptstr. 1"], postcode="10115", city="Berlin", country="DE")],
            consents=ContactConsents(email=True),
            account_owner="olga",
        ),
    )


def test_a_created_customer_pops_up_on_an_incoming_call_with_everything_in_one_view(
    client: Client, runtime: Runtime
) -> None:
    made = client.stub.CreateCustomer(_ada(), metadata=client.as_(ALICE), timeout=5).customer
    again = client.stub.CreateCustomer(_ada(), metadata=client.as_(ALICE), timeout=5).customer
    apply(runtime.db, event(order(customer_id="C-1001"), event_id="api-1"))

    found = client.stub.FindCustomers(pb.FindCustomersRequest(phone="+49 171 1234567"), metadata=client.as_(ALICE))
    shown = client.stub.GetCustomerView(
        pb.GetCustomerViewRequest(customer_id=found.customers[0].customer_id), metadata=client.as_(ALICE), timeout=5
    ).view

    assert again == made and made.version == 1
    assert (list(made.phones), list(made.emails), made.age > 30) == (["+491711234567"], ["ada@example.com"], True)
    assert shown.customer.display_name == "Ada Lovelace"
    assert [p.serial for p in shown.products] == ["SN-WM-0001"]
    assert [e.kind for e in shown.recent_timeline] == ["order"]
    assert shown.value.revenue_minor == 129_900
    by_name = client.stub.FindCustomers(pb.FindCustomersRequest(name_prefix="ada"), metadata=client.as_(ALICE))
    by_shop = client.stub.FindCustomers(
        pb.FindCustomersRequest(external=pb.ExternalId(system="shop", id="88121")), metadata=client.as_(ALICE)
    )
    assert [c.customer_id for c in (*by_name.customers, *by_shop.customers)] == ["C-1001", "C-1001"]


def test_only_supervisors_merge_and_a_stale_update_is_aborted(client: Client) -> None:
    client.stub.CreateCustomer(_ada(), metadata=client.as_(ALICE), timeout=5)
    other = pb.CreateCustomerRequest(idempotency_key="key-create-0002", customer=pb.Customer(customer_id="C-2002"))
    client.stub.CreateCustomer(other, metadata=client.as_(ALICE), timeout=5)
    merge = pb.MergeCustomersRequest(idempotency_key="key-merge-0001", survivor_id="C-1001", merged_id="C-2002")

    with pytest.raises(grpc.RpcError) as denied:
        client.stub.MergeCustomers(merge, metadata=client.as_(ALICE), timeout=5)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    client.stub.MergeCustomers(merge, metadata=client.as_(SOFIA), timeout=5)

    stale = pb.UpdateCustomerRequest(
        idempotency_key="key-update-0001", customer_id="C-1001", version=1, customer=pb.Customer(occupation="x")
    )
    stale.update_mask.paths.append("occupation")
    with pytest.raises(grpc.RpcError) as aborted:
        client.stub.UpdateCustomer(stale, metadata=client.as_(ALICE), timeout=5)
    assert aborted.value.code() == grpc.StatusCode.ABORTED


def test_a_bad_email_is_invalid_argument_naming_the_field(client: Client) -> None:
    request = _ada()
    request.customer.emails[:] = ["not-an-address"]

    with pytest.raises(grpc.RpcError) as refused:
        client.stub.CreateCustomer(request, metadata=client.as_(ALICE), timeout=5)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "customer.emails[0]" in (refused.value.details() or "")


def test_the_timeline_pages_newest_first_and_filters_by_kind(client: Client, runtime: Runtime) -> None:
    apply(
        runtime.db,
        *(event(call(f"CALL-{n}", at=T0 + minutes(n)), event_id=f"c-{n}", customer_id="C-1001") for n in range(5)),
        event(order(customer_id="C-1001", at=T0 + minutes(10)), event_id="o-1"),
    )
    request = pb.ListTimelineRequest(customer_id="C-1001", kinds=["call"], page_size=3)

    first = client.stub.ListTimeline(request, metadata=client.as_(ALICE), timeout=5)
    request.page_token = first.next_page_token
    second = client.stub.ListTimeline(request, metadata=client.as_(ALICE), timeout=5)

    assert [e.entry_id for e in first.entries] == ["c-4", "c-3", "c-2"]
    assert [e.entry_id for e in second.entries] == ["c-1", "c-0"]
    assert second.next_page_token == ""


def test_export_holds_everything_and_erase_removes_it(client: Client, runtime: Runtime) -> None:
    client.stub.CreateCustomer(_ada(), metadata=client.as_(ALICE), timeout=5)
    apply(runtime.db, event(order(customer_id="C-1001"), event_id="x-1"))

    exported = client.stub.ExportCustomer(pb.ExportCustomerRequest(customer_id="C-1001"), metadata=client.as_(SOFIA))
    erased = client.stub.EraseCustomer(
        pb.EraseCustomerRequest(idempotency_key="key-erase-0001", customer_id="C-1001", reason="DSR-77"),
        metadata=client.as_(SOFIA),
        timeout=5,
    )
    after = client.stub.ExportCustomer(pb.ExportCustomerRequest(customer_id="C-1001"), metadata=client.as_(SOFIA))

    # The order named her by another address too: it joined her profile.
    assert exported.profiles[0].emails == ["ada.lovelace@example.com", "ada@example.com"]
    assert [t.entry_id for t in exported.timeline] == ["x-1"]
    assert list(erased.erased_ids) == ["C-1001"]
    assert after.profiles[0].erased and not after.profiles[0].emails and not after.profiles[0].display_name
    assert after.profiles[0].addresses == []
    found = client.stub.FindCustomers(pb.FindCustomersRequest(phone="0171 1234567"), metadata=client.as_(ALICE))
    assert list(found.customers) == []
