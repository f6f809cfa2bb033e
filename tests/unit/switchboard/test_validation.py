"""Rules declared in the protos become field violations whose path a caller can act on."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from buf.validate import validate_pb2
from switchboard import validation
from switchboard.common.v1 import common_pb2
from switchboard.errors import FieldViolation, InvalidArgument
from switchboard.ticketing.v1 import ticketing_pb2

_FIELD = descriptor_pb2.FieldDescriptorProto


def _work_order_types() -> tuple[Any, Any]:
    """A WorkOrder with nested, repeated and map fields of Parts, whose part_number is required.

    The suite's protos have no nested rules yet; this message has them, so paths like
    parts[1].part_number can be checked.
    """
    pool = descriptor_pool.Default()
    name = "tests/unit/switchboard/work_order.proto"
    try:
        pool.FindFileByName(name)
    except KeyError:
        fd = descriptor_pb2.FileDescriptorProto(
            name=name, package="switchboard.tests.v1", syntax="proto3", dependency=["buf/validate/validate.proto"]
        )
        part = fd.message_type.add(name="Part")
        number = part.field.add(name="part_number", number=1, type=_FIELD.TYPE_STRING, label=_FIELD.LABEL_OPTIONAL)
        number.options.Extensions[validate_pb2.field].string.min_len = 1
        order = fd.message_type.add(name="WorkOrder")
        order.field.add(
            name="parts", number=1, type=_FIELD.TYPE_MESSAGE, label=_FIELD.LABEL_REPEATED,
            type_name=".switchboard.tests.v1.Part",
        )  # fmt: skip
        order.field.add(
            name="primary", number=2, type=_FIELD.TYPE_MESSAGE, label=_FIELD.LABEL_OPTIONAL,
            type_name=".switchboard.tests.v1.Part",
        )  # fmt: skip
        entry = order.nested_type.add(name="PartsByBinEntry")
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, type=_FIELD.TYPE_STRING, label=_FIELD.LABEL_OPTIONAL)
        entry.field.add(
            name="value", number=2, type=_FIELD.TYPE_MESSAGE, label=_FIELD.LABEL_OPTIONAL,
            type_name=".switchboard.tests.v1.Part",
        )  # fmt: skip
        order.field.add(
            name="parts_by_bin", number=3, type=_FIELD.TYPE_MESSAGE, label=_FIELD.LABEL_REPEATED,
            type_name=".switchboard.tests.v1.WorkOrder.PartsByBinEntry",
        )  # fmt: skip
        pool.Add(fd)
    work_order = message_factory.GetMessageClass(pool.FindMessageTypeByName("switchboard.tests.v1.WorkOrder"))
    part_type = message_factory.GetMessageClass(pool.FindMessageTypeByName("switchboard.tests.v1.Part"))
    return work_order, part_type


def _create_ticket(**overrides: Any) -> ticketing_pb2.CreateTicketRequest:
    values: dict[str, Any] = {
        "idempotency_key": "key-0195a0c4-0001",
        "customer_id": "C-1001",
        "channel": common_pb2.CHANNEL_PHONE,
        "subject": "Washing machine leaks",
        "required_skills": ["washing-machines", "plumbing"],
        "language": "de",
    }
    values.update(overrides)
    return ticketing_pb2.CreateTicketRequest(**values)


def _fields(message: Any) -> list[str]:
    return [v.field for v in validation.violations(message)]


def test_a_valid_request_has_no_violations() -> None:
    assert validation.violations(_create_ticket()) == []


def test_a_violation_names_the_field_and_the_rule() -> None:
    (violation,) = validation.violations(_create_ticket(subject=""))

    assert violation.field == "subject"
    assert "at least 1 characters" in violation.description
    assert "(string.min_len)" in violation.description


def test_a_repeated_item_is_named_by_its_index() -> None:
    assert _fields(_create_ticket(required_skills=["washing-machines", "Plumbing & Gas"])) == ["required_skills[1]"]


def test_every_broken_field_is_reported() -> None:
    request = _create_ticket(customer_id="", subject="", language="German")

    assert sorted(_fields(request)) == ["customer_id", "language", "subject"]


def test_a_nested_field_is_named_by_its_path() -> None:
    work_order, part = _work_order_types()

    assert _fields(work_order(primary=part())) == ["primary.part_number"]


def test_a_field_of_a_repeated_message_is_named_by_index_and_field() -> None:
    work_order, part = _work_order_types()

    assert _fields(work_order(parts=[part(part_number="DP-4410"), part()])) == ["parts[1].part_number"]


def test_a_field_of_a_map_value_is_named_by_its_quoted_key() -> None:
    work_order, part = _work_order_types()
    order = work_order()
    order.parts_by_bin["B-12"].CopyFrom(part())

    assert _fields(order) == ["parts_by_bin['B-12'].part_number"]


def test_get_ticket_requires_one_of_id_or_number_naming_the_oneof() -> None:
    (violation,) = validation.violations(ticketing_pb2.GetTicketRequest())

    assert violation.field == "ref"
    assert "exactly one field is required" in violation.description


def test_get_ticket_by_a_number_in_another_format_names_number() -> None:
    assert _fields(ticketing_pb2.GetTicketRequest(number="T-12")) == ["number"]


def test_check_passes_a_valid_message() -> None:
    validation.check(ticketing_pb2.GetTicketRequest(number="T-000123"))


def test_check_raises_invalid_argument_carrying_every_violation() -> None:
    with pytest.raises(InvalidArgument) as refused:
        validation.check(_create_ticket(customer_id="", subject=""))

    assert [v.field for v in refused.value.violations] == ["customer_id", "subject"]
    assert all(isinstance(v, FieldViolation) for v in refused.value.violations)
    assert str(refused.value).startswith("customer_id: ")
