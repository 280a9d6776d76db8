"""The model registry on disk: every trained version, which one is served, which one shadows it, and how
the two compare on live traffic. The modules, in the order the data flows:

- `commands`: `models list | promote | rollback | shadow`, over the store of `artifacts.model_store`;
- `compare`: `models compare`, the current model and its shadow on the same live requests (agreement,
  realized performance of both, the next step), written to reports/compare/;
- `compare_html`: its words (the next step, the headline, the agreement in a sentence) and its
  self-contained page.
"""
