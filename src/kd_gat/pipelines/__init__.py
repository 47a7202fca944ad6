"""The project's pipelines, one package per stage; the namespaced ones are generated from the roster
(`kd_gat.roster`) with `templates`."""
