"""The Excel report (the レポート出力 page and ``python -m funnel report``)."""
