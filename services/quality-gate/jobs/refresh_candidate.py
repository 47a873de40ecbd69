"""The refresh's sampling + augmentation as a Ray job (a refresh job declaring `engine: ray`).

Submitted by the quality-gate through Ray's Jobs API with one argument, the S3 URI of its spec
(JSON). Each source is read by a Ray task (streamed from S3 to the node's disk while its checksum
is computed, then parsed by pyarrow); the driver ranks the rows of each stratum by their hash; a
second task per source keeps its sampled rows, applies word dropout and the job's pluggable
augmentations, and writes them as a Parquet part. The draws are those of the embedded engine
(services/quality-gate/src/domain/sampling.ts):

  sampling      in each stratum the ceil(n * fraction) rows (at least 1) with the lowest first
                64 bits of md5("<seed>:<key>"), ties by key; key = "<source>:<row position>"
  word dropout  word i (from 1) dropped when u("<seed>:dropout:<key>:<i>") < rate, never all
  pluggable     augmentation <name> applied to a row's non-null value when u("<seed>:<name>:<key>")
                < its probability: "sql" evaluates its DuckDB expression (the gate's DuckDB
                version), "image_hflip" mirrors a base64 image with Pillow and writes it as PNG
  u(text)       first 8 hex digits of md5(text) as an integer, compared with ceil(rate * 2**32)

The job ends by writing result.json beside its parts: {"status": "ok", "sources": [...], "parts":
[...]} or {"status": "failed", "reason": "..."} (then exits 1), so the quality-gate can name the
problem (a checksum mismatch, an unreadable source) without parsing logs.
"""

import base64
import hashlib
import io
import json
import math
import os
import re
import sys
import tempfile
import time

import boto3
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
import ray

WORD_SEPARATOR = re.compile(r"[\t\n\x0b\f\r ]+")


class JobFailure(Exception):
    """A problem the quality-gate reports as the task's reason (retrying will not change it)."""


def s3_client(settings):
    return boto3.client(
        "s3",
        endpoint_url=settings.get("endpoint_url") or None,
        region_name=settings.get("region") or None,
    )


def split_uri(uri):
    if not uri.startswith("s3://"):
        raise JobFailure(f"{uri}: the cluster reads sources from S3 only")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def hash32(text):
    return int(hashlib.md5(text.encode("utf-8")).hexdigest()[:8], 16)


def drop_threshold(rate):
    return math.ceil(rate * 4294967296)


def label(value):
    """A cell as a category label, as the embedded engine prints it (NULL is '')."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def dropout(text, key, seed, rate):
    words = [w for w in WORD_SEPARATOR.split(text) if w]
    threshold = drop_threshold(rate)
    kept = [w for i, w in enumerate(words, 1) if hash32(f"{seed}:dropout:{key}:{i}") >= threshold]
    return " ".join(kept if kept else words[:1])


def is_text(arrow_type):
    """A column the augmentations rewrite: text (the embedded engine's VARCHAR)."""
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type)


def flip_image(value, key):
    """Mirrors a base64 image left to right, written as PNG (the embedded engine's sharp flop().png())."""
    from PIL import Image  # only jobs that flip images need Pillow on the cluster

    try:
        with Image.open(io.BytesIO(base64.b64decode(value))) as image:
            flipped = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        out = io.BytesIO()
        flipped.save(out, format="PNG")
    except Exception as err:  # noqa: BLE001 - named in the reason
        raise JobFailure(f"image_hflip: row {key}: {err}") from err
    return base64.b64encode(out.getvalue()).decode("ascii")


def apply_image_flip(table, keys, aug, seed):
    column = aug["column"]
    threshold = drop_threshold(aug["probability"])
    values = table.column(column).to_pylist()
    new = [
        v if v is None or v == "" or hash32(f"{seed}:image_hflip:{k}") >= threshold else flip_image(v, k)
        for v, k in zip(values, keys)
    ]
    return table.set_column(table.schema.get_field_index(column), column, pa.array(new, pa.string()))


def quote(name):
    return '"' + name.replace('"', '""') + '"'


