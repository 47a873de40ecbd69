"""The refresh's sampling + word dropout in PySpark local mode, to compare with the Ray engine.

Not part of the product (the cluster engine is Ray: docs/design.md, "Refresh engines"); it measures
what Spark would cost on one machine, with the draws of services/quality-gate/src/domain/sampling.ts:

  sampling      in each stratum the ceil(n * fraction) rows (at least 1) with the lowest first
                64 bits of md5("<seed>:<key>"), ties by key; key = "<source>:<row position>"
  word dropout  word i (from 1) dropped when u("<seed>:dropout:<key>:<i>") < rate, never all
  u(text)       first 8 hex digits of md5(text) as an integer, compared with ceil(rate * 2**32)

all in Spark SQL (md5, conv, a window, higher-order array functions), no Python UDF. Spark has no
row position of a file (`monotonically_increasing_id` is not consecutive); the key uses the `id`
column, which is the row position in the generated source.

  python bench/spark-refresh.py [--rows 1000000] [--masters local[1],local[2]] [--source FILE]

The source is refresh.bench.ts's (20 columns, cached under the OS temp dir); when it is absent, one
of the same shape is generated with Spark. Each master runs in a child process of its own, so its
JVM start and peak RSS are its own. Printed: a Markdown table.
"""

import argparse
import hashlib
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import psutil

SEED = 42
FRACTION = 0.5
DROPOUT = 0.1
CACHE = os.path.join(tempfile.gettempdir(), "tributary-bench")


def session(master):
    from pyspark.sql import SparkSession

    # Loopback only, no UI port; few shuffle partitions for one machine.
    return (
        SparkSession.builder.master(master)
        .appName("refresh-bench")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )


def generate(spark, rows, file):
    """A source of refresh.bench.ts's shape (its values come from DuckDB's hash, these from xxhash64)."""
    words = "array('river','stone','quiet','bright','falls','over','morning','green','light','delta'," \
            "'north','cloud','amber','field','winter','harbor')"

    def h(k):
        return f"pmod(xxhash64(id * {k}), 2147483647)"

    word = lambda k: f"element_at({words}, cast({h(k)} % 16 + 1 AS INT))"  # noqa: E731
    nums = ", ".join(f"cast({h(k)} % {m} AS DOUBLE) / {d} AS num_{n}" for n, (k, m, d) in enumerate(
        [(3, 1000, 10), (5, 1000, 7), (17, 997, 1), (19, 991, 3), (23, 983, 1), (29, 977, 1), (31, 971, 1), (37, 967, 1)], 1))
    cats = ", ".join(f"concat('c', {h(k)} % {m}) AS cat_{n}" for n, (k, m) in enumerate(
        [(41, 5), (43, 7), (47, 11), (53, 13), (59, 17)], 1))
    ints = f"{h(61)} % 100000 AS int_1, {h(67)} % 1000 AS int_2, {h(71)} % 10 AS int_3, id * 2 AS int_4"
    spark.range(rows).createOrReplaceTempView("r")
    spark.sql(
        f"SELECT id, concat('l', {h(1)} % 10) AS label, "
        f"concat({word(7)}, ' ', {word(11)}, ' ', {word(13)}, ' item', id % 100000) AS text, "
        f"{nums}, {cats}, {ints} FROM r"
    ).coalesce(1).write.option("compression", "zstd").parquet(file + ".tmp")
    part = [p for p in os.listdir(file + ".tmp") if p.endswith(".parquet")][0]
    os.rename(os.path.join(file + ".tmp", part), file)
    shutil.rmtree(file + ".tmp")


