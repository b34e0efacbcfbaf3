"""psycopg2 (libpq) through the pgwarden proxy, for test/integration/proxy-drivers.test.ts.

usage: psycopg2_client.py ACTION '{"dsn": "...", ...}'; prints one JSON line.
  plaintext  connect with sslmode=disable: the proxy must refuse it
  bytea      `in_mb` MB in, `out_mb` MB out; compared by md5 on both sides
  copy       `mb` MB in by COPY FROM STDIN, then out by COPY TO STDOUT; sizes and md5 compared
  cancel     runs pg_sleep(30) and cancels it from another thread once it runs: 57014 expected
  writer     inserts ids into `table` until the file `stop` exists, reconnecting on errors;
             prints the acknowledged ids and the longest time between two acknowledgements
"""
import hashlib
import io
import json
import os
import sys
import threading
import time

import psycopg2


def plaintext(a):
    try:
        psycopg2.connect(a["dsn"] + " sslmode=disable").close()
        return {"refused": False}
    except psycopg2.OperationalError as e:
        return {"refused": True, "message": str(e)}


def bytea(a):
    """`in_mb` sent as a hex literal (as psycopg2 does), `out_mb` made by the server and read back."""
    value = os.urandom(1024 * 1024) * a["in_mb"]
    with psycopg2.connect(a["dsn"]) as conn, conn.cursor() as cur:
        cur.execute("SELECT md5(v), length(v) FROM (SELECT %s::bytea AS v) s", (psycopg2.Binary(value),))
        server_md5, n = cur.fetchone()
        cur.execute(
            "SELECT v, md5(v) FROM (SELECT convert_to(repeat(md5(random()::text), %s), 'UTF8') AS v) s",
            (a["out_mb"] * 1024 * 1024 // 32,),
        )
        back, back_md5 = cur.fetchone()
    back = bytes(back)
    return {
        "in_equal": server_md5 == hashlib.md5(value).hexdigest() and n == len(value),
        "out_equal": hashlib.md5(back).hexdigest() == back_md5 and len(back) == a["out_mb"] * 1024 * 1024,
    }


def copy(a):
    line = b"x" * 1000 + b"\n"
    data = line * (a["mb"] * 1024 * 1024 // len(line))
    with psycopg2.connect(a["dsn"]) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS copy_py; CREATE TABLE copy_py (t text)")
        cur.copy_expert("COPY copy_py FROM STDIN", io.BytesIO(data))
        out = io.BytesIO()
        cur.copy_expert("COPY copy_py TO STDOUT", out)
    return {"bytes": len(data), "equal": out.getvalue() == data}


def cancel(a):
    conn = psycopg2.connect(a["dsn"])
    watch = psycopg2.connect(a["dsn"])
    watch.autocommit = True

    def cancel_when_running():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with watch.cursor() as cur:
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = 'SELECT pg_sleep(30)'")
                if cur.fetchone()[0] > 0:
                    conn.cancel()
                    return
            time.sleep(0.05)

    t = threading.Thread(target=cancel_when_running)
    t.start()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_sleep(30)")
        code = "finished"
    except psycopg2.Error as e:
        code = e.pgcode
    t.join()
    conn.close()
    watch.close()
    return {"code": code}


def writer(a):
    acked, gap, last, conn, i = [], 0.0, time.monotonic(), None, 0
    while not os.path.exists(a["stop"]):
        try:
            if conn is None:
                conn = psycopg2.connect(a["dsn"], connect_timeout=30)
                conn.autocommit = True
            i += 1
            with conn.cursor() as cur:
                cur.execute(f"INSERT INTO {a['table']} VALUES (%s, 'psycopg2')", (a["base"] + i,))
            acked.append(a["base"] + i)
            now = time.monotonic()
            gap, last = max(gap, now - last), now
        except psycopg2.Error:
            if conn is not None:
                conn.close()
            conn = None
            time.sleep(0.005)
    return {"acked": acked, "max_gap_s": gap}


if __name__ == "__main__":
    action, args = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps({"plaintext": plaintext, "bytea": bytea, "copy": copy, "cancel": cancel, "writer": writer}[action](args)))