def apply_sql(table, aug, seed):
    """A declared SQL augmentation, evaluated by DuckDB over the part as the embedded engine's UPDATE does."""
    import duckdb  # only jobs with SQL augmentations need DuckDB on the cluster

    column = quote(aug["column"])
    prefix = f"{seed}:{aug['name']}:".replace("'", "''")
    drawn = f"('0x' || md5('{prefix}' || __key)[1:8])::UBIGINT < {drop_threshold(aug['probability'])}"
    con = duckdb.connect()
    try:
        con.register("candidate", table.append_column("__pos", pa.array(range(table.num_rows), pa.int64())))
        out = con.execute(
            f"SELECT * EXCLUDE (__pos) REPLACE (CASE WHEN {column} IS NOT NULL AND {drawn} "
            f"THEN CAST(({aug['expression']}) AS VARCHAR) ELSE {column} END AS {column}) "
            "FROM candidate ORDER BY __pos"
        ).to_arrow_table()
    except duckdb.Error as err:
        raise JobFailure(f"SQL augmentation {aug['name']} failed: {str(err).splitlines()[0]}") from err
    finally:
        con.close()
    return out


def read_table(path, fmt):
    if fmt == "parquet":
        return pq.read_table(path)
    if fmt == "csv":
        # RFC 4180, values kept as strings (as the embedded engine keeps them).
        with open(path, "rb") as f:
            header = next(pacsv.open_csv(f).iter_batches(), None)
        names = [] if header is None else header.schema.names
        return pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}),
        )
    return pajson.read_json(path)