def peak_rss_mb(pid):
    """VmHWM (peak resident set) of a live process, from /proc."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def child(master, source, out):
    t0 = time.time()
    spark = session(master)
    jvm_start = time.time() - t0
    jvm_pid = next(
        p.pid for p in psutil.Process().children(recursive=True) if "java" in p.name()
    )
    t1 = time.time()
    src = spark.read.parquet(source)
    src.createOrReplaceTempView("src")
    threshold = math.ceil(DROPOUT * 4294967296)
    # The first 64 bits of the md5 as an exact unsigned integer (decimal(20,0) holds 2^64 - 1).
    candidate = spark.sql(f"""
      WITH keyed AS (
        SELECT *, concat('bench:', id) AS __key FROM src
      ), hashed AS (
        SELECT *, cast(conv(substr(md5(concat('{SEED}:', __key)), 1, 16), 16, 10) AS DECIMAL(20,0)) AS __h
        FROM keyed
      ), ranked AS (
        SELECT *, row_number() OVER (PARTITION BY coalesce(label, '') ORDER BY __h, __key) AS __rank,
          count(*) OVER (PARTITION BY coalesce(label, '')) AS __n
        FROM hashed
      ), kept AS (
        SELECT *, filter(split(text, '[\\\\t\\\\n\\\\x0b\\\\f\\\\r ]+'), w -> w != '') AS __words
        FROM ranked WHERE __rank <= greatest(1, ceil(__n * {FRACTION}))
      ), dropped AS (
        SELECT *, filter(__words, (w, i) ->
          cast(conv(substr(md5(concat('{SEED}:dropout:', __key, ':', i + 1)), 1, 8), 16, 10) AS BIGINT) >= {threshold}
        ) AS __kept FROM kept
      )
      SELECT *, array_join(CASE WHEN size(__kept) = 0 THEN slice(__words, 1, 1) ELSE __kept END, ' ') AS __text
      FROM dropped
    """)
    candidate = candidate.selectExpr(*[("__text AS text" if c == "text" else f"`{c}`") for c in src.columns], "__key")
    candidate.write.mode("overwrite").option("compression", "zstd").parquet(out)
    job = time.time() - t1
    # From the interpreter's start (imports included) to the candidate written; the checks below are not timed.
    wall = time.time() - psutil.Process().create_time()
    rows = spark.read.parquet(out).count()
    # The same answer as hashlib (the Ray job's draws) on a few rows: count and dropout.
    strata = spark.sql("SELECT count(*) AS n FROM src GROUP BY coalesce(label, '')").collect()
    expected = sum(max(1, math.ceil(r.n * FRACTION)) for r in strata)
    sample = spark.read.parquet(out).join(src.select("id", src.text.alias("orig")), "id").limit(5).collect()
    for r in sample:
        words = [w for w in re.split(r"[\t\n\x0b\f\r ]+", r.orig) if w]
        kept = [w for i, w in enumerate(words, 1)
                if int(hashlib.md5(f"{SEED}:dropout:{r['__key']}:{i}".encode()).hexdigest()[:8], 16) >= threshold]
        if " ".join(kept or words[:1]) != r.text:
            raise SystemExit(f"dropout differs from hashlib on {r['__key']}: {r.text!r}")
    # One stratum's selection recomputed with hashlib.
    first = strata and spark.sql("SELECT min(label) AS l FROM src").collect()[0].l
    ids = [r.id for r in src.where(src.label == first).select("id").collect()]
    ranked = sorted((int(hashlib.md5(f"{SEED}:bench:{i}".encode()).hexdigest()[:16], 16), f"bench:{i}", i) for i in ids)
    want = {i for _, _, i in ranked[: max(1, math.ceil(len(ids) * FRACTION))]}
    got = {r.id for r in spark.read.parquet(out).where(f"label = '{first}'").select("id").collect()}
    if want != got:
        raise SystemExit(f"stratum {first}: {len(want ^ got)} rows differ from hashlib's selection")
    if rows != expected:
        raise SystemExit(f"candidate has {rows} rows, expected {expected}")
    figures = {
        "master": master, "wall": wall, "jvm_start": jvm_start, "job": job,
        "rows": rows, "jvm_rss": peak_rss_mb(jvm_pid),
        "py_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    spark.stop()
    print(json.dumps(figures))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--masters", default="local[1],local[2]")
    parser.add_argument("--source")
    parser.add_argument("--child")
    parser.add_argument("--out")
    args = parser.parse_args()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    if args.child:
        child(args.child, args.source, args.out)
        return
    source = args.source or os.path.join(CACHE, f"refresh-{args.rows}.parquet")
    if not os.path.exists(source):
        os.makedirs(CACHE, exist_ok=True)
        spark = session("local[2]")
        generate(spark, args.rows, source)
        spark.stop()
    print(f"source: {os.path.basename(source)} ({os.path.getsize(source) / 1e6:.0f} MB), seed {SEED}, "
          f"fraction {FRACTION}, dropout {DROPOUT}\n")
    print("| master | rows | wall s (process start → candidate) | JVM start s | sample + dropout + write s | candidate rows | peak RSS MB (JVM + Python) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for master in args.masters.split(","):
        out = tempfile.mkdtemp(prefix="spark-candidate-", dir=CACHE)
        try:
            done = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--child", master, "--source", source, "--out", out],
                check=True, capture_output=True, text=True,
            )
        except subprocess.CalledProcessError as err:
            sys.exit(f"{master}: {err.stderr[-2000:]}\n{err.stdout[-2000:]}")
        finally:
            shutil.rmtree(out, ignore_errors=True)
        f = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"| {master} | {args.rows:,} | {f['wall']:.1f} | {f['jvm_start']:.1f} | {f['job']:.1f} | {f['rows']:,} | "
              f"{f['jvm_rss']:.0f} + {f['py_rss']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
