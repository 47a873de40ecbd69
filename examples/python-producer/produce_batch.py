#!/usr/bin/env python3
"""A Tributary producer in Python: announces a folder of files as one batch on `batch.ready`.

It speaks the same wire format as the TypeScript services, with a client they did not write:
confluent-kafka's producer and its AvroSerializer, through the schema registry's Confluent-compatible
API (Apicurio: `<registry>/apis/ccompat/v7`).

- topic `<prefix>batch.ready`, key = the dataset (all events of a dataset on one partition, in order);
- value: Confluent wire format (magic byte 0, 4-byte schema id, Avro binary), schema of subject
  `<prefix>batch.ready-value` (TopicNameStrategy). The services register the schema when they start;
  a producer does not register: it serialises with the subject's latest registered version;
- headers: `traceparent` (W3C trace context: its trace id becomes the run id of the whole run),
  `event-id` (= the value's event_id) and `event-name` (`batch.ready`).

The files stay where they are: each is announced with a file:// URI (the ingestor reads it only
inside its SOURCE_FILE_ROOTS) or an s3:// URI, its sha256 and size, which the ingest verifies.

    pip install 'confluent-kafka[avro]'
    python produce_batch.py ./my-batch --dataset penguins --contract penguins@1.0.0 \\
        --bootstrap 127.0.0.1:9092 --registry http://127.0.0.1:8081/apis/ccompat/v7
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

from confluent_kafka import KafkaException, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".tif", ".tiff"}
# Landing-zone markers and the landing manifest are not batch content.
NOT_CONTENT = {"_READY", "_PROCESSING", "_DONE", "_REJECTED", "batch.json"}


def sha256_and_size(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def batch_files(root: Path, schema_version: str | None) -> list[dict]:
    """Every regular file below root (dot-files and landing markers left out), as BatchFile records."""
    files = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in rel.split("/")) or rel in NOT_CONTENT:
            continue
        sha256, size = sha256_and_size(path)
        is_image = path.suffix.lower() in IMAGE_SUFFIXES
        files.append(
            {
                "path": rel,
                "uri": path.resolve().as_uri(),
                "role": "IMAGE" if is_image else "TABLE",
                "sha256": sha256,
                "size_bytes": size,
                "schema_version": None if is_image else schema_version,
            }
        )
    return files


def content_hash(files: list[dict]) -> str:
    """The ingestor's batch identity: sha256 of `<path>\\t<sha256>\\n` lines in code-point order of path."""
    lines = "".join(f"{f['path']}\t{f['sha256']}\n" for f in sorted(files, key=lambda f: f["path"]))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Announce a folder as one batch on batch.ready")
    parser.add_argument("dir", type=Path)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--contract", required=True, help="name@version, e.g. penguins@1.0.0")
    parser.add_argument("--batch-id", help="default: <dataset>-<first 16 hex of the content hash>")
    parser.add_argument("--producer", default="python-producer")
    parser.add_argument("--schema-version", help="schema version the tables declare")
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092"))
    parser.add_argument(
        "--registry",
        default=os.environ.get("SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081/apis/ccompat/v7"),
    )
    parser.add_argument("--topic-prefix", default=os.environ.get("TOPIC_PREFIX", ""))
    parser.add_argument(
        "--schema",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "libs/events/src/batch-ready/schema.avsc",
        help="batch.ready's Avro schema (the repository's libs/events/src/batch-ready/schema.avsc)",
    )
    args = parser.parse_args(argv)

    name, _, version = args.contract.partition("@")
    if not name or not version:
        parser.error("--contract must be name@version")
    files = batch_files(args.dir, args.schema_version)
    if not files:
        parser.error(f"{args.dir} holds no files")
    batch_id = args.batch_id or f"{args.dataset}-{content_hash(files)[:16]}"

    topic = f"{args.topic_prefix}batch.ready"
    # The client waits without limit by default: bound each request so an unreachable or stalled
    # registry ends the run with an error instead of hanging it.
    registry = SchemaRegistryClient({"url": args.registry, "timeout": 10})
    serializer = AvroSerializer(
        registry,
        args.schema.read_text(encoding="utf-8"),
        conf={"auto.register.schemas": False, "use.latest.version": True},
    )

    # A new trace for this run: the ingestor, preprocessor and every later service join it.
    trace_id = secrets.token_hex(16)
    span_id = secrets.token_hex(8)
    event = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": datetime.now(timezone.utc),
        "run_id": trace_id,
        "dataset": args.dataset,
        "batch_id": batch_id,
        "producer": args.producer,
        "source": "KAFKA",
        "contract": {"name": name, "version": version},
        "files": files,
        "attributes": {"client": "confluent-kafka-python"},
    }
    value = serializer(event, SerializationContext(topic, MessageField.VALUE))

    delivered: list[object] = []
    producer = Producer({"bootstrap.servers": args.bootstrap, "enable.idempotence": True, "acks": "all"})
    producer.produce(
        topic,
        key=args.dataset.encode("utf-8"),
        value=value,
        headers=[
            ("traceparent", f"00-{trace_id}-{span_id}-01".encode("ascii")),
            ("event-id", event["event_id"].encode("ascii")),
            ("event-name", b"batch.ready"),
        ],
        on_delivery=lambda err, msg: delivered.append(err or msg),
    )
    producer.flush(30)
    if not delivered or not hasattr(delivered[0], "offset"):
        raise KafkaException(delivered[0] if delivered else "not delivered within 30 s")
    msg = delivered[0]
    print(
        json.dumps(
            {
                "topic": topic,
                "partition": msg.partition(),
                "offset": msg.offset(),
                "batch_id": batch_id,
                "event_id": event["event_id"],
                "run_id": trace_id,
                "files": len(files),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
