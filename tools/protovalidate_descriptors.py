"""Write a FileDescriptorSet for buf/validate/validate.proto taken from the installed protovalidate.

protovalidate 2.x validates google.protobuf messages natively but ships neither the .proto source
nor a google.protobuf module for it, and buf's registry is out of reach from build machines. The
wheel does embed the compiled FileDescriptorProto, so `make proto` derives the import from the
pinned dependency: protoc reads it with --descriptor_set_in and generates buf/validate/validate_pb2.py.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import protovalidate
from google.protobuf import descriptor_pb2, duration_pb2, field_mask_pb2, timestamp_pb2


def validate_proto_bytes() -> bytes:
    source = Path(protovalidate.__file__).parent / "_gen" / "buf" / "validate" / "validate_pb.py"
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "file_desc":
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, bytes):
                return first.value
    raise SystemExit(f"no embedded descriptor found in {source}")


def main(out: str) -> None:
    descriptor_set = descriptor_pb2.FileDescriptorSet()
    for module in (descriptor_pb2, duration_pb2, field_mask_pb2, timestamp_pb2):
        descriptor_set.file.add().MergeFromString(module.DESCRIPTOR.serialized_pb)
    descriptor_set.file.add().MergeFromString(validate_proto_bytes())
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_bytes(descriptor_set.SerializeToString())


if __name__ == "__main__":
    main(sys.argv[1])
