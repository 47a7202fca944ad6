"""Ingestion: raw CAN captures → validated, typed frames and quarantined rejects (pure logic; the
Kedro datasets in `kd_gat.datasets` only read files)."""
