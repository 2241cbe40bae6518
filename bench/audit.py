"""Audited reads per second: how fast the audit trail records reads of patient data.

    .venv/bin/python -m bench.audit [--reads 5000]

For SQLite (a fresh file, the embedded default's settings) and PostgreSQL (a fresh
`goldenhour_bench_audit` database on 127.0.0.1:5432), each in its own process: `--reads` calls
of `audit_record(action="read")` from one thread (as a daphne process runs its sync code),
once appended one by one (AUDIT_READ_BATCH_MS=0) and once batched by the background recorder
(AUDIT_READ_BATCH_MS=50, the default). The time runs until the last read is committed in the
chain; then `audit_verify` must find the chain intact. Prints a table; asserts nothing. The last
line is the summary (goal: at least 500/s on SQLite and 2,000/s on PostgreSQL).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
BENCH_DB = "goldenhour_bench_audit"


def worker(reads: int) -> dict[str, object]:
    """In a process whose environment holds DATABASE_URL and AUDIT_READ_BATCH_MS."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from accounts.models import User
    from audit.models import AuditEvent
    from audit.services import audit_record, read_recorder
    from audit.verify import chain_verify

    user = User.objects.create_superuser(username="bench-reader", password=None)
    before = AuditEvent.objects.count()
    started = time.perf_counter()
    for n in range(reads):
        audit_record(actor=user, action="read", object_type="encounter", object_id=n)
    recorder = read_recorder()
    if recorder is not None:
        while recorder.pending():
            time.sleep(0.001)
        recorder.flush()
    while AuditEvent.objects.count() < before + reads:
        time.sleep(0.001)
    elapsed = time.perf_counter() - started
    result = chain_verify()
    return {
        "reads_per_s": reads / elapsed,
        "events": result.count,
        "intact": result.broken is None,
    }


def fresh_postgres() -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    return f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}"


def run(database_url: str, batch_ms: int, reads: int) -> dict[str, object]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "AUDIT_READ_BATCH_MS": str(batch_ms),
        "EMBEDDED_SCHEDULER": "0",
    }
    out = subprocess.run(  # noqa: S603 - this interpreter, this module
        [sys.executable, "-m", "bench.audit", "--worker", "--reads", str(reads)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description="Audited reads per second (prints tables).")
    parser.add_argument("--reads", type=int, default=5000)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.reads)))
        return 0
    rows = []
    best: dict[str, float] = {}
    intact = True
    with tempfile.TemporaryDirectory(prefix="gh-bench-audit-") as tmp:
        for name in ("SQLite", "PostgreSQL"):
            for batch_ms in (0, 50):
                url = (
                    f"sqlite:///{tmp}/audit-{batch_ms}.sqlite3"
                    if name == "SQLite"
                    else fresh_postgres()
                )
                result = run(url, batch_ms, args.reads)
                rate = float(result["reads_per_s"])  # type: ignore[arg-type]
                intact = intact and bool(result["intact"])
                best[name] = max(best.get(name, 0.0), rate)
                how = "one by one" if batch_ms == 0 else f"batched every {batch_ms} ms"
                rows.append(
                    f"| {name} | {how} | {rate:.0f} | {result['events']} | "
                    f"{'intact' if result['intact'] else 'BROKEN'} |"
                )
    print(f"Audited reads, {args.reads} from one thread, until the last is committed")
    print("| database | appended | reads/s | events in the chain | audit_verify |")
    print("|---|---|---:|---:|---|")
    print("\n".join(rows))
    print(
        f"audit: {best['SQLite']:.0f} audited reads/s on SQLite (goal 500), "
        f"{best['PostgreSQL']:.0f} on PostgreSQL (goal 2000), "
        f"chain {'intact' if intact else 'BROKEN'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
