"""The data audit (`audit`): what is in the data, and what must be settled before modelling.

Input: the configured data file. Output: reports/audit/audit.html (the client's report), audit.json (the
summary, `artifacts.audit_summary.AuditSummary`), configs/schema.json (the data contract) and
docs/data_dictionary.md. The modules, in the order the data flows:

- `columns`, `personal_data`, `target`, `dates`, `leakage`: the checks, pure functions on a DataFrame
  (column profiles, duplicates, constant and ID-like columns; personal data; the target's balance; time
  coverage; single-column leakage scan);
- `findings_target`, `findings_time`, `findings`: each finding in plain words (severity, summary, message);
- `checks`: `load` and `detect`, which run every check and word the findings (`with_contract` adds the
  data contract's date formats); the notebook and `train` call these;
- `tables`: the findings as decisions and tables (exclusions, verdict, column table);
- `figures`, `report`, `dictionary`: the figures, the HTML report and the data dictionary;
- `command`: `run_audit`, which wires them and writes the four files.

Tables with more rows than `audit.sample_rows`: `large` decides (`is_large`), loads a seeded sample
(`load_sample`) for the checks above, and counts every row (`count_table`) by streaming the file: `exact`
with DuckDB (`exact_target` words the target's block), `exact_pandas` with pandas in chunks where DuckDB
cannot read the file; `scope` puts the exact counts into the sample's findings and says which numbers are
exact and which sampled.

`common` holds what they share (the finding record, snake_case names, JSON-ready values).
"""
