"""The client's data: reading tables and knowing what they hold. The modules, in the order the data flows:

- `tables`: reading a CSV or Parquet file, whole or in chunks, with one-line errors; missing-value markers;
- `scan`: a table too large to load: its rows bounded cheaply, read as text by DuckDB with a memory limit;
- `dates`: the one format each date column is written in, and parsing dates with it;
- `training_data`: the configured columns checked and the rows training can use (target present, time order);
- `contract`: the data contract (configs/schema.json) inferred from the data, as a typed `Contract`.
"""