@ray.remote(num_returns=2)
def read_source(source, settings, seed, stratify_column):
    """Streams one source to local disk while hashing it; answers its sampling index, then its rows."""
    bucket, key = split_uri(source["uri"])
    algorithm = source["algorithm"]
    digest = hashlib.new(algorithm)
    fd, path = tempfile.mkstemp(suffix="." + source["format"])
    try:
        try:
            body = s3_client(settings).get_object(Bucket=bucket, Key=key)["Body"]
        except Exception as err:  # noqa: BLE001 - named in the reason
            raise JobFailure(f"source {source['name']}: {source['uri']} cannot be read: {err}") from err
        with os.fdopen(fd, "wb") as out:
            for chunk in iter(lambda: body.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        got = digest.hexdigest()
        if got != source["checksum"]:
            raise JobFailure(
                f"source {source['name']}: {source['what']}checksum mismatch "
                f"(expected {algorithm} {source['checksum']}, got {got})"
            )
        try:
            table = read_table(path, source["format"])
        except Exception as err:  # noqa: BLE001
            raise JobFailure(f"{source['uri']}: cannot be read as {source['format']}: {err}") from err
    finally:
        if os.path.exists(path):
            os.remove(path)
    rows = table.num_rows
    keys = [f"{source['key_prefix']}:{i}" for i in range(rows)]
    if stratify_column in table.column_names:
        strata = [label(v) for v in table.column(stratify_column).to_pylist()]
    else:
        strata = [""] * rows
    # The first 64 bits of md5("<seed>:<key>"), as the embedded engine ranks them.
    hashes = [int(hashlib.md5(f"{seed}:{k}".encode("utf-8")).hexdigest()[:16], 16) for k in keys]
    index = pa.table(
        {
            "si": pa.array([source["si"]] * rows, pa.int32()),
            "ord": pa.array(range(rows), pa.int64()),
            "key": pa.array(keys, pa.string()),
            "s": pa.array(strata, pa.string()),
            "h": pa.array(hashes, pa.uint64()),
        }
    )
    return {"rows": rows, "checksum": got, "index": index}, table


@ray.remote
def write_part(source, table, kept, spec, settings):
    """Keeps the sampled rows of one source (in source order), augments them, writes a part."""
    ords = sorted(kept)
    table = table.take(pa.array(ords, pa.int64()))
    keys = [f"{source['key_prefix']}:{o}" for o in ords]
    column = spec.get("text_column")
    rate = spec.get("text_dropout", 0)
    if column and rate > 0 and column in table.column_names and is_text(table.schema.field(column).type):
        texts = table.column(column).to_pylist()
        new = [None if t is None else dropout(t, k, spec["seed"], rate) for t, k in zip(texts, keys)]
        table = table.set_column(table.schema.get_field_index(column), column, pa.array(new, pa.string()))
    # The rows' keys go with them: the SQL augmentations and the gate's subsampled checks
    # (toxicity) draw by key.
    table = table.append_column("__key", pa.array(keys, pa.string()))
    # In declared order; a column that is not text in this source is left alone, as the embedded
    # engine leaves a column that is not VARCHAR.
    for aug in spec.get("augmentations", []):
        if aug["column"] not in table.column_names or not is_text(table.schema.field(aug["column"]).type):
            continue
        if aug["kind"] == "sql":
            table = apply_sql(table, aug, spec["seed"])
        elif aug["kind"] == "image_hflip":
            table = apply_image_flip(table, keys, aug, spec["seed"])
        else:
            raise JobFailure(f"augmentation {aug['name']}: unknown kind {aug['kind']}")
    buf = io.BytesIO()
    pq.write_table(table, buf)
    bucket, key = split_uri(f"{spec['output']}part-{source['si']:05d}.parquet")
    s3_client(settings).put_object(Bucket=bucket, Key=key, Body=buf.getvalue())
    return {"uri": f"s3://{bucket}/{key}", "rows": table.num_rows}


def sample(indexes, fraction):
    """The (si, ord) pairs kept: per stratum, the ceil(n * fraction) lowest (h, key)."""
    index = pa.concat_tables(indexes)
    order = pc.sort_indices(index, sort_keys=[("s", "ascending"), ("h", "ascending"), ("key", "ascending")])
    s = index.column("s").take(order).to_pylist()
    si = index.column("si").take(order).to_pylist()
    ords = index.column("ord").take(order).to_pylist()
    kept = {}
    start = 0
    while start < len(s):
        end = start
        while end < len(s) and s[end] == s[start]:
            end += 1
        keep = max(1, math.ceil((end - start) * fraction))
        for i in range(start, start + keep):
            kept.setdefault(si[i], []).append(ords[i])
        start = end
    return kept


def put_json(settings, uri, body):
    bucket, key = split_uri(uri)
    s3_client(settings).put_object(Bucket=bucket, Key=key, Body=json.dumps(body).encode("utf-8"))


def main(spec_uri):
    started = time.time()
    region = os.environ.get("AWS_REGION") or os.environ.get("S3_REGION")
    bootstrap = {"endpoint_url": os.environ.get("S3_ENDPOINT"), "region": region}
    bucket, key = split_uri(spec_uri)
    spec = json.loads(s3_client(bootstrap).get_object(Bucket=bucket, Key=key)["Body"].read())
    settings = spec.get("s3") or bootstrap
    print(f"refresh job {spec['dataset_version']} (run {spec['run_id']}): {len(spec['sources'])} sources", flush=True)
    try:
        ray.init()
        # The rows stay in the object store (spilled to disk beyond it); the driver fetches the indexes.
        refs = [read_source.remote(s, settings, spec["seed"], spec["stratify_column"]) for s in spec["sources"]]
        reads = ray.get([meta for meta, _ in refs])
        print(f"read {sum(r['rows'] for r in reads)} rows in {time.time() - started:.1f}s", flush=True)
        kept = sample([r["index"] for r in reads], spec["fraction"])
        parts = ray.get(
            [
                write_part.remote(s, table, kept.get(s["si"], []), spec, settings)
                for s, (_, table) in zip(spec["sources"], refs)
            ]
        )
        result = {
            "status": "ok",
            "sources": [{"si": s["si"], "rows": r["rows"], "checksum": r["checksum"]} for s, r in zip(spec["sources"], reads)],
            "parts": [p["uri"] for p in parts],
            "rows": sum(p["rows"] for p in parts),
            "seconds": time.time() - started,
        }
        print(f"candidate of {result['rows']} rows in {len(parts)} parts, {result['seconds']:.1f}s", flush=True)
        put_json(settings, spec["result"], result)
    except Exception as err:  # noqa: BLE001 - every failure is reported in result.json
        failure = err
        while isinstance(failure, ray.exceptions.RayTaskError) and failure.cause is not None:
            failure = failure.cause
        reason = str(failure) if isinstance(failure, JobFailure) else f"{type(failure).__name__}: {failure}"
        print(f"refresh job failed: {reason}", file=sys.stderr, flush=True)
        put_json(settings, spec["result"], {"status": "failed", "reason": reason})
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: refresh_candidate.py s3://bucket/key/spec.json")
    main(sys.argv[1])
