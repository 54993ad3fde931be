"""Opens every Parquet output of a pipeline run with pandas+pyarrow and with
DuckDB, and checks that both see the same rows and the column types that the
file's own basin schema promises.

    python tests/interop.py pipelines/digits/out

Exits non-zero naming the file and column on any mismatch. Prints the
closing line 'N passed, N failed'.
"""

import json
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq

import pyarrow as pa

# Arrow types each basin column type may be read as.
ARROW_TYPES = {
    "string": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t),
    "int64": lambda t: t == pa.int64(),
    "float64": lambda t: t == pa.float64(),
    "float32": lambda t: t == pa.float32(),
    "bool": lambda t: t == pa.bool_(),
    "list<float32>": lambda t: (pa.types.is_list(t) or pa.types.is_large_list(t)) and t.value_type == pa.float32(),
}
DUCKDB_TYPES = {
    "string": {"VARCHAR"},
    "int64": {"BIGINT"},
    "float64": {"DOUBLE"},
    "float32": {"FLOAT"},
    "bool": {"BOOLEAN"},
    "list<float32>": {"FLOAT[]"},
}


def schema_columns(meta: dict) -> dict:
    """Required columns of the file's schema, from `basin schema` docs."""
    return REQUIRED.get(meta[b"basin.schema"].decode(), {})


REQUIRED = {
    "splits": {"sample": "int64", "subset": "string", "label": "int64"},
    "runs": {"run_id": "string", "seed": "int64", "epochs": "int64", "train_loss": "float64",
             "test_loss": "float64", "test_acc": "float64", "gen_gap": "float64"},
    "trajectories": {"run_id": "string", "jump_seed": "int64", "step_size": "float64", "epoch": "int64",
                     "train_loss": "float64", "test_acc": "float64", "diverged": "bool",
                     "weights": "list<float32>"},
    "embeddings": {"run_id": "string", "epoch": "int64", "phate_1": "float64", "phate_2": "float64"},
    "diagrams": {"source": "string", "dim": "int64", "birth": "float64", "death": "float64", "essential": "bool"},
    "cocycles": {"source": "string", "bar": "int64", "dim": "int64", "jump_seed": "int64", "step_size": "float64",
                 "epoch": "int64"},
    "features": {"run_id": "string", "feature": "string", "value": "float64"},
    "comparisons": {"target": "string", "mean": "float64"},
}


def check(path: Path) -> list:
    errors = []
    pf = pq.ParquetFile(path)
    meta = pf.schema_arrow.metadata or {}
    meta = {**meta, **(pf.metadata.metadata or {})}
    if b"basin.schema" not in meta:
        return [f"{path}: no basin.schema metadata"]
    json.loads(meta[b"basin.params"])  # provenance is valid JSON
    df = pd.read_parquet(path, engine="pyarrow")
    con = duckdb.connect()
    n_duck = con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone()[0]
    duck_types = {r[0]: r[1] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()}
    if len(df) != pf.metadata.num_rows or n_duck != len(df):
        errors.append(f"{path}: pandas {len(df)} rows, pyarrow {pf.metadata.num_rows}, duckdb {n_duck}")
    arrow = {f.name: f.type for f in pf.schema_arrow}
    for col, t in schema_columns(meta).items():
        if col not in arrow:
            errors.append(f"{path}: column {col} missing")
            continue
        if not ARROW_TYPES[t](arrow[col]):
            errors.append(f"{path}: column {col}: arrow type {arrow[col]}, expected {t}")
        if duck_types.get(col) not in DUCKDB_TYPES[t]:
            errors.append(f"{path}: column {col}: duckdb type {duck_types.get(col)}, expected {t}")
    if "weights" in df.columns and len(df):
        lens = df["weights"].map(len)
        if lens.nunique() != 1:
            errors.append(f"{path}: weights rows have different lengths")
    return errors


def main() -> int:
    root = Path(sys.argv[1])
    files = sorted(p for p in root.rglob("*.parquet") if not p.name.startswith(".basin-tmp-"))
    if not files:
        print(f"no Parquet files under {root}")
        return 1
    passed = failed = 0
    for f in files:
        errs = check(f)
        if errs:
            failed += 1
            print("\n".join(errs))
        else:
            passed += 1
    print(f"interop: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
